#include "cli/profile.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "env/testing.h"

namespace atrest::cli {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

Profile Sample(env::WallTime expires_on) {
  return Profile{
      .tenant_id = "t1",
      .client_id = "c1",
      .authority = "https://login.localhost:8443",
      .management_endpoint = "https://management.localhost:8443",
      .subscription_id = "s1",
      .access_token = "eyJ.token.sig",
      .expires_on = expires_on,
  };
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(ProfilePathTest, PrefersAbsoluteXdgConfigHome) {
  EXPECT_EQ(*DefaultProfilePath("/x/cfg", "/home/u"),
            "/x/cfg/atrest/profile.json");
  EXPECT_EQ(*DefaultProfilePath("", "/home/u"),
            "/home/u/.config/atrest/profile.json");
  EXPECT_EQ(*DefaultProfilePath("relative", "/home/u"),
            "/home/u/.config/atrest/profile.json");
  EXPECT_EQ(DefaultProfilePath("", "").status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(ProfileTest, SaveThenLoadRoundTripsWithPrivateModes) {
  Result<env::ScopedTempDir> dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  env::FileSystem& fs = env::Env::Default().fs();
  const std::string path = dir->path() + "/cfg/atrest/profile.json";
  const env::WallTime expires =
      env::FakeClock::DefaultStart() + hours(1) + seconds(5);
  ASSERT_TRUE(SaveProfile(fs, path, Sample(expires)).ok());

  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(dir->path() + "/cfg/atrest"), 0700u);

  Result<Profile> p = LoadProfile(fs, path);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant_id, "t1");
  EXPECT_EQ(p->client_id, "c1");
  EXPECT_EQ(p->authority, "https://login.localhost:8443");
  EXPECT_EQ(p->management_endpoint, "https://management.localhost:8443");
  EXPECT_EQ(p->subscription_id, "s1");
  EXPECT_EQ(p->access_token, "eyJ.token.sig");
  EXPECT_EQ(p->expires_on, expires);
  EXPECT_NE(Sample(expires).ToJson().find("\"expiresOn\": "
                                          "\"2026-01-01T01:00:05Z\""),
            std::string::npos);

  // Saving again replaces the file and keeps its mode.
  ASSERT_TRUE(SaveProfile(fs, path, Sample(expires + hours(1))).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(LoadProfile(fs, path)->expires_on, expires + hours(1));
}

TEST(ProfileTest, MissingFileSaysToLogIn) {
  Result<env::ScopedTempDir> dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  Result<Profile> p =
      LoadProfile(env::Env::Default().fs(), dir->path() + "/profile.json");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("run atrest login"), std::string::npos);
}

TEST(ProfileTest, RejectsMissingFieldsAndBadTimes) {
  std::string good = Sample(env::FakeClock::DefaultStart()).ToJson();
  EXPECT_TRUE(Profile::FromJson(good).ok());
  EXPECT_FALSE(Profile::FromJson("not json").ok());
  std::string no_token = good;
  no_token.replace(no_token.find("accessToken"), 11, "somethingXX");
  Result<Profile> p = Profile::FromJson(no_token);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("accessToken"), std::string::npos);
  std::string bad_time = good;
  bad_time.replace(bad_time.find("2026-01-01T"), 11, "2026-01-01 ");
  EXPECT_FALSE(Profile::FromJson(bad_time).ok());
}

TEST(ProfileTest, ExpiredTokenSaysWhenAndToLogInAgain) {
  env::FakeClock clock;
  const Profile p = Sample(clock.Now() + hours(1));
  EXPECT_TRUE(CheckTokenFresh(p, clock.Now()).ok());
  clock.Advance(hours(1) + seconds(1));
  Status s = CheckTokenFresh(p, clock.Now());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "the saved token expired at 2026-01-01T01:00:00Z; run atrest "
            "login again");
}

TEST(ProfileTest, TokenAboutToExpireCountsAsExpired) {
  env::FakeClock clock;
  const Profile p = Sample(clock.Now() + seconds(30));
  EXPECT_FALSE(CheckTokenFresh(p, clock.Now()).ok());
}

TEST(ProfileTest, VaultTokenRoundTrips) {
  env::FakeClock clock;
  Profile p = Sample(clock.Now() + hours(1));
  p.vault_resource = "https://vault.localhost:8443";
  p.vault_access_token = "eyJ.vault.sig";
  p.vault_expires_on = clock.Now() + hours(2);
  Result<Profile> back = Profile::FromJson(p.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->vault_resource, "https://vault.localhost:8443");
  EXPECT_EQ(back->vault_access_token, "eyJ.vault.sig");
  EXPECT_EQ(back->vault_expires_on, clock.Now() + hours(2));
  EXPECT_TRUE(CheckVaultTokenFresh(*back, clock.Now()).ok());
  clock.Advance(hours(2));
  EXPECT_EQ(CheckVaultTokenFresh(*back, clock.Now()).message(),
            "the saved key vault token expired at 2026-01-01T02:00:00Z; run "
            "atrest login again");

  // All vault members or none.
  std::string partial = p.ToJson();
  partial.replace(partial.find("vaultResource"), 13, "somethingElse");
  Result<Profile> bad = Profile::FromJson(partial);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("vaultResource"), std::string::npos);
}

TEST(ProfileTest, OldProfileWithoutVaultTokenAsksForLogin) {
  env::FakeClock clock;
  const std::string old = Sample(clock.Now() + hours(1)).ToJson();
  EXPECT_EQ(old.find("vault"), std::string::npos);
  Result<Profile> p = Profile::FromJson(old);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(CheckTokenFresh(*p, clock.Now()).ok());
  Status s = CheckVaultTokenFresh(*p, clock.Now());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("no key vault token"), std::string::npos);
  EXPECT_NE(s.message().find("run atrest login again"), std::string::npos);
}

TEST(ParseUtcTest, AcceptsAzForms) {
  const env::WallTime t = std::chrono::system_clock::from_time_t(1893456000);
  for (const char* s :
       {"2030-01-01T00:00:00Z", "2030-01-01T00:00:00", "2030-01-01",
        "2030-01-01T00:00:00.123456Z", "2030-01-01T00:00:00+00:00"}) {
    Result<env::WallTime> parsed = ParseUtc(s);
    ASSERT_TRUE(parsed.ok()) << s << ": " << parsed.status();
    EXPECT_EQ(*parsed, t) << s;
  }
  for (const char* s : {"", "tomorrow", "2030-01-01T00:00:00+02:00",
                        "2030-01-01 00:00:00", "2030-01-01T00:00:00.Z"}) {
    EXPECT_EQ(ParseUtc(s).status().code(), StatusCode::kInvalidArgument) << s;
  }
}

}  // namespace
}  // namespace atrest::cli
