#include "http/query.h"

#include <gtest/gtest.h>

namespace atrest::http {
namespace {

TEST(PercentDecodeTest, DecodesEscapesAndPlus) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("%e2%82%AC", true), "\xe2\x82\xac");
}

TEST(PercentDecodeTest, RejectsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%", true).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(PercentDecode("%4", true).ok());
  EXPECT_FALSE(PercentDecode("%zz", true).ok());
  EXPECT_FALSE(PercentDecode("ab%", true).ok());
}

TEST(ParseQueryTest, DecodesNamesAndValues) {
  // The Azure Key Vault SDK sends the parameter name percent-encoded.
  Result<QueryParams> q = ParseQuery("api%2Dversion=7.4&x=a+b%2Bc&flag&&e=");
  ASSERT_TRUE(q.ok()) << q.status();
  QueryParams want = {
      {"api-version", "7.4"}, {"x", "a b+c"}, {"flag", ""}, {"e", ""}};
  EXPECT_EQ(*q, want);
}

TEST(ParseQueryTest, EmptyAndMalformed) {
  EXPECT_TRUE(ParseQuery("")->empty());
  EXPECT_FALSE(ParseQuery("a=%G0").ok());
  EXPECT_FALSE(ParseQuery("a%=1").ok());
}

TEST(SplitTargetTest, SplitsPathAndQuery) {
  std::string_view path, query;
  SplitTarget("/keys/k1?api-version=7.4", &path, &query);
  EXPECT_EQ(path, "/keys/k1");
  EXPECT_EQ(query, "api-version=7.4");
  SplitTarget("/x", &path, &query);
  EXPECT_EQ(path, "/x");
  EXPECT_EQ(query, "");
}

TEST(HostWithoutPortTest, StripsPortAndLowers) {
  EXPECT_EQ(*HostWithoutPort("Login.LOCALHOST:8443"), "login.localhost");
  EXPECT_EQ(*HostWithoutPort("kv1.vault.localhost"), "kv1.vault.localhost");
  EXPECT_EQ(*HostWithoutPort("[::1]:443"), "::1");
  EXPECT_EQ(*HostWithoutPort("127.0.0.1:1"), "127.0.0.1");
  EXPECT_EQ(*HostWithoutPort("localhost."), "localhost");
  EXPECT_FALSE(HostWithoutPort("").ok());
  EXPECT_FALSE(HostWithoutPort(":443").ok());
  EXPECT_FALSE(HostWithoutPort("a b").ok());
  EXPECT_FALSE(HostWithoutPort("[::1").ok());
}

}  // namespace
}  // namespace atrest::http
