// Real-socket tests of the Server's limits: header and body sizes, malformed
// requests, slow clients and the connection cap.
#include <gtest/gtest.h>

#include <thread>

#include "http/server.h"
#include "http/test_server.h"

namespace atrest::http {
namespace {

using testing::StringResponse;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class ServerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RouteLimits small;
    small.max_header_bytes = 1024;
    small.max_body_bytes = 1000;
    ASSERT_TRUE(ts_.router()
                    .Add("localhost", "POST", "/small", small,
                         [](Request& req) {
                           return Response::Text(
                               200, std::to_string(req.body.size()));
                         })
                    .ok());
    RouteLimits stream = small;
    stream.streaming_body = true;
    ASSERT_TRUE(ts_.router()
                    .Add("localhost", "PUT", "/stream", stream,
                         [](Request&) {
                           return testing::ConsumeWith(
                               [](ByteView) { return Status::Ok(); },
                               [](const Status& body) {
                                 return body.ok() ? Response::Text(200, "ok")
                                                  : Response::FromStatus(body);
                               });
                         })
                    .ok());
    ASSERT_TRUE(ts_.router()
                    .Add("localhost", "GET", "/", {},
                         [](Request&) { return Response::Text(200, "root"); })
                    .ok());
  }

  void Start(ServerOptions o = {}) {
    o.io_threads = 2;
    o.handler_threads = 2;
    ASSERT_TRUE(ts_.Start(o).ok());
  }

  testing::TestServer ts_;
};

TEST_F(ServerLimitsTest, OversizedHeadersGet431) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok());
  // Over this route's 1 KiB limit but under the parser's 16 KiB.
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/small", 11};
  req.set(bhttp::field::host, "localhost");
  req.set("X-Filler", std::string(2000, 'a'));
  req.body() = "hi";
  req.prepare_payload();
  auto r = (*c)->Send(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 431);
  // Over every route's limit: the parser stops reading at 16 KiB.
  auto c2 = ts_.Connect();
  ASSERT_TRUE(c2.ok());
  req.set("X-Filler", std::string(40000, 'a'));
  r = (*c2)->Send(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 431);
  EXPECT_FALSE(r->keep_alive());
}

TEST_F(ServerLimitsTest, OversizedBodiesGet413) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Send(bhttp::verb::post, "/small", std::string(999, 'b'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body(), "999");
  r = (*c)->Send(bhttp::verb::post, "/small", std::string(1001, 'b'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_NE(r->body().find("RequestEntityTooLarge"), std::string::npos);
  // Chunked, so only the parser can tell: buffered and streamed routes.
  const std::string chunk(700, 'c');
  for (const std::string head : {"POST /small", "PUT /stream"}) {
    auto c2 = ts_.Connect();
    ASSERT_TRUE(c2.ok());
    ASSERT_TRUE((*c2)
                    ->WriteRaw(head +
                               " HTTP/1.1\r\nHost: localhost\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n"
                               "2bc\r\n" +
                               chunk + "\r\n2bc\r\n" + chunk + "\r\n0\r\n\r\n")
                    .ok());
    auto r2 = (*c2)->Read();
    ASSERT_TRUE(r2.ok()) << head << ": " << r2.status();
    EXPECT_EQ(r2->result_int(), 413) << head;
  }
}

TEST_F(ServerLimitsTest, MalformedRequestGets400AndServerStaysUp) {
  Start();
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET /\r\n\r\n",
                          "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
                          "GET /?a=%zz HTTP/1.1\r\nHost: localhost\r\n\r\n",
                          "GET / HTTP/1.1\r\nBad Header\r\n\r\n"}) {
    auto c = ts_.Connect();
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->WriteRaw(bad).ok());
    auto r = (*c)->Read();
    ASSERT_TRUE(r.ok()) << bad << ": " << r.status();
    EXPECT_EQ(r->result_int(), 400) << bad;
    EXPECT_TRUE((*c)->ClosedByServer(std::chrono::seconds(2))) << bad;
  }
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Send(bhttp::verb::get, "/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body(), "root");
}

TEST_F(ServerLimitsTest, TricklingClientIsCutOff) {
  ServerOptions o;
  o.header_timeout = std::chrono::milliseconds(400);
  o.idle_timeout = std::chrono::milliseconds(400);
  Start(o);
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok());
  auto start = std::chrono::steady_clock::now();
  std::string line = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
  bool cut = false;
  for (int i = 0; i < 40 && !cut; ++i) {  // One byte per 50 ms: 2 s total.
    cut = !(*c)->WriteRaw(i == 0 ? line : "a").ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!cut && i > 0 && i % 10 == 0) {
      cut = (*c)->ClosedByServer(std::chrono::milliseconds(1));
    }
  }
  if (!cut) cut = (*c)->ClosedByServer(std::chrono::milliseconds(500));
  EXPECT_TRUE(cut);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // An idle keep-alive connection is closed after idle_timeout too.
  auto idle = ts_.Connect();
  ASSERT_TRUE(idle.ok());
  ASSERT_TRUE((*idle)->Send(bhttp::verb::get, "/").ok());
  EXPECT_TRUE((*idle)->ClosedByServer(std::chrono::seconds(2)));
}

TEST_F(ServerLimitsTest, ConnectionCapClosesExcessConnections) {
  ServerOptions o;
  o.max_connections = 3;
  Start(o);
  std::vector<std::unique_ptr<testing::TestClient>> held;
  for (int i = 0; i < 3; ++i) {
    auto c = ts_.Connect();
    ASSERT_TRUE(c.ok());
    held.push_back(std::move(*c));
  }
  auto start = std::chrono::steady_clock::now();
  auto extra = ts_.Connect();
  EXPECT_FALSE(extra.ok());  // Closed before the handshake completes.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_TRUE(held[0]->Send(bhttp::verb::get, "/").ok());
  held.pop_back();  // Frees a slot (the server notices the close).
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto again = ts_.Connect();
    served = again.ok() && (*again)->Send(bhttp::verb::get, "/").ok();
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace atrest::http
