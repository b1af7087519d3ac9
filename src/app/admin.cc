#include "app/admin.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/bootstrap.h"
#include "base/json.h"
#include "env/env.h"
#include "identity/identity_service.h"
#include "keys/root_key.h"
#include "resources/resource_manager.h"
#include "store/sqlite_store.h"

namespace atrest::app {
namespace {

using nlohmann::json;

// The services the commands need, opened on an existing data dir.
struct Admin {
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<identity::IdentityService> identity;
  std::unique_ptr<resources::ResourceManager> resources;
  std::string tenant_id;

  static Result<Admin> Open(const AdminContext& ctx) {
    env::Env& env = env::Env::Default();
    const std::string key_path = ctx.data_dir + "/root.key";
    if (!env.fs().Exists(key_path)) {
      return FailedPreconditionError(
          ctx.data_dir +
          " is not an atrest data dir (no root.key); start `atrest serve` "
          "with it once, or pass --data-dir");
    }
    ASSIGN_OR_RETURN(keys::RootKey root,
                     keys::RootKey::LoadOrCreate(env.fs(), key_path));
    Admin a;
    ASSIGN_OR_RETURN(a.store,
                     store::SqliteStore::Open({.data_dir = ctx.data_dir}));
    ASSIGN_OR_RETURN(auto seal, root.DeriveAead("identity/signing-keys"));
    a.identity = std::make_unique<identity::IdentityService>(
        *a.store, env, std::move(seal), identity::IdentityOptions{});
    a.resources = std::make_unique<resources::ResourceManager>(*a.store, env);
    ASSIGN_OR_RETURN(auto tenants,
                     a.store->ReadResult([](store::Transaction& tx) {
                       return tx.tenants().List();
                     }));
    if (!ctx.tenant_id.empty()) {
      if (std::none_of(tenants.begin(), tenants.end(),
                       [&](const auto& t) { return t.id == ctx.tenant_id; })) {
        return NotFoundError("no tenant " + ctx.tenant_id + " in " +
                             ctx.data_dir);
      }
      a.tenant_id = ctx.tenant_id;
    } else {
      ASSIGN_OR_RETURN(a.tenant_id, DefaultTenant(env, ctx.data_dir, tenants));
    }
    return a;
  }

