// Microsoft.CognitiveServices on management.<domain>: AI accounts
// (reference/azure-openai-api.md §3), shaped so that
// @azure/arm-cognitiveservices and `az cognitiveservices account` work.
//
// Routes (api-version and a bearer token required; ARM's error shape):
//   PUT|PATCH|GET|DELETE /subscriptions/{sub}/resourceGroups/{group}/
//       providers/Microsoft.CognitiveServices/accounts/{name}
//   GET  .../resourceGroups/{group}/providers/Microsoft.CognitiveServices/
//       accounts
//   GET  /subscriptions/{sub}/providers/Microsoft.CognitiveServices/accounts
//   POST .../accounts/{name}/listKeys, .../accounts/{name}/regenerateKey
//   POST /subscriptions/{sub}/resourceGroups/{group}/moveResources
//
// Accounts show, besides Azure's properties, the atrest extension
// properties.encryptionStatus: key source, key and version in use, state
// ("active" or "inaccessible"), reason, since when, and the last successful
// check. Long-running operations finish before the response (200/201,
// provisioningState "Succeeded", no async headers).
#ifndef ATREST_API_ACCOUNTS_ARM_API_H_
#define ATREST_API_ACCOUNTS_ARM_API_H_

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

// FailedPrecondition when `services.accounts` is null.
Status RegisterAccountManagementRoutes(http::Router& router,
                                       Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_ACCOUNTS_ARM_API_H_
