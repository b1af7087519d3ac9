#include "training/decoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace atrest::training {
namespace {

// Feeds `pieces` and returns what was released, "|"-separated, plus the
// final text and whether a stop sequence ended it.
struct ScanResult {
  std::string released;
  std::string text;
  bool stopped = false;
};

ScanResult Scan(const std::vector<std::string>& stops,
                const std::vector<std::string>& pieces) {
  StopScanner scanner(stops);
  ScanResult run;
  for (const std::string& p : pieces) {
    run.released += std::string(scanner.Append(p, &run.stopped)) + "|";
    if (run.stopped) break;
  }
  if (!run.stopped) run.released += std::string(scanner.Flush());
  run.text = std::string(scanner.text());
  return run;
}

TEST(StopScannerTest, WithoutStopsReleasesEverything) {
  const ScanResult r = Scan({}, {"Hello", ", world"});
  EXPECT_EQ(r.released, "Hello|, world|");
  EXPECT_EQ(r.text, "Hello, world");
  EXPECT_FALSE(r.stopped);
}

TEST(StopScannerTest, StopsBeforeTheSequenceAcrossPieces) {
  const ScanResult r = Scan({"END"}, {"one E", "N", "D two"});
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "one ");
  EXPECT_EQ(r.released, "one |||");  // "E" and "N" were held back.
}

TEST(StopScannerTest, ReleasesHeldTextWhenItIsNoStop) {
  const ScanResult r = Scan({"END"}, {"one E", "N", "VY"});
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.text, "one ENVY");
  EXPECT_EQ(r.released, "one ||ENVY|");
}

TEST(StopScannerTest, TheEarliestStopWins) {
  const ScanResult r = Scan({"c", "ab"}, {"xxabc"});
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "xx");
}

TEST(StopScannerTest, HeldTailIsFlushedAtTheEnd) {
  const ScanResult r = Scan({"\n\n"}, {"line\n"});
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.released, "line|\n");
  EXPECT_EQ(r.text, "line\n");
}

TEST(RngTest, SameSeedSameSequence) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) {
    const uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    EXPECT_NE(x, c.Next());
  }
  Rng u(1);
  for (int i = 0; i < 1000; ++i) {
    const double d = u.Uniform();
    EXPECT_GE(d, 0.0);
    EXPECT_LT(d, 1.0);
  }
}

TEST(SampleTokenTest, FollowsTheDistribution) {
  Rng rng(5);
  WipedVector<uint32_t> order;
  int counts[4] = {};
  for (int i = 0; i < 4000; ++i) {
    std::vector<double> dist = {0, 0.1, 0.6, 0.3};
    ++counts[SampleToken(dist, 1.0, 1.0, rng, &order)];
  }
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[1] / 4000.0, 0.1, 0.03);
  EXPECT_NEAR(counts[2] / 4000.0, 0.6, 0.03);
  EXPECT_NEAR(counts[3] / 4000.0, 0.3, 0.03);
}

TEST(SampleTokenTest, TopPAndTemperatureNarrowTheChoice) {
  Rng rng(9);
  WipedVector<uint32_t> order;
  for (int i = 0; i < 200; ++i) {
    std::vector<double> dist = {0, 0.1, 0.6, 0.3};
    EXPECT_EQ(SampleToken(dist, 1.0, 0.0, rng, &order), 2u);
    dist = {0, 0.1, 0.6, 0.3};
    EXPECT_NE(SampleToken(dist, 1.0, 0.85, rng, &order), 1u);
    dist = {0, 0.1, 0.6, 0.3};
    EXPECT_EQ(SampleToken(dist, 0.01, 1.0, rng, &order), 2u);
  }
}

}  // namespace
}  // namespace atrest::training
