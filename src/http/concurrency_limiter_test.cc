#include "http/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace atrest::http {
namespace {

TEST(ConcurrencyLimiterTest, RefusesBeyondTheLimitAndFreesOnRelease) {
  ConcurrencyLimiter limiter;
  std::vector<ConcurrencyLimiter::Lease> leases;
  for (int i = 0; i < 3; ++i) {
    auto l = limiter.TryAcquire("p", 3);
    ASSERT_TRUE(l.has_value()) << i;
    leases.push_back(std::move(*l));
  }
  EXPECT_EQ(limiter.held("p"), 3u);
  EXPECT_FALSE(limiter.TryAcquire("p", 3).has_value());
  EXPECT_EQ(limiter.held("p"), 3u);  // A refusal takes nothing.
  // Other keys are counted apart; a higher limit admits more.
  EXPECT_TRUE(limiter.TryAcquire("q", 1).has_value());
  EXPECT_TRUE(limiter.TryAcquire("p", 4).has_value());
  leases.pop_back();
  EXPECT_EQ(limiter.held("p"), 2u);
  EXPECT_TRUE(limiter.TryAcquire("p", 3).has_value());
  leases.clear();
  EXPECT_EQ(limiter.held("p"), 0u);
  EXPECT_FALSE(limiter.TryAcquire("p", 0).has_value());
}

TEST(ConcurrencyLimiterTest, MovedLeasesReleaseOnce) {
  ConcurrencyLimiter limiter;
  auto a = limiter.TryAcquire("k", 2);
  ASSERT_TRUE(a.has_value());
  ConcurrencyLimiter::Lease b = std::move(*a);
  a.reset();
  EXPECT_EQ(limiter.held("k"), 1u);
  auto c = limiter.TryAcquire("k", 2);
  ASSERT_TRUE(c.has_value());
  b = std::move(*c);  // Releases b's own slot first.
  EXPECT_EQ(limiter.held("k"), 1u);
}

TEST(ConcurrencyLimiterTest, ConcurrentAcquisitionsNeverExceedTheLimit) {
  ConcurrencyLimiter limiter;
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto l = limiter.TryAcquire("shared", 3);
        if (!l) continue;
        int now = ++inside;
        int seen = most;
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most, 3);
  EXPECT_EQ(limiter.held("shared"), 0u);
}

}  // namespace
}  // namespace atrest::http
