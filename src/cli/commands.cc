#include "cli/commands.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/profile.h"
#include "cli/rest_client.h"
#include "net/https_client.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

constexpr const char* kSubscriptionsApiVersion = "2022-12-01";
constexpr const char* kGroupsApiVersion = "2021-04-01";

// "https://management.<domain>[:port]" -> "https://vault.<domain>[:port]",
// the audience of the key vault data plane (api/services.h Audiences()).
Result<std::string> VaultResourceFor(const std::string& management) {
  ASSIGN_OR_RETURN(net::HttpsUrl url, net::HttpsUrl::Parse(management));
  const size_t dot = url.host.find('.');
  if (dot == std::string::npos || dot + 1 == url.host.size()) {
    return InvalidArgumentError("--management-endpoint " + management +
                                " must be https://management.<domain>");
  }
  url.host = "vault" + url.host.substr(dot);
  return "https://" + url.HostHeader();
}

struct Token {
  std::string access_token;
  env::WallTime expires_on;
};

// A token for `resource` by the client credentials grant.
Result<Token> RequestToken(const CliContext& ctx, const LoginOptions& o,
                           const std::string& authority,
                           const std::string& resource) {
  const env::WallTime requested_at = ctx.env.clock().Now();
  net::HttpsRequest req = JsonRequest(
      "POST",
      authority + "/" + net::PercentEncode(o.tenant_id) + "/oauth2/v2.0/token",
      /*token=*/"");
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.body = "grant_type=client_credentials&client_id=" +
             net::PercentEncode(o.client_id) +
             "&client_secret=" + net::PercentEncode(o.client_secret) +
             "&scope=" + net::PercentEncode(resource + "/.default");
  ASSIGN_OR_RETURN(json token, SendJson(ctx, req));
  if (!token.is_object() || !token.contains("access_token") ||
      !token["access_token"].is_string() || !token.contains("expires_in") ||
      !token["expires_in"].is_number_integer()) {
    return UnavailableError(
        "the token endpoint's answer has no access_token and expires_in");
  }
  return Token{
      .access_token = token["access_token"].get<std::string>(),
      .expires_on = std::chrono::time_point_cast<std::chrono::seconds>(
          requested_at +
          std::chrono::seconds(token["expires_in"].get<int64_t>())),
  };
}

std::string GroupUrl(const Profile& p, const std::string& name) {
  std::string path = TrimSlash(p.management_endpoint) + "/subscriptions/" +
                     net::PercentEncode(p.subscription_id) + "/resourcegroups";
  if (!name.empty()) path += "/" + net::PercentEncode(name);
  return path + "?api-version=" + kGroupsApiVersion;
}

}  // namespace

std::vector<std::string> CaFilesFromEnvironment(const std::string& flag) {
  if (!flag.empty()) return {flag};
  std::vector<std::string> files;
  for (const char* name : {"REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') files.emplace_back(v);
  }
  return files;
}

std::string FormatError(const Status& status) {
  if (status.reason().empty()) return status.message();
  return "(" + status.reason() + ") " + status.message();
}

Status Login(const CliContext& ctx, const LoginOptions& o) {
  if (o.tenant_id.empty() || o.client_id.empty() || o.client_secret.empty()) {
    return InvalidArgumentError(
        "--tenant, --username and --password (or ATREST_CLIENT_SECRET) are "
        "required");
  }
  const std::string authority = TrimSlash(o.authority);
  const std::string management = TrimSlash(o.management_endpoint);
  ASSIGN_OR_RETURN(const std::string vault_resource,
                   VaultResourceFor(management));
  ASSIGN_OR_RETURN(Token arm, RequestToken(ctx, o, authority, management));
  ASSIGN_OR_RETURN(Token vault,
                   RequestToken(ctx, o, authority, vault_resource));

  Profile profile{
      .tenant_id = o.tenant_id,
      .client_id = o.client_id,
      .authority = authority,
      .management_endpoint = management,
      .access_token = std::move(arm.access_token),
      .expires_on = arm.expires_on,
      .vault_resource = vault_resource,
      .vault_access_token = std::move(vault.access_token),
      .vault_expires_on = vault.expires_on,
  };

  ASSIGN_OR_RETURN(json subs,
                   CallJson(ctx, "GET",
                            management + "/subscriptions?api-version=" +
                                kSubscriptionsApiVersion,
                            profile.access_token));
  const json value =
      subs.is_object() ? subs.value("value", json::array()) : json::array();
  json printed = json::array();
  for (const json& s : value) {
    if (!s.is_object()) continue;
    std::string id = s.value("subscriptionId", "");
    if (profile.subscription_id.empty() &&
        (o.subscription_id.empty() || o.subscription_id == id)) {
      profile.subscription_id = id;
    }
    printed.push_back({
        {"cloudName", "atrest"},
        {"homeTenantId", s.value("tenantId", o.tenant_id)},
        {"id", id},
        {"isDefault", id == profile.subscription_id},
        {"managedByTenants", json::array()},
        {"name", s.value("displayName", "")},
        {"state", s.value("state", "")},
        {"tenantId", s.value("tenantId", o.tenant_id)},
        {"user", {{"name", o.client_id}, {"type", "servicePrincipal"}}},
    });
  }
  if (profile.subscription_id.empty()) {
    return NotFoundError(
        o.subscription_id.empty()
            ? "the service principal has access to no subscription"
            : "the service principal has no access to subscription " +
                  o.subscription_id);
  }
  RETURN_IF_ERROR(SaveProfile(ctx.env.fs(), ctx.profile_path, profile));
  PrintJson(ctx, printed);
  return Status::Ok();
}

Status GroupCreate(const CliContext& ctx, const std::string& name,
                   const std::string& location,
                   const std::vector<std::string>& tags) {
  ASSIGN_OR_RETURN(json tag_json, ParseTags(tags));
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  const json body = {{"location", location}, {"tags", tag_json}};
  ASSIGN_OR_RETURN(json group, CallJson(ctx, "PUT", GroupUrl(p, name),
                                        p.access_token, &body));
  PrintJson(ctx, group);
  return Status::Ok();
}

Status GroupList(const CliContext& ctx) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  ASSIGN_OR_RETURN(json list,
                   CallJson(ctx, "GET", GroupUrl(p, ""), p.access_token));
  PrintJson(ctx, list.is_object() ? list.value("value", json::array())
                                  : json::array());
  return Status::Ok();
}

Status GroupShow(const CliContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  ASSIGN_OR_RETURN(json group,
                   CallJson(ctx, "GET", GroupUrl(p, name), p.access_token));
  PrintJson(ctx, group);
  return Status::Ok();
}

Status GroupDelete(const CliContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  return CallJson(ctx, "DELETE", GroupUrl(p, name), p.access_token).status();
}

}  // namespace atrest::cli
