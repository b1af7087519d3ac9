#include "resources/resource_manager.h"

#include <algorithm>
#include <cctype>

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
  }
  return "";
}

// ARM resource group names: 1-90 of letters, digits, '_', '(', ')', '-',
// '.', not ending in '.'.
Status ValidateGroupName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 90 && name.back() != '.' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) ||
                           c == '_' || c == '(' || c == ')' || c == '-' ||
                           c == '.';
                  });
  if (ok) return Status::Ok();
  return Reason(StatusCode::kInvalidArgument, "InvalidResourceGroup",
                "resource group name '" + name +
                    "' is invalid: use 1-90 letters, digits, '_', '(', ')', "
                    "'-' or '.', not ending in '.'");
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
  ASSIGN_OR_RETURN(std::string sub_id, SubscriptionOf(scope));
  return store_.Read([&](store::Transaction& tx) -> Status {
    RETURN_IF_ERROR(TenantSubscription(tx, caller, sub_id).status());
    ASSIGN_OR_RETURN(std::vector<store::RoleAssignment> mine,
                     tx.role_assignments().ListForPrincipal(caller.object_id));
    for (const store::RoleAssignment& a : mine) {
      std::optional<RoleDefinition> role = FindRole(a.role_name);
      if (role && Allows(*role, action) && ScopeContains(a.scope, scope)) {
        return Status::Ok();
      }
    }
    return Reason(StatusCode::kPermissionDenied, "AuthorizationFailed",
                  "The client '" + caller.app_id + "' with object id '" +
                      caller.object_id +
                      "' does not have authorization to perform action '" +
                      ActionName(action, scope) + "' over scope '" +
                      std::string(scope) + "' or the scope is invalid.");
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
    const std::string& scope) {
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
    const identity::Caller& caller, const std::string& scope,
    const std::string& name, const std::string& principal_id,
    const std::string& role_definition_id) {
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
    const identity::Caller& caller, const std::string& scope) {
  RETURN_IF_ERROR(Authorize(caller, scope, Action::kRead));
  return store_.ReadResult([&](store::Transaction& tx) {
    return tx.role_assignments().ListAtScope(scope);
  });
}

Status ResourceManager::DeleteRoleAssignment(const identity::Caller& caller,
                                             const std::string& scope,
                                             const std::string& name) {
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
