#include "cli/keyvault_commands.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "base/base64.h"
#include "base/bytes.h"
#include "base/json.h"
#include "base/json_fields.h"
#include "cli/profile.h"
#include "cli/rest_client.h"
#include "net/https_client.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

// What `az keyvault` 2.45 speaks (reference/keyvault-api.md §6.2).
constexpr const char* kVaultsApiVersion = "2022-07-01";
constexpr const char* kResourcesApiVersion = "2021-04-01";
constexpr const char* kVaultType = "Microsoft.KeyVault/vaults";

// ---- Helpers (the REST plumbing is cli/rest_client.h) ----

// Sends a request to `url` (absolute) and returns the 2xx body as JSON
// (null for an empty body), or the error the response carries.
Result<json> CallUrl(const CliContext& ctx, const Session& s,
                     const std::string& method, const std::string& url,
                     const json* body = nullptr) {
  return CallJson(ctx, method, url, s.profile.access_token, body);
}

// `path` starts at "/subscriptions/<sub>"; the api-version is appended.
Result<json> Call(const CliContext& ctx, const Session& s,
                  const std::string& method, const std::string& path,
                  const json* body = nullptr,
                  const char* api_version = kVaultsApiVersion) {
  const std::string url = TrimSlash(s.profile.management_endpoint) +
                          "/subscriptions/" +
                          net::PercentEncode(s.subscription) + path +
                          (path.find('?') == std::string::npos ? "?" : "&") +
                          "api-version=" + api_version;
  return CallUrl(ctx, s, method, url, body);
}

std::string VaultPath(const VaultTarget& v) {
  return "/resourceGroups/" + net::PercentEncode(v.resource_group) +
         "/providers/Microsoft.KeyVault/vaults/" + net::PercentEncode(v.name);
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

// The generic list of the subscription's vaults (id, name, type, location,
// tags), following nextLink.
Result<json> ListAllVaults(const CliContext& ctx, const Session& s) {
  std::string url =
      TrimSlash(s.profile.management_endpoint) + "/subscriptions/" +
      net::PercentEncode(s.subscription) + "/resources?%24filter=" +
      net::PercentEncode(std::string("resourceType eq '") + kVaultType + "'") +
      "&api-version=" + kResourcesApiVersion;
  json items = json::array();
  // Bounded, in case a server keeps answering with a nextLink.
  for (int page = 0; !url.empty() && page < 1000; ++page) {
    ASSIGN_OR_RETURN(json list, CallUrl(ctx, s, "GET", url));
    if (!list.is_object()) break;
    for (const json& v : list.value("value", json::array())) {
      items.push_back(v);
    }
    url = JsonString(list, "nextLink");
  }
  return items;
}

// `v` with its resource group, which az looks up by name when -g is not
// given.
Result<VaultTarget> Resolve(const CliContext& ctx, const Session& s,
                            VaultTarget v) {
  RETURN_IF_ERROR(Require(v.name, "--name/-n"));
  if (!v.resource_group.empty()) return v;
  ASSIGN_OR_RETURN(json all, ListAllVaults(ctx, s));
  for (const json& item : all) {
    if (AsciiLower(JsonString(item, "name")) == AsciiLower(v.name)) {
      v.resource_group = JsonString(WithResourceGroup(item), "resourceGroup");
      if (!v.resource_group.empty()) return v;
    }
  }
  return NotFoundError("The Vault '" + v.name +
                       "' not found within subscription.");
}

// ---- Vault editing ----

// The PUT body that keeps a vault as it is: az's
// VaultCreateOrUpdateParameters(location, tags, properties).
json PutBodyOf(const json& vault) {
  return {{"location", JsonString(vault, "location")},
          {"tags", vault.value("tags", json::object())},
          {"properties", vault.value("properties", json::object())}};
}

Result<json> GetVault(const CliContext& ctx, const Session& s,
                      const VaultTarget& v) {
  ASSIGN_OR_RETURN(json vault, Call(ctx, s, "GET", VaultPath(v)));
  if (!vault.is_object() || !vault.value("properties", json()).is_object()) {
    return UnavailableError("the server's vault has no properties");
  }
  return vault;
}

// PUTs `vault` back and prints the result.
Status PutAndPrint(const CliContext& ctx, const Session& s,
                   const VaultTarget& v, const json& vault) {
  const json body = PutBodyOf(vault);
  ASSIGN_OR_RETURN(json out, Call(ctx, s, "PUT", VaultPath(v), &body));
  PrintJson(ctx, WithResourceGroup(std::move(out)));
  return Status::Ok();
}

// "1.2.3.4, 5.6.7.0/24" "8.8.8.8" -> three rules.
json IpRules(const std::vector<std::string>& values) {
  json rules = json::array();
  for (const std::string& v : values) {
    std::string cur;
    for (char c : v + ",") {
      if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
        if (!cur.empty()) rules.push_back({{"value", cur}});
        cur.clear();
      } else {
        cur += c;
      }
    }
  }
  return rules;
}

