// Built-in Azure RBAC roles atrest knows, with Azure's role definition ids,
// and the actions each allows. Management-plane roles (Owner, Contributor,
// Reader) and the Key Vault data-plane roles used with
// enableRbacAuthorization.
#ifndef ATREST_RESOURCES_ROLES_H_
#define ATREST_RESOURCES_ROLES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atrest::resources {

// What a management call wants to do at a scope.
enum class Action {
  kRead,         // GET
  kWrite,        // PUT, PATCH, POST actions
  kDelete,       // DELETE
  kAssignRoles,  // Microsoft.Authorization/roleAssignments/write and delete
  // Data actions of an AI account's data plane (files, fine-tuning, models,
  // inference: Microsoft.CognitiveServices/accounts/OpenAI/*).
  kOpenAiData,
};

struct RoleDefinition {
  std::string_view name;  // "Owner"
  std::string_view id;    // Azure's GUID for the built-in role.
  bool read = false;
  bool write = false;  // Includes delete.
  bool assign_roles = false;
  // Key Vault data actions (keys) when the vault uses RBAC.
  bool key_read = false;    // get, list
  bool key_crypto = false;  // encrypt, decrypt, wrapKey, unwrapKey, sign...
  bool key_manage = false;  // create, import, update, delete, recover...
  // AI account data actions (Action::kOpenAiData). As in Azure, Owner and
  // Contributor do not grant them; the Cognitive Services data roles do.
  bool openai_data = false;
};

const std::vector<RoleDefinition>& BuiltInRoles();
// By name ("Owner", case-insensitive) or by GUID or by full role definition
// id ".../roleDefinitions/<guid>".
std::optional<RoleDefinition> FindRole(std::string_view name_or_id);

bool Allows(const RoleDefinition& role, Action action);

// True when `scope` is `assigned` or lies under it ("/subscriptions/s" holds
// "/subscriptions/s/resourceGroups/g"), ignoring ASCII case.
bool ScopeContains(std::string_view assigned, std::string_view scope);

}  // namespace atrest::resources

#endif  // ATREST_RESOURCES_ROLES_H_
