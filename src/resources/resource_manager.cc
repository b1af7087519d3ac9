#include "resources/resource_manager.h"

#include <algorithm>
#include <cctype>

#include "resources/names.h"
#include "resources/scope.h"

namespace atrest::resources {
namespace {

Status Reason(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason));
}

std::string ActionName(Action action, std::string_view scope) {
  const bool group = scope.find("/resourceGroups/") != std::string_view::npos ||
                     scope.find("/resourcegroups/") != std::string_view::npos;
  const std::string type =
      group ? "Microsoft.Resources/subscriptions/resourceGroups"
            : "Microsoft.Resources/subscriptions";
  switch (action) {
    case Action::kRead:
      return type + "/read";
    case Action::kWrite:
      return type + "/write";
    case Action::kDelete:
      return type + "/delete";
    case Action::kAssignRoles:
      return "Microsoft.Authorization/roleAssignments/write";
    case Action::kOpenAiData:
      return "Microsoft.CognitiveServices/accounts/OpenAI/*";
  }
  return "";
}

// "/subscriptions/<id>[/...]" -> "<id>".
Result<std::string> SubscriptionOf(std::string_view scope) {
  constexpr std::string_view kPrefix = "/subscriptions/";
  if (scope.size() <= kPrefix.size() ||
      !std::equal(kPrefix.begin(), kPrefix.end(), scope.begin(),
                  [](char a, char b) {
                    return a == std::tolower(static_cast<unsigned char>(b));
                  })) {
    return Reason(StatusCode::kInvalidArgument, "InvalidScope",
                  "scope must start with /subscriptions/<id>");
  }
  std::string_view rest = scope.substr(kPrefix.size());
  return std::string(rest.substr(0, rest.find('/')));
}

}  // namespace

std::string NormalizeLocation(std::string_view location) {
  std::string out;
  for (char c : location) {
    if (c != ' ')
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string SubscriptionScope(const std::string& subscription_id) {
  return "/subscriptions/" + subscription_id;
}

std::string ResourceGroupScope(const std::string& subscription_id,
                               const std::string& group) {
  return SubscriptionScope(subscription_id) + "/resourceGroups/" + group;
}

ResourceManager::ResourceManager(store::Store& store, env::Env& env)
    : store_(store), env_(env) {}

int64_t ResourceManager::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

Result<store::Subscription> ResourceManager::TenantSubscription(
    store::Transaction& tx, const identity::Caller& caller,
    const std::string& subscription_id) {
  Result<store::Subscription> sub = tx.subscriptions().Get(subscription_id);
  if (!sub.ok()) {
    if (sub.status().code() != StatusCode::kNotFound) return sub.status();
    return Reason(
        StatusCode::kNotFound, "SubscriptionNotFound",
        "The subscription '" + subscription_id + "' could not be found.");
  }
  if (sub->tenant_id != caller.tenant_id) {
    return Reason(
        StatusCode::kUnauthenticated, "InvalidAuthenticationTokenTenant",
        "The access token is from the wrong issuer: subscription '" +
            subscription_id + "' belongs to tenant '" + sub->tenant_id + "'.");
  }
  return sub;
}

Status ResourceManager::Authorize(const identity::Caller& caller,
                                  std::string_view scope, Action action) {
  return AuthorizeIn(caller, scope, action, /*allow_disabled=*/false);
}

Status ResourceManager::AuthorizeIn(const identity::Caller& caller,
                                    std::string_view scope, Action action,
                                    bool allow_disabled) {
  ASSIGN_OR_RETURN(std::string sub_id, SubscriptionOf(scope));
  return store_.Read([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Subscription sub,
                     TenantSubscription(tx, caller, sub_id));
    ASSIGN_OR_RETURN(std::vector<store::RoleAssignment> mine,
                     tx.role_assignments().ListForPrincipal(caller.object_id));
    bool allowed = false;
    for (const store::RoleAssignment& a : mine) {
      std::optional<RoleDefinition> role = FindRole(a.role_name);
      if (role && Allows(*role, action) && ScopeContains(a.scope, scope)) {
        allowed = true;
        break;
      }
    }
    if (!allowed) {
      return Reason(StatusCode::kPermissionDenied, "AuthorizationFailed",
                    "The client '" + caller.app_id + "' with object id '" +
                        caller.object_id +
                        "' does not have authorization to perform action '" +
                        ActionName(action, scope) + "' over scope '" +
                        std::string(scope) + "' or the scope is invalid.");
    }
    if (action != Action::kRead && !allow_disabled &&
        sub.state == store::SubscriptionState::kDisabled) {
      return Reason(StatusCode::kFailedPrecondition,
                    "ReadOnlyDisabledSubscription",
                    "The subscription '" + sub.id +
                        "' is disabled and therefore marked as read only. "
                        "You cannot perform any write actions on this "
                        "subscription until it is re-enabled.");
    }
    return Status::Ok();
  });
}

Result<store::Subscription> ResourceManager::CreateSubscription(
    const std::string& tenant_id, const std::string& display_name) {
  store::Subscription sub{.id = env_.random().NewUuid(),
                          .tenant_id = tenant_id,
                          .display_name = display_name,
                          .created_at = Now()};
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.subscriptions().Create(sub); }));
  return sub;
}

