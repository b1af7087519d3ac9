#include "resources/names.h"

#include <gtest/gtest.h>

#include <string>

#include "base/status_testing.h"

namespace atrest::resources {
namespace {

constexpr const char* kSub =
    "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590";

TEST(NamesTest, GuidsAreEightFourFourFourTwelveHexDigits) {
  EXPECT_TRUE(IsGuid("6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11"));
  EXPECT_TRUE(IsGuid("6F4C6A52-9D3C-4B1E-8F6E-0C5D2A7B9E11"));
  EXPECT_FALSE(IsGuid(""));
  EXPECT_FALSE(IsGuid("6f4c6a529d3c4b1e8f6e0c5d2a7b9e11"));
  EXPECT_FALSE(IsGuid("6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e1g"));
  EXPECT_FALSE(IsGuid("6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e111"));
  EXPECT_FALSE(IsGuid("{6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e1}"));
}

TEST(NamesTest, RoleAssignmentNamesMustBeGuids) {
  EXPECT_OK(ValidateRoleAssignmentName("6f4c6a52-9d3c-4b1e-8f6e-0c5d2a7b9e11"));
  for (const char* bad : {"", "\xff", "assignment-1", "../x"}) {
    EXPECT_REFUSED(ValidateRoleAssignmentName(bad),
                   StatusCode::kInvalidArgument, "InvalidRoleAssignmentId");
  }
}

TEST(NamesTest, ResourceGroupNames) {
  EXPECT_OK(ValidateGroupName("ml-data_(1).x"));
  EXPECT_OK(ValidateGroupName(std::string(90, 'g')));
  for (const std::string& bad :
       {std::string(""), std::string(91, 'g'), std::string("g."),
        std::string("g!"), std::string("g\xff"), std::string("caf\xc3\xa9")}) {
    EXPECT_REFUSED(ValidateGroupName(bad), StatusCode::kInvalidArgument,
                   "InvalidResourceGroup");
  }
}

TEST(NamesTest, ResourceNamesAreUtf8WithoutControlOrReservedCharacters) {
  EXPECT_OK(ValidateResourceName("kv-1"));
  EXPECT_OK(ValidateResourceName("caf\xc3\xa9 1"));
  EXPECT_OK(ValidateResourceName(std::string(260, 'r')));
  for (const std::string& bad :
       {std::string(""), std::string(261, 'r'), std::string("r\xff"),
        std::string("r\xc0\xaf"), std::string("r\n"), std::string("r\x7f"),
        std::string("a/b"), std::string("a%b"), std::string("a?b"),
        std::string("a#b"), std::string("a:b"), std::string("a\\b")}) {
    EXPECT_REFUSED(ValidateResourceName(bad), StatusCode::kInvalidArgument,
                   "InvalidResourceName");
  }
}

TEST(NamesTest, ScopesOfEveryLevel) {
  const std::string sub = kSub;
  EXPECT_OK(ValidateScope(sub));
  EXPECT_OK(ValidateScope(sub + "/resourceGroups/rg"));
  EXPECT_OK(ValidateScope(sub + "/resourcegroups/rg"));
  EXPECT_OK(ValidateScope(sub +
                          "/resourceGroups/rg/providers/Microsoft.KeyVault/"
                          "vaults/kv1"));
  EXPECT_OK(ValidateScope(sub + "/resourceGroups/rg/providers/"
                                "Microsoft.CognitiveServices/accounts/a1/"
                                "deployments/d1"));
}

TEST(NamesTest, ScopesWithABadPartAreRefusedWithThatPartsCode) {
  const std::string sub = kSub;
  EXPECT_REFUSED(ValidateScope(sub + "/resourceGroups/r\xff"),
                 StatusCode::kInvalidArgument, "InvalidResourceGroup");
  EXPECT_REFUSED(
      ValidateScope(sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/"
                          "vaults/k\xff"),
      StatusCode::kInvalidArgument, "InvalidResourceName");
  EXPECT_REFUSED(ValidateScope("/subscriptions/s\xff"),
                 StatusCode::kInvalidArgument, "InvalidResourceName");
  for (const std::string& bad :
       {std::string(""), std::string("/"), std::string("subscriptions/x"),
        std::string("/subscriptions"), std::string("/subscriptions/"),
        std::string("/tenants/x"), sub + "/", sub + "/resourceGroups",
        sub + "/resourceGroups/rg/", sub + "/things/rg",
        sub + "/resourceGroups/rg/providers/Microsoft.KeyVault",
        sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults",
        sub + "/resourceGroups/rg/providers/Microsoft.Key\xffVault/vaults/kv",
        sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vau-lts/kv",
        sub + "/resourceGroups/rg/nope/Microsoft.KeyVault/vaults/kv"}) {
    Status s = ValidateScope(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_REFUSED(ValidateScope(sub + "/things/rg"),
                 StatusCode::kInvalidArgument, "InvalidScope");
}

}  // namespace
}  // namespace atrest::resources
