// Tests for Headers, Request and Response (the socket-free message types).
#include <gtest/gtest.h>

#include <memory>

#include "http/headers.h"
#include "http/request.h"
#include "http/response.h"

namespace atrest::http {
namespace {

TEST(HeadersTest, CaseInsensitiveLookup) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("X-Ms-Foo", "1");
  h.Add("x-ms-foo", "2");
  EXPECT_EQ(h.Get("content-type").value_or(""), "application/json");
  EXPECT_EQ(h.GetAll("X-MS-FOO").size(), 2u);
  EXPECT_FALSE(h.Get("authorization").has_value());
  h.Set("X-MS-FOO", "3");
  ASSERT_EQ(h.GetAll("x-ms-foo").size(), 1u);
  EXPECT_EQ(*h.Get("x-ms-foo"), "3");
  h.Remove("CONTENT-type");
  EXPECT_FALSE(h.Has("content-type"));
}

TEST(RequestTest, QueryAndPathParams) {
  Request r;
  r.query = {{"api-version", "7.4"}, {"x", "1"}};
  r.path_params = {{"name", "k1"}};
  EXPECT_EQ(r.Query("API-Version").value_or(""), "7.4");
  EXPECT_FALSE(r.Query("y").has_value());
  EXPECT_EQ(r.PathParam("name"), "k1");
  EXPECT_EQ(r.PathParam("version"), "");
}

TEST(ResponseTest, ErrorHasAzureShapeAndEscapes) {
  Response r = Response::Error(400, "BadParameter", "bad \"x\"\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "{\"error\":{\"code\":\"BadParameter\",\"message\":"
            "\"bad \\\"x\\\"\\n\"}}");
  EXPECT_EQ(r.headers.Get("content-type").value_or(""),
            "application/json; charset=utf-8");
}

TEST(ResponseTest, FromStatusMapsCodes) {
  EXPECT_EQ(Response::FromStatus(NotFoundError("no key")).status, 404);
  EXPECT_EQ(Response::FromStatus(PermissionDeniedError("x")).status, 403);
  EXPECT_EQ(Response::FromStatus(UnauthenticatedError("x")).status, 401);
  EXPECT_EQ(Response::FromStatus(InvalidArgumentError("x")).status, 400);
  EXPECT_EQ(Response::FromStatus(DataLossError("x")).status, 500);
}

TEST(ResponseTest, StreamCarriesProducer) {
  Response r = Response::Stream(
      200, [](MutableByteView) -> Result<size_t> { return size_t{0}; }, 0);
  EXPECT_TRUE(static_cast<bool>(r.producer));
  EXPECT_EQ(r.content_length, 0u);
}

TEST(ResponseTest, FromStatusKeepsTheFailureForTheLog) {
  Response r = Response::FromStatus(DataLossError("integrity check failed"));
  EXPECT_EQ(r.failure.code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.failure.message(), "integrity check failed");
  EXPECT_TRUE(Response::Json(200, "{}").failure.ok());
}

TEST(ResponseTest, ConsumeCarriesTheConsumer) {
  struct Nothing final : BodyConsumer {
    Status Consume(ByteView) override { return Status::Ok(); }
    Response Finish(const Status&) override { return Response(); }
  };
  Response r = Response::Consume(std::make_shared<Nothing>());
  EXPECT_TRUE(r.consumer != nullptr);
  EXPECT_FALSE(Response::Text(200, "").consumer);
}

}  // namespace
}  // namespace atrest::http