Result<store::RoleAssignment> ResourceManager::AssignRoleUnchecked(
    const std::string& principal_id, const RoleDefinition& role,
    const std::string& requested_scope) {
  ASSIGN_OR_RETURN(const std::string scope, NormalizeScope(requested_scope));
  store::RoleAssignment a{.id = env_.random().NewUuid(),
                          .principal_id = principal_id,
                          .role_name = std::string(role.name),
                          .scope = scope,
                          .created_at = Now()};
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.role_assignments().Create(a); }));
  return a;
}

Result<std::vector<store::Subscription>> ResourceManager::ListSubscriptions(
    const identity::Caller& caller) {
  return store_.ReadResult(
      [&](store::Transaction& tx) -> Result<std::vector<store::Subscription>> {
        ASSIGN_OR_RETURN(auto subs,
                         tx.subscriptions().ListByTenant(caller.tenant_id));
        ASSIGN_OR_RETURN(auto mine, tx.role_assignments().ListForPrincipal(
                                        caller.object_id));
        std::vector<store::Subscription> out;
        for (store::Subscription& s : subs) {
          const bool visible = std::any_of(
              mine.begin(), mine.end(), [&](const store::RoleAssignment& a) {
                return ScopeContains(SubscriptionScope(s.id), a.scope) ||
                       ScopeContains(a.scope, SubscriptionScope(s.id));
              });
          if (visible) out.push_back(std::move(s));
        }
        return out;
      });
}

Result<store::Subscription> ResourceManager::GetSubscription(
    const identity::Caller& caller, const std::string& id) {
  RETURN_IF_ERROR(Authorize(caller, SubscriptionScope(id), Action::kRead));
  return store_.ReadResult(
      [&](store::Transaction& tx) { return tx.subscriptions().Get(id); });
}

namespace {

Status ValidateAliasName(const std::string& alias) {
  const bool ok = !alias.empty() && alias.size() <= 64 &&
                  std::all_of(alias.begin(), alias.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) ||
                           c == '-' || c == '_' || c == '.';
                  });
  if (ok) return Status::Ok();
  return Reason(StatusCode::kInvalidArgument, "InvalidAliasName",
                "The alias name '" + alias +
                    "' is invalid: use 1-64 letters, digits, '-', '_' or "
                    "'.'.");
}

Status AliasNotFound(const std::string& alias) {
  return Reason(StatusCode::kNotFound, "ResourceNotFound",
                "The subscription alias '" + alias + "' was not found.");
}

}  // namespace

