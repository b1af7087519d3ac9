// Unit tests of the rules for which vault hosts atrest calls and which
// audience their challenges may ask for (keys/vault_hosts.h), and of
// KeyVaultClient applying them before it sends anything.
#include "keys/vault_hosts.h"

#include <gtest/gtest.h>

#include "keys/keyvault_client.h"

namespace atrest::keys {
namespace {

VaultHosts Hosts() {
  Result<std::vector<VaultSuffix>> allowed = ParseVaultSuffixes(
      std::string(kAzureVaultSuffixes) + " vault.test.localhost:4443");
  EXPECT_TRUE(allowed.ok()) << allowed.status();
  Result<VaultHosts> hosts =
      VaultHosts::Create({.host = "vault.localhost", .port = 8443}, *allowed);
  EXPECT_TRUE(hosts.ok()) << hosts.status();
  return *hosts;
}

TEST(ParseVaultSuffixesTest, ReadsCommaOrSpaceSeparatedEntries) {
  Result<std::vector<VaultSuffix>> s =
      ParseVaultSuffixes(" Vault.Azure.net,,vault.test.localhost:4443 x.y ");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, (std::vector<VaultSuffix>{{"vault.azure.net", 443},
                                          {"vault.test.localhost", 4443},
                                          {"x.y", 443}}));
  EXPECT_EQ((*s)[1].ToString(), "vault.test.localhost:4443");
  ASSERT_TRUE(ParseVaultSuffixes("").ok());
  EXPECT_TRUE(ParseVaultSuffixes("").value().empty());

  Result<std::vector<VaultSuffix>> azure =
      ParseVaultSuffixes(kAzureVaultSuffixes);
  ASSERT_TRUE(azure.ok());
  EXPECT_EQ(azure->size(), 4u);
}

TEST(ParseVaultSuffixesTest, RefusesWhatIsNotADnsSuffix) {
  for (const char* bad :
       {"localhost", "127.0.0.1", "10.1", "vault.azure.net:0",
        "vault.azure.net:65536", "vault.azure.net:", "vault.azure.net:x",
        ".vault.azure.net", "vault..azure.net", "vault.azure.net.",
        "-vault.azure.net", "va_ult.azure.net", "https://vault.azure.net",
        "*.vault.azure.net", "[::1]"}) {
    Result<std::vector<VaultSuffix>> s = ParseVaultSuffixes(bad);
    EXPECT_FALSE(s.ok()) << bad;
    if (!s.ok()) {
      EXPECT_NE(s.status().message().find("key vault suffix"),
                std::string::npos)
          << bad;
    }
  }
}

TEST(VaultHostsTest, AllowsVaultsUnderTheSuffixesAtTheirPorts) {
  const VaultHosts hosts = Hosts();
  Result<VaultEndpoint> v = hosts.Check("https://KV1.vault.localhost:8443/");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->uri, "https://kv1.vault.localhost:8443");
  EXPECT_EQ(v->name, "kv1");
  EXPECT_TRUE(v->builtin);

  v = hosts.Check("https://contoso-kv.vault.azure.net");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->uri, "https://contoso-kv.vault.azure.net");
  EXPECT_FALSE(v->builtin);
  EXPECT_EQ(v->suffix.host, "vault.azure.net");

  v = hosts.Check("https://kv.vault.azure.net:443/");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->uri, "https://kv.vault.azure.net");

  v = hosts.Check("https://fake.vault.test.localhost:4443");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->uri, "https://fake.vault.test.localhost:4443");
  EXPECT_EQ(v->port, 4443);
}

