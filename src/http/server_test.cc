// Real-socket tests of the Server: TLS, keep-alive, streaming both ways,
// access log, metrics, many connections and graceful shutdown.
#include "http/server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include "http/body_bridge.h"
#include "http/test_server.h"

namespace atrest::http {
namespace {

using testing::StringResponse;
using testing::TestClient;
using testing::TestServer;
namespace beast = boost::beast;

constexpr uint64_t kBig = 50ull << 20;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router& r = ts_.router();
    ASSERT_TRUE(
        r.Add("*.vault.localhost", "GET", "/keys/{name}", {}, [](Request& req) {
           req.caller_id = "oid-7";
           return Response::Json(
               200, "{\"vault\":\"" + req.host_label + "\",\"key\":\"" +
                        std::string(req.PathParam("name")) + "\",\"v\":\"" +
                        std::string(req.Query("api-version").value_or("")) +
                        "\"}");
         }).ok());
    ASSERT_TRUE(r.Add("localhost", "GET", "/big", {}, [this](Request&) {
                   return Response::Stream(
                       200,
                       [this](MutableByteView out) -> Result<size_t> {
                         // One call at a time, even while producing ahead.
                         if (in_producer_.exchange(true)) overlapped_ = true;
                         uint64_t left = kBig - produced_;
                         size_t n = std::min<uint64_t>(out.size(), left);
                         std::memset(out.data(), 'x', n);
                         produced_ += n;
                         in_producer_ = false;
                         return n;
                       },
                       std::nullopt);
                 }).ok());
    // A body that fails (or ends early) after 768 KiB of its 8 MiB.
    for (const bool fail : {true, false}) {
      ASSERT_TRUE(r.Add("localhost", "GET", fail ? "/fail" : "/short", {},
                        [this, fail](Request&) {
                          auto calls = std::make_shared<int>(0);
                          return Response::Stream(
                              200,
                              [this, fail,
                               calls](MutableByteView out) -> Result<size_t> {
                                ++failing_calls_;
                                if (++*calls > 3) {
                                  if (!fail) return size_t{0};
                                  return InternalError("disk on fire");
                                }
                                size_t n =
                                    std::min<size_t>(out.size(), 256 * 1024);
                                std::memset(out.data(), 'f', n);
                                return n;
                              },
                              8u << 20);
                        })
                      .ok());
    }
    RouteLimits upload;
    upload.streaming_body = true;
    upload.max_body_bytes = 64ull << 20;
    ASSERT_TRUE(r.Add("localhost", "PUT", "/upload", upload, [this](Request&) {
                   auto total = std::make_shared<uint64_t>(0);
                   return testing::ConsumeWith(
                       [this, total](ByteView data) {
                         max_read_ = std::max<size_t>(max_read_, data.size());
                         *total += data.size();
                         return Status::Ok();
                       },
                       [total](const Status& body) {
                         if (!body.ok()) return Response::FromStatus(body);
                         return Response::Text(200, std::to_string(*total));
                       });
                 }).ok());
    // Its consumer takes the first chunk, then waits for the test.
    RouteLimits hold = upload;
    hold.max_body_bytes = 1ull << 30;
    ASSERT_TRUE(r.Add("localhost", "PUT", "/hold", hold, [this](Request&) {
                   auto total = std::make_shared<uint64_t>(0);
                   // A copy: it outlives the fixture's promise if a
                   // failed test never releases it.
                   std::shared_future<void> released = hold_released_;
                   return testing::ConsumeWith(
                       [this, total, released](ByteView data) {
                         if (*total == 0) {
                           hold_started_ = true;
                           released.wait();
                         }
                         *total += data.size();
                         return Status::Ok();
                       },
                       [total](const Status& body) {
                         if (!body.ok()) return Response::FromStatus(body);
                         return Response::Text(200, std::to_string(*total));
                       });
                 }).ok());
    ASSERT_TRUE(r.Add("localhost", "GET", "/slow", {}, [this](Request&) {
                   slow_started_ = true;
                   std::this_thread::sleep_for(std::chrono::milliseconds(800));
                   return Response::Text(200, "slow done");
                 }).ok());
    ASSERT_TRUE(r.Add("localhost", "GET", "/metrics", {}, [this](Request&) {
                   return Response::Text(200, ts_.metrics().Render(),
                                         MetricsRegistry::kContentType);
                 }).ok());
  }

