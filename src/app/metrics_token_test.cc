#include "app/metrics_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "env/testing.h"

namespace atrest::app {
namespace {

TEST(MetricsTokenTest, MadeOnceWithMode0600ThenReadBack) {
  auto dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string path = dir->Join("metrics-token");
  env::FileSystem& fs = env::Env::Default().fs();
  Result<MetricsToken> first = LoadOrCreateMetricsToken(fs, path);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->token.size(), 64u);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<MetricsToken> again = LoadOrCreateMetricsToken(fs, path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->token, first->token);
  // Another data dir, another token.
  Result<MetricsToken> other =
      LoadOrCreateMetricsToken(fs, dir->Join("other-token"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->token, first->token);
}

TEST(MetricsTokenTest, AnOperatorsTokenIsUsedAndJunkRefused) {
  auto dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok());
  const std::string path = dir->Join("metrics-token");
  env::FileSystem& fs = env::Env::Default().fs();
  std::ofstream(path) << "my-own-prometheus-token\r\n";
  Result<MetricsToken> t = LoadOrCreateMetricsToken(fs, path);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token, "my-own-prometheus-token");
  for (const char* bad : {"", "short", "has a space in it!!"}) {
    std::ofstream(path, std::ios::trunc) << bad;
    Result<MetricsToken> r = LoadOrCreateMetricsToken(fs, path);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace atrest::app
