#include "store/model.h"

#include <array>
#include <utility>

namespace atrest::store {

namespace {

constexpr std::array<std::pair<SubscriptionState, std::string_view>, 5>
    kSubscriptionStates = {{
        {SubscriptionState::kEnabled, "Enabled"},
        {SubscriptionState::kWarned, "Warned"},
        {SubscriptionState::kPastDue, "PastDue"},
        {SubscriptionState::kDisabled, "Disabled"},
        {SubscriptionState::kDeleted, "Deleted"},
    }};

}  // namespace

std::string_view SubscriptionStateName(SubscriptionState state) {
  for (const auto& [value, name] : kSubscriptionStates) {
    if (value == state) return name;
  }
  return "Unknown";
}

std::optional<SubscriptionState> ParseSubscriptionState(std::string_view name) {
  for (const auto& [value, known] : kSubscriptionStates) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::string_view PrincipalKindName(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kUser:
      return "user";
    case PrincipalKind::kServicePrincipal:
      return "servicePrincipal";
    case PrincipalKind::kManagedIdentity:
      return "managedIdentity";
  }
  return "unknown";
}

std::optional<PrincipalKind> ParsePrincipalKind(std::string_view name) {
  for (PrincipalKind kind :
       {PrincipalKind::kUser, PrincipalKind::kServicePrincipal,
        PrincipalKind::kManagedIdentity}) {
    if (PrincipalKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace atrest::store