  void Start(ServerOptions o = {}) {
    o.io_threads = 2;
    o.handler_threads = 4;
    ASSERT_TRUE(ts_.Start(o).ok());
  }

  TestServer ts_;
  std::atomic<uint64_t> produced_{0};
  std::atomic<size_t> max_read_{0};
  std::atomic<bool> slow_started_{false};
  std::atomic<bool> in_producer_{false};
  std::atomic<bool> overlapped_{false};
  std::atomic<int> failing_calls_{0};
  std::atomic<bool> hold_started_{false};
  std::promise<void> release_hold_;
  std::shared_future<void> hold_released_ = release_hold_.get_future().share();
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  auto c = ts_.Connect("kv1.vault.localhost");  // Verifies the wildcard SAN.
  ASSERT_TRUE(c.ok()) << c.status();
  for (int i = 0; i < 5; ++i) {
    Result<StringResponse> r = (*c)->Send(
        beast::http::verb::get,
        "/keys/k" + std::to_string(i) + "?api%2Dversion=7.4&secret=hunter2");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_TRUE(r->keep_alive());
    EXPECT_EQ(r->body(), "{\"vault\":\"kv1\",\"key\":\"k" + std::to_string(i) +
                             "\",\"v\":\"7.4\"}");
  }
  EXPECT_EQ(ts_.server().active_connections(), 1u);
  std::vector<std::string> lines = ts_.lines(5);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_NE(lines[0].find("\"path\":\"/keys/k0\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"route\":\"/keys/{name}\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"caller\":\"oid-7\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"status\":200"), std::string::npos);
  EXPECT_EQ(lines[0].find("hunter2"), std::string::npos);  // No query values.
  EXPECT_EQ(lines[0].find("api"), std::string::npos);
}

TEST_F(ServerTest, UnknownHostPathAndMethodGetJsonErrors) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  auto r = (*c)->Send(beast::http::verb::get, "/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 404);
  EXPECT_NE(r->body().find("\"code\":\"NotFound\""), std::string::npos);
  r = (*c)->Send(beast::http::verb::get, "/keys/a", "", "other.localhost");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 404);
  r = (*c)->Send(beast::http::verb::delete_, "/slow");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 405);
  EXPECT_EQ((*r)[beast::http::field::allow], "GET");
  EXPECT_TRUE(r->keep_alive());
}

