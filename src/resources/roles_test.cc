#include "resources/roles.h"

#include <gtest/gtest.h>

namespace atrest::resources {
namespace {

TEST(RolesTest, FindByNameIdOrDefinitionPath) {
  EXPECT_EQ(FindRole("owner")->name, "Owner");
  EXPECT_EQ(FindRole("b24988ac-6180-42a0-ab88-20f7382dd24c")->name,
            "Contributor");
  EXPECT_EQ(FindRole("/subscriptions/s/providers/Microsoft.Authorization/"
                     "roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")
                ->name,
            "Reader");
  EXPECT_FALSE(FindRole("Superuser").has_value());
}

TEST(RolesTest, ActionsPerRole) {
  RoleDefinition owner = *FindRole("Owner");
  RoleDefinition contributor = *FindRole("Contributor");
  RoleDefinition reader = *FindRole("Reader");
  EXPECT_TRUE(Allows(owner, Action::kAssignRoles));
  EXPECT_TRUE(Allows(contributor, Action::kDelete));
  EXPECT_FALSE(Allows(contributor, Action::kAssignRoles));
  EXPECT_TRUE(Allows(reader, Action::kRead));
  EXPECT_FALSE(Allows(reader, Action::kWrite));
  EXPECT_FALSE(Allows(*FindRole("Key Vault Crypto User"), Action::kRead));
}

TEST(RolesTest, ScopeContainment) {
  EXPECT_TRUE(ScopeContains("/subscriptions/s", "/subscriptions/s"));
  EXPECT_TRUE(
      ScopeContains("/subscriptions/S", "/subscriptions/s/resourceGroups/g"));
  EXPECT_TRUE(ScopeContains("/", "/subscriptions/s"));
  EXPECT_FALSE(ScopeContains("/subscriptions/s", "/subscriptions/s2"));
  EXPECT_FALSE(
      ScopeContains("/subscriptions/s/resourceGroups/g", "/subscriptions/s"));
}

}  // namespace
}  // namespace atrest::resources
