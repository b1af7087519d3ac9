#include "cli/account_commands.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/json_fields.h"
#include "cli/profile.h"
#include "cli/rest_client.h"
#include "net/https_client.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

// What `az cognitiveservices` speaks against atrest (api/accounts_arm_api.h)
// and what `az resource move` speaks.
constexpr const char* kAccountsApiVersion = "2024-10-01";
constexpr const char* kResourcesApiVersion = "2021-04-01";
constexpr const char* kKeyVaultSource = "Microsoft.KeyVault";
constexpr const char* kServiceSource = "Microsoft.CognitiveServices";

// `path` starts after "/subscriptions/<sub>"; the api-version is appended.
Result<json> Call(const CliContext& ctx, const Session& s,
                  const std::string& method, const std::string& path,
                  const json* body = nullptr,
                  const char* api_version = kAccountsApiVersion) {
  const std::string url = TrimSlash(s.profile.management_endpoint) +
                          "/subscriptions/" +
                          net::PercentEncode(s.subscription) + path +
                          (path.find('?') == std::string::npos ? "?" : "&") +
                          "api-version=" + api_version;
  return CallJson(ctx, method, url, s.profile.access_token, body);
}

std::string GroupPath(const std::string& group) {
  return "/resourceGroups/" + net::PercentEncode(group);
}

std::string AccountPath(const AccountTarget& a) {
  return GroupPath(a.resource_group) +
         "/providers/Microsoft.CognitiveServices/accounts/" +
         net::PercentEncode(a.name);
}

Status RequireTarget(const AccountTarget& a) {
  RETURN_IF_ERROR(Require(a.name, "--name/-n"));
  return Require(a.resource_group, "--resource-group/-g");
}

// az adds the resource group, parsed from the id, to every resource.
json WithResourceGroup(json resource) {
  if (!resource.is_object() || !resource.value("id", json()).is_string()) {
    return resource;
  }
  const std::string id = resource["id"].get<std::string>();
  const std::string marker = "/resourcegroups/";
  size_t at = AsciiLower(id).find(marker);
  if (at != std::string::npos) {
    size_t start = at + marker.size();
    resource["resourceGroup"] = id.substr(start, id.find('/', start) - start);
  }
  return resource;
}

// Sends a PATCH of `body` and returns the account.
Result<json> Patch(const CliContext& ctx, const AccountTarget& a,
                   const json& body) {
  RETURN_IF_ERROR(RequireTarget(a));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  return Call(ctx, s, "PATCH", AccountPath(a), &body);
}

// The account's identity as az prints it ({} when there is none).
Status PrintIdentity(const CliContext& ctx, const json& account) {
  json identity =
      account.is_object() ? account.value("identity", json()) : json();
  PrintJson(ctx, identity.is_object() ? identity : json::object());
  return Status::Ok();
}

Status SetIdentity(const CliContext& ctx, const AccountTarget& a,
                   const char* type) {
  const json body = {{"identity", {{"type", type}}}};
  ASSIGN_OR_RETURN(json account, Patch(ctx, a, body));
  return PrintIdentity(ctx, account);
}

// Splits a path on '/'.
std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> parts;
  for (size_t at = 0; at <= path.size();) {
    size_t next = path.find('/', at);
    if (next == std::string::npos) next = path.size();
    parts.push_back(path.substr(at, next - at));
    at = next + 1;
  }
  return parts;
}

struct VaultKey {
  std::string vault_uri;  // "https://host[:port]"
  std::string name;
  std::string version;  // May be empty.
};

// "https://<vault>/keys/<name>[/<version>][/]" -> its parts.
Result<VaultKey> ParseKeyId(const std::string& id) {
  auto invalid = [&] {
    return InvalidArgumentError(
        "--encryption-key-id '" + id +
        "' is not a key identifier (https://<vault>/keys/<name>[/<version>])");
  };
  Result<net::HttpsUrl> url = net::HttpsUrl::Parse(id);
  if (!url.ok() || url->target.find('?') != std::string::npos) {
    return invalid();
  }
  std::vector<std::string> parts = Segments(TrimSlash(url->target));
  // "", "keys", name[, version]
  if (parts.size() < 3 || parts.size() > 4 || !parts[0].empty() ||
      parts[1] != "keys" || parts[2].empty() ||
      (parts.size() == 4 && parts[3].empty())) {
    return invalid();
  }
  return VaultKey{.vault_uri = "https://" + url->HostHeader(),
                  .name = parts[2],
                  .version = parts.size() == 4 ? parts[3] : ""};
}

