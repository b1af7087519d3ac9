// Administration commands that work on a server's data dir directly, on the
// host where atrest runs (like `vault operator` or `kubeadm`), for what Azure
// does through Microsoft Graph: tenants and service principals.
//
//   atrest ad tenant create --name N
//   atrest ad sp create-for-rbac --name N [--role R --scopes S] [--tenant T]
//   atrest ad sp list [--tenant T]
//   atrest ad sp delete --id <appId or objectId> [--tenant T]
//   atrest ad subscription change-directory --subscription S --to-tenant T
//
// They share the SQLite store with a running server safely. Output is JSON
// on stdout, shaped as az prints it; a new secret is printed once and
// stored only as a slow salted hash.
#ifndef ATREST_APP_ADMIN_H_
#define ATREST_APP_ADMIN_H_

#include <optional>
#include <ostream>
#include <string>

#include "base/status.h"

namespace atrest::app {

struct AdminContext {
  std::string data_dir;
  // Empty: the only tenant, else the one the server made on first start
  // (<data dir>/bootstrap.json); refused when neither can be told.
  std::string tenant_id;
};

Status CreateTenant(const AdminContext& ctx, const std::string& name,
                    std::ostream& out);
Status CreateServicePrincipalForRbac(const AdminContext& ctx,
                                     const std::string& name,
                                     const std::string& role,
                                     const std::string& scopes,
                                     std::ostream& out);
Status ListServicePrincipals(const AdminContext& ctx, std::ostream& out);
Status DeleteServicePrincipal(const AdminContext& ctx, const std::string& id,
                              std::ostream& out);
// Transfers a subscription to another tenant (Azure's "change directory"):
// its role assignments are removed, and system-assigned identities of the
// accounts in it stay in the old tenant, so their customer-managed keys stop
// working until the identities are re-enabled and granted access again.
Status ChangeSubscriptionDirectory(const AdminContext& ctx,
                                   const std::string& subscription_id,
                                   const std::string& tenant_id,
                                   std::ostream& out);

}  // namespace atrest::app

#endif  // ATREST_APP_ADMIN_H_
