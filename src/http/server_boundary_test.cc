// Real-socket tests of the Server's trust boundary: request framing
// (Transfer-Encoding, Host), UTF-8 at the edge, error shapes per surface,
// request ids and the event log, and streamed bodies that never hold a
// handler thread while the client is slow.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

#include "http/server.h"
#include "http/test_server.h"

namespace atrest::http {
namespace {

using testing::ConsumeWith;
using testing::StringResponse;
using testing::TestClient;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;

const std::regex kUuid(
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

std::string Header(const StringResponse& r, const std::string& name) {
  auto it = r.find(boost::beast::string_view(name.data(), name.size()));
  return it == r.end() ? "" : std::string(it->value());
}

class ServerBoundaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router& r = ts_.router();
    ASSERT_TRUE(r.Add("localhost", "GET", "/", {}, [this](Request&) {
                   ++root_hits_;
                   return Response::Text(200, "root");
                 }).ok());
    RouteLimits small;
    small.max_body_bytes = 1000;
    ASSERT_TRUE(
        r.Add("localhost", "POST", "/echo", small, [this](Request& req) {
           ++echo_hits_;
           return Response::Text(200, std::to_string(req.body.size()));
         }).ok());
    ASSERT_TRUE(r.Add("localhost", "GET", "/fail", {}, [](Request&) {
                   return Response::FromStatus(
                       DataLossError("integrity check failed"));
                 }).ok());
    ASSERT_TRUE(r.Add("localhost", "GET", "/quick", {}, [](Request&) {
                   return Response::Text(200, "quick");
                 }).ok());
    ASSERT_TRUE(r.SetSurface("*.openai.localhost", Surface::kOpenAi).ok());
    ASSERT_TRUE(r.Add("*.openai.localhost", "GET", "/items/{id}", {},
                      [this](Request& req) {
                        ++item_hits_;
                        return Response::Text(200,
                                              std::string(req.PathParam("id")));
                      })
                    .ok());
    ASSERT_TRUE(r.SetSurface("login.localhost", Surface::kLogin).ok());
    ASSERT_TRUE(
        r.Add("login.localhost", "POST", "/token", small, [this](Request& req) {
           ++token_hits_;
           return Response::Text(200, req.body);
         }).ok());
    RouteLimits upload;
    upload.streaming_body = true;
    upload.max_body_bytes = 1ull << 30;
    ASSERT_TRUE(r.Add("*.openai.localhost", "PUT", "/upload", upload,
                      [this](Request& req) {
                        ++upload_heads_;
                        if (req.headers.Has("x-refuse")) {
                          return SurfaceError(Surface::kOpenAi, 429, "429",
                                              "Too many uploads.");
                        }
                        auto total = std::make_shared<uint64_t>(0);
                        return ConsumeWith(
                            [total](ByteView data) {
                              *total += data.size();
                              if (AsString(data).find("bad") !=
                                  std::string_view::npos) {
                                return InvalidArgumentError("bad form");
                              }
                              return Status::Ok();
                            },
                            [this, total](const Status& body) {
                              {
                                std::lock_guard<std::mutex> lock(mu_);
                                finished_.push_back(body);
                                finished_at_ = std::chrono::steady_clock::now();
                              }
                              if (!body.ok()) {
                                return Response::FromStatus(body);
                              }
                              return Response::Text(200,
                                                    std::to_string(*total));
                            });
                      })
                    .ok());
  }

  void Start(ServerOptions o = {}) {
    o.io_threads = 2;
    o.handler_threads = 2;
    ASSERT_TRUE(ts_.Start(o).ok());
  }

  // Sends `raw` on a fresh connection to `host`; the response and, with
  // `expect_close`, whether the server then closed the connection (the
  // client's reads are blocking: only ask when it should close).
  struct Answer {
    StringResponse res;
    bool closed = false;
  };
  Answer SendRaw(const std::string& raw, const std::string& host = "localhost",
                 bool expect_close = true) {
    Answer a;
    auto c = ts_.Connect(host);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return a;
    EXPECT_TRUE((*c)->WriteRaw(raw).ok());
    auto r = (*c)->Read();
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) a.res = std::move(*r);
    if (expect_close) a.closed = (*c)->ClosedByServer(std::chrono::seconds(3));
    return a;
  }

  std::vector<Status> finished() {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!finished_.empty()) return finished_;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

  testing::TestServer ts_;
  std::atomic<int> root_hits_{0}, echo_hits_{0}, item_hits_{0}, token_hits_{0},
      upload_heads_{0};
  std::mutex mu_;
  std::vector<Status> finished_;                       // Guarded by mu_.
  std::chrono::steady_clock::time_point finished_at_;  // Guarded by mu_.
};