// properties.encryption from the update's options; null when none is given.
Result<json> EncryptionOf(const AccountUpdateOptions& o) {
  VaultKey key{.vault_uri = o.encryption_key_vault,
               .name = o.encryption_key_name,
               .version = o.encryption_key_version};
  const bool explicit_key =
      !key.vault_uri.empty() || !key.name.empty() || !key.version.empty();
  if (!o.encryption_key_id.empty()) {
    if (explicit_key) {
      return InvalidArgumentError(
          "--encryption-key-id cannot be combined with --encryption-key-vault, "
          "--encryption-key-name or --encryption-key-version");
    }
    ASSIGN_OR_RETURN(key, ParseKeyId(o.encryption_key_id));
  }
  const bool names_key = explicit_key || !o.encryption_key_id.empty();
  std::string source = o.encryption_key_source;
  if (source.empty()) {
    if (!names_key) return json();
    source = kKeyVaultSource;
  }
  if (source == kServiceSource) {
    if (names_key) {
      return InvalidArgumentError(
          "--encryption-key-vault, --encryption-key-name, "
          "--encryption-key-version and --encryption-key-id need "
          "--encryption-key-source Microsoft.KeyVault");
    }
    return json{{"keySource", source}};
  }
  if (source != kKeyVaultSource) {
    return InvalidArgumentError(
        "--encryption-key-source must be Microsoft.KeyVault or "
        "Microsoft.CognitiveServices");
  }
  json encryption = {{"keySource", source}};
  if (names_key) {
    json kv = json::object();
    if (!key.vault_uri.empty()) kv["keyVaultUri"] = key.vault_uri;
    if (!key.name.empty()) kv["keyName"] = key.name;
    if (!key.version.empty()) kv["keyVersion"] = key.version;
    encryption["keyVaultProperties"] = std::move(kv);
  }
  return encryption;
}

// A parsed "/subscriptions/<s>/resourceGroups/<g>/..." id.
struct ResourceScope {
  std::string subscription;
  std::string group;
};

Result<ResourceScope> ScopeOf(const std::string& id) {
  std::vector<std::string> parts = Segments(id);
  if (parts.size() < 5 || !parts[0].empty() ||
      AsciiLower(parts[1]) != "subscriptions" || parts[2].empty() ||
      AsciiLower(parts[3]) != "resourcegroups" || parts[4].empty()) {
    return InvalidArgumentError("'" + id + "' is not a valid resource id");
  }
  return ResourceScope{.subscription = parts[2], .group = parts[4]};
}

}  // namespace

Status AccountCreate(const CliContext& ctx, const AccountCreateOptions& o) {
  RETURN_IF_ERROR(RequireTarget(o.account));
  RETURN_IF_ERROR(Require(o.location, "--location/-l"));
  ASSIGN_OR_RETURN(json tags, ParseTags(o.tags));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.account.subscription));
  json body = {{"location", o.location},
               {"kind", o.kind},
               {"sku", {{"name", o.sku}}},
               {"tags", std::move(tags)},
               {"properties", json::object()}};
  if (o.assign_identity) body["identity"] = {{"type", "SystemAssigned"}};
  ASSIGN_OR_RETURN(json account,
                   Call(ctx, s, "PUT", AccountPath(o.account), &body));
  PrintJson(ctx, WithResourceGroup(std::move(account)));
  return Status::Ok();
}

Status AccountShow(const CliContext& ctx, const AccountTarget& a) {
  RETURN_IF_ERROR(RequireTarget(a));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  ASSIGN_OR_RETURN(json account, Call(ctx, s, "GET", AccountPath(a)));
  PrintJson(ctx, WithResourceGroup(std::move(account)));
  return Status::Ok();
}

Status AccountList(const CliContext& ctx, const std::string& resource_group,
                   const std::string& subscription) {
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, subscription));
  const std::string path =
      (resource_group.empty() ? "" : GroupPath(resource_group)) +
      "/providers/Microsoft.CognitiveServices/accounts";
  ASSIGN_OR_RETURN(json page, Call(ctx, s, "GET", path));
  json out = json::array();
  // Bounded, in case a server keeps answering with a nextLink.
  for (int n = 0; page.is_object() && n < 1000; ++n) {
    for (const json& a : page.value("value", json::array())) {
      out.push_back(WithResourceGroup(a));
    }
    const std::string next = JsonString(page, "nextLink");
    if (next.empty()) break;
    ASSIGN_OR_RETURN(page, CallJson(ctx, "GET", next, s.profile.access_token));
  }
  PrintJson(ctx, out);
  return Status::Ok();
}

Status AccountDelete(const CliContext& ctx, const AccountTarget& a) {
  RETURN_IF_ERROR(RequireTarget(a));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  return Call(ctx, s, "DELETE", AccountPath(a)).status();
}

Status AccountKeysList(const CliContext& ctx, const AccountTarget& a) {
  RETURN_IF_ERROR(RequireTarget(a));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  ASSIGN_OR_RETURN(json keys,
                   Call(ctx, s, "POST", AccountPath(a) + "/listKeys"));
  PrintJson(ctx, keys);
  return Status::Ok();
}

Status AccountKeysRegenerate(const CliContext& ctx, const AccountTarget& a,
                             const std::string& key_name) {
  RETURN_IF_ERROR(RequireTarget(a));
  RETURN_IF_ERROR(Require(key_name, "--key-name"));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  const json body = {{"keyName", key_name}};
  ASSIGN_OR_RETURN(json keys, Call(ctx, s, "POST",
                                   AccountPath(a) + "/regenerateKey", &body));
  PrintJson(ctx, keys);
  return Status::Ok();
}

