#include "api/system_api.h"

namespace atrest::api {

Status RegisterSystemRoutes(http::Router& router, Services& services) {
  // Both only read in-memory state: inline on the I/O thread (RouteLimits).
  const http::RouteLimits limits{.max_header_bytes = 8 * 1024,
                                 .max_body_bytes = 0,
                                 .inline_handler = true};
  RETURN_IF_ERROR(router.Add(
      services.domain, "GET", "/healthz", limits, [](http::Request&) {
        return http::Response::Json(200, R"({"status":"ok"})");
      }));
  return router.Add(
      services.domain, "GET", "/metrics", limits, [&services](http::Request&) {
        if (services.metrics == nullptr) {
          return http::Response::Text(404, "");
        }
        return http::Response::Text(200, services.metrics->Render(),
                                    http::MetricsRegistry::kContentType);
      });
}

}  // namespace atrest::api