TEST_F(ServerTest, StreamsLargeChunkedResponseWithBoundedMemory) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  beast::http::request<beast::http::string_body> req{beast::http::verb::get,
                                                     "/big", 11};
  req.set(beast::http::field::host, "localhost");
  ASSERT_TRUE((*c)->Write(req).ok());
  beast::http::response_parser<beast::http::buffer_body> p;
  p.body_limit(boost::none);
  auto& stream = (*c)->stream();
  beast::error_code ec;
  beast::http::read_header(stream, (*c)->buffer(), p, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(p.get().chunked());
  std::vector<char> buf(256 * 1024);
  uint64_t received = 0;
  uint64_t max_ahead = 0;
  bool paused = false;
  while (!p.is_done()) {
    p.get().body().data = buf.data();
    p.get().body().size = buf.size();
    beast::http::read(stream, (*c)->buffer(), p, ec);
    if (ec == beast::http::error::need_buffer) ec = {};
    ASSERT_FALSE(ec) << ec.message();
    received += buf.size() - p.get().body().size;
    if (!paused && received > (4u << 20)) {
      // Stop reading: the server must stop producing once the socket
      // buffers are full instead of queueing the body in memory.
      paused = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    max_ahead = std::max<uint64_t>(max_ahead, produced_ - received);
  }
  EXPECT_EQ(received, kBig);
  EXPECT_EQ(produced_, kBig);
  EXPECT_FALSE(overlapped_);
  // Kernel socket buffers on loopback plus two 256 KiB chunks; far below
  // the 50 MiB body.
  EXPECT_LT(max_ahead, 12u << 20);
}

// Once the head is out, a producer error or a body shorter than its
// Content-Length can only be signalled by closing the connection; the
// producer is not called again, and the response is logged.
TEST_F(ServerTest, FailingProducerMidStreamClosesTheConnection) {
  Start();
  int calls = 0;
  for (const std::string path : {"/fail", "/short"}) {
    auto c = ts_.Connect();
    ASSERT_TRUE(c.ok()) << c.status();
    beast::http::request<beast::http::string_body> req{beast::http::verb::get,
                                                       path, 11};
    req.set(beast::http::field::host, "localhost");
    ASSERT_TRUE((*c)->Write(req).ok());
    beast::http::response_parser<beast::http::string_body> p;
    p.body_limit(64u << 20);  // Not boost::none: Beast 1.74 then refuses.
    beast::error_code ec;
    beast::http::read_header((*c)->stream(), (*c)->buffer(), p, ec);
    ASSERT_FALSE(ec) << path << ": " << ec.message();
    EXPECT_EQ(p.get().result_int(), 200);
    EXPECT_EQ(p.content_length().value_or(0), 8u << 20);
    beast::http::read((*c)->stream(), (*c)->buffer(), p, ec);
    EXPECT_TRUE(ec) << path;  // Truncated: the server closed.
    EXPECT_FALSE(p.is_done()) << path;
    EXPECT_EQ(p.get().body().size(), 768u << 10) << path;
    // Three chunks and the failing call, never a fifth.
    calls += 4;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(failing_calls_, calls) << path;
  }
  std::vector<std::string> lines = ts_.lines(2);
  ASSERT_EQ(lines.size(), 2u);
  for (const std::string& line : lines) {
    EXPECT_NE(line.find("\"status\":200"), std::string::npos) << line;
    EXPECT_NE(line.find("\"bytes_out\":" + std::to_string(768 << 10)),
              std::string::npos)
        << line;
  }
  // The client saw only a truncation; the event log says why, under the
  // request id of the access log line.
  std::vector<std::string> events = ts_.events(2);
  ASSERT_EQ(events.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const std::string& e = events[i];
    EXPECT_NE(e.find("\"event\":\"response_aborted\""), std::string::npos) << e;
    const size_t at = lines[i].find("\"request_id\":");
    ASSERT_NE(at, std::string::npos);
    EXPECT_NE(e.find(lines[i].substr(at, 14 + 36 + 1)), std::string::npos) << e;
  }
  EXPECT_NE(
      events[0].find("\"code\":\"INTERNAL\",\"message\":\"disk on fire\""),
      std::string::npos)
      << events[0];
  EXPECT_NE(events[1].find("shorter than its Content-Length"),
            std::string::npos)
      << events[1];
}

// A consumer that stops taking chunks stops the server reading: the session
// reads ahead only up to the bridge's bound, then TCP flow control holds the
// client back, instead of the body piling up in memory.
TEST_F(ServerTest, SlowHandlerStopsTheReadAheadAtItsBound) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  const uint64_t size = 128ull << 20;
  std::atomic<uint64_t> written{0};
  auto writer = std::async(std::launch::async, [&]() -> Status {
    RETURN_IF_ERROR((*c)->WriteRaw(
        "PUT /hold HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
        std::to_string(size) + "\r\n\r\n"));
    const std::string piece(256 << 10, 'h');
    for (uint64_t sent = 0; sent < size; sent += piece.size()) {
      RETURN_IF_ERROR((*c)->WriteRaw(piece));
      written += piece.size();
    }
    return Status::Ok();
  });
  while (!hold_started_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Until the client is blocked by full buffers.
  uint64_t last = ~0ull;
  for (int i = 0; i < 100 && written != last; ++i) {
    last = written;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(written, last) << "the client never blocked";
  // Loopback socket buffers (which may grow to tens of MiB) plus the
  // bridge's 1 MiB: far below the 128 MiB body.
  EXPECT_LT(written, 64ull << 20);  // About 5 MiB here.
  release_hold_.set_value();
  Status w = writer.get();
  ASSERT_TRUE(w.ok()) << w;
  auto r = (*c)->Read();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), std::to_string(size));
  EXPECT_TRUE(r->keep_alive());
  std::vector<std::string> lines = ts_.lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"bytes_in\":" + std::to_string(size)),
            std::string::npos);
}