TEST(VaultHostsTest, RefusesEveryOtherHostPortAndShape) {
  const VaultHosts hosts = Hosts();
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"https://evil.example/", "not under an allowed key vault suffix"},
      {"https://evil.example:8443/", "not under an allowed key vault suffix"},
      {"https://kv.vault.azure.net.evil.example/", "not under an allowed"},
      {"https://vault.azure.net/", "not under an allowed"},
      {"https://management.localhost:8443/", "not under an allowed"},
      {"https://login.localhost:8443/", "not under an allowed"},
      {"https://a@b.vault.azure.net", "user info"},
      {"https://a:b@kv.vault.azure.net/", "user info"},
      {"https://127.0.0.1", "IP address"},
      {"https://127.0.0.1:8443/", "IP address"},
      {"https://2130706433/", "IP address"},
      {"https://[::1]", "IP address"},
      {"https://[::1]:8443/", "IP address"},
      {"https://kv.vault.azure.net:8443/", "served at port 443"},
      {"https://kv.vault.azure.net:22/", "served at port 443"},
      {"https://kv.vault.localhost/", "served at port 8443"},
      {"https://kv.vault.localhost:22/", "served at port 8443"},
      {"https://kv.vault.test.localhost/", "served at port 4443"},
      {"https://a.b.vault.azure.net/", "one DNS label"},
      {"https://kv-.vault.azure.net/", "one DNS label"},
      {"https://-kv.vault.azure.net/", "not a DNS name"},
      {"https://kv.vault.azure.net/keys", "no path or query"},
      {"https://kv.vault.azure.net/?x=1", "no path or query"},
      {"https://kv.vault.azure.net/#f", "fragment"},
      {"https://kv.vault.azure.net:99999/", "port"},
      {"https://kv.vault.azure.net:/", "port"},
      {"https://kv_1.vault.azure.net/", "not a DNS name"},
      {"http://kv.vault.azure.net/", "https://"},
      {"kv.vault.azure.net", "https://"},
      {"", "https://"},
  };
  for (const auto& [uri, why] : cases) {
    Result<VaultEndpoint> v = hosts.Check(uri);
    ASSERT_FALSE(v.ok()) << uri;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << uri;
    EXPECT_EQ(v.status().reason(), "KeyVaultUriInvalid") << uri;
    EXPECT_NE(v.status().message().find(why), std::string::npos)
        << uri << ": " << v.status().message();
  }
}

TEST(VaultHostsTest, AllowsNothingByDefaultOrWithAnEmptyList) {
  EXPECT_FALSE(VaultHosts().Check("https://kv.vault.azure.net").ok());
  Result<VaultHosts> none = VaultHosts::Create({}, {});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->Check("https://kv.vault.azure.net").ok());
  EXPECT_TRUE(none->Audiences().empty());
  EXPECT_FALSE(
      VaultHosts::Create({.host = "localhost", .port = 8443}, {}).ok());
  EXPECT_FALSE(VaultHosts::Create({}, {{.host = "1.2.3.4"}}).ok());
}

TEST(VaultHostsTest, ChallengesMustNameTheSuffixAudience) {
  const VaultHosts hosts = Hosts();
  const VaultEndpoint azure = *hosts.Check("https://kv.vault.azure.net");
  const VaultEndpoint builtin = *hosts.Check("https://kv.vault.localhost:8443");
  const VaultEndpoint test =
      *hosts.Check("https://kv.vault.test.localhost:4443");

  EXPECT_EQ(*hosts.ChallengeAudience(azure, "https://vault.azure.net"),
            "https://vault.azure.net");
  EXPECT_EQ(*hosts.ChallengeAudience(azure, "https://Vault.Azure.net/"),
            "https://vault.azure.net");
  EXPECT_EQ(*hosts.ChallengeAudience(builtin, "https://vault.localhost:8443"),
            "https://vault.localhost:8443");
  EXPECT_EQ(*hosts.ChallengeAudience(builtin, "https://vault.localhost"),
            "https://vault.localhost");
  EXPECT_EQ(
      *hosts.ChallengeAudience(test, "https://vault.test.localhost:4443/"),
      "https://vault.test.localhost:4443");

  const std::vector<std::pair<const VaultEndpoint*, const char*>> bad = {
      {&azure, "https://management.azure.com"},
      {&azure, "https://management.core.windows.net/"},
      {&azure, "https://graph.microsoft.com"},
      {&azure, "https://azure.net"},  // A parent domain: the SDK allows it.
      {&azure, "https://kv.vault.azure.net"},
      {&azure, "https://vault.azure.cn"},  // Another suffix's audience.
      {&azure, "https://vault.azure.net:8443"},
      {&azure, "https://vault.azure.net/keys"},
      {&azure, "http://vault.azure.net"},
      {&azure, ""},
      {&builtin, "https://management.localhost:8443"},
      {&builtin, "https://login.localhost:8443"},
      {&builtin, "https://localhost:8443"},
      {&builtin, "https://vault.azure.net"},
      {&builtin, "https://vault.localhost:9999"},
      {&test, "https://vault.localhost:8443"},
      {&test, "https://test.localhost"},
      {&test, "https://management.localhost:8443"},
  };
  for (const auto& [vault, resource] : bad) {
    Result<std::string> a = hosts.ChallengeAudience(*vault, resource);
    ASSERT_FALSE(a.ok()) << vault->uri << " " << resource;
    EXPECT_EQ(a.status().reason(), "KeyVaultChallengeResourceMismatch");
    EXPECT_EQ(a.status().code(), StatusCode::kPermissionDenied);
  }
}

