#include "http/event_log.h"

#include <gtest/gtest.h>

#include <sstream>

namespace atrest::http {
namespace {

TEST(EventLogTest, WritesOneJsonLinePerEvent) {
  std::ostringstream out;
  EventLog log(out);
  EventRecord r;
  r.time = env::WallTime(std::chrono::microseconds(1714564800000123));
  r.event = "response_aborted";
  r.request_id = "6f1e2d3c-0000-4000-8000-000000000001";
  r.method = "GET";
  r.host = "acct.openai.localhost";
  r.route = "/openai/files/{id}/content";
  r.status = 200;
  r.failure = DataLossError("integrity check failed");
  log.Write(r);
  EXPECT_EQ(out.str(),
            "{\"time\":\"2024-05-01T12:00:00.000123Z\","
            "\"event\":\"response_aborted\","
            "\"request_id\":\"6f1e2d3c-0000-4000-8000-000000000001\","
            "\"method\":\"GET\",\"host\":\"acct.openai.localhost\","
            "\"route\":\"/openai/files/{id}/content\",\"status\":200,"
            "\"code\":\"DATA_LOSS\",\"message\":\"integrity check failed\"}\n");
}

TEST(EventLogTest, UnknownFailureHasEmptyCodeAndHostileBytesAreEscaped) {
  std::string got;
  EventLog log([&](std::string_view l) { got = std::string(l); });
  EventRecord r;
  r.event = "error_response";
  r.status = 500;
  r.host = "a\"\n\xff";
  log.Write(r);
  EXPECT_NE(got.find("\"code\":\"\",\"message\":\"\""), std::string::npos)
      << got;
  EXPECT_NE(got.find("\"host\":\"a\\\"\\n\\u00ff\""), std::string::npos) << got;
}

}  // namespace
}  // namespace atrest::http
