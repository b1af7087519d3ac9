// AppendResponseHead must write exactly the bytes Beast's serializer writes
// for the same response, as the session built it before (CopyHeaders,
// keep_alive, prepare_payload).
#include "http/response_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace atrest::http {
namespace {

namespace bhttp = boost::beast::http;

std::string BeastBytes(const Response& res, bool keep_alive) {
  bhttp::response<bhttp::string_body> msg;
  msg.version(11);
  msg.result(static_cast<unsigned>(res.status));
  for (const auto& [name, value] : res.headers.fields()) {
    msg.insert(name, value);
  }
  msg.keep_alive(keep_alive);
  msg.body() = res.body;
  msg.prepare_payload();
  std::ostringstream os;
  os << msg;
  return os.str();
}

std::string OurBytes(const Response& res, bool keep_alive) {
  std::string out = "prefix";
  EXPECT_TRUE(AppendResponseHead(res, keep_alive, res.body.size(), out));
  EXPECT_EQ(out.substr(0, 6), "prefix");
  return out.substr(6) + res.body;
}

std::vector<Response> Cases() {
  std::vector<Response> cases;
  cases.push_back(Response::Json(200, R"({"status":"ok"})"));
  cases.push_back(Response::Json(201, "{}"));
  cases.push_back(Response::Json(200, ""));
  cases.push_back(Response::Error(400, "BadRequest", "Malformed request."));
  cases.push_back(Response::Error(404, "NotFound", "No such endpoint."));
  Response allow = Response::Error(405, "MethodNotAllowed", "allowed: GET");
  allow.headers.Set("Allow", "GET, PUT");
  cases.push_back(allow);
  cases.push_back(Response::Error(413, "RequestEntityTooLarge", "too big"));
  cases.push_back(Response::Error(431, "RequestHeaderFieldsTooLarge", "big"));
  cases.push_back(Response::Error(429, "Throttled", "slow down"));
  cases.push_back(Response::Error(500, "InternalError", "oops"));
  cases.push_back(Response::Error(503, "Unavailable", "later"));
  Response auth = Response::Error(401, "Unauthorized", "token");
  auth.headers.Add("WWW-Authenticate",
                   "Bearer authorization=\"https://login/x\", resource=\"r\"");
  cases.push_back(auth);
  cases.push_back(Response::Text(200, "metrics 1\n",
                                 "text/plain; version=0.0.4; charset=utf-8"));
  cases.push_back(Response::Text(404, ""));
  Response odd = Response::Text(299, "x");
  odd.headers.Add("x-ms-request-id", "  padded\t ");
  odd.headers.Add("X-Empty", "");
  odd.headers.Add("x-blank", " \t ");
  odd.headers.Add("x-ms-Dup", "1");
  odd.headers.Add("X-MS-DUP", "2");
  odd.headers.Add("ETag", "\"0x8D\"");
  cases.push_back(odd);
  cases.push_back(Response::Json(499, "{}"));
  cases.push_back(Response::Json(599, "{}"));
  cases.push_back(Response::Json(999, "{}"));
  Response big = Response::Text(200, std::string(100000, 'b'));
  big.headers.Add("Location", "https://kv1.vault.localhost/keys/k/v");
  cases.push_back(big);
  return cases;
}

TEST(ResponseHeadTest, SameBytesAsBeast) {
  for (const Response& res : Cases()) {
    for (bool keep_alive : {true, false}) {
      SCOPED_TRACE(std::to_string(res.status) +
                   " keep_alive=" + std::to_string(keep_alive));
      EXPECT_EQ(OurBytes(res, keep_alive), BeastBytes(res, keep_alive));
    }
  }
}

TEST(ResponseHeadTest, LeavesSpecialCasesToBeast) {
  std::vector<Response> cases;
  cases.push_back(Response::Text(101, ""));
  cases.push_back(Response::Text(204, ""));
  cases.push_back(Response::Text(304, ""));
  cases.push_back(Response::Text(1000, ""));
  cases.push_back(Response::Text(99, ""));
  for (const char* name :
       {"Connection", "connection", "Content-Length", "TRANSFER-ENCODING"}) {
    Response r = Response::Json(200, "{}");
    r.headers.Add(name, "close");
    cases.push_back(r);
  }
  Response long_value = Response::Json(200, "{}");
  long_value.headers.Add("X-Long", std::string(70000, 'v'));
  cases.push_back(long_value);
  for (const Response& res : cases) {
    std::string out = "kept";
    EXPECT_FALSE(AppendResponseHead(res, true, res.body.size(), out));
    EXPECT_EQ(out, "kept");
  }
}

}  // namespace
}  // namespace atrest::http
