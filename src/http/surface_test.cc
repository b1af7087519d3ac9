#include "http/surface.h"

#include <gtest/gtest.h>

namespace atrest::http {
namespace {

TEST(SurfaceErrorTest, EachSurfaceHasItsShape) {
  Response azure = SurfaceError(Surface::kArm, 400, "BadRequest", "no");
  EXPECT_EQ(azure.status, 400);
  EXPECT_EQ(azure.body, R"({"error":{"code":"BadRequest","message":"no"}})");
  EXPECT_EQ(SurfaceError(Surface::kKeyVault, 413, "X", "m").body,
            R"({"error":{"code":"X","message":"m"}})");
  EXPECT_EQ(SurfaceError(Surface::kGeneric, 404, "NotFound", "m").body,
            R"({"error":{"code":"NotFound","message":"m"}})");
  Response openai = SurfaceError(Surface::kOpenAi, 400, "BadRequest", "bad");
  EXPECT_EQ(openai.body, R"({"error":{"code":"BadRequest","message":"bad",)"
                         R"("type":"invalid_request_error","param":null}})");
  EXPECT_NE(SurfaceError(Surface::kOpenAi, 500, "c", "m")
                .body.find(R"("type":"server_error")"),
            std::string::npos);
  Response login =
      SurfaceError(Surface::kLogin, 413, "RequestEntityTooLarge", "big");
  EXPECT_EQ(login.status, 413);
  EXPECT_EQ(login.body, R"({"error":"invalid_request",)"
                        R"("error_description":"RequestEntityTooLarge: big"})");
  EXPECT_EQ(login.headers.Get("Cache-Control"), "no-store");
  EXPECT_NE(SurfaceError(Surface::kLogin, 500, "c", "m")
                .body.find(R"("error":"server_error")"),
            std::string::npos);
  for (Surface s : {Surface::kGeneric, Surface::kArm, Surface::kKeyVault,
                    Surface::kOpenAi, Surface::kLogin}) {
    EXPECT_EQ(SurfaceError(s, 400, "c", "m").headers.Get("Content-Type"),
              "application/json; charset=utf-8");
  }
}

TEST(SurfaceErrorTest, HostileMessagesStayValidJson) {
  Response r = SurfaceError(Surface::kOpenAi, 400, "c", "\"\xff\n");
  EXPECT_NE(r.body.find(R"("message":"\"\u00ff\n")"), std::string::npos)
      << r.body;
}

TEST(RequestIdHeadersTest, EachSurfaceSetsAzuresHeaders) {
  const std::string id = "0b9c8d7e-1111-4222-8333-444455556666";
  Headers none;
  Headers h;
  SetRequestIdHeaders(Surface::kKeyVault, id, none, h);
  EXPECT_EQ(h.Get("x-ms-request-id"), id);
  EXPECT_EQ(h.size(), 1u);

  h = Headers();
  SetRequestIdHeaders(Surface::kArm, id, none, h);
  EXPECT_EQ(h.Get("x-ms-request-id"), id);
  EXPECT_EQ(h.Get("x-ms-correlation-request-id"), id);
  Headers sent;
  sent.Add("x-ms-correlation-request-id", "c0ffee00-aaaa-bbbb-cccc-1234");
  h = Headers();
  SetRequestIdHeaders(Surface::kArm, id, sent, h);
  EXPECT_EQ(h.Get("x-ms-correlation-request-id"),
            "c0ffee00-aaaa-bbbb-cccc-1234");
  // Not echoed when it could be anything.
  Headers hostile;
  hostile.Add("x-ms-correlation-request-id", "a b<script>");
  h = Headers();
  SetRequestIdHeaders(Surface::kArm, id, hostile, h);
  EXPECT_EQ(h.Get("x-ms-correlation-request-id"), id);

  h = Headers();
  SetRequestIdHeaders(Surface::kOpenAi, id, none, h);
  EXPECT_EQ(h.Get("apim-request-id"), id);
  EXPECT_EQ(h.Get("x-ms-request-id"), id);
  EXPECT_EQ(h.Get("x-request-id"), id);

  Headers msal;
  msal.Add("client-request-id", "5d3c6a1e-0000-4000-8000-00000000abcd");
  h = Headers();
  SetRequestIdHeaders(Surface::kLogin, id, msal, h);
  EXPECT_EQ(h.Get("x-ms-request-id"), id);
  EXPECT_EQ(h.Get("client-request-id"), "5d3c6a1e-0000-4000-8000-00000000abcd");
  h = Headers();
  SetRequestIdHeaders(Surface::kLogin, id, none, h);
  EXPECT_FALSE(h.Has("client-request-id"));

  // Replaces a handler's own value rather than adding a second one.
  h = Headers();
  h.Set("x-ms-request-id", "stale");
  SetRequestIdHeaders(Surface::kGeneric, id, none, h);
  EXPECT_EQ(h.GetAll("x-ms-request-id").size(), 1u);
  EXPECT_EQ(h.Get("x-ms-request-id"), id);
}

TEST(RequestIdHeadersTest, EchoableIds) {
  EXPECT_TRUE(IsEchoableRequestId("5d3c6a1e-0000-4000-8000-00000000abcd"));
  EXPECT_TRUE(IsEchoableRequestId("a.b_c:d"));
  EXPECT_FALSE(IsEchoableRequestId(""));
  EXPECT_FALSE(IsEchoableRequestId(std::string(65, 'a')));
  EXPECT_FALSE(IsEchoableRequestId("a b"));
  EXPECT_FALSE(IsEchoableRequestId("a\r\nb"));
}

}  // namespace
}  // namespace atrest::http
