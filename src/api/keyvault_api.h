// The Azure Key Vault keys data plane on <vault>.vault.<domain>
// (reference/keyvault-api.md §1-§4): challenge-based authentication, the
// operations of §3 rows 1-24, Key Vault's error shape, and paging.
#ifndef ATREST_API_KEYVAULT_API_H_
#define ATREST_API_KEYVAULT_API_H_

#include "api/services.h"
#include "base/status.h"
#include "http/router.h"

namespace atrest::api {

struct KeyVaultRouteOptions {
  // Runs the key operations (encrypt, decrypt, wrapkey, unwrapkey, sign,
  // verify) on the connection's I/O thread instead of the handler pool.
  // Their work is CPU only and bounded (indexed reads of the WAL store, one
  // RSA operation, an in-process token such as SoftHSM2), and the two thread
  // hops they save cost more than a third of an unwrapKey's overhead
  // (docs/benchmarks.md). Turn it off for a PKCS#11 module that may wait on
  // a network or a device: a waiting call would stall the other
  // connections of that I/O thread.
  bool key_operations_on_io_threads = true;
};

// Registers the data plane; `services.vaults` must be set.
Status RegisterKeyVaultDataRoutes(http::Router& router, Services& services,
                                  KeyVaultRouteOptions options = {});

}  // namespace atrest::api

#endif  // ATREST_API_KEYVAULT_API_H_