void ApplyNetwork(const NetworkRuleOptions& n, json& properties) {
  json& acls = properties["networkAcls"];
  if (!acls.is_object()) {
    acls = {{"bypass", "AzureServices"},
            {"defaultAction", "Allow"},
            {"ipRules", json::array()},
            {"virtualNetworkRules", json::array()}};
  }
  if (!n.bypass.empty()) acls["bypass"] = n.bypass;
  if (!n.default_action.empty()) acls["defaultAction"] = n.default_action;
  if (n.ip_rules) acls["ipRules"] = IpRules(*n.ip_rules);
}

// The object id in the saved token (`oid`), for az's self permissions.
Result<std::string> OwnObjectId(const Profile& p) {
  const std::string& t = p.access_token;
  size_t a = t.find('.');
  size_t b = a == std::string::npos ? a : t.find('.', a + 1);
  if (b == std::string::npos) {
    return FailedPreconditionError(
        "the saved token is not a JWT; run "
        "atrest login again");
  }
  ASSIGN_OR_RETURN(Bytes payload, Base64UrlDecode(t.substr(a + 1, b - a - 1)));
  json claims = ParseJsonOrDiscarded(AsString(payload), kTokenJsonLimits);
  if (!claims.is_object() || !claims.value("oid", json()).is_string()) {
    return FailedPreconditionError(
        "Cannot create vault.\nUnable to find the object id of the current "
        "principal in its token.\nYou may try the --no-self-perms flag to "
        "create a vault without permissions.");
  }
  return claims["oid"].get<std::string>();
}

// az's default access policy for the creator of a vault.
json SelfPermissions() {
  return {{"keys",
           {"get", "create", "delete", "list", "update", "import", "backup",
            "restore", "recover"}},
          {"secrets",
           {"get", "list", "set", "delete", "backup", "restore", "recover"}},
          {"certificates",
           {"get", "list", "delete", "create", "import", "update",
            "managecontacts", "getissuers", "listissuers", "setissuers",
            "deleteissuers", "manageissuers", "recover"}},
          {"storage",
           {"get", "list", "delete", "set", "update", "regeneratekey", "setsas",
            "listsas", "getsas", "deletesas"}}};
}

// Policies are matched as az matches them: tenant, object id and
// application id (absent == empty), ignoring case.
bool SamePrincipal(const json& entry, const std::string& tenant,
                   const KeyVaultPolicyOptions& o) {
  auto field = [&](const char* name) {
    return AsciiLower(JsonString(entry, name));
  };
  return field("tenantId") == AsciiLower(tenant) &&
         field("objectId") == AsciiLower(o.object_id) &&
         field("applicationId") == AsciiLower(o.application_id);
}

// az's _permissions_distinct, keeping the order given.
json Distinct(const std::vector<std::string>& values) {
  json out = json::array();
  for (const std::string& v : values) {
    if (std::find(out.begin(), out.end(), json(v)) == out.end()) {
      out.push_back(v);
    }
  }
  return out;
}

Status RefuseRbac(const json& properties, const char* verb) {
  const json rbac = properties.value("enableRbacAuthorization", json());
  if (rbac.is_boolean() && rbac.get<bool>()) {
    return FailedPreconditionError(
        std::string("Cannot ") + verb +
        " policies to a vault with '--enable-rbac-authorization' specified");
  }
  return Status::Ok();
}

}  // namespace