TEST(VaultHostsTest, AudiencesAreTheOnlyOnesAManagedIdentityMayGet) {
  EXPECT_EQ(
      Hosts().Audiences(),
      (std::vector<std::string>{
          "https://vault.localhost", "https://vault.localhost:8443",
          "https://vault.azure.net", "https://vault.azure.cn",
          "https://vault.usgovcloudapi.net", "https://vault.microsoftazure.de",
          "https://vault.test.localhost",
          "https://vault.test.localhost:4443"}));
}

// The client applies the rules before it sends anything, and says the
// same of every transport failure.
TEST(KeyVaultClientHostsTest, RefusesDisallowedVaultsWithoutSending) {
  int asked = 0;
  const KeyVaultClient::TokenSource tokens =
      [&](const std::string&, const std::string&) -> Result<std::string> {
    ++asked;
    return std::string("token");
  };
  KeyVaultClient client(net::HttpsOptions{.timeout = std::chrono::seconds(5)},
                        Hosts());
  for (const char* uri :
       {"https://evil.localhost:8443", "https://127.0.0.1:8443",
        "https://kv.vault.localhost:1"}) {
    Result<VaultChallenge> c = client.Challenge(uri);
    ASSERT_FALSE(c.ok()) << uri;
    EXPECT_EQ(c.status().reason(), "KeyVaultUriInvalid") << uri;
    VaultKeyId id{.vault_uri = uri, .name = "k"};
    EXPECT_EQ(client.GetKey(id, tokens).status().reason(),
              "KeyVaultUriInvalid");
  }
  EXPECT_EQ(asked, 0);
}

TEST(KeyVaultClientHostsTest, TransportFailuresLookAlike) {
  Result<VaultHosts> hosts = VaultHosts::Create(
      {}, *ParseVaultSuffixes("vault.test.localhost:1 vault.invalid"));
  ASSERT_TRUE(hosts.ok());
  KeyVaultClient client(net::HttpsOptions{.timeout = std::chrono::seconds(5)},
                        *hosts);
  // Nothing listens on port 1 of 127.0.0.1; no name under .invalid resolves.
  Result<VaultChallenge> refused =
      client.Challenge("https://kv.vault.test.localhost:1");
  Result<VaultChallenge> unresolved =
      client.Challenge("https://kv.vault.invalid");
  ASSERT_FALSE(refused.ok());
  ASSERT_FALSE(unresolved.ok());
  EXPECT_EQ(refused.status(), unresolved.status());
  EXPECT_EQ(refused.status().reason(), "KeyVaultUnreachable");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message().find(":1"), std::string::npos);
}

}  // namespace
}  // namespace atrest::keys