  // Without --tenant: the only tenant, else the one the server made on
  // first start, as its record (or, in data dirs made before the record
  // existed, the administrator's credentials file) names it. Creation times
  // cannot tell: tenants made within the same second tie.
  static Result<std::string> DefaultTenant(
      env::Env& env, const std::string& data_dir,
      const std::vector<store::Tenant>& tenants) {
    if (tenants.empty()) return FailedPreconditionError("no tenant exists yet");
    if (tenants.size() == 1) return tenants.front().id;
    for (const char* file : {kBootstrapRecord, "admin-credentials.json"}) {
      const std::string path = data_dir + "/" + file;
      if (!env.fs().Exists(path)) continue;
      Result<Bytes> bytes = env::ReadFile(env.fs(), path);
      if (!bytes.ok()) continue;
      json j = ParseJsonOrDiscarded(AsString(*bytes), kStoredJsonLimits);
      std::fill(bytes->begin(), bytes->end(), uint8_t{0});
      const std::string id =
          j.is_object() && j.contains("tenantId") && j["tenantId"].is_string()
              ? j["tenantId"].get<std::string>()
              : "";
      if (std::any_of(tenants.begin(), tenants.end(),
                      [&](const auto& t) { return t.id == id; })) {
        return id;
      }
    }
    std::string ids;
    for (const store::Tenant& t : tenants) {
      ids += (ids.empty() ? "" : ", ") + t.id + " (" + t.display_name + ")";
    }
    return FailedPreconditionError(
        "there are several tenants and the default one is not recorded in " +
        data_dir + "; pass --tenant with one of: " + ids);
  }
};

// "a b  c" -> {"a", "b", "c"}: az takes several scopes separated by spaces.
std::vector<std::string> SplitScopes(const std::string& scopes) {
  std::vector<std::string> out;
  std::istringstream in(scopes);
  for (std::string scope; in >> scope;) out.push_back(scope);
  return out;
}

}  // namespace

Status CreateTenant(const AdminContext& ctx, const std::string& name,
                    std::ostream& out) {
  ASSIGN_OR_RETURN(Admin a, Admin::Open(ctx));
  ASSIGN_OR_RETURN(store::Tenant t, a.identity->CreateTenant(name));
  ASSIGN_OR_RETURN(store::Subscription sub, a.resources->CreateSubscription(
                                                t.id, name + " subscription"));
  out << DumpJson(json{{"tenantId", t.id},
                       {"displayName", t.display_name},
                       {"subscriptionId", sub.id}},
                  2)
      << "\n";
  return Status::Ok();
}

Status CreateServicePrincipalForRbac(const AdminContext& ctx,
                                     const std::string& name,
                                     const std::string& role,
                                     const std::string& scopes,
                                     std::ostream& out) {
  if (!role.empty() && scopes.empty()) {
    return InvalidArgumentError("--scopes is required with --role");
  }
  std::optional<resources::RoleDefinition> definition;
  if (!role.empty()) {
    definition = resources::FindRole(role);
    if (!definition) {
      return InvalidArgumentError("role '" + role +
                                  "' is not a built-in role (Owner, "
                                  "Contributor, Reader, Key Vault ...)");
    }
  }
  ASSIGN_OR_RETURN(Admin a, Admin::Open(ctx));
  if (definition) {
    // Every scope must lie in a subscription of the principal's tenant.
    for (const std::string& scope : SplitScopes(scopes)) {
      const std::string prefix = "/subscriptions/";
      std::string sub_id =
          scope.rfind(prefix, 0) == 0
              ? scope.substr(prefix.size(),
                             scope.find('/', prefix.size()) - prefix.size())
              : "";
      Result<store::Subscription> sub =
          a.store->ReadResult([&](store::Transaction& tx) {
            return tx.subscriptions().Get(sub_id);
          });
      if (!sub.ok() || sub->tenant_id != a.tenant_id) {
        return InvalidArgumentError("scope '" + scope +
                                    "' is not in a subscription of tenant " +
                                    a.tenant_id);
      }
    }
  }
  ASSIGN_OR_RETURN(identity::ServicePrincipalCredentials sp,
                   a.identity->CreateServicePrincipal(a.tenant_id, name));
  if (definition) {
    for (const std::string& scope : SplitScopes(scopes)) {
      RETURN_IF_ERROR(
          a.resources->AssignRoleUnchecked(sp.object_id, *definition, scope)
              .status());
    }
  }
  out << DumpJson(json{{"appId", sp.app_id},
                       {"displayName", sp.display_name},
                       {"password", sp.client_secret},
                       {"tenant", sp.tenant_id}},
                  2)
      << "\n";
  return Status::Ok();
}

Status ListServicePrincipals(const AdminContext& ctx, std::ostream& out) {
  ASSIGN_OR_RETURN(Admin a, Admin::Open(ctx));
  ASSIGN_OR_RETURN(auto principals,
                   a.store->ReadResult([&](store::Transaction& tx) {
                     return tx.principals().ListByTenant(a.tenant_id);
                   }));
  json list = json::array();
  for (const store::Principal& p : principals) {
    if (p.kind != store::PrincipalKind::kServicePrincipal) continue;
    list.push_back({{"appId", p.app_id},
                    {"displayName", p.display_name},
                    {"id", p.object_id},
                    {"appOwnerOrganizationId", p.tenant_id}});
  }
  out << DumpJson(list, 2) << "\n";
  return Status::Ok();
}

Status DeleteServicePrincipal(const AdminContext& ctx, const std::string& id,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(Admin a, Admin::Open(ctx));
  Result<store::Principal> p = a.store->ReadResult([&](store::Transaction& tx) {
    Result<store::Principal> by_app =
        tx.principals().FindServicePrincipalByAppId(a.tenant_id, id);
    return by_app.ok() ? by_app : tx.principals().Get(id);
  });
  if (!p.ok() || p->kind != store::PrincipalKind::kServicePrincipal) {
    return NotFoundError("no service principal with appId or objectId " + id +
                         " in tenant " + a.tenant_id);
  }
  RETURN_IF_ERROR(a.identity->DeletePrincipal(p->object_id));
  out << "deleted service principal " << p->app_id << "\n";
  return Status::Ok();
}

Status ChangeSubscriptionDirectory(const AdminContext& ctx,
                                   const std::string& subscription_id,
                                   const std::string& tenant_id,
                                   std::ostream& out) {
  ASSIGN_OR_RETURN(Admin a, Admin::Open(ctx));
  RETURN_IF_ERROR(a.store->Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Tenant t, tx.tenants().Get(tenant_id));
    return tx.subscriptions().ChangeTenant(subscription_id, t.id);
  }));
  out << DumpJson(
             json{{"subscriptionId", subscription_id}, {"tenantId", tenant_id}},
             2)
      << "\n";
  return Status::Ok();
}

}  // namespace atrest::app