Result<ResourceManager::PutAliasResult> ResourceManager::PutSubscriptionAlias(
    const identity::Caller& caller, const std::string& alias,
    const std::string& display_name) {
  RETURN_IF_ERROR(ValidateAliasName(alias));
  PutAliasResult result;
  const std::string owner_role = std::string(FindRole("Owner")->name);
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    Result<store::Subscription> existing =
        tx.subscriptions().GetByAlias(caller.tenant_id, alias);
    if (existing.ok()) {
      result = {*existing, false};
      return Status::Ok();
    }
    if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    }
    ASSIGN_OR_RETURN(auto mine,
                     tx.role_assignments().ListForPrincipal(caller.object_id));
    bool tenant_owner = false;
    for (const store::RoleAssignment& a : mine) {
      Result<std::string> sub_id = SubscriptionOf(a.scope);
      if (!sub_id.ok() || a.scope.size() != SubscriptionScope(*sub_id).size() ||
          a.role_name != owner_role) {
        continue;
      }
      Result<store::Subscription> sub = tx.subscriptions().Get(*sub_id);
      if (sub.ok() && sub->tenant_id == caller.tenant_id) {
        tenant_owner = true;
        break;
      }
    }
    if (!tenant_owner) {
      return Reason(StatusCode::kPermissionDenied, "AuthorizationFailed",
                    "The client '" + caller.app_id + "' with object id '" +
                        caller.object_id +
                        "' may not create subscriptions: it must be Owner "
                        "of a subscription in tenant '" +
                        caller.tenant_id + "'.");
    }
    store::Subscription sub{
        .id = env_.random().NewUuid(),
        .tenant_id = caller.tenant_id,
        .display_name = display_name.empty() ? alias : display_name,
        .created_at = Now(),
        .alias = alias};
    RETURN_IF_ERROR(tx.subscriptions().Create(sub));
    RETURN_IF_ERROR(
        tx.role_assignments().Create({.id = env_.random().NewUuid(),
                                      .principal_id = caller.object_id,
                                      .role_name = owner_role,
                                      .scope = SubscriptionScope(sub.id),
                                      .created_at = Now()}));
    result = {sub, true};
    return Status::Ok();
  }));
  return result;
}

Result<store::Subscription> ResourceManager::GetSubscriptionAlias(
    const identity::Caller& caller, const std::string& alias) {
  Result<store::Subscription> sub =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.subscriptions().GetByAlias(caller.tenant_id, alias);
      });
  if (!sub.ok()) {
    if (sub.status().code() == StatusCode::kNotFound) {
      return AliasNotFound(alias);
    }
    return sub.status();
  }
  // Only those who may read the subscription learn that the alias exists.
  Status read = Authorize(caller, SubscriptionScope(sub->id), Action::kRead);
  if (read.code() == StatusCode::kPermissionDenied) return AliasNotFound(alias);
  RETURN_IF_ERROR(read);
  return sub;
}

Result<std::vector<store::Subscription>>
ResourceManager::ListSubscriptionAliases(const identity::Caller& caller) {
  ASSIGN_OR_RETURN(std::vector<store::Subscription> visible,
                   ListSubscriptions(caller));
  std::erase_if(visible,
                [](const store::Subscription& s) { return s.alias.empty(); });
  return visible;
}

Status ResourceManager::DeleteSubscriptionAlias(const identity::Caller& caller,
                                                const std::string& alias) {
  ASSIGN_OR_RETURN(store::Subscription sub,
                   GetSubscriptionAlias(caller, alias));
  RETURN_IF_ERROR(AuthorizeIn(caller, SubscriptionScope(sub.id),
                              Action::kDelete, /*allow_disabled=*/true));
  return store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Subscription current,
                     tx.subscriptions().Get(sub.id));
    current.alias.clear();
    return tx.subscriptions().Update(current);
  });
}

