#include "http/access_log.h"

#include <gtest/gtest.h>

#include <sstream>

namespace atrest::http {
namespace {

TEST(AccessLogTest, WritesOneJsonLinePerRecord) {
  std::ostringstream out;
  AccessLog log(out);
  AccessRecord r;
  r.time = env::WallTime(std::chrono::microseconds(1714564800000123));
  r.method = "GET";
  r.host = "kv1.vault.localhost";
  r.path = "/keys/k1";
  r.route = "/keys/{name}";
  r.status = 200;
  r.bytes_in = 0;
  r.bytes_out = 412;
  r.latency_us = 845;
  r.peer = "127.0.0.1";
  r.caller = "oid-1";
  r.request_id = "6f1e2d3c-0000-4000-8000-000000000001";
  log.Write(r);
  log.Write(r);
  std::string line =
      "{\"time\":\"2024-05-01T12:00:00.000123Z\",\"method\":\"GET\","
      "\"host\":\"kv1.vault.localhost\",\"path\":\"/keys/k1\","
      "\"route\":\"/keys/{name}\",\"status\":200,\"bytes_in\":0,"
      "\"bytes_out\":412,\"latency_us\":845,\"peer\":\"127.0.0.1\","
      "\"caller\":\"oid-1\","
      "\"request_id\":\"6f1e2d3c-0000-4000-8000-000000000001\"}\n";
  EXPECT_EQ(out.str(), line + line);
}

TEST(AccessLogTest, EscapesHostileValues) {
  std::string got;
  AccessLog log([&](std::string_view l) { got = std::string(l); });
  AccessRecord r;
  r.path = "/a\"\n\x01\xff";
  log.Write(r);
  EXPECT_NE(got.find("\"path\":\"/a\\\"\\n\\u0001\\u00ff\""), std::string::npos)
      << got;
}

}  // namespace
}  // namespace atrest::http
