// The bare domain's operational endpoints: /healthz (liveness, no auth) and
// /metrics (Prometheus text format 0.0.4).
#ifndef ATREST_API_SYSTEM_API_H_
#define ATREST_API_SYSTEM_API_H_

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

Status RegisterSystemRoutes(http::Router& router, Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_SYSTEM_API_H_
