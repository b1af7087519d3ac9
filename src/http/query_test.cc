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

TEST(ParseQueryTest, RefusesBytesThatAreNotUtf8) {
  EXPECT_FALSE(ParseQuery("api-version=%FF").ok());
  EXPECT_FALSE(ParseQuery("%C0%AF=1").ok());              // Overlong '/'.
  EXPECT_FALSE(ParseQuery("grant_type=%ED%A0%80").ok());  // A surrogate.
  EXPECT_FALSE(ParseQuery("a=\xff").ok());                // Raw, not escaped.
  Result<QueryParams> q = ParseQuery("name=%E2%82%AC&x=%F0%9F%94%91");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ((*q)[0].second, "\xe2\x82\xac");
}

TEST(Utf8Test, AcceptsWellFormedAndRefusesTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));              // A lone continuation.
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // Truncated.
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // Truncated.
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // Overlong NUL.
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // Overlong.
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));      // Surrogate U+DFFF.
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // Above U+10FFFF.
  EXPECT_FALSE(IsValidUtf8("\xc3(x"));            // Bad continuation.
}

TEST(ParseHostHeaderTest, SplitsHostAndPortAndLowers) {
  Result<HostPort> h = ParseHostHeader("Login.LOCALHOST:8443");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->host, "login.localhost");
  EXPECT_EQ(h->port, "8443");
  h = ParseHostHeader("kv1.vault.localhost");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->host, "kv1.vault.localhost");
  EXPECT_EQ(h->port, "");
  h = ParseHostHeader("[::1]:443");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->host, "::1");
  EXPECT_EQ(h->port, "443");
  EXPECT_EQ(ParseHostHeader("[::1]")->host, "::1");
  EXPECT_EQ(ParseHostHeader("127.0.0.1:1")->host, "127.0.0.1");
  EXPECT_EQ(ParseHostHeader("localhost.")->host, "localhost");
  EXPECT_EQ(ParseHostHeader("localhost.:8443")->host, "localhost");
  EXPECT_EQ(ParseHostHeader("a_b.localhost:65535")->port, "65535");
}

TEST(ParseHostHeaderTest, RefusesUserinfoJunkAndBadPorts) {
  for (const char* bad : {
           "",
           ":443",
           "a b",
           "[::1",
           "[::1]x",
           "[::1]:",
           "[not-v6]:443",
           "[::1%25eth0]",
           "kv.vault.localhost:1@evil.example",
           "user@kv.vault.localhost",
           "user:pw@kv.vault.localhost",
           "kv.vault.localhost:",
           "kv.vault.localhost:x",
           "kv.vault.localhost:65536",
           "kv.vault.localhost:123456",
           "kv.vault.localhost:+1",
           "kv.vault.localhost:1:2",
           "kv.vault.localhost/path",
           "kv.vault.localhost?q",
           "kv%2evault.localhost",
           "a..b",
           ".localhost",
           "localhost..",
           "::1",
       }) {
    EXPECT_FALSE(ParseHostHeader(bad).ok()) << bad;
  }
  // A NUL would end the address inet_pton reads (found by the fuzzer).
  EXPECT_FALSE(ParseHostHeader(std::string("[::fff\0:127.0.0.1]", 19)).ok());
  EXPECT_FALSE(ParseHostHeader(std::string("local\0host", 10)).ok());
  EXPECT_FALSE(ParseHostHeader(std::string(64, 'a') + ".localhost").ok());
  EXPECT_TRUE(ParseHostHeader(std::string(63, 'a') + ".localhost").ok());
  std::string long_name;
  while (long_name.size() < 254) long_name += "abc.";
  EXPECT_FALSE(ParseHostHeader(long_name + "x").ok());
}

TEST(CheckTransferEncodingTest, OnlyChunkedAloneIsAccepted) {
  using V = std::vector<std::string_view>;
  EXPECT_TRUE(CheckTransferEncoding(V{}).ok());
  EXPECT_TRUE(CheckTransferEncoding(V{"chunked"}).ok());
  EXPECT_TRUE(CheckTransferEncoding(V{"Chunked"}).ok());
  EXPECT_TRUE(CheckTransferEncoding(V{" chunked\t"}).ok());
  EXPECT_TRUE(CheckTransferEncoding(V{", chunked ,"}).ok());
  for (const V& bad : {
           V{"xchunked"},
           V{"identity"},
           V{"gzip"},
           V{"gzip, chunked"},
           V{"chunked, identity"},
           V{"chunked, chunked"},
           V{"chunked", "chunked"},
           V{"gzip", "chunked"},
           V{"chunked;q=1"},
           V{"chunked x"},
           V{""},
           V{" , "},
       }) {
    Status s = CheckTransferEncoding(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument)
        << ::testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace atrest::http
