#include "http/body_bridge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/response.h"

namespace atrest::http {
namespace {

// Records what it is given; fails on the chunk starting with `fail_on`.
class RecordingConsumer final : public BodyConsumer {
 public:
  Status Consume(ByteView data) override {
    ++calls;
    got.append(AsString(data));
    if (!fail_on.empty() && AsString(data).starts_with(fail_on)) {
      return InvalidArgumentError("bad part");
    }
    return Status::Ok();
  }
  Response Finish(const Status&) override { return Response::Text(200, ""); }

  std::string got;
  std::string fail_on;
  int calls = 0;
};

// The pool and the session's thread played by hand: scheduled drains wait
// in `tasks` until the test runs them.
struct Harness {
  Harness()
      : consumer(std::make_shared<RecordingConsumer>()),
        bridge(std::make_shared<BodyBridge>(
            consumer,
            [this](std::function<void()> t) { tasks.push_back(std::move(t)); },
            [this] { ++wakes; })) {}

  void Push(const std::string& text) {
    std::vector<uint8_t> buf;
    ASSERT_TRUE(bridge->TakeBuffer(&buf));
    ASSERT_EQ(buf.size(), BodyBridge::kChunkBytes);
    std::copy(text.begin(), text.end(), buf.begin());
    bridge->Push(std::move(buf), text.size());
  }
  void RunTasks() {
    std::vector<std::function<void()>> run;
    run.swap(tasks);
    for (auto& t : run) t();
  }

  std::shared_ptr<RecordingConsumer> consumer;
  std::shared_ptr<BodyBridge> bridge;
  std::vector<std::function<void()>> tasks;
  int wakes = 0;
};

TEST(BodyBridgeTest, ChunksReachTheConsumerInOrderFromOneDrain) {
  Harness h;
  h.Push("one,");
  h.Push("two,");
  h.Push("three");
  // One drain scheduled for all three: it runs while chunks are queued.
  EXPECT_EQ(h.tasks.size(), 1u);
  EXPECT_FALSE(h.bridge->Idle());
  h.RunTasks();
  EXPECT_EQ(h.consumer->got, "one,two,three");
  EXPECT_EQ(h.consumer->calls, 3);
  EXPECT_EQ(h.bridge->bytes_consumed(), 13u);
  EXPECT_EQ(h.wakes, 1);  // The session parked in Idle() above.
  EXPECT_TRUE(h.bridge->Idle());
  // The next chunk schedules a new drain.
  h.Push("four");
  EXPECT_EQ(h.tasks.size(), 1u);
  h.RunTasks();
  EXPECT_EQ(h.consumer->got, "one,two,threefour");
  EXPECT_TRUE(h.bridge->consumer_status().ok());
}

TEST(BodyBridgeTest, AtMostMaxChunksBuffersAreOut) {
  Harness h;
  std::vector<std::vector<uint8_t>> held;
  for (size_t i = 0; i < BodyBridge::kMaxChunks; ++i) {
    std::vector<uint8_t> buf;
    ASSERT_TRUE(h.bridge->TakeBuffer(&buf));
    held.push_back(std::move(buf));
  }
  std::vector<uint8_t> extra;
  EXPECT_FALSE(h.bridge->TakeBuffer(&extra));  // Parked.
  h.bridge->Push(std::move(held[0]), 10);
  h.bridge->Push(std::move(held[1]), 10);
  EXPECT_EQ(h.wakes, 0);
  h.RunTasks();  // Gives both back: the parked session is woken.
  EXPECT_GE(h.wakes, 1);
  EXPECT_TRUE(h.bridge->TakeBuffer(&extra));
  h.bridge->Return(std::move(extra));
  h.bridge->Return(std::move(held[2]));
  h.bridge->Return(std::move(held[3]));
  for (size_t i = 0; i < BodyBridge::kMaxChunks; ++i) {
    std::vector<uint8_t> buf;
    EXPECT_TRUE(h.bridge->TakeBuffer(&buf)) << i;
    h.bridge->Return(std::move(buf));
  }
}

TEST(BodyBridgeTest, ConsumerErrorStopsTheBodyAndDropsTheRest) {
  Harness h;
  h.consumer->fail_on = "bad";
  h.Push("ok,");
  h.Push("bad,");
  h.Push("never");
  h.RunTasks();
  EXPECT_EQ(h.consumer->got, "ok,bad,");
  EXPECT_EQ(h.bridge->consumer_status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.bridge->Idle());
  std::vector<uint8_t> buf;
  EXPECT_FALSE(h.bridge->TakeBuffer(&buf));
}

TEST(BodyBridgeTest, CloseDropsQueuedChunks) {
  Harness h;
  h.Push("queued");
  h.bridge->Close();
  h.RunTasks();
  EXPECT_EQ(h.consumer->calls, 0);
  EXPECT_TRUE(h.bridge->Idle());
  std::vector<uint8_t> buf;
  EXPECT_FALSE(h.bridge->TakeBuffer(&buf));
}

TEST(BodyBridgeTest, ThrowingConsumerIsAnInternalError) {
  struct Throwing final : BodyConsumer {
    Status Consume(ByteView) override { throw std::runtime_error("x"); }
    Response Finish(const Status&) override { return Response(); }
  };
  std::vector<std::function<void()>> tasks;
  auto bridge = std::make_shared<BodyBridge>(
      std::make_shared<Throwing>(),
      [&](std::function<void()> t) { tasks.push_back(std::move(t)); }, [] {});
  std::vector<uint8_t> buf;
  ASSERT_TRUE(bridge->TakeBuffer(&buf));
  bridge->Push(std::move(buf), 1);
  for (auto& t : tasks) t();
  EXPECT_EQ(bridge->consumer_status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace atrest::http
