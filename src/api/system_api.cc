#include "api/system_api.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <memory>

namespace atrest::api {
namespace {

// Whether `request` carries `Authorization: Bearer <token>`, compared in
// constant time.
bool HasToken(const http::Request& request, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  std::optional<std::string_view> auth = request.headers.Get("Authorization");
  if (!auth || auth->size() != kBearer.size() + token.size() ||
      !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
    return false;
  }
  return CRYPTO_memcmp(auth->data() + kBearer.size(), token.data(),
                       token.size()) == 0;
}

}  // namespace

Status RegisterSystemRoutes(http::Router& router, Services& services,
                            SystemRouteOptions options) {
  // Both only read in-memory state: inline on the I/O thread (RouteLimits).
  const http::RouteLimits limits{.max_header_bytes = 8 * 1024,
                                 .max_body_bytes = 0,
                                 .inline_handler = true};
  auto token = std::make_shared<const std::string>(options.metrics_token);
  std::vector<std::string> hosts = {services.domain};
  for (const std::string& h : options.extra_hosts) {
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) {
      hosts.push_back(h);
    }
  }
  for (const std::string& host : hosts) {
    RETURN_IF_ERROR(
        router.Add(host, "GET", "/healthz", limits, [](http::Request&) {
          return http::Response::Json(200, R"({"status":"ok"})");
        }));
    RETURN_IF_ERROR(router.Add(
        host, "GET", "/metrics", limits,
        [&services, token](http::Request& request) {
          if (services.metrics == nullptr) {
            return http::Response::Text(404, "");
          }
          if (!token->empty() && !HasToken(request, *token)) {
            http::Response r = http::Response::Error(
                401, "Unauthorized",
                "/metrics needs the bearer token in the server's "
                "metrics-token file.");
            r.headers.Set("WWW-Authenticate",
                          "Bearer realm=\"atrest-metrics\"");
            return r;
          }
          return http::Response::Text(200, services.metrics->Render(),
                                      http::MetricsRegistry::kContentType);
        }));
  }
  return Status::Ok();
}

}  // namespace atrest::api
