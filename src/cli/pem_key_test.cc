#include "cli/pem_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "base/base64.h"
#include "crypto/jwk.h"
#include "crypto/rsa.h"

namespace atrest::cli {
namespace {

std::string Pem(const std::string& label, ByteView der) {
  std::string b64 = Base64Encode(der);
  std::string out = "-----BEGIN " + label + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END " + label + "-----\n";
}

// The PEM OpenSSL writes for `der` in PKCS#1 ("traditional") form.
std::string Pkcs1Pem(ByteView pkcs8_der) {
  const unsigned char* p = pkcs8_der.data();
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8_der.size())),
      EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  EXPECT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), pkey.get(), nullptr,
                                                 nullptr, 0, nullptr, nullptr),
            1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

class PemKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<crypto::RsaPrivateKey> key = crypto::RsaPrivateKey::Generate(2048);
    ASSERT_TRUE(key.ok()) << key.status();
    Result<crypto::SecretBytes> der = key->ToPkcs8Der();
    ASSERT_TRUE(der.ok()) << der.status();
    der_ = Bytes(der->RevealSecret().begin(), der->RevealSecret().end());
    modulus_ = key->PublicKey().modulus();
  }
  Bytes der_;
  Bytes modulus_;
};

TEST_F(PemKeyTest, Pkcs8AndPkcs1GiveTheSamePrivateJwk) {
  for (const std::string& pem :
       {Pem("PRIVATE KEY", der_), Pkcs1Pem(der_),
        "junk before\n" + Pem("CERTIFICATE", AsBytes("x")) +
            Pem("PRIVATE KEY", der_)}) {
    Result<nlohmann::json> jwk = RsaPrivateJwkFromPem(pem);
    ASSERT_TRUE(jwk.ok()) << jwk.status() << "\n" << pem;
    EXPECT_EQ((*jwk)["kty"], "RSA");
    EXPECT_EQ((*jwk)["e"], "AQAB");
    EXPECT_EQ((*jwk)["n"], Base64UrlEncode(modulus_));
    // The members make a consistent private key.
    Result<crypto::RsaJwk> parsed = crypto::ParseRsaJwk(*jwk);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ASSERT_TRUE(parsed->private_parts.has_value());
    EXPECT_TRUE(parsed->ToPrivateKey().ok());
  }
}

TEST_F(PemKeyTest, RefusesEncryptedMissingAndBadKeys) {
  EXPECT_NE(RsaPrivateJwkFromPem(Pem("ENCRYPTED PRIVATE KEY", der_))
                .status()
                .message()
                .find("encrypted"),
            std::string::npos);
  EXPECT_NE(RsaPrivateJwkFromPem("nothing here")
                .status()
                .message()
                .find("no private key"),
            std::string::npos);
  EXPECT_EQ(RsaPrivateJwkFromPem(Pem("PRIVATE KEY", AsBytes("not der")))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  // 1024 bits is below what the vault accepts.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> small(EVP_RSA_gen(1024),
                                                            EVP_PKEY_free);
  ASSERT_TRUE(small);
  unsigned char* der = nullptr;
  int len = i2d_PrivateKey(small.get(), &der);
  ASSERT_GT(len, 0);
  Bytes small_der(der, der + len);
  OPENSSL_free(der);
  Result<nlohmann::json> r =
      RsaPrivateJwkFromPem(Pem("PRIVATE KEY", small_der));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("2048"), std::string::npos);
}

}  // namespace
}  // namespace atrest::cli
