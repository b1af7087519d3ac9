// The Azure Key Vault keys data plane on <vault>.vault.<domain>
// (reference/keyvault-api.md §1-§4): challenge-based authentication, the
// operations of §3 rows 1-24, Key Vault's error shape, and paging.
#ifndef ATREST_API_KEYVAULT_API_H_
#define ATREST_API_KEYVAULT_API_H_

#include "api/services.h"
#include "base/status.h"
#include "http/router.h"

namespace atrest::api {

// Registers the data plane; `services.vaults` must be set.
Status RegisterKeyVaultDataRoutes(http::Router& router, Services& services);

}  // namespace atrest::api

#endif  // ATREST_API_KEYVAULT_API_H_
