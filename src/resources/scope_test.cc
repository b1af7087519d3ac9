#include "resources/scope.h"

#include <gtest/gtest.h>

#include <string>

namespace atrest::resources {
namespace {

constexpr const char* kSub =
    "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333";

TEST(NormalizeScopeTest, AcceptsTheThreeShapesInNormalForm) {
  const std::string sub = kSub;
  EXPECT_EQ(*NormalizeScope(sub), sub);
  EXPECT_EQ(*NormalizeScope(sub + "/resourcegroups/rg-a"),
            sub + "/resourceGroups/rg-a");
  EXPECT_EQ(*NormalizeScope("/Subscriptions/S1/RESOURCEGROUPS/My.Group(1)_x"),
            "/subscriptions/S1/resourceGroups/My.Group(1)_x");
  EXPECT_EQ(
      *NormalizeScope(sub + "/resourceGroups/rg/PROVIDERS/Microsoft.KeyVault/"
                            "vaults/kv1"),
      sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1");
  EXPECT_EQ(*NormalizeScope(sub + "/resourceGroups/rg/providers/"
                                  "Microsoft.CognitiveServices/accounts/a1/"
                                  "deployments/d1"),
            sub +
                "/resourceGroups/rg/providers/Microsoft.CognitiveServices/"
                "accounts/a1/deployments/d1");
}

TEST(NormalizeScopeTest, RefusesDotSegmentsAndOtherShapes) {
  const std::string sub = kSub;
  for (const std::string& bad : {
           // The review's case: "rg-a2%2F..%2Frg-a" decoded.
           sub + "/resourceGroups/rg-a2/../rg-a",
           sub + "/resourceGroups/./rg-a",
           sub + "/resourceGroups/..",
           sub + "/..",
           sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/"
                 "kv1/../../other",
           std::string(""),
           std::string("subscriptions/x"),
           std::string("/"),
           std::string("/subscriptions"),
           std::string("/subscriptions/"),
           std::string("/tenants/t1"),
           sub + "/",
           sub + "//resourceGroups/rg",
           sub + "/resourceGroups",
           sub + "/resourceGroups/rg/",
           sub + "/resourceGroups/rg.",
           sub + "/resourceGroups/" + std::string(91, 'g'),
           sub + "/resourceGroups/rg/providers",
           sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults",
           sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/"
                 "keys",
           sub + "/resourceGroups/rg/locks/l1/x",
           sub + "/locks/l1",
           sub + "/resourceGroups/r g",
           sub + "/resourceGroups/rg\n",
           sub + "/resourceGroups/rg%2F..",
           sub + "/resourceGroups/rg/providers/ns/t/" + std::string(261, 'n'),
           "/subscriptions/" + std::string(3000, 's'),
       }) {
    SCOPED_TRACE(bad.substr(0, 120));
    Result<std::string> r = NormalizeScope(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    const std::string reason = r.status().reason();
    EXPECT_TRUE(reason == "InvalidScope" || reason == "InvalidResourceGroup" ||
                reason == "InvalidResourceName")
        << reason;
  }
  // The review's case names its problem, the '..' segment.
  EXPECT_EQ(
      NormalizeScope(sub + "/resourceGroups/rg-a2/../rg-a").status().reason(),
      "InvalidScope");
}

}  // namespace
}  // namespace atrest::resources
