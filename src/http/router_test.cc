#include "http/router.h"

#include <gtest/gtest.h>

namespace atrest::http {
namespace {

Handler Named(std::string name) {
  return [name](Request&) { return Response::Text(200, name); };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router_
                    .Add("login.localhost", "POST", "/{tenant}/token", {},
                         Named("token"))
                    .ok());
    ASSERT_TRUE(router_
                    .Add("*.vault.localhost", "GET", "/keys/{name}", {},
                         Named("get-key"))
                    .ok());
    ASSERT_TRUE(router_
                    .Add("*.vault.localhost", "PUT", "/keys/{name}", {},
                         Named("put-key"))
                    .ok());
    ASSERT_TRUE(router_
                    .Add("*.vault.localhost", "GET", "/keys/{name}/{version}",
                         {}, Named("get-ver"))
                    .ok());
    ASSERT_TRUE(router_
                    .Add("*.openai.localhost", "GET", "/openai/models", {},
                         Named("models"))
                    .ok());
    ASSERT_TRUE(
        router_.Add("localhost", "GET", "/healthz", {}, Named("health")).ok());
    ASSERT_TRUE(router_
                    .Add("management.localhost", "GET",
                         "/subscriptions/{sub}/resourceGroups/{rg}", {},
                         Named("rg"))
                    .ok());
  }

  std::string Body(const RouteMatch& m) {
    Request req;
    return m.route->handler(req).body;
  }

  Router router_;
};

TEST_F(RouterTest, WildcardHostCapturesLeftmostLabel) {
  RouteMatch m = router_.Find("kv1.vault.localhost", "GET", "/keys/k%201");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(Body(m), "get-key");
  EXPECT_EQ(m.host_label, "kv1");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "name");
  EXPECT_EQ(m.params[0].second, "k 1");
  EXPECT_EQ(m.route->path_pattern, "/keys/{name}");
}

TEST_F(RouterTest, WildcardNeedsExactlyOneLabel) {
  EXPECT_EQ(router_.Find("vault.localhost", "GET", "/keys/a").kind,
            RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_.Find("a.b.vault.localhost", "GET", "/keys/a").kind,
            RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_.Find("x.openai.localhost", "GET", "/keys/a").kind,
            RouteMatch::Kind::kNotFound);
  EXPECT_EQ(
      router_.Find("acct.openai.localhost", "GET", "/openai/models").host_label,
      "acct");
}

TEST_F(RouterTest, ExactHostsAndBareDomain) {
  EXPECT_EQ(Body(router_.Find("localhost", "GET", "/healthz")), "health");
  RouteMatch m = router_.Find("login.localhost", "POST", "/t1/token");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.host_label, "");
  EXPECT_EQ(router_.Find("other.localhost", "GET", "/healthz").kind,
            RouteMatch::Kind::kNotFound);
}

TEST_F(RouterTest, MultipleCapturesAndCaseInsensitiveLiterals) {
  RouteMatch m = router_.Find("management.localhost", "GET",
                              "/subscriptions/s1/resourcegroups/rg1");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].second, "s1");
  EXPECT_EQ(m.params[1].second, "rg1");
  EXPECT_EQ(Body(router_.Find("kv.vault.localhost", "GET", "/keys/a/v1")),
            "get-ver");
}

TEST_F(RouterTest, NotFoundAndMethodNotAllowed) {
  EXPECT_EQ(router_.Find("kv.vault.localhost", "GET", "/keys").kind,
            RouteMatch::Kind::kNotFound);
  EXPECT_EQ(router_.Find("kv.vault.localhost", "GET", "/keys/").kind,
            RouteMatch::Kind::kNotFound);  // Empty capture.
  EXPECT_EQ(router_.Find("kv.vault.localhost", "GET", "/keys/a/").kind,
            RouteMatch::Kind::kNotFound);  // Empty capture.
  RouteMatch m = router_.Find("kv.vault.localhost", "DELETE", "/keys/a");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, PUT");
  Response r = Router::NotFoundResponse(m);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("allow").value_or(""), "GET, PUT");
  Response nf = Router::NotFoundResponse(RouteMatch{});
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(nf.body.find("\"code\":\"NotFound\""), std::string::npos);
}

