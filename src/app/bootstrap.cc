#include "app/bootstrap.h"

#include <nlohmann/json.hpp>

#include "base/json.h"

namespace atrest::app {

Result<BootstrapResult> Bootstrap(env::Env& env, store::Store& store,
                                  identity::IdentityService& identity,
                                  resources::ResourceManager& resources,
                                  const std::string& data_dir,
                                  const std::string& management_endpoint) {
  BootstrapResult result{.credentials_path =
                             data_dir + "/admin-credentials.json"};
  ASSIGN_OR_RETURN(std::vector<store::Tenant> tenants,
                   store.ReadResult([](store::Transaction& tx) {
                     return tx.tenants().List();
                   }));
  if (!tenants.empty()) return result;

  ASSIGN_OR_RETURN(store::Tenant tenant,
                   identity.CreateTenant("Default Directory"));
  ASSIGN_OR_RETURN(
      store::Subscription sub,
      resources.CreateSubscription(tenant.id, "Default Subscription"));
  ASSIGN_OR_RETURN(identity::ServicePrincipalCredentials admin,
                   identity.CreateServicePrincipal(tenant.id, "atrest-admin"));
  ASSIGN_OR_RETURN(store::RoleAssignment owner,
                   resources.AssignRoleUnchecked(
                       admin.object_id, *resources::FindRole("Owner"),
                       resources::SubscriptionScope(sub.id)));
  (void)owner;
  nlohmann::json creds = {
      {"tenantId", tenant.id},
      {"clientId", admin.app_id},
      {"clientSecret", admin.client_secret},
      {"subscriptionId", sub.id},
      {"objectId", admin.object_id},
      {"authorityHost", identity.options().authority},
      {"resourceManagerEndpoint", management_endpoint},
  };
  std::string text = DumpJson(creds, 2) + "\n";
  Status written = env::WriteFileAtomically(env.fs(), result.credentials_path,
                                            AsBytes(text));
  std::fill(text.begin(), text.end(), '\0');
  RETURN_IF_ERROR(written.WithContext("writing the administrator credentials"));
  const std::string record =
      DumpJson(nlohmann::json{{"tenantId", tenant.id}}, 2) + "\n";
  RETURN_IF_ERROR(env::WriteFileAtomically(env.fs(),
                                           data_dir + "/" + kBootstrapRecord,
                                           AsBytes(record))
                      .WithContext("writing the default tenant's record"));
  result.created = true;
  return result;
}

}  // namespace atrest::app
