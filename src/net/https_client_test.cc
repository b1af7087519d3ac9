#include "net/https_client.h"

#include <gtest/gtest.h>

namespace atrest::net {
namespace {

TEST(HttpsUrlTest, ParsesHostPortPathAndQuery) {
  Result<HttpsUrl> u = HttpsUrl::Parse(
      "https://Management.localhost:8443/subscriptions?api-version=1");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "management.localhost");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/subscriptions?api-version=1");
  EXPECT_EQ(u->HostHeader(), "management.localhost:8443");
}

TEST(HttpsUrlTest, DefaultsPortAndPath) {
  Result<HttpsUrl> u = HttpsUrl::Parse("HTTPS://login.example.com");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "login.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->HostHeader(), "login.example.com");
}

TEST(HttpsUrlTest, QueryWithoutPathAndFragment) {
  Result<HttpsUrl> u = HttpsUrl::Parse("https://h?x=1#frag");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->target, "/?x=1");
  u = HttpsUrl::Parse("https://h:9/a/b#frag");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->target, "/a/b");
  EXPECT_EQ(u->port, 9);
}

TEST(HttpsUrlTest, RejectsBadUrls) {
  for (const char* bad :
       {"http://localhost/", "localhost:8443", "https://", "https:///path",
        "https://user@host/", "https://[::1]:8443/", "https://host:/",
        "https://host:0/", "https://host:65536/", "https://host:12ab/",
        "https://ho st/", "https://-host/", "https://.host/"}) {
    Result<HttpsUrl> u = HttpsUrl::Parse(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(PercentEncodeTest, KeepsUnreservedOnly) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("a b/c+d=&"), "a%20b%2Fc%2Bd%3D%26");
  EXPECT_EQ(PercentEncode("\xff"), "%FF");
}

TEST(SendHttpsTest, RejectsBadUrlBeforeConnecting) {
  Result<HttpsResponse> r =
      SendHttps({.method = "GET", .url = "http://localhost/"}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(SendHttpsTest, MissingCaFileIsAnError) {
  Result<HttpsResponse> r =
      SendHttps({.method = "GET", .url = "https://localhost:1/"},
                {.ca_files = {"/nonexistent/ca.pem"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/ca.pem"),
            std::string::npos);
}

}  // namespace
}  // namespace atrest::net
