// First-start bootstrap: on an empty store, make the default tenant, a
// default subscription in it, and an administrator service principal that
// is Owner of that subscription. Its credentials go to a JSON file of mode
// 0600 in the data dir (never to the log), shaped so the Azure SDKs can use
// it at once: tenantId, clientId, clientSecret, subscriptionId, and the
// authority and Resource Manager endpoints. The default tenant's id (no
// secret) also goes to <data dir>/bootstrap.json, which `atrest ad` reads to
// know its default tenant once there are several (app/admin.h).
#ifndef ATREST_APP_BOOTSTRAP_H_
#define ATREST_APP_BOOTSTRAP_H_

#include <string>

#include "base/status.h"
#include "env/env.h"
#include "identity/identity_service.h"
#include "resources/resource_manager.h"
#include "store/store.h"

namespace atrest::app {

struct BootstrapResult {
  bool created = false;          // False when the store was not empty.
  std::string credentials_path;  // Where the administrator's file is.
};

// The file that names the tenant made on first start: {"tenantId": ...}.
inline constexpr const char* kBootstrapRecord = "bootstrap.json";

Result<BootstrapResult> Bootstrap(env::Env& env, store::Store& store,
                                  identity::IdentityService& identity,
                                  resources::ResourceManager& resources,
                                  const std::string& data_dir,
                                  const std::string& management_endpoint);

}  // namespace atrest::app

#endif  // ATREST_APP_BOOTSTRAP_H_
