// Microsoft.KeyVault on management.<domain>: the management plane of the
// built-in key vault (reference/keyvault-api.md §6), shaped so that
// @azure/arm-keyvault 5.x and `az keyvault` work unchanged.
//
// Routes (every one needs api-version and a bearer token; errors use ARM's
// {"error":{"code","message"}} via ArmError):
//   PUT|PATCH|GET|DELETE
//       /subscriptions/{sub}/resourceGroups/{group}/providers/
//       Microsoft.KeyVault/vaults/{name}
//   GET  .../resourceGroups/{group}/providers/Microsoft.KeyVault/vaults
//   GET  /subscriptions/{sub}/providers/Microsoft.KeyVault/vaults
//   GET  /subscriptions/{sub}/resources?$filter=resourceType eq
//       'Microsoft.KeyVault/vaults'   (what the SDK's vaults.list() calls)
//   PUT  .../vaults/{name}/accessPolicies/{add|replace|remove}
//   GET  /subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults
//   GET  .../providers/Microsoft.KeyVault/locations/{loc}/deletedVaults/{name}
//   POST .../locations/{loc}/deletedVaults/{name}/purge
//   POST /subscriptions/{sub}/providers/Microsoft.KeyVault/
//       checkNameAvailability
//   GET  .../vaults/{name}/auditEvents?$skiptoken=<seq>   (atrest extension:
//       the vault's data-plane audit log; docs/keyvault.md)
//
// Long-running operations (create or update, purge) finish before the
// response: 200/201 with the final body, provisioningState "Succeeded" and
// no Azure-AsyncOperation or Location header, which the SDK's pollers take
// as done.
//
// Handlers hold no state; Services::vaults does the work and the RBAC
// checks (vault/vault_service.h).
#ifndef ATREST_API_KEYVAULT_ARM_API_H_
#define ATREST_API_KEYVAULT_ARM_API_H_

#include "api/services.h"
#include "http/router.h"

namespace atrest::api {

// Adds the routes above on "management.<domain>". FailedPrecondition when
// `services.vaults` is null; `services` must outlive the router.
Status RegisterKeyVaultManagementRoutes(http::Router& router,
                                        Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_KEYVAULT_ARM_API_H_