TEST_F(ServerTest, StreamingRequestBodyArrivesInBoundedChunks) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  const uint64_t size = 20ull << 20;
  // Chunked request body written piece by piece.
  ASSERT_TRUE((*c)->WriteRaw("PUT /upload HTTP/1.1\r\nHost: localhost\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n")
                  .ok());
  std::string piece(1 << 20, 'y');
  char hex[32];
  std::snprintf(hex, sizeof(hex), "%zx\r\n", piece.size());
  for (uint64_t sent = 0; sent < size; sent += piece.size()) {
    ASSERT_TRUE((*c)->WriteRaw(hex + piece + "\r\n").ok());
  }
  ASSERT_TRUE((*c)->WriteRaw("0\r\n\r\n").ok());
  auto r = (*c)->Read();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), std::to_string(size));
  EXPECT_TRUE(r->keep_alive());
  // One Consume() gets at most one chunk buffer.
  EXPECT_LE(max_read_, BodyBridge::kChunkBytes);
  // Content-Length body on the same kept-alive connection.
  auto r2 =
      (*c)->Send(beast::http::verb::put, "/upload", std::string(3 << 20, 'z'));
  ASSERT_TRUE(r2.ok()) << r2.status() << "\n"
                       << ::testing::PrintToString(ts_.lines());
  EXPECT_EQ(r2->body(), std::to_string(3 << 20));
  std::vector<std::string> lines = ts_.lines(2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"bytes_in\":" + std::to_string(size)),
            std::string::npos);
}

TEST_F(ServerTest, MetricsCountRequestsAndHandshakes) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE((*c)->Send(beast::http::verb::get, "/nope").ok());
  auto r = (*c)->Send(beast::http::verb::get, "/metrics");
  ASSERT_TRUE(r.ok());
  const std::string& m = r->body();
  EXPECT_NE(m.find("atrest_http_requests_total{route=\"unmatched\","
                   "status=\"404\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("atrest_tls_handshakes_total 1"), std::string::npos);
  r = (*c)->Send(beast::http::verb::get, "/metrics");
  EXPECT_NE(r->body().find("atrest_http_request_duration_seconds_count{route="
                           "\"localhost/metrics\"} 1"),
            std::string::npos);
}

TEST_F(ServerTest, ServesTwoHundredConcurrentKeepAliveConnections) {
  ServerOptions o;
  o.max_connections = 300;
  Start(o);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 200; ++i) {
    auto c = ts_.Connect("v" + std::to_string(i) + ".vault.localhost");
    ASSERT_TRUE(c.ok()) << i << ": " << c.status();
    clients.push_back(std::move(*c));
  }
  EXPECT_EQ(ts_.server().active_connections(), 200u);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 200; ++i) {
      auto r = clients[i]->Send(beast::http::verb::get, "/keys/a");
      ASSERT_TRUE(r.ok()) << i << ": " << r.status();
      EXPECT_NE(r->body().find("\"vault\":\"v" + std::to_string(i) + "\""),
                std::string::npos);
    }
  }
  EXPECT_EQ(ts_.lines(400).size(), 400u);
}

TEST_F(ServerTest, GracefulStopDrainsInFlightAndRefusesNew) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  auto idle = ts_.Connect();  // An idle keep-alive connection.
  ASSERT_TRUE(idle.ok());
  uint16_t port = ts_.port();
  auto inflight = std::async(std::launch::async, [&] {
    return (*c)->Send(beast::http::verb::get, "/slow");
  });
  while (!slow_started_)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto stop = std::async(std::launch::async,
                         [&] { ts_.server().Stop(std::chrono::seconds(5)); });
  EXPECT_TRUE((*idle)->ClosedByServer(std::chrono::seconds(2)));
  // New connections are refused while the slow request finishes.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    beast::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    refused = static_cast<bool>(ec);
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(inflight.wait_for(std::chrono::seconds(0)),
            std::future_status::timeout);  // Still in flight.
  Result<StringResponse> r = inflight.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "slow done");
  EXPECT_FALSE(r->keep_alive());  // Connection: close while stopping.
  stop.get();
  EXPECT_EQ(ts_.server().active_connections(), 0u);
}

