#include "http/body_rate.h"

#include <gtest/gtest.h>

namespace atrest::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kCap{60'000};

TEST(BodyRateTest, TricklingClientRunsOutOfItsWindow) {
  // 4 KiB/s over 20 s: 80 KiB per window. 1 KiB every 2 s never gets there.
  BodyRate rate(4096, milliseconds(20'000));
  EXPECT_EQ(rate.NextWait(kCap), milliseconds(20'000));
  for (int i = 0; i < 9; ++i) rate.Record(1024, seconds(2));
  EXPECT_EQ(rate.NextWait(kCap), milliseconds(2'000));
  rate.Record(1024, seconds(2));
  // The window is used up: the next read may wait only a moment, and a
  // timeout then is the rate's.
  EXPECT_EQ(rate.NextWait(kCap), milliseconds(1));
  EXPECT_TRUE(rate.CutOffByRate(kCap));
}

TEST(BodyRateTest, ClientAtTheRateStartsAFreshWindowEachTime) {
  BodyRate rate(4096, milliseconds(20'000));
  for (int i = 0; i < 100; ++i) {
    rate.Record(80 * 1024, seconds(19));
    EXPECT_EQ(rate.NextWait(kCap), milliseconds(20'000)) << i;
  }
  // A slow link of 200 KiB/s: a window is met within half a second.
  for (int i = 0; i < 100; ++i) rate.Record(16 * 1024, milliseconds(80));
  EXPECT_GE(rate.NextWait(kCap), milliseconds(19'000));
}

TEST(BodyRateTest, CapWinsWhenShorterAndDisabledRateOnlyUsesTheCap) {
  BodyRate rate(4096, milliseconds(20'000));
  EXPECT_EQ(rate.NextWait(milliseconds(5'000)), milliseconds(5'000));
  EXPECT_FALSE(rate.CutOffByRate(milliseconds(5'000)));
  BodyRate off(0, milliseconds(20'000));
  off.Record(1, seconds(3600));
  EXPECT_EQ(off.NextWait(kCap), kCap);
  EXPECT_FALSE(off.CutOffByRate(kCap));
}

}  // namespace
}  // namespace atrest::http
