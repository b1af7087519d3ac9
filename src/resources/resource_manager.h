// ResourceManager: subscriptions, resource groups and role assignments, the
// core of the management plane, and the RBAC check every management call
// makes (DESIGN.md §1, reference/azure-openai-api.md §3).
//
// Authorization: a caller may act at a scope when one of its role
// assignments is at that scope or above it, with a role that allows the
// action (resources/roles.h), and the subscription belongs to the caller's
// tenant. Refusals carry ARM's error codes as Status reasons:
// AuthorizationFailed, InvalidAuthenticationTokenTenant, SubscriptionNotFound,
// ResourceGroupNotFound, InvalidResourceGroupLocation, ...
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_RESOURCES_RESOURCE_MANAGER_H_
#define ATREST_RESOURCES_RESOURCE_MANAGER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "identity/identity_service.h"
#include "resources/roles.h"
#include "store/store.h"

namespace atrest::resources {

// "West US" -> "westus": ARM's normal form of a location name.
std::string NormalizeLocation(std::string_view location);

std::string SubscriptionScope(const std::string& subscription_id);
std::string ResourceGroupScope(const std::string& subscription_id,
                               const std::string& group);

class ResourceManager {
 public:
  ResourceManager(store::Store& store, env::Env& env);

  // OK when `caller` may perform `action` at `scope`, which must start with
  // "/subscriptions/<id>".
  Status Authorize(const identity::Caller& caller, std::string_view scope,
                   Action action);

  // For bootstrap and administration: no authorization check. The scope is
  // still normalized (NormalizeScope).
  Result<store::Subscription> CreateSubscription(
      const std::string& tenant_id, const std::string& display_name);
  Result<store::RoleAssignment> AssignRoleUnchecked(
      const std::string& principal_id, const RoleDefinition& role,
      const std::string& scope);

  // Subscriptions of the caller's tenant on which it holds any role.
  Result<std::vector<store::Subscription>> ListSubscriptions(
      const identity::Caller& caller);
  Result<store::Subscription> GetSubscription(const identity::Caller& caller,
                                              const std::string& id);

  // Microsoft.Subscription aliases: creating a subscription through ARM.
  // atrest has no billing accounts; a principal that is Owner of any
  // subscription of its tenant may create more, and becomes Owner of each
  // one it creates. Creating an alias that exists returns its subscription
  // (PUT is idempotent); `display_name` then changes nothing.
  struct PutAliasResult {
    store::Subscription subscription;
    bool created = false;
  };
  Result<PutAliasResult> PutSubscriptionAlias(const identity::Caller& caller,
                                              const std::string& alias,
                                              const std::string& display_name);
  Result<store::Subscription> GetSubscriptionAlias(
      const identity::Caller& caller, const std::string& alias);
  Result<std::vector<store::Subscription>> ListSubscriptionAliases(
      const identity::Caller& caller);
  // Removes the alias only; the subscription stays, as in ARM.
  Status DeleteSubscriptionAlias(const identity::Caller& caller,
                                 const std::string& alias);
  // Cancel makes a subscription Disabled: readable, but every write at or
  // under it is refused (409 ReadOnlyDisabledSubscription) until Enable.
  // Both need Owner; nothing in it is deleted.
  Status CancelSubscription(const identity::Caller& caller,
                            const std::string& id);
  Status EnableSubscription(const identity::Caller& caller,
                            const std::string& id);
  Status RenameSubscription(const identity::Caller& caller,
                            const std::string& id, const std::string& name);

  struct PutGroupResult {
    store::ResourceGroup group;
    bool created = false;
  };
  // Creates the group, or updates its tags; its location cannot change.
  Result<PutGroupResult> PutResourceGroup(
      const identity::Caller& caller, const std::string& subscription_id,
      const std::string& name, const std::string& location,
      const std::map<std::string, std::string>& tags);
  Result<store::ResourceGroup> GetResourceGroup(
      const identity::Caller& caller, const std::string& subscription_id,
      const std::string& name);
  Result<std::vector<store::ResourceGroup>> ListResourceGroups(
      const identity::Caller& caller, const std::string& subscription_id);
  // Called with (subscription, group) after authorization and before a
  // group is deleted, by services whose resources must outlive it in a
  // deleted state (key vaults are soft-deleted, not destroyed). Register
  // before the server starts.
  using GroupDeletionHook =
      std::function<Status(const std::string&, const std::string&)>;
  void AddGroupDeletionHook(GroupDeletionHook hook) {
    group_deletion_hooks_.push_back(std::move(hook));
  }
  Status DeleteResourceGroup(const identity::Caller& caller,
                             const std::string& subscription_id,
                             const std::string& name);

  // Role assignments at `scope`; `name` is the assignment's GUID. Create
  // refuses a name that is not a GUID (InvalidRoleAssignmentId) before
  // anything is stored; the scope is normalized first (resources/scope.h):
  // one that names no real scope shape (a '.' or '..' segment, an empty
  // one, ...) is InvalidArgument "InvalidScope", and assignments are stored
  // at the normal form.
  Result<store::RoleAssignment> CreateRoleAssignment(
      const identity::Caller& caller, const std::string& scope,
      const std::string& name, const std::string& principal_id,
      const std::string& role_definition_id);
  Result<std::vector<store::RoleAssignment>> ListRoleAssignments(
      const identity::Caller& caller, const std::string& scope);
  Status DeleteRoleAssignment(const identity::Caller& caller,
                              const std::string& scope,
                              const std::string& name);

 private:
  int64_t Now() const;
  // Authorize, except that a Disabled subscription refuses only what
  // `allow_disabled` does not cover.
  Status AuthorizeIn(const identity::Caller& caller, std::string_view scope,
                     Action action, bool allow_disabled);
  // Sets the state of a subscription the caller owns.
  Status SetSubscriptionState(const identity::Caller& caller,
                              const std::string& id,
                              store::SubscriptionState state);
  // The subscription, checked to be in the caller's tenant.
  Result<store::Subscription> TenantSubscription(
      store::Transaction& tx, const identity::Caller& caller,
      const std::string& subscription_id);

  store::Store& store_;
  env::Env& env_;
  std::vector<GroupDeletionHook> group_deletion_hooks_;
};

}  // namespace atrest::resources

#endif  // ATREST_RESOURCES_RESOURCE_MANAGER_H_