Status ResourceManager::SetSubscriptionState(const identity::Caller& caller,
                                             const std::string& id,
                                             store::SubscriptionState state) {
  // Owner only: Contributor may write resources but not the subscription.
  RETURN_IF_ERROR(AuthorizeIn(caller, SubscriptionScope(id),
                              Action::kAssignRoles, /*allow_disabled=*/true));
  return store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Subscription sub, tx.subscriptions().Get(id));
    sub.state = state;
    return tx.subscriptions().Update(sub);
  });
}

Status ResourceManager::CancelSubscription(const identity::Caller& caller,
                                           const std::string& id) {
  return SetSubscriptionState(caller, id, store::SubscriptionState::kDisabled);
}

Status ResourceManager::EnableSubscription(const identity::Caller& caller,
                                           const std::string& id) {
  return SetSubscriptionState(caller, id, store::SubscriptionState::kEnabled);
}

Status ResourceManager::RenameSubscription(const identity::Caller& caller,
                                           const std::string& id,
                                           const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return Reason(StatusCode::kInvalidArgument, "InvalidSubscriptionName",
                  "subscriptionName must be 1-64 characters.");
  }
  RETURN_IF_ERROR(AuthorizeIn(caller, SubscriptionScope(id),
                              Action::kAssignRoles,
                              /*allow_disabled=*/false));
  return store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Subscription sub, tx.subscriptions().Get(id));
    sub.display_name = name;
    return tx.subscriptions().Update(sub);
  });
}

Result<ResourceManager::PutGroupResult> ResourceManager::PutResourceGroup(
    const identity::Caller& caller, const std::string& subscription_id,
    const std::string& name, const std::string& location,
    const std::map<std::string, std::string>& tags) {
  RETURN_IF_ERROR(ValidateGroupName(name));
  if (NormalizeLocation(location).empty()) {
    return Reason(StatusCode::kInvalidArgument, "LocationRequired",
                  "The location property is required for this definition.");
  }
  RETURN_IF_ERROR(Authorize(caller, ResourceGroupScope(subscription_id, name),
                            Action::kWrite));
  PutGroupResult result;
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    Result<store::ResourceGroup> existing =
        tx.resource_groups().Get(subscription_id, name);
    if (existing.ok()) {
      if (NormalizeLocation(existing->location) !=
          NormalizeLocation(location)) {
        return Reason(StatusCode::kInvalidArgument,
                      "InvalidResourceGroupLocation",
                      "Invalid resource group location '" + location +
                          "'. The Resource group already exists in location '" +
                          existing->location + "'.");
      }
      RETURN_IF_ERROR(
          tx.resource_groups().SetTags(subscription_id, name, tags));
      existing->tags = tags;
      result = {*existing, false};
      return Status::Ok();
    }
    if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    }
    store::ResourceGroup group{.subscription_id = subscription_id,
                               .name = name,
                               .location = NormalizeLocation(location),
                               .tags = tags,
                               .created_at = Now()};
    RETURN_IF_ERROR(tx.resource_groups().Create(group));
    result = {group, true};
    return Status::Ok();
  }));
  return result;
}

Result<store::ResourceGroup> ResourceManager::GetResourceGroup(
    const identity::Caller& caller, const std::string& subscription_id,
    const std::string& name) {
  RETURN_IF_ERROR(Authorize(caller, ResourceGroupScope(subscription_id, name),
                            Action::kRead));
  Result<store::ResourceGroup> g =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.resource_groups().Get(subscription_id, name);
      });
  if (!g.ok() && g.status().code() == StatusCode::kNotFound) {
    return Reason(StatusCode::kNotFound, "ResourceGroupNotFound",
                  "Resource group '" + name + "' could not be found.");
  }
  return g;
}

Result<std::vector<store::ResourceGroup>> ResourceManager::ListResourceGroups(
    const identity::Caller& caller, const std::string& subscription_id) {
  RETURN_IF_ERROR(
      Authorize(caller, SubscriptionScope(subscription_id), Action::kRead));
  return store_.ReadResult([&](store::Transaction& tx) {
    return tx.resource_groups().ListBySubscription(subscription_id);
  });
}