// An inline_handler route runs on the I/O thread: it is served while the
// only handler-pool thread is blocked in another route's handler, on a
// different thread from it, and is logged and counted like any route.
TEST(ServerInlineTest, InlineRouteIsServedWithoutTheHandlerPool) {
  TestServer ts;
  std::mutex mu;
  std::thread::id pool_thread, inline_thread;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> blocked{false};
  ASSERT_TRUE(ts.router()
                  .Add("*", "GET", "/block", {},
                       [&](Request&) {
                         {
                           std::lock_guard<std::mutex> lock(mu);
                           pool_thread = std::this_thread::get_id();
                         }
                         blocked = true;
                         released.wait();
                         return Response::Text(200, "unblocked");
                       })
                  .ok());
  RouteLimits inline_limits;
  inline_limits.inline_handler = true;
  ASSERT_TRUE(ts.router()
                  .Add("*", "GET", "/inline/{n}", inline_limits,
                       [&](Request& req) {
                         {
                           std::lock_guard<std::mutex> lock(mu);
                           inline_thread = std::this_thread::get_id();
                         }
                         return Response::Json(
                             200, "{\"n\":\"" +
                                      std::string(req.PathParam("n")) + "\"}");
                       })
                  .ok());
  ServerOptions o;
  o.io_threads = 2;
  o.handler_threads = 1;
  ASSERT_TRUE(ts.Start(o).ok());
  auto busy = ts.Connect();
  ASSERT_TRUE(busy.ok()) << busy.status();
  auto blocking = std::async(std::launch::async, [&] {
    return (*busy)->Send(beast::http::verb::get, "/block");
  });
  while (!blocked) std::this_thread::sleep_for(std::chrono::milliseconds(2));

  auto c = ts.Connect();
  ASSERT_TRUE(c.ok()) << c.status();
  for (int i = 0; i < 3; ++i) {
    auto r =
        (*c)->Send(beast::http::verb::get, "/inline/v" + std::to_string(i));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_TRUE(r->keep_alive());
    EXPECT_EQ(r->body(), "{\"n\":\"v" + std::to_string(i) + "\"}");
  }
  // The pool's only thread is still blocked: the inline handler did not
  // need it.
  EXPECT_EQ(blocking.wait_for(std::chrono::seconds(0)),
            std::future_status::timeout);
  release.set_value();
  Result<StringResponse> b = blocking.get();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->body(), "unblocked");
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_NE(inline_thread, std::thread::id());
    EXPECT_NE(inline_thread, pool_thread);
    EXPECT_NE(inline_thread, std::this_thread::get_id());
  }
  std::vector<std::string> lines = ts.lines(4);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("\"route\":\"/inline/{n}\""), std::string::npos);
  EXPECT_NE(lines[0].find("\"status\":200"), std::string::npos);
  const std::string m = ts.metrics().Render();
  EXPECT_NE(m.find("atrest_http_requests_total{route=\"*/inline/{n}\","
                   "status=\"200\"} 3"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("atrest_http_request_duration_seconds_count{route="
                   "\"*/inline/{n}\"} 3"),
            std::string::npos)
      << m;
}

// Stop() at once after Start(), with a connection still in its handshake
// and one that sent half a request: the accept loop's completion and those
// sessions may still be queued in the stopped io_context. They hold the
// server's core, which owns that io_context, so Stop() must destroy them;
// LeakSanitizer (sanitizer build) reports the core, its SSL_CTX and the
// frames otherwise.
TEST(ServerStopTest, StopRightAfterStartReleasesQueuedHandlers) {
  for (int i = 0; i < 10; ++i) {
    TestServer ts;
    ASSERT_TRUE(ts.router()
                    .Add("*", "GET", "/x", {},
                         [](Request&) { return Response::Text(200, "x"); })
                    .ok());
    ServerOptions o;
    o.io_threads = 2;
    o.handler_threads = 1;
    ASSERT_TRUE(ts.Start(o).ok());
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket raw(ioc);  // Never starts TLS.
    beast::error_code ec;
    raw.connect({boost::asio::ip::make_address("127.0.0.1"), ts.port()}, ec);
    ASSERT_FALSE(ec) << ec.message();
    auto c = ts.Connect();
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->WriteRaw("GET /x HTTP/1.1\r\nHost: a").ok());
    if (i % 2 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ts.server().Stop(std::chrono::milliseconds(0));
    EXPECT_EQ(ts.server().active_connections(), 0u);
  }
}

}  // namespace
}  // namespace atrest::http
