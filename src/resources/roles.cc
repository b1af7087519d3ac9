#include "resources/roles.h"

#include <algorithm>
#include <cctype>

namespace atrest::resources {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const std::vector<RoleDefinition>& BuiltInRoles() {
  static const std::vector<RoleDefinition> roles = {
      {.name = "Owner",
       .id = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
       .read = true,
       .write = true,
       .assign_roles = true},
      {.name = "Contributor",
       .id = "b24988ac-6180-42a0-ab88-20f7382dd24c",
       .read = true,
       .write = true},
      {.name = "Reader",
       .id = "acdd72a7-3385-48ef-bd42-f606fba81ae7",
       .read = true},
      {.name = "Key Vault Administrator",
       .id = "00482a5a-887f-4fb3-b363-3b7fe8e74483",
       .key_read = true,
       .key_crypto = true,
       .key_manage = true},
      {.name = "Key Vault Crypto Officer",
       .id = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
       .key_read = true,
       .key_crypto = true,
       .key_manage = true},
      {.name = "Key Vault Crypto User",
       .id = "12338af0-0e69-4776-bea7-57ae8d297424",
       .key_read = true,
       .key_crypto = true},
      {.name = "Key Vault Crypto Service Encryption User",
       .id = "e147488a-f6f5-4113-8e2d-b22465e65bf6",
       .key_read = true,
       .key_crypto = true},
      {.name = "Key Vault Reader",
       .id = "21090545-7ca7-4776-b22c-e363652d74d2",
       .key_read = true},
      {.name = "Cognitive Services OpenAI User",
       .id = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
       .openai_data = true},
      {.name = "Cognitive Services OpenAI Contributor",
       .id = "a001fd3d-188f-4b5d-821b-7da978bf7442",
       .openai_data = true},
      {.name = "Cognitive Services User",
       .id = "a97b65f3-24c7-4388-baec-2e87135dc908",
       .openai_data = true},
  };
  return roles;
}

std::optional<RoleDefinition> FindRole(std::string_view name_or_id) {
  if (size_t slash = name_or_id.rfind('/'); slash != std::string_view::npos) {
    name_or_id = name_or_id.substr(slash + 1);
  }
  for (const RoleDefinition& r : BuiltInRoles()) {
    if (EqualsIgnoreCase(r.name, name_or_id) ||
        EqualsIgnoreCase(r.id, name_or_id)) {
      return r;
    }
  }
  return std::nullopt;
}

bool Allows(const RoleDefinition& role, Action action) {
  switch (action) {
    case Action::kRead:
      return role.read;
    case Action::kWrite:
    case Action::kDelete:
      return role.write;
    case Action::kAssignRoles:
      return role.assign_roles;
    case Action::kOpenAiData:
      return role.openai_data;
  }
  return false;
}

bool ScopeContains(std::string_view assigned, std::string_view scope) {
  while (!assigned.empty() && assigned.back() == '/') assigned.remove_suffix(1);
  if (assigned.empty()) return true;  // "/" is the root scope.
  if (scope.size() < assigned.size() ||
      !EqualsIgnoreCase(scope.substr(0, assigned.size()), assigned)) {
    return false;
  }
  return scope.size() == assigned.size() || scope[assigned.size()] == '/';
}

}  // namespace atrest::resources
