#include "cli/commands.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/https_client.h"
#include "cli/profile.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

constexpr const char* kSubscriptionsApiVersion = "2022-12-01";
constexpr const char* kGroupsApiVersion = "2021-04-01";

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

StatusCode CodeForHttp(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 429:
      return StatusCode::kResourceExhausted;
    default:
      return status >= 500 ? StatusCode::kUnavailable
                           : StatusCode::kInvalidArgument;
  }
}

// The error a non-2xx response carries: ARM's {"error":{"code","message"}}
// or OAuth's {"error","error_description"}.
Status ResponseError(const HttpsResponse& res) {
  json j = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  std::string code, message;
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      code = err->value("code", "");
      message = err->value("message", "");
    } else if (err != j.end() && err->is_string()) {
      code = err->get<std::string>();
      message = j.value("error_description", "");
    }
  }
  if (message.empty()) {
    message = "the server answered HTTP " + std::to_string(res.status);
  }
  return Status(CodeForHttp(res.status), message, code);
}

Result<json> JsonOf(const HttpsResponse& res) {
  json j = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return UnavailableError("the server answered HTTP " +
                            std::to_string(res.status) + " without JSON");
  }
  return j;
}

// Sends a request and returns the 2xx response, or the error it carries.
Result<HttpsResponse> Call(const CliContext& ctx, HttpsRequest request) {
  ASSIGN_OR_RETURN(HttpsResponse res,
                   SendHttps(request, HttpsOptions{.ca_files = ctx.ca_files}));
  if (res.status < 200 || res.status > 299) return ResponseError(res);
  return res;
}

HttpsRequest ArmRequest(const Profile& p, std::string method,
                        const std::string& path_and_query) {
  return HttpsRequest{
      .method = std::move(method),
      .url = TrimSlash(p.management_endpoint) + path_and_query,
      .headers = {{"Authorization", "Bearer " + p.access_token},
                  {"Accept", "application/json"}},
  };
}

Result<Profile> LoggedIn(const CliContext& ctx) {
  ASSIGN_OR_RETURN(Profile p, LoadProfile(ctx.env.fs(), ctx.profile_path));
  RETURN_IF_ERROR(CheckTokenFresh(p, ctx.env.clock().Now()));
  return p;
}

std::string GroupPath(const Profile& p, const std::string& name) {
  std::string path =
      "/subscriptions/" + PercentEncode(p.subscription_id) + "/resourcegroups";
  if (!name.empty()) path += "/" + PercentEncode(name);
  return path + "?api-version=" + kGroupsApiVersion;
}

void Print(const CliContext& ctx, const json& j) {
  ctx.out << j.dump(2) << "\n";
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
  const env::WallTime requested_at = ctx.env.clock().Now();
  ASSIGN_OR_RETURN(
      HttpsResponse token_res,
      Call(ctx, HttpsRequest{
                    .method = "POST",
                    .url = authority + "/" + PercentEncode(o.tenant_id) +
                           "/oauth2/v2.0/token",
                    .headers = {{"Content-Type",
                                 "application/x-www-form-urlencoded"},
                                {"Accept", "application/json"}},
                    .body = "grant_type=client_credentials&client_id=" +
                            PercentEncode(o.client_id) +
                            "&client_secret=" + PercentEncode(o.client_secret) +
                            "&scope=" + PercentEncode(management + "/.default"),
                }));
  ASSIGN_OR_RETURN(json token, JsonOf(token_res));
  if (!token.is_object() || !token.contains("access_token") ||
      !token["access_token"].is_string() || !token.contains("expires_in") ||
      !token["expires_in"].is_number_integer()) {
    return UnavailableError(
        "the token endpoint's answer has no access_token and expires_in");
  }

  Profile profile{
      .tenant_id = o.tenant_id,
      .client_id = o.client_id,
      .authority = authority,
      .management_endpoint = management,
      .access_token = token["access_token"].get<std::string>(),
      .expires_on = std::chrono::time_point_cast<std::chrono::seconds>(
          requested_at +
          std::chrono::seconds(token["expires_in"].get<int64_t>())),
  };

  ASSIGN_OR_RETURN(
      HttpsResponse subs_res,
      Call(ctx, ArmRequest(profile, "GET",
                           std::string("/subscriptions?api-version=") +
                               kSubscriptionsApiVersion)));
  ASSIGN_OR_RETURN(json subs, JsonOf(subs_res));
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
  Print(ctx, printed);
  return Status::Ok();
}

Status GroupCreate(const CliContext& ctx, const std::string& name,
                   const std::string& location,
                   const std::vector<std::string>& tags) {
  json tag_json = json::object();
  for (const std::string& t : tags) {
    size_t eq = t.find('=');
    std::string key = t.substr(0, eq);
    if (key.empty()) {
      return InvalidArgumentError("tag '" + t + "' must be key=value");
    }
    tag_json[key] = eq == std::string::npos ? "" : t.substr(eq + 1);
  }
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  HttpsRequest req = ArmRequest(p, "PUT", GroupPath(p, name));
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = json{{"location", location}, {"tags", tag_json}}.dump();
  ASSIGN_OR_RETURN(HttpsResponse res, Call(ctx, std::move(req)));
  ASSIGN_OR_RETURN(json group, JsonOf(res));
  Print(ctx, group);
  return Status::Ok();
}

Status GroupList(const CliContext& ctx) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  ASSIGN_OR_RETURN(HttpsResponse res,
                   Call(ctx, ArmRequest(p, "GET", GroupPath(p, ""))));
  ASSIGN_OR_RETURN(json list, JsonOf(res));
  Print(ctx,
        list.is_object() ? list.value("value", json::array()) : json::array());
  return Status::Ok();
}

Status GroupShow(const CliContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  ASSIGN_OR_RETURN(HttpsResponse res,
                   Call(ctx, ArmRequest(p, "GET", GroupPath(p, name))));
  ASSIGN_OR_RETURN(json group, JsonOf(res));
  Print(ctx, group);
  return Status::Ok();
}

Status GroupDelete(const CliContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(Profile p, LoggedIn(ctx));
  ASSIGN_OR_RETURN(HttpsResponse res,
                   Call(ctx, ArmRequest(p, "DELETE", GroupPath(p, name))));
  (void)res;
  return Status::Ok();
}

}  // namespace atrest::cli
