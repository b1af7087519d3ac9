#include "resources/names.h"

#include <gtest/gtest.h>

#include <string>

#include "base/status_testing.h"

namespace atrest::resources {
namespace {

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

}  // namespace
}  // namespace atrest::resources