Status ResourceManager::DeleteResourceGroup(const identity::Caller& caller,
                                            const std::string& subscription_id,
                                            const std::string& name) {
  RETURN_IF_ERROR(Authorize(caller, ResourceGroupScope(subscription_id, name),
                            Action::kDelete));
  RETURN_IF_ERROR(GetResourceGroup(caller, subscription_id, name).status());
  for (const GroupDeletionHook& hook : group_deletion_hooks_) {
    RETURN_IF_ERROR(hook(subscription_id, name));
  }
  Status s = store_.Transact([&](store::Transaction& tx) {
    return tx.resource_groups().Delete(subscription_id, name);
  });
  if (s.code() == StatusCode::kNotFound) {
    return Reason(StatusCode::kNotFound, "ResourceGroupNotFound",
                  "Resource group '" + name + "' could not be found.");
  }
  return s;
}

Result<store::RoleAssignment> ResourceManager::CreateRoleAssignment(
    const identity::Caller& caller, const std::string& requested_scope,
    const std::string& name, const std::string& principal_id,
    const std::string& role_definition_id) {
  // Both end up in the row and in every listing of the scope.
  RETURN_IF_ERROR(ValidateRoleAssignmentName(name));
  ASSIGN_OR_RETURN(const std::string scope, NormalizeScope(requested_scope));
  std::optional<RoleDefinition> role = FindRole(role_definition_id);
  if (!role) {
    return Reason(StatusCode::kInvalidArgument, "RoleDefinitionDoesNotExist",
                  "The specified role definition with ID '" +
                      role_definition_id + "' does not exist.");
  }
  RETURN_IF_ERROR(Authorize(caller, scope, Action::kAssignRoles));
  store::RoleAssignment a{.id = name,
                          .principal_id = principal_id,
                          .role_name = std::string(role->name),
                          .scope = scope,
                          .created_at = Now()};
  Status s = store_.Transact([&](store::Transaction& tx) -> Status {
    Result<store::Principal> p = tx.principals().Get(principal_id);
    if (!p.ok() || p->tenant_id != caller.tenant_id) {
      return Reason(StatusCode::kInvalidArgument, "PrincipalNotFound",
                    "Principal " + principal_id +
                        " does not exist in the directory " + caller.tenant_id +
                        ".");
    }
    return tx.role_assignments().Create(a);
  });
  if (s.code() == StatusCode::kAlreadyExists) {
    return Reason(StatusCode::kAlreadyExists, "RoleAssignmentExists",
                  "The role assignment already exists.");
  }
  RETURN_IF_ERROR(s);
  return a;
}

Result<std::vector<store::RoleAssignment>> ResourceManager::ListRoleAssignments(
    const identity::Caller& caller, const std::string& requested_scope) {
  ASSIGN_OR_RETURN(const std::string scope, NormalizeScope(requested_scope));
  RETURN_IF_ERROR(Authorize(caller, scope, Action::kRead));
  return store_.ReadResult([&](store::Transaction& tx) {
    return tx.role_assignments().ListAtScope(scope);
  });
}

Status ResourceManager::DeleteRoleAssignment(const identity::Caller& caller,
                                             const std::string& requested_scope,
                                             const std::string& name) {
  ASSIGN_OR_RETURN(const std::string scope, NormalizeScope(requested_scope));
  RETURN_IF_ERROR(Authorize(caller, scope, Action::kAssignRoles));
  return store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::RoleAssignment a, tx.role_assignments().Get(name));
    if (!ScopeContains(scope, a.scope) || !ScopeContains(a.scope, scope)) {
      return Reason(StatusCode::kNotFound, "RoleAssignmentNotFound",
                    "The role assignment '" + name + "' is not found.");
    }
    return tx.role_assignments().Delete(name);
  });
}

}  // namespace atrest::resources