Status KeyVaultCreate(const CliContext& ctx, const KeyVaultCreateOptions& o) {
  RETURN_IF_ERROR(Require(o.vault.name, "--name/-n"));
  RETURN_IF_ERROR(Require(o.vault.resource_group, "--resource-group/-g"));
  ASSIGN_OR_RETURN(json tags, ParseTags(o.tags));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.vault.subscription));
  Result<json> existing = Call(ctx, s, "GET", VaultPath(o.vault));
  if (existing.ok()) {
    return InvalidArgumentError("The specified vault: " + o.vault.name +
                                " already exists");
  }
  std::string location = o.location;
  if (location.empty()) {
    ASSIGN_OR_RETURN(
        json group,
        Call(ctx, s, "GET",
             "/resourcegroups/" + net::PercentEncode(o.vault.resource_group),
             nullptr, kResourcesApiVersion));
    location = JsonString(group, "location");
  }
  json policies = json::array();
  if (!o.no_self_perms && !o.enable_rbac_authorization.value_or(false)) {
    ASSIGN_OR_RETURN(std::string oid, OwnObjectId(s.profile));
    policies.push_back({{"tenantId", s.profile.tenant_id},
                        {"objectId", oid},
                        {"permissions", SelfPermissions()}});
  }
  json properties = {
      {"tenantId", s.profile.tenant_id},
      {"sku", {{"family", "A"}, {"name", o.sku}}},
      {"accessPolicies", std::move(policies)},
      {"enableSoftDelete", true},
      {"softDeleteRetentionInDays", o.retention_days},
  };
  if (o.enable_purge_protection) {
    properties["enablePurgeProtection"] = *o.enable_purge_protection;
  }
  if (o.enable_rbac_authorization) {
    properties["enableRbacAuthorization"] = *o.enable_rbac_authorization;
  }
  ApplyNetwork(o.network, properties);
  const json body = {{"location", location},
                     {"tags", std::move(tags)},
                     {"properties", std::move(properties)}};
  ASSIGN_OR_RETURN(json vault, Call(ctx, s, "PUT", VaultPath(o.vault), &body));
  PrintJson(ctx, WithResourceGroup(std::move(vault)));
  return Status::Ok();
}

Status KeyVaultShow(const CliContext& ctx, const VaultTarget& target) {
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, target.subscription));
  ASSIGN_OR_RETURN(VaultTarget v, Resolve(ctx, s, target));
  ASSIGN_OR_RETURN(json vault, GetVault(ctx, s, v));
  PrintJson(ctx, WithResourceGroup(std::move(vault)));
  return Status::Ok();
}

Status KeyVaultList(const CliContext& ctx, const std::string& resource_group,
                    const std::string& subscription) {
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, subscription));
  json items = json::array();
  if (resource_group.empty()) {
    // az: the generic resources list, items without properties.
    ASSIGN_OR_RETURN(items, ListAllVaults(ctx, s));
  } else {
    ASSIGN_OR_RETURN(json list, Call(ctx, s, "GET",
                                     "/resourceGroups/" +
                                         net::PercentEncode(resource_group) +
                                         "/providers/Microsoft.KeyVault/"
                                         "vaults"));
    if (list.is_object()) items = list.value("value", json::array());
  }
  json out = json::array();
  for (const json& v : items) out.push_back(WithResourceGroup(v));
  PrintJson(ctx, out);
  return Status::Ok();
}

Status KeyVaultUpdate(const CliContext& ctx, const KeyVaultUpdateOptions& o) {
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.vault.subscription));
  ASSIGN_OR_RETURN(VaultTarget v, Resolve(ctx, s, o.vault));
  ASSIGN_OR_RETURN(json vault, GetVault(ctx, s, v));
  json& p = vault["properties"];
  if (o.enable_purge_protection) {
    p["enablePurgeProtection"] = *o.enable_purge_protection;
  }
  if (o.retention_days) p["softDeleteRetentionInDays"] = *o.retention_days;
  if (o.enable_rbac_authorization) {
    p["enableRbacAuthorization"] = *o.enable_rbac_authorization;
  }
  const NetworkRuleOptions& n = o.network;
  if (!n.bypass.empty() || !n.default_action.empty() || n.ip_rules) {
    ApplyNetwork(n, p);
  }
  return PutAndPrint(ctx, s, v, vault);
}

Status KeyVaultDelete(const CliContext& ctx, const VaultTarget& target) {
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, target.subscription));
  ASSIGN_OR_RETURN(VaultTarget v, Resolve(ctx, s, target));
  return Call(ctx, s, "DELETE", VaultPath(v)).status();
}

