// The bare domain's operational endpoints: /healthz (liveness, no auth) and
// /metrics (Prometheus text format 0.0.4).
//
// /metrics requires `Authorization: Bearer <metrics token>` unless the
// token is empty (the server then serves it to anyone: the operator's
// choice, server.metrics_public). Without the right token it answers 401
// with a Bearer challenge, so that metrics (request rates per route, key
// operation counts) stay as private as the rest of the service. Prometheus
// sends the token with `authorization: {credentials_file: <file>}`.
//
// Both also answer on `extra_hosts` (the address `atrest serve` prints it
// is serving on, and the loopback addresses), not only on the domain.
#ifndef ATREST_API_SYSTEM_API_H_
#define ATREST_API_SYSTEM_API_H_

#include <string>
#include <vector>

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

struct SystemRouteOptions {
  std::string metrics_token;             // Empty: /metrics needs no token.
  std::vector<std::string> extra_hosts;  // Besides services.domain.
};

Status RegisterSystemRoutes(http::Router& router, Services& services,
                            SystemRouteOptions options);

}  // namespace atrest::api

#endif  // ATREST_API_SYSTEM_API_H_
