#include "http/metrics.h"

#include <gtest/gtest.h>

namespace atrest::http {
namespace {

TEST(MetricsTest, RendersCountersAndHistograms) {
  MetricsRegistry reg;
  Result<CounterFamily*> c =
      reg.AddCounter("req_total", "Requests.", {"route", "status"});
  ASSERT_TRUE(c.ok());
  Result<HistogramFamily*> h =
      reg.AddHistogram("lat_seconds", "Latency.", {"route"}, {0.1, 1});
  ASSERT_TRUE(h.ok());
  (*c)->Inc({"/a", "200"});
  (*c)->Inc({"/a", "200"}, 2);
  (*c)->Inc({"/b\"", "404"});
  (*h)->Observe({"/a"}, 0.05);
  (*h)->Observe({"/a"}, 0.5);
  (*h)->Observe({"/a"}, 5);
  EXPECT_EQ((*c)->Value({"/a", "200"}), 3);
  EXPECT_EQ((*h)->Count({"/a"}), 3u);
  EXPECT_EQ(reg.Render(),
            "# HELP req_total Requests.\n"
            "# TYPE req_total counter\n"
            "req_total{route=\"/a\",status=\"200\"} 3\n"
            "req_total{route=\"/b\\\"\",status=\"404\"} 1\n"
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"/a\",le=\"0.10000000000000001\"} 1\n"
            "lat_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"
            "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"
            "lat_seconds_sum{route=\"/a\"} 5.5499999999999998\n"
            "lat_seconds_count{route=\"/a\"} 3\n");
}

TEST(MetricsTest, UnlabelledCounter) {
  MetricsRegistry reg;
  CounterFamily* c = *reg.AddCounter("x_total", "X.", {});
  c->Inc({});
  EXPECT_EQ(reg.Render(),
            "# HELP x_total X.\n# TYPE x_total counter\n"
            "x_total 1\n");
}

TEST(MetricsTest, RejectsBadNamesAndDuplicates) {
  MetricsRegistry reg;
  EXPECT_TRUE(reg.AddCounter("a_total", "", {}).ok());
  EXPECT_EQ(reg.AddCounter("a_total", "", {}).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_FALSE(reg.AddCounter("1bad", "", {}).ok());
  EXPECT_FALSE(reg.AddCounter("ok", "", {"bad-label"}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "", {}, {}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "", {}, {2, 1}).ok());
  EXPECT_FALSE(reg.AddHistogram("h", "", {"le"}, {1}).ok());
}

}  // namespace
}  // namespace atrest::http