// RFC 9112 §6.1: Beast reads a body whose last coding is not chunked as no
// body at all, so without the check the body was parsed as a second
// request (the smuggled GET / below).
TEST_F(ServerBoundaryTest, TransferEncodingOtherThanChunkedAloneIs400AndClose) {
  Start();
  const std::string smuggled = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (const std::string te :
       {"Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: gzip\r\n",
        "Transfer-Encoding: chunked, identity\r\n",
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked;x=1\r\n",
        "Transfer-Encoding: gzip\r\nContent-Length: 36\r\n"}) {
    Answer a = SendRaw("POST /echo HTTP/1.1\r\nHost: localhost\r\n" + te +
                       "\r\n" + smuggled);
    EXPECT_EQ(a.res.result_int(), 400) << te;
    EXPECT_NE(a.res.body().find("Transfer-Encoding"), std::string::npos)
        << te << a.res.body();
    EXPECT_TRUE(a.closed) << te;
  }
  EXPECT_EQ(root_hits_, 0) << "a body was parsed as a request";
  EXPECT_EQ(echo_hits_, 0);
  // Chunked alone still works, in any case.
  Answer ok = SendRaw(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\n"
      "Transfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "localhost", false);
  EXPECT_EQ(ok.res.result_int(), 200);
  EXPECT_EQ(ok.res.body(), "3");
}

TEST_F(ServerBoundaryTest, TwoHostHeadersAre400) {
  Start();
  Answer a = SendRaw(
      "GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n");
  EXPECT_EQ(a.res.result_int(), 400);
  EXPECT_NE(a.res.body().find("more than one Host"), std::string::npos);
  EXPECT_TRUE(a.closed);
  EXPECT_EQ(root_hits_, 0);
}

TEST_F(ServerBoundaryTest, HostWithUserinfoOrJunkIs400) {
  Start();
  for (const char* host :
       {"localhost:1@evil.example", "user@localhost",
        "localhost:", "localhost:99999", "localhost:80:80", "localhost/x"}) {
    Answer a =
        SendRaw("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
    EXPECT_EQ(a.res.result_int(), 400) << host;
    EXPECT_TRUE(a.closed) << host;
  }
  EXPECT_EQ(root_hits_, 0);
  Answer ok = SendRaw("GET / HTTP/1.1\r\nHost: LOCALHOST:8443\r\n\r\n",
                      "localhost", false);
  EXPECT_EQ(ok.res.body(), "root");
}

TEST_F(ServerBoundaryTest, NonUtf8IsRefusedInTheSurfacesShapeBeforeHandlers) {
  Start();
  // A path capture on the OpenAI surface.
  Answer a =
      SendRaw("GET /items/%FF HTTP/1.1\r\nHost: acct.openai.localhost\r\n\r\n",
              "acct.openai.localhost");
  EXPECT_EQ(a.res.result_int(), 400);
  EXPECT_NE(a.res.body().find("\"type\":\"invalid_request_error\""),
            std::string::npos)
      << a.res.body();
  EXPECT_NE(a.res.body().find("UTF-8"), std::string::npos);
  // A query value on the generic (Azure) surface.
  a = SendRaw("GET /?api-version=%FF HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(a.res.result_int(), 400);
  EXPECT_EQ(a.res.body().rfind("{\"error\":{\"code\":\"BadRequest\"", 0), 0u)
      << a.res.body();
  // A query name, raw bytes this time.
  a = SendRaw(
      "GET /items/x?\xc3\x28=1 HTTP/1.1\r\n"
      "Host: acct.openai.localhost\r\n\r\n",
      "acct.openai.localhost");
  EXPECT_EQ(a.res.result_int(), 400) << a.res.body();
  // A form field on the login surface: OAuth's shape.
  const std::string form = "grant_type=%FF";
  a = SendRaw(
      "POST /token HTTP/1.1\r\nHost: login.localhost\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: " +
          std::to_string(form.size()) + "\r\n\r\n" + form,
      "login.localhost", false);
  EXPECT_EQ(a.res.result_int(), 400);
  EXPECT_EQ(a.res.body().rfind("{\"error\":\"invalid_request\","
                               "\"error_description\":",
                               0),
            0u)
      << a.res.body();
  EXPECT_EQ(item_hits_, 0);
  EXPECT_EQ(root_hits_, 0);
  EXPECT_EQ(token_hits_, 0);
  // Valid UTF-8 passes.
  a = SendRaw(
      "GET /items/%E2%82%AC HTTP/1.1\r\nHost: acct.openai.localhost\r\n\r\n",
      "acct.openai.localhost", false);
  EXPECT_EQ(a.res.result_int(), 200);
  EXPECT_EQ(a.res.body(), "\xe2\x82\xac");
}

TEST_F(ServerBoundaryTest, ServerRefusalsComeInTheSurfacesShape) {
  Start();
  // 404 and 413 on the login host: OAuth errors.
  Answer a = SendRaw("GET /nope HTTP/1.1\r\nHost: login.localhost\r\n\r\n",
                     "login.localhost", false);
  EXPECT_EQ(a.res.result_int(), 404);
  EXPECT_EQ(a.res.body().rfind("{\"error\":\"invalid_request\"", 0), 0u)
      << a.res.body();
  a = SendRaw(
      "POST /token HTTP/1.1\r\nHost: login.localhost\r\n"
      "Content-Length: 5000\r\n\r\n",
      "login.localhost");
  EXPECT_EQ(a.res.result_int(), 413);
  EXPECT_NE(a.res.body().find("\"error_description\":"), std::string::npos);
  // 405 on the OpenAI host.
  a = SendRaw("DELETE /items/x HTTP/1.1\r\nHost: acct.openai.localhost\r\n\r\n",
              "acct.openai.localhost", false);
  EXPECT_EQ(a.res.result_int(), 405);
  EXPECT_NE(a.res.body().find("\"param\":null"), std::string::npos);
}

TEST_F(ServerBoundaryTest, EveryResponseCarriesItsRequestId) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok());
  auto r1 = (*c)->Send(bhttp::verb::get, "/");
  auto r2 = (*c)->Send(bhttp::verb::get, "/no-such-path");
  ASSERT_TRUE(r1.ok() && r2.ok());
  const std::string id1 = Header(*r1, "x-ms-request-id");
  const std::string id2 = Header(*r2, "x-ms-request-id");
  EXPECT_TRUE(std::regex_match(id1, kUuid)) << id1;
  EXPECT_TRUE(std::regex_match(id2, kUuid)) << id2;
  EXPECT_NE(id1, id2);
  std::vector<std::string> lines = ts_.lines(2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"request_id\":\"" + id1 + "\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"request_id\":\"" + id2 + "\""), std::string::npos);
  // A malformed request's 400 has one too; the OpenAI surface has its own
  // headers.
  Answer bad = SendRaw("GARBAGE\r\n\r\n");
  EXPECT_TRUE(std::regex_match(Header(bad.res, "x-ms-request-id"), kUuid));
  auto o = ts_.Connect("acct.openai.localhost");
  ASSERT_TRUE(o.ok());
  auto r3 = (*o)->Send(bhttp::verb::get, "/items/a");
  ASSERT_TRUE(r3.ok());
  const std::string apim = Header(*r3, "apim-request-id");
  EXPECT_TRUE(std::regex_match(apim, kUuid)) << apim;
  EXPECT_EQ(Header(*r3, "x-ms-request-id"), apim);
  EXPECT_EQ(Header(*r3, "x-request-id"), apim);
}