Status KeyVaultPurge(const CliContext& ctx, const std::string& name,
                     const std::string& location,
                     const std::string& subscription) {
  RETURN_IF_ERROR(Require(name, "--name/-n"));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, subscription));
  std::string loc = location;
  if (loc.empty()) {
    ASSIGN_OR_RETURN(
        json list,
        Call(ctx, s, "GET", "/providers/Microsoft.KeyVault/deletedVaults"));
    for (const json& d : list.is_object() ? list.value("value", json::array())
                                          : json::array()) {
      if (AsciiLower(JsonString(d, "name")) == AsciiLower(name) &&
          d.is_object() && d.value("properties", json()).is_object()) {
        loc = JsonString(d["properties"], "location");
      }
    }
    if (loc.empty()) {
      return NotFoundError("No deleted Vault or HSM was found with name " +
                           name);
    }
  }
  return Call(ctx, s, "POST",
              "/providers/Microsoft.KeyVault/locations/" +
                  net::PercentEncode(loc) + "/deletedVaults/" +
                  net::PercentEncode(name) + "/purge")
      .status();
}

Status KeyVaultSetPolicy(const CliContext& ctx,
                         const KeyVaultPolicyOptions& o) {
  RETURN_IF_ERROR(Require(o.object_id, "--object-id"));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.vault.subscription));
  ASSIGN_OR_RETURN(VaultTarget v, Resolve(ctx, s, o.vault));
  ASSIGN_OR_RETURN(json vault, GetVault(ctx, s, v));
  json& p = vault["properties"];
  RETURN_IF_ERROR(RefuseRbac(p, "set"));
  const std::string tenant = JsonString(p, "tenantId");
  json& policies = p["accessPolicies"];
  if (!policies.is_array()) policies = json::array();
  auto it = std::find_if(policies.begin(), policies.end(), [&](const json& e) {
    return SamePrincipal(e, tenant, o);
  });
  if (it == policies.end()) {
    json entry = {{"tenantId", tenant}, {"objectId", o.object_id}};
    if (!o.application_id.empty()) entry["applicationId"] = o.application_id;
    policies.push_back(std::move(entry));
    it = policies.end() - 1;
  }
  json& perms = (*it)["permissions"];
  if (!perms.is_object()) perms = json::object();
  const std::pair<const char*, const std::optional<std::vector<std::string>>*>
      lists[] = {{"keys", &o.key_permissions},
                 {"secrets", &o.secret_permissions},
                 {"certificates", &o.certificate_permissions},
                 {"storage", &o.storage_permissions}};
  for (const auto& [name, values] : lists) {
    if (*values) perms[name] = Distinct(**values);
  }
  return PutAndPrint(ctx, s, v, vault);
}

Status KeyVaultDeletePolicy(const CliContext& ctx,
                            const KeyVaultPolicyOptions& o) {
  RETURN_IF_ERROR(Require(o.object_id, "--object-id"));
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, o.vault.subscription));
  ASSIGN_OR_RETURN(VaultTarget v, Resolve(ctx, s, o.vault));
  ASSIGN_OR_RETURN(json vault, GetVault(ctx, s, v));
  json& p = vault["properties"];
  RETURN_IF_ERROR(RefuseRbac(p, "delete"));
  const std::string tenant = JsonString(p, "tenantId");
  json kept = json::array();
  const json policies = p.value("accessPolicies", json::array());
  for (const json& e : policies) {
    if (!SamePrincipal(e, tenant, o)) kept.push_back(e);
  }
  if (kept.size() == policies.size()) {
    return NotFoundError("No matching policies found");
  }
  p["accessPolicies"] = std::move(kept);
  return PutAndPrint(ctx, s, v, vault);
}

Status KeyVaultAudit(const CliContext& ctx, const VaultTarget& target,
                     int64_t after) {
  ASSIGN_OR_RETURN(Session s, StartSession(ctx, target.subscription));
  ASSIGN_OR_RETURN(VaultTarget v, Resolve(ctx, s, target));
  std::string url = TrimSlash(s.profile.management_endpoint) +
                    "/subscriptions/" + net::PercentEncode(s.subscription) +
                    VaultPath(v) +
                    "/auditEvents?api-version=" + kVaultsApiVersion +
                    "&%24skiptoken=" + std::to_string(after);
  json events = json::array();
  while (!url.empty()) {
    ASSIGN_OR_RETURN(json page, CallUrl(ctx, s, "GET", url));
    if (!page.is_object()) break;
    const json value = page.value("value", json::array());
    for (const json& e : value) events.push_back(e);
    const json next = page.value("nextLink", json());
    // An empty page ends the walk even if a nextLink came with it.
    url = next.is_string() && !value.empty() ? next.get<std::string>() : "";
  }
  PrintJson(ctx, events);
  return Status::Ok();
}

}  // namespace atrest::cli