TEST_F(RouterTest, CatchAllHostIsWeakest) {
  ASSERT_TRUE(router_.Add("*", "GET", "/healthz", {}, Named("any")).ok());
  EXPECT_EQ(Body(router_.Find("localhost", "GET", "/healthz")), "health");
  RouteMatch m = router_.Find("127.0.0.1", "GET", "/healthz");
  EXPECT_EQ(Body(m), "any");
  EXPECT_EQ(m.host_label, "");
}

TEST_F(RouterTest, RejectsBadRoutes) {
  EXPECT_EQ(
      router_.Add("*.vault.localhost", "GET", "/keys/{name}", {}, Named("dup"))
          .code(),
      StatusCode::kAlreadyExists);
  EXPECT_FALSE(router_.Add("a.*.localhost", "GET", "/", {}, Named("x")).ok());
  EXPECT_FALSE(router_.Add("localhost", "GET", "nope", {}, Named("x")).ok());
  EXPECT_FALSE(router_.Add("localhost", "GET", "/a{b}", {}, Named("x")).ok());
  EXPECT_FALSE(router_.Add("localhost", "GET", "/a", {}, nullptr).ok());
  // An inline handler must not block, and one reading a streamed body would.
  RouteLimits both;
  both.streaming_body = true;
  both.inline_handler = true;
  EXPECT_EQ(router_.Add("localhost", "PUT", "/s", both, Named("x")).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RouterTest, SurfaceIsDeclaredPerHostAndReportedEvenWhenNotFound) {
  ASSERT_TRUE(router_.SetSurface("*.vault.localhost", Surface::kKeyVault).ok());
  ASSERT_TRUE(router_.SetSurface("login.localhost", Surface::kLogin).ok());
  EXPECT_FALSE(router_.SetSurface("a.*.b", Surface::kArm).ok());
  RouteMatch m = router_.Find("kv1.vault.localhost", "GET", "/keys/k1");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.surface, Surface::kKeyVault);
  m = router_.Find("kv1.vault.localhost", "GET", "/nothing/here");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(m.surface, Surface::kKeyVault);
  // Its 404s come in its shape.
  m = router_.Find("login.localhost", "GET", "/x");
  EXPECT_EQ(m.surface, Surface::kLogin);
  Response r = Router::NotFoundResponse(m);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.rfind("{\"error\":\"invalid_request\"", 0), 0u) << r.body;
  EXPECT_EQ(router_.Find("other.example", "GET", "/").surface,
            Surface::kGeneric);
}

TEST_F(RouterTest, RoutesListsEveryRouteWithItsHostsSurface) {
  ASSERT_TRUE(router_.SetSurface("*.vault.localhost", Surface::kKeyVault).ok());
  size_t vault = 0, total = 0;
  for (const Router::Listed& l : router_.Routes()) {
    ++total;
    if (l.route->host_pattern == "*.vault.localhost") {
      ++vault;
      EXPECT_EQ(l.surface, Surface::kKeyVault);
    }
  }
  EXPECT_EQ(vault, 3u);  // The three of SetUp().
  EXPECT_GT(total, vault);
  ASSERT_TRUE(router_.Add("localhost", "GET", "/new", {}, Named("n")).ok());
  EXPECT_EQ(router_.Routes().size(), total + 1);
}

TEST_F(RouterTest, LargestHeaderLimit) {
  EXPECT_EQ(router_.LargestHeaderLimit(), 16u * 1024);
  RouteLimits big;
  big.max_header_bytes = 64 * 1024;
  ASSERT_TRUE(router_.Add("localhost", "GET", "/big", big, Named("b")).ok());
  EXPECT_EQ(router_.LargestHeaderLimit(), 64u * 1024);
}

}  // namespace
}  // namespace atrest::http