TEST_F(ServerBoundaryTest, A5xxIsLoggedWithTheRequestIdItCarried) {
  Start();
  auto c = ts_.Connect();
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Send(bhttp::verb::get, "/fail?secret=s3cr3t");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->result_int(), 500);
  const std::string id = Header(*r, "x-ms-request-id");
  ASSERT_TRUE(std::regex_match(id, kUuid));
  std::vector<std::string> events = ts_.events(1);
  ASSERT_EQ(events.size(), 1u);
  const std::string& e = events[0];
  EXPECT_NE(e.find("\"event\":\"error_response\""), std::string::npos) << e;
  EXPECT_NE(e.find("\"request_id\":\"" + id + "\""), std::string::npos) << e;
  EXPECT_NE(e.find("\"method\":\"GET\",\"host\":\"localhost\","
                   "\"route\":\"/fail\",\"status\":500"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("\"code\":\"DATA_LOSS\","
                   "\"message\":\"integrity check failed\""),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << "no query strings";
  // 2xx and 4xx are not events.
  ASSERT_TRUE((*c)->Send(bhttp::verb::get, "/").ok());
  ASSERT_TRUE((*c)->Send(bhttp::verb::get, "/nope").ok());
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(ts_.events().size(), 1u);
}

// With 2 handler threads, 6 uploads whose clients went quiet after the head
// used to hold both threads (the handler waited in BodySource::Read) and
// every other request on the server waited behind them.
TEST_F(ServerBoundaryTest, SlowUploadsHoldNoHandlerThread) {
  Start();
  std::vector<std::unique_ptr<TestClient>> slow;
  for (int i = 0; i < 6; ++i) {
    auto c = ts_.Connect("acct.openai.localhost");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->WriteRaw("PUT /upload HTTP/1.1\r\n"
                               "Host: acct.openai.localhost\r\n"
                               "Content-Length: 1000000\r\n\r\n0123456789")
                    .ok());
    slow.push_back(std::move(*c));
  }
  for (int i = 0; i < 200 && upload_heads_ < 6; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(upload_heads_, 6);
  for (int i = 0; i < 5; ++i) {
    auto c = ts_.Connect();
    ASSERT_TRUE(c.ok());
    const auto t0 = std::chrono::steady_clock::now();
    auto r = (*c)->Send(bhttp::verb::get, "/quick");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body(), "quick");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
  }
  // The slow ones still complete when their clients carry on.
  for (auto& c : slow) {
    ASSERT_TRUE(c->WriteRaw(std::string(1000000 - 10, 'u')).ok());
    auto r = c->Read();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body(), "1000000");
  }
}

