#include "app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "env/testing.h"

namespace atrest::app {
namespace {

using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string WriteToml(const std::string& text) {
    std::string path = dir_.Join("atrest.toml");
    std::ofstream(path) << text;
    return path;
  }
  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
};

TEST_F(ConfigTest, EmbeddedDefaultsNeedNothing) {
  Result<Config> c = LoadConfig("", FakeEnv({}), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 8443);
  EXPECT_EQ(c->domain, "localhost");
  EXPECT_EQ(c->data_dir, "atrest-data");
  EXPECT_FALSE(c->fips);
}

TEST_F(ConfigTest, HttpBoundaryDefaultsAndFlags) {
  Result<Config> c = LoadConfig("", FakeEnv({}), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->error_log, "-");
  EXPECT_FALSE(c->metrics_public);
  EXPECT_EQ(c->min_upload_rate, 4096);
  EXPECT_EQ(c->min_upload_rate_window_seconds, 20);
  EXPECT_EQ(c->max_uploads_per_principal, 8);
  EXPECT_EQ(c->max_uploads_per_account, 16);
  c = LoadConfig("", FakeEnv({{"ATREST_SERVER_METRICS_PUBLIC", "true"}}),
                 {{"--limits-min-upload-rate", "0"},
                  {"--limits-max-uploads-per-principal", "100"},
                  {"--limits-max-uploads-per-account", "200"},
                  {"--server-error-log", "/var/log/atrest-errors.log"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->metrics_public);
  EXPECT_EQ(c->min_upload_rate, 0);
  EXPECT_EQ(c->max_uploads_per_principal, 100);
  EXPECT_EQ(c->max_uploads_per_account, 200);
  EXPECT_EQ(c->error_log, "/var/log/atrest-errors.log");
  c = LoadConfig("", FakeEnv({}), {{"--limits-max-uploads-per-account", "0"}});
  EXPECT_FALSE(c.ok());
}

TEST_F(ConfigTest, FlagsBeatEnvironmentWhichBeatsTheFile) {
  std::string path = WriteToml(
      "[server]\nport = 9000\ndomain = \"example.test\"\n"
      "data_dir = \"/srv/atrest\"\n[crypto]\nfips = true\n");
  Result<Config> c = LoadConfig(
      path,
      FakeEnv({{"ATREST_SERVER_PORT", "9100"}, {"ATREST_CRYPTO_FIPS", "0"}}),
      {{"--server-port", "9200"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 9200);                   // Flag.
  EXPECT_FALSE(c->fips);                      // Environment over file.
  EXPECT_EQ(c->domain, "example.test");       // File.
  EXPECT_EQ(c->data_dir, "/srv/atrest");      // File.
  EXPECT_EQ(c->listen_address, "127.0.0.1");  // Default.
}

TEST_F(ConfigTest, BadValuesSayWhereAndWhat) {
  Result<Config> c =
      LoadConfig("", FakeEnv({{"ATREST_SERVER_PORT", "99999"}}), {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("ATREST_SERVER_PORT"));
  EXPECT_THAT(c.status().message(), HasSubstr("0 to 65535"));

  c = LoadConfig(WriteToml("[server]\nport = \"x\"\n"), FakeEnv({}), {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("server.port"));

  c = LoadConfig(WriteToml("[server\n"), FakeEnv({}), {});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("line 1"));

  c = LoadConfig(dir_.Join("missing.toml"), FakeEnv({}), {});
  EXPECT_FALSE(c.ok());

  c = LoadConfig("", FakeEnv({}), {{"--crypto-fips", "maybe"}});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--crypto-fips"));
}

TEST_F(ConfigTest, CertificateAndKeyGoTogether) {
  Result<Config> c =
      LoadConfig("", FakeEnv({}), {{"--server-tls-cert-file", "/c.pem"}});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("set both"));
}

TEST_F(ConfigTest, EverySettingHasDistinctNames) {
  std::set<std::string> seen;
  for (const SettingInfo& s : Settings()) {
    EXPECT_TRUE(seen.insert(s.env_var).second) << s.env_var;
    EXPECT_TRUE(seen.insert(s.flag).second) << s.flag;
    if (!s.alias.empty()) {
      EXPECT_TRUE(seen.insert(s.alias).second) << s.alias;
    }
    EXPECT_EQ(s.env_var.rfind("ATREST_", 0), 0u);
  }
  EXPECT_EQ(Settings()[2].flag, "--server-port");
}

// The spellings a user guesses work beside the long ones, and each setting
// says what kind of value it takes (so `atrest serve --help` can).
TEST_F(ConfigTest, ShortSpellingsAndKinds) {
  std::map<std::string, SettingInfo> by_key;
  for (const SettingInfo& s : Settings()) by_key[s.toml_key] = s;
  EXPECT_EQ(by_key["server.port"].alias, "--port");
  EXPECT_EQ(by_key["server.data_dir"].alias, "--data-dir");
  EXPECT_EQ(by_key["server.domain"].alias, "--domain");
  EXPECT_EQ(by_key["server.port"].kind, SettingInfo::Kind::kInteger);
  EXPECT_EQ(by_key["server.port"].min, 0);
  EXPECT_EQ(by_key["server.port"].max, 65535);
  EXPECT_EQ(by_key["crypto.fips"].kind, SettingInfo::Kind::kBoolean);
  EXPECT_EQ(by_key["server.data_dir"].kind, SettingInfo::Kind::kText);
  EXPECT_EQ(by_key["accounts.vault_suffixes"].kind, SettingInfo::Kind::kList);

  Result<Config> c = LoadConfig("", FakeEnv({}),
                                {{"--port", "9300"}, {"--data-dir", "/srv/a"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->port, 9300);
  EXPECT_EQ(c->data_dir, "/srv/a");
  c = LoadConfig("", FakeEnv({}), {{"--port", "x"}});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--port"));
}

TEST_F(ConfigTest, VaultSuffixesDefaultToAzuresAndAreChecked) {
  Result<Config> c = LoadConfig("", FakeEnv({}), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vault_suffixes, keys::kAzureVaultSuffixes);

  c = LoadConfig(WriteToml("[accounts]\nvault_suffixes = [\"vault.azure.net\","
                           " \"vault.example.com:4443\"]\n"),
                 FakeEnv({}), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vault_suffixes, "vault.azure.net,vault.example.com:4443");

  c = LoadConfig("", FakeEnv({{"ATREST_ACCOUNTS_VAULT_SUFFIXES", ""}}), {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->vault_suffixes, "");

  for (const char* bad : {"127.0.0.1", "localhost", "vault.azure.net:0",
                          "https://vault.azure.net"}) {
    c = LoadConfig("", FakeEnv({}), {{"--accounts-vault-suffixes", bad}});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("--accounts-vault-suffixes"));
  }
  // Arrays only where a list is expected.
  c = LoadConfig(WriteToml("[server]\ndata_dir = [\"a\"]\n"), FakeEnv({}), {});
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace atrest::app
