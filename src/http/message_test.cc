// Tests for Headers, Request, Response and BodyBridge (the socket-free
// message types and the hand-off of a streamed request body).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>

#include "http/body_bridge.h"
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

TEST(RequestTest, StringBodySourceReadsInPieces) {
  auto src = MakeStringBodySource("hello world");
  uint8_t buf[4];
  std::string got;
  for (;;) {
    Result<size_t> n = src->Read(buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    got.append(reinterpret_cast<char*>(buf), *n);
  }
  EXPECT_EQ(got, "hello world");
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

// BodyBridge driven by hand from the session's side, with the handler's
// Read() on another thread where it may block.
class BodyBridgeTest : public ::testing::Test {
 protected:
  BodyBridgeTest()
      : bridge_(std::make_shared<BodyBridge>([this] { ++wakes_; })),
        source_(bridge_->MakeSource()) {}

  // Pushes `n` bytes of `fill` as one chunk; false when the bridge refused.
  bool PushChunk(size_t n, char fill) {
    std::vector<uint8_t> buf;
    if (!bridge_->TakeBuffer(&buf)) return false;
    EXPECT_EQ(buf.size(), BodyBridge::kChunkBytes);
    std::memset(buf.data(), fill, n);
    bridge_->Push(std::move(buf), n);
    return true;
  }

  std::atomic<int> wakes_{0};
  std::shared_ptr<BodyBridge> bridge_;
  std::unique_ptr<BodySource> source_;
};

TEST_F(BodyBridgeTest, ReadsAheadUpToTheBoundAndWakesWhenHalfEmpty) {
  // Nothing is read before the handler asks.
  std::vector<uint8_t> unused;
  EXPECT_FALSE(bridge_->TakeBuffer(&unused));
  std::vector<uint8_t> out(BodyBridge::kChunkBytes * BodyBridge::kMaxChunks);
  auto first = std::async(std::launch::async, [&] {
    return source_->Read(MutableByteView(out.data(), 10));
  });
  while (wakes_ == 0) std::this_thread::yield();  // The first Read() woke it.
  EXPECT_EQ(wakes_, 1);
  // The session fills every buffer, then is refused: the bound.
  const char fills[] = {'a', 'b', 'c', 'd'};
  for (size_t i = 0; i < BodyBridge::kMaxChunks; ++i) {
    ASSERT_TRUE(PushChunk(BodyBridge::kChunkBytes, fills[i % 4])) << i;
  }
  Result<size_t> n = first.get();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);  // A partial read leaves the chunk at the front.
  EXPECT_FALSE(bridge_->TakeBuffer(&unused));
  EXPECT_EQ(wakes_, 1);
  // Reading the rest of one chunk: still more than half full, no wake-up.
  n = source_->Read(MutableByteView(out.data(), BodyBridge::kChunkBytes - 10));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, BodyBridge::kChunkBytes - 10);
  EXPECT_EQ(out[0], 'a');
  EXPECT_EQ(wakes_, 1);
  // One Read() takes all that is queued, in order, and wakes the session.
  n = source_->Read(MutableByteView(out));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, (BodyBridge::kMaxChunks - 1) * BodyBridge::kChunkBytes);
  EXPECT_EQ(out[0], 'b');
  EXPECT_EQ(out[*n - 1], fills[(BodyBridge::kMaxChunks - 1) % 4]);
  EXPECT_EQ(wakes_, 2);
  // A short last chunk, then the end.
  ASSERT_TRUE(PushChunk(5, 'z'));
  bridge_->Finish(Status::Ok());
  EXPECT_FALSE(bridge_->TakeBuffer(&unused));
  n = source_->Read(MutableByteView(out));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_FALSE(bridge_->finished());
  n = source_->Read(MutableByteView(out));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(bridge_->finished());
  EXPECT_EQ(bridge_->bytes_read(),
            BodyBridge::kMaxChunks * BodyBridge::kChunkBytes + 5);
}

TEST_F(BodyBridgeTest, ErrorComesAfterQueuedDataAndSticks) {
  std::vector<uint8_t> unused;
  EXPECT_FALSE(bridge_->TakeBuffer(&unused));  // Parked until Read().
  uint8_t out[100];
  auto first = std::async(std::launch::async,
                          [&] { return source_->Read(MutableByteView(out)); });
  while (wakes_ == 0) std::this_thread::yield();
  ASSERT_TRUE(PushChunk(40, 'q'));
  bridge_->Finish(ResourceExhaustedError("request body too large"));
  Result<size_t> n = first.get();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 40u);
  EXPECT_FALSE(bridge_->error_delivered());
  for (int i = 0; i < 2; ++i) {
    n = source_->Read(MutableByteView(out));
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kResourceExhausted);
  }
  EXPECT_TRUE(bridge_->error_delivered());
  EXPECT_EQ(bridge_->bytes_read(), 40u);
}

TEST_F(BodyBridgeTest, CloseFailsAWaitingAndEveryLaterRead) {
  std::vector<uint8_t> unused;
  EXPECT_FALSE(bridge_->TakeBuffer(&unused));  // Parked until Read().
  uint8_t out[100];
  auto waiting = std::async(
      std::launch::async, [&] { return source_->Read(MutableByteView(out)); });
  while (wakes_ == 0) std::this_thread::yield();
  std::vector<uint8_t> buf;
  ASSERT_TRUE(bridge_->TakeBuffer(&buf));
  bridge_->Close();
  bridge_->Push(std::move(buf), 10);  // Dropped: closed.
  Result<size_t> n = waiting.get();
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kUnavailable);
  n = source_->Read(MutableByteView(out));
  EXPECT_EQ(n.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(bridge_->TakeBuffer(&buf));
  EXPECT_EQ(bridge_->bytes_read(), 0u);
}

}  // namespace
}  // namespace atrest::http