TEST_F(ServerBoundaryTest, MinimumBodyRateCutsOffATrickleButNotASlowLink) {
  ServerOptions o;
  o.min_body_rate = 10'000;                     // Bytes per second,
  o.min_body_rate_window = milliseconds(1000);  // so 10 kB per second.
  Start(o);
  // 20 bytes every 100 ms: 200 B/s.
  auto c = ts_.Connect("acct.openai.localhost");
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->WriteRaw("PUT /upload HTTP/1.1\r\n"
                             "Host: acct.openai.localhost\r\n"
                             "Content-Length: 100000\r\n\r\n")
                  .ok());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!finished_.empty()) break;
    }
    if (!(*c)->WriteRaw(std::string(20, 't')).ok()) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  std::vector<Status> ends = finished();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(ends[0].message().find("slower than 10000 bytes/s"),
            std::string::npos)
      << ends[0];
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto took = finished_at_ - t0;
    EXPECT_GE(took, milliseconds(900));
    EXPECT_LT(took, milliseconds(3000));
  }
  EXPECT_TRUE((*c)->ClosedByServer(std::chrono::seconds(3)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.clear();
  }
  // 50 kB/s, five times the minimum, for 2 s: never cut off.
  auto fast = ts_.Connect("acct.openai.localhost");
  ASSERT_TRUE(fast.ok());
  ASSERT_TRUE((*fast)
                  ->WriteRaw("PUT /upload HTTP/1.1\r\n"
                             "Host: acct.openai.localhost\r\n"
                             "Content-Length: 100000\r\n\r\n")
                  .ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*fast)->WriteRaw(std::string(5000, 'f')).ok()) << i;
    std::this_thread::sleep_for(milliseconds(100));
  }
  auto r = (*fast)->Read();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(r->body(), "100000");
}

TEST_F(ServerBoundaryTest, StreamingHandlerMayAnswerBeforeTheBody) {
  Start();
  // No 100 Continue: the client learns at once that it need not send.
  Answer a = SendRaw(
      "PUT /upload HTTP/1.1\r\nHost: acct.openai.localhost\r\n"
      "x-refuse: 1\r\nExpect: 100-continue\r\n"
      "Content-Length: 1000000\r\n\r\n",
      "acct.openai.localhost");
  EXPECT_EQ(a.res.result_int(), 429);
  EXPECT_NE(a.res.body().find("Too many uploads"), std::string::npos);
  EXPECT_TRUE(a.closed);  // The body was never read.
  std::vector<std::string> lines = ts_.lines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"status\":429"), std::string::npos);
}

TEST_F(ServerBoundaryTest, ConsumerErrorMidBodyIsAnsweredAndCloses) {
  Start();
  auto c = ts_.Connect("acct.openai.localhost");
  ASSERT_TRUE(c.ok());
  // The consumer refuses the second chunk; the rest is never read.
  ASSERT_TRUE((*c)->WriteRaw("PUT /upload HTTP/1.1\r\n"
                             "Host: acct.openai.localhost\r\n"
                             "Content-Length: 100000000\r\n\r\n" +
                             std::string(256 * 1024, 'x') + "bad" +
                             std::string(256 * 1024, 'y'))
                  .ok());
  auto r = (*c)->Read();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->result_int(), 400);
  EXPECT_NE(r->body().find("bad form"), std::string::npos);
  EXPECT_TRUE((*c)->ClosedByServer(std::chrono::seconds(3)));
  std::vector<Status> ends = finished();
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].message(), "bad form");
}

}  // namespace
}  // namespace atrest::http
