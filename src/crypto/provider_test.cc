#include "crypto/provider.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace atrest::crypto {
namespace {

constexpr char kNoFipsHere[] = "/nonexistent";

TEST(ProviderTest, DefaultProvider) {
  Status status = InitializeCrypto({.fips = false, .fips_module_dir = ""});
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(FipsEnabled());
  const std::string description = CryptoDescription();
  EXPECT_NE(description.find("OpenSSL"), std::string::npos) << description;
  EXPECT_NE(description.find("default provider"), std::string::npos)
      << description;
}

// Debian 12 ships no FIPS provider, and /nonexistent certainly holds none.
TEST(ProviderTest, MissingFipsModuleIsFailedPrecondition) {
  // Use the default provider first, as any process that has done crypto
  // already has; FailedFipsInitInFreshProcessLeavesCryptoUsable covers a
  // process whose first crypto call is InitializeCrypto().
  ASSERT_TRUE(Aead::Create(NewAes256Key()).ok());

  Status status =
      InitializeCrypto({.fips = true, .fips_module_dir = kNoFipsHere});
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find("fips.so"), std::string::npos) << status;
  EXPECT_NE(status.message().find("docs/fips.md"), std::string::npos) << status;
  EXPECT_FALSE(FipsEnabled());
  EXPECT_NE(CryptoDescription().find("default provider"), std::string::npos)
      << CryptoDescription();

  Result<std::unique_ptr<Aead>> aead = Aead::Create(NewAes256Key());
  ASSERT_TRUE(aead.ok()) << aead.status();
  Result<Bytes> ct = (*aead)->Encrypt(AsBytes("still works"), {});
  ASSERT_TRUE(ct.ok()) << ct.status();
  Result<SecretBytes> pt = (*aead)->Decrypt(*ct, {});
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(AsString(pt->RevealSecret()), "still works");
}

// Runs in a freshly executed child: a failed FIPS request as the very first
// crypto call, then checks with raw OpenSSL calls (crypto/random.h would
// abort) that randomness and AES-256-GCM are still available. Exits 0 when
// they are.
void FailFipsThenProbe() {
  Status status =
      InitializeCrypto({.fips = true, .fips_module_dir = kNoFipsHere});
  bool usable = status.code() == StatusCode::kFailedPrecondition;
  if (!usable) std::cerr << "unexpected status: " << status << "\n";
  uint8_t buf[16];
  if (RAND_priv_bytes(buf, sizeof(buf)) != 1) {
    std::cerr << "RAND_priv_bytes fails after the failed FIPS request\n";
    usable = false;
  }
  EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (gcm == nullptr) {
    std::cerr << "AES-256-GCM cannot be fetched after the failed FIPS "
                 "request\n";
    usable = false;
  }
  EVP_CIPHER_free(gcm);
  if (OSSL_PROVIDER_available(nullptr, "default") != 1) {
    std::cerr << "the default provider is not available\n";
    usable = false;
  }
  ERR_clear_error();
  if (usable) std::cerr << "crypto usable\n";
  std::exit(usable ? 0 : 1);
}

TEST(ProviderTest, FailedFipsInitInFreshProcessLeavesCryptoUsable) {
  // "threadsafe" re-executes this binary for the child, so the child's
  // OpenSSL starts with no provider loaded.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(FailFipsThenProbe(), ::testing::ExitedWithCode(0),
              "crypto usable");
}

}  // namespace
}  // namespace atrest::crypto