Status AccountIdentityAssign(const CliContext& ctx, const AccountTarget& a) {
  return SetIdentity(ctx, a, "SystemAssigned");
}

Status AccountIdentityRemove(const CliContext& ctx, const AccountTarget& a) {
  return SetIdentity(ctx, a, "None");
}

Status AccountIdentityShow(const CliContext& ctx, const AccountTarget& a) {
  RETURN_IF_ERROR(RequireTarget(a));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  ASSIGN_OR_RETURN(json account, Call(ctx, s, "GET", AccountPath(a)));
  return PrintIdentity(ctx, account);
}

Status AccountUpdate(const CliContext& ctx, const AccountUpdateOptions& o) {
  RETURN_IF_ERROR(RequireTarget(o.account));
  ASSIGN_OR_RETURN(json encryption, EncryptionOf(o));
  json body = json::object();
  if (!encryption.is_null()) {
    body["properties"] = {{"encryption", std::move(encryption)}};
  }
  if (o.tags) {
    ASSIGN_OR_RETURN(body["tags"], ParseTags(*o.tags));
  }
  ASSIGN_OR_RETURN(json account, Patch(ctx, o.account, body));
  PrintJson(ctx, WithResourceGroup(std::move(account)));
  return Status::Ok();
}

Status ResourceMove(const CliContext& ctx, const ResourceMoveOptions& o) {
  if (o.ids.empty()) {
    return InvalidArgumentError("the following argument is required: --ids");
  }
  RETURN_IF_ERROR(Require(o.destination_group, "--destination-group"));
  ASSIGN_OR_RETURN(ResourceScope source, ScopeOf(o.ids.front()));
  for (const std::string& id : o.ids) {
    ASSIGN_OR_RETURN(ResourceScope scope, ScopeOf(id));
    if (AsciiLower(scope.subscription) != AsciiLower(source.subscription)) {
      return InvalidArgumentError(
          "All resources should be under the same subscription");
    }
    if (AsciiLower(scope.group) != AsciiLower(source.group)) {
      return InvalidArgumentError(
          "All resources should be under the same group");
    }
  }
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.destination_subscription));
  const std::string target = "/subscriptions/" + s.subscription +
                             "/resourceGroups/" + o.destination_group;
  const json body = {{"resources", o.ids}, {"targetResourceGroup", target}};
  // The source's subscription, not the profile's: az's URL names the ids'
  // group, which only exists in theirs.
  const Session source_session{s.profile, source.subscription};
  return Call(ctx, source_session, "POST",
              GroupPath(source.group) + "/moveResources", &body,
              kResourcesApiVersion)
      .status();
}

namespace {

std::string DeploymentPath(const AccountTarget& a,
                           const std::string& deployment) {
  return AccountPath(a) + "/deployments" +
         (deployment.empty() ? "" : "/" + net::PercentEncode(deployment));
}

Status RequireDeployment(const AccountTarget& a,
                         const std::string& deployment) {
  RETURN_IF_ERROR(RequireTarget(a));
  return Require(deployment, "--deployment-name");
}

}  // namespace

Status DeploymentCreate(const CliContext& ctx, const DeploymentOptions& o) {
  RETURN_IF_ERROR(RequireDeployment(o.account, o.deployment));
  RETURN_IF_ERROR(Require(o.model_name, "--model-name"));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.account.subscription));
  const json body = {
      {"sku", {{"name", o.sku_name}, {"capacity", o.sku_capacity}}},
      {"properties",
       {{"model",
         {{"format", o.model_format},
          {"name", o.model_name},
          {"version", o.model_version}}}}}};
  ASSIGN_OR_RETURN(
      json d,
      Call(ctx, s, "PUT", DeploymentPath(o.account, o.deployment), &body));
  PrintJson(ctx, WithResourceGroup(std::move(d)));
  return Status::Ok();
}

Status DeploymentShow(const CliContext& ctx, const AccountTarget& a,
                      const std::string& deployment) {
  RETURN_IF_ERROR(RequireDeployment(a, deployment));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  ASSIGN_OR_RETURN(json d, Call(ctx, s, "GET", DeploymentPath(a, deployment)));
  PrintJson(ctx, WithResourceGroup(std::move(d)));
  return Status::Ok();
}

Status DeploymentList(const CliContext& ctx, const AccountTarget& a) {
  RETURN_IF_ERROR(RequireTarget(a));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  ASSIGN_OR_RETURN(json page, Call(ctx, s, "GET", DeploymentPath(a, "")));
  json out = json::array();
  if (page.is_object() && page.contains("value") && page["value"].is_array()) {
    for (const json& d : page["value"]) out.push_back(WithResourceGroup(d));
  }
  PrintJson(ctx, out);
  return Status::Ok();
}

Status DeploymentDelete(const CliContext& ctx, const AccountTarget& a,
                        const std::string& deployment) {
  RETURN_IF_ERROR(RequireDeployment(a, deployment));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, a.subscription));
  return Call(ctx, s, "DELETE", DeploymentPath(a, deployment)).status();
}

}  // namespace atrest::cli
