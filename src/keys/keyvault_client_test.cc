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
