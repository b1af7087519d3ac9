// Unit tests of what KeyVaultClient decides without a vault: key
// identifiers. Calls to a vault are tested end to end in the accounts tests
// against the built-in vault served over HTTPS.
#include "keys/keyvault_client.h"

#include <gtest/gtest.h>

namespace atrest::keys {
namespace {

TEST(VaultKeyIdTest, ParsesVersionedAndVersionlessIdentifiers) {
  Result<VaultKeyId> id = VaultKeyId::Parse(
      "https://MyVault.vault.localhost:8443/keys/cmk/"
      "0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->vault_uri, "https://myvault.vault.localhost:8443");
  EXPECT_EQ(id->name, "cmk");
  EXPECT_EQ(id->version, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(id->ToString(),
            "https://myvault.vault.localhost:8443/keys/cmk/"
            "0123456789abcdef0123456789abcdef");

  id = VaultKeyId::Parse("https://kv.vault.azure.net/keys/my-key/");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->vault_uri, "https://kv.vault.azure.net");
  EXPECT_EQ(id->version, "");
}

TEST(VaultKeyIdTest, RefusesWhatIsNotAKeyIdentifier) {
  for (const char* bad :
       {"http://kv.vault.azure.net/keys/k",
        "https://kv.vault.azure.net/secrets/k",
        "https://kv.vault.azure.net/keys/",
        "https://kv.vault.azure.net/keys/k/v1",
        "https://kv.vault.azure.net/keys/k_1",
        "https://kv.vault.azure.net/keys/k?x=1", "not a uri", ""}) {
    Result<VaultKeyId> id = VaultKeyId::Parse(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().reason(), "KeyVaultUriInvalid") << bad;
  }
}

TEST(VaultKeyIdTest, NormalizesVaultUris) {
  Result<std::string> uri =
      VaultKeyId::NormalizeVaultUri("https://KV.vault.localhost:8443/");
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(*uri, "https://kv.vault.localhost:8443");
  EXPECT_FALSE(VaultKeyId::NormalizeVaultUri("https://kv/keys/x").ok());
}

}  // namespace
}  // namespace atrest::keys

namespace atrest::keys {
namespace {

// reference/keyvault-api.md §2.1: what a vault's challenge looks like.
TEST(ParseChallengeTest, ReadsTenantAndResource) {
  Result<VaultChallenge> c = ParseChallenge(
      "Bearer authorization=\"https://login.microsoftonline.com/"
      "72f988bf-86f1-41af-91ab-2d7cd011db47\", "
      "resource=\"https://vault.azure.net\"");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenant_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
  EXPECT_EQ(c->resource, "https://vault.azure.net");

  c = ParseChallenge(
      "Bearer authorization_uri=\"https://login.localhost:8443/t1/\", "
      "scope=\"https://vault.localhost:8443/.default\"");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tenant_id, "t1");
  EXPECT_EQ(c->resource, "https://vault.localhost:8443");

  for (const char* bad : {"", "Bearer", "Bearer resource=\"r\"",
                          "Bearer authorization=\"https://x/t\""}) {
    EXPECT_EQ(ParseChallenge(bad).status().reason(), "KeyVaultUnreachable")
        << bad;
  }
}

TEST(ParseKeyBundleTest, ReadsWhatTheRulesNeed) {
  // A 2048-bit modulus: 256 bytes, leading byte non-zero; base64url of
  // 0x80 followed by 255 zero bytes.
  const std::string n = "gA" + std::string(340, 'A');
  Result<VaultKeyInfo> k = ParseKeyBundle(
      R"({"key": {"kid": "https://kv.vault.azure.net/keys/cmk/)"
      R"(0123456789abcdef0123456789abcdef", "kty": "RSA-HSM", "n": ")" +
      n +
      R"(", "e": "AQAB", "key_ops": ["wrapKey", "unwrapKey"]},
          "attributes": {"enabled": false, "nbf": 10, "exp": 1e300,
                         "recoveryLevel": "Recoverable"}})");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->kty, "RSA-HSM");
  EXPECT_EQ(k->id.version, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(k->key_bits, 2048);
  EXPECT_EQ(k->key_ops, (std::vector<std::string>{"wrapKey", "unwrapKey"}));
  EXPECT_FALSE(k->enabled);
  EXPECT_EQ(k->not_before, 10);
  EXPECT_FALSE(k->expires.has_value());  // Not an integer: ignored.
  EXPECT_EQ(k->recovery_level, "Recoverable");

  for (const char* bad : {"", "[]", R"({"key": 1})",
                          R"({"key": {"kid": "https://x/secrets/s"}})"}) {
    EXPECT_EQ(ParseKeyBundle(bad).status().reason(), "KeyVaultUnreachable")
        << bad;
  }
}

}  // namespace
}  // namespace atrest::keys
