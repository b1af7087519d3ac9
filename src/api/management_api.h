// The Azure Resource Manager core on management.<domain>: subscriptions,
// resource groups and role assignments (Microsoft.Resources and
// Microsoft.Authorization), with ARM's envelopes, api-version rule and error
// shape, so that @azure/arm-resources and @azure/arm-authorization work.
// Every call is authenticated by bearer token and authorized by RBAC
// (resources/resource_manager.h).
#ifndef ATREST_API_MANAGEMENT_API_H_
#define ATREST_API_MANAGEMENT_API_H_

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

Status RegisterManagementRoutes(http::Router& router, Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_MANAGEMENT_API_H_
