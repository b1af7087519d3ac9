// First-start bootstrap: on an empty store, make the default tenant, a
// default subscription in it, and an administrator service principal that
// is Owner of that subscription. Its credentials go to a JSON file of mode
// 0600 in the data dir (never to the log), shaped so the Azure SDKs can use
// it at once: tenantId, clientId, clientSecret, subscriptionId, and the
// authority and Resource Manager endpoints.
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

Result<BootstrapResult> Bootstrap(env::Env& env, store::Store& store,
                                  identity::IdentityService& identity,
                                  resources::ResourceManager& resources,
                                  const std::string& data_dir,
                                  const std::string& management_endpoint);

}  // namespace atrest::app

#endif  // ATREST_APP_BOOTSTRAP_H_
