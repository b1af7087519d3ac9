#include "api/login_api.h"

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "http/query.h"

namespace atrest::api {
namespace {

using nlohmann::json;

http::Response OAuthError(int status, const std::string& error, int aadsts,
                          const std::string& description) {
  json body = {{"error", error},
               {"error_description",
                "AADSTS" + std::to_string(aadsts) + ": " + description},
               {"error_codes", json::array({aadsts})}};
  http::Response r = http::Response::Json(status, DumpJson(body));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

http::Response TenantNotFound(std::string_view tenant) {
  return OAuthError(400, "invalid_tenant", 90002,
                    "Tenant '" + std::string(tenant) +
                        "' not found. Check to make sure you have the correct "
                        "tenant ID.");
}

http::Response OpenIdConfiguration(http::Request& req, Services& s) {
  std::string tenant(req.PathParam("tenant"));
  Result<json> jwks = s.identity.Jwks(tenant);  // Also proves the tenant.
  if (!jwks.ok()) return TenantNotFound(tenant);
  return http::Response::Json(200,
                              DumpJson(s.identity.OpenIdConfiguration(tenant)));
}

http::Response Keys(http::Request& req, Services& s) {
  std::string tenant(req.PathParam("tenant"));
  Result<json> jwks = s.identity.Jwks(tenant);
  if (!jwks.ok()) return TenantNotFound(tenant);
  return http::Response::Json(200, DumpJson(*jwks));
}

http::Response Token(http::Request& req, Services& s) {
  std::string tenant(req.PathParam("tenant"));
  Result<http::QueryParams> form = http::ParseQuery(req.body);
  if (!form.ok()) {
    return OAuthError(400, "invalid_request", 900144,
                      "The request body must be form-urlencoded.");
  }
  auto field = [&](std::string_view name) -> std::string {
    for (const auto& [k, v] : *form) {
      if (k == name) return v;
    }
    return "";
  };
  const std::string grant = field("grant_type");
  if (grant.empty()) {
    return OAuthError(400, "invalid_request", 900144,
                      "The request body must contain the following "
                      "parameter: 'grant_type'.");
  }
  if (grant != "client_credentials") {
    return OAuthError(400, "unsupported_grant_type", 70003,
                      "The app requested an unsupported grant type '" + grant +
                          "'; atrest supports client_credentials.");
  }
  for (const char* required : {"client_id", "client_secret", "scope"}) {
    if (field(required).empty()) {
      return OAuthError(400, "invalid_request", 900144,
                        std::string("The request body must contain the "
                                    "following parameter: '") +
                            required + "'.");
    }
  }
  std::chrono::seconds retry_after{0};
  Result<identity::AccessToken> token = s.identity.ClientCredentials(
      tenant, field("client_id"), field("client_secret"), field("scope"),
      req.peer_ip, &retry_after);
  if (!token.ok()) {
    const std::string reason = token.status().reason();
    req.caller_id = field("client_id");
    // Throttled before the secret was checked (docs/identity.md): 429 with
    // Retry-After, which MSAL honours.
    if (reason == "temporarily_unavailable" || reason == "server_busy") {
      const std::string wait = std::to_string(retry_after.count());
      http::Response r =
          reason == "server_busy"
              ? OAuthError(429, "temporarily_unavailable", 90055,
                           "Too many client secrets are being checked at "
                           "once. Retry after " +
                               wait + " seconds.")
              : OAuthError(429, "temporarily_unavailable", 50053,
                           "Too many requests with a wrong client secret "
                           "from this address or for this application. "
                           "Retry after " +
                               wait + " seconds.");
      r.headers.Set("Retry-After", wait);
      return r;
    }
    if (reason == "invalid_client") {
      return OAuthError(401, "invalid_client", 7000215,
                        "Invalid client secret provided. Ensure the secret "
                        "being sent in the request is the client secret "
                        "value, not the client secret ID.");
    }
    if (reason == "unauthorized_client") {
      return OAuthError(400, "unauthorized_client", 700016,
                        "Application with identifier '" + field("client_id") +
                            "' was not found in the directory '" + tenant +
                            "'.");
    }
    if (reason == "invalid_scope") {
      return OAuthError(400, "invalid_scope", 1002012,
                        "The provided value for scope is not valid. Client "
                        "credential flows must have a scope value with "
                        "/.default suffixed to the resource identifier.");
    }
    // Internal detail goes to the server's event log only, with the
    // request id (no secrets in it).
    http::Response r =
        token.status().code() == StatusCode::kInsufficientStorage
            ? OAuthError(507, "temporarily_unavailable", 50000,
                         "The service is out of storage space; retry once "
                         "space has been freed on its data disk.")
            : OAuthError(500, "server_error", 50000,
                         "There was an error issuing a token.");
    r.failure = token.status();
    return r;
  }
  req.caller_id = field("client_id");
  json body = {{"token_type", "Bearer"},
               {"expires_in", token->expires_in},
               {"ext_expires_in", token->expires_in},
               {"access_token", token->token}};
  http::Response r = http::Response::Json(200, DumpJson(body));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

}  // namespace

Status RegisterLoginRoutes(http::Router& router, Services& services) {
  const std::string host = "login." + services.domain;
  auto bind = [&services](http::Response (*fn)(http::Request&, Services&)) {
    return [fn, &services](http::Request& r) { return fn(r, services); };
  };
  http::RouteLimits small{.max_header_bytes = 16 * 1024,
                          .max_body_bytes = 64 * 1024};
  RETURN_IF_ERROR(router.SetSurface(host, http::Surface::kLogin));
  RETURN_IF_ERROR(router.Add(host, "GET",
                             "/{tenant}/v2.0/.well-known/openid-configuration",
                             small, bind(OpenIdConfiguration)));
  RETURN_IF_ERROR(router.Add(host, "GET", "/{tenant}/discovery/v2.0/keys",
                             small, bind(Keys)));
  return router.Add(host, "POST", "/{tenant}/oauth2/v2.0/token", small,
                    bind(Token));
}

}  // namespace atrest::api
