#include "crypto/rsa.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/openssl_util.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {
namespace {

constexpr RsaPadding kAllPaddings[] = {
    RsaPadding::kOaepSha1, RsaPadding::kOaepSha256, RsaPadding::kPkcs1v15};

// The longest plaintext for a 2048-bit key: k - 2*hLen - 2 for OAEP,
// k - 11 for PKCS#1 v1.5.
size_t MaxPlaintext2048(RsaPadding padding) {
  switch (padding) {
    case RsaPadding::kOaepSha1:
      return 256 - 2 * 20 - 2;
    case RsaPadding::kOaepSha256:
      return 256 - 2 * 32 - 2;
    case RsaPadding::kPkcs1v15:
      return 256 - 11;
  }
  return 0;
}

std::string Name(RsaPadding padding) {
  return std::string(RsaPaddingName(padding));
}

// A key that crypto/ must refuse, built directly with EVP: `bits` RSA as an
// unencrypted PKCS#8 PrivateKeyInfo and as a SubjectPublicKeyInfo.
struct ForeignKeyDer {
  Bytes pkcs8;
  Bytes spki;
};

std::optional<ForeignKeyDer> MakeForeignRsaKey(size_t bits) {
  internal::PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits));
  if (!pkey) return std::nullopt;
  ForeignKeyDer out;
  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(pkey.get());
  if (info == nullptr) return std::nullopt;
  int len = i2d_PKCS8_PRIV_KEY_INFO(info, nullptr);
  out.pkcs8.resize(len > 0 ? len : 0);
  unsigned char* p = out.pkcs8.data();
  const bool ok = len > 0 && i2d_PKCS8_PRIV_KEY_INFO(info, &p) == len;
  PKCS8_PRIV_KEY_INFO_free(info);
  if (!ok) return std::nullopt;
  len = i2d_PUBKEY(pkey.get(), nullptr);
  if (len <= 0) return std::nullopt;
  out.spki.resize(len);
  p = out.spki.data();
  if (i2d_PUBKEY(pkey.get(), &p) != len) return std::nullopt;
  return out;
}

class RsaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (auto* slot : {&key_, &other_key_}) {
      Result<RsaPrivateKey> key = RsaPrivateKey::Generate(2048);
      ASSERT_TRUE(key.ok()) << key.status();
      *slot = new RsaPrivateKey(std::move(key).value());
    }
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_key_;
    key_ = other_key_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(key_, nullptr);
    ASSERT_NE(other_key_, nullptr);
  }

  static const RsaPrivateKey& key() { return *key_; }
  static const RsaPrivateKey& other_key() { return *other_key_; }

 private:
  static RsaPrivateKey* key_;
  static RsaPrivateKey* other_key_;
};

RsaPrivateKey* RsaTest::key_ = nullptr;
RsaPrivateKey* RsaTest::other_key_ = nullptr;

// Encrypts a fresh 32-byte key under `pub` and decrypts it with `priv`.
void ExpectRoundTrip(const RsaPublicKey& pub, const RsaPrivateKey& priv,
                     RsaPadding padding) {
  SCOPED_TRACE(Name(padding));
  const SecretBytes dek = NewAes256Key();
  Result<Bytes> ct = pub.Encrypt(padding, dek.RevealSecret());
  ASSERT_TRUE(ct.ok()) << ct.status();
  EXPECT_EQ(ct->size(), static_cast<size_t>(pub.bits() / 8));
  Result<SecretBytes> pt = priv.Decrypt(padding, *ct);
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_TRUE(pt->Equals(dek));
}

TEST_F(RsaTest, Generate2048RoundTripsAllPaddings) {
  EXPECT_EQ(key().bits(), 2048);
  EXPECT_EQ(key().PublicKey().bits(), 2048);
  for (RsaPadding padding : kAllPaddings) {
    ExpectRoundTrip(key().PublicKey(), key(), padding);
  }
}

TEST(RsaGenerateTest, Generate3072RoundTripsAllPaddings) {
  Result<RsaPrivateKey> key = RsaPrivateKey::Generate(3072);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->bits(), 3072);
  for (RsaPadding padding : kAllPaddings) {
    ExpectRoundTrip(key->PublicKey(), *key, padding);
  }
}

TEST(RsaGenerateTest, RejectsUnsupportedSizes) {
  for (int bits : {0, 512, 1024, 2047, 2049, 8192}) {
    Result<RsaPrivateKey> key = RsaPrivateKey::Generate(bits);
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument)
        << bits << " bits: " << key.status();
  }
}

TEST(RsaPaddingTest, NamesRoundTrip) {
  EXPECT_EQ(RsaPaddingName(RsaPadding::kOaepSha1), "RSA-OAEP");
  EXPECT_EQ(RsaPaddingName(RsaPadding::kOaepSha256), "RSA-OAEP-256");
  EXPECT_EQ(RsaPaddingName(RsaPadding::kPkcs1v15), "RSA1_5");
  for (RsaPadding padding : kAllPaddings) {
    Result<RsaPadding> parsed = ParseRsaPadding(RsaPaddingName(padding));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, padding);
  }
}

TEST(RsaPaddingTest, ParseRejectsUnknownNames) {
  for (std::string_view name : {"RSA-OAEP-512", "", "RSA-OAEP-384", "RSA"}) {
    Result<RsaPadding> parsed = ParseRsaPadding(name);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument)
        << "'" << name << "'";
  }
  // The error names the accepted values.
  const std::string message =
      ParseRsaPadding("RSA-OAEP-512").status().message();
  EXPECT_NE(message.find("RSA-OAEP-256"), std::string::npos) << message;
}

TEST_F(RsaTest, PublicKeyFromComponents) {
  const RsaPublicKey pub = key().PublicKey();
  const Bytes n = pub.modulus();
  const Bytes e = pub.public_exponent();
  ASSERT_EQ(n.size(), 256u);
  EXPECT_NE(n[0], 0) << "modulus has a leading zero byte";
  EXPECT_EQ(e, (Bytes{0x01, 0x00, 0x01}));

  Result<RsaPublicKey> rebuilt = RsaPublicKey::FromComponents(n, e);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_EQ(rebuilt->bits(), 2048);
  EXPECT_EQ(rebuilt->modulus(), n);
  for (RsaPadding padding : kAllPaddings) {
    ExpectRoundTrip(*rebuilt, key(), padding);
  }
  // A leading zero byte does not change the integer.
  Bytes padded_n = n;
  padded_n.insert(padded_n.begin(), 0);
  Result<RsaPublicKey> padded = RsaPublicKey::FromComponents(padded_n, e);
  ASSERT_TRUE(padded.ok()) << padded.status();
  EXPECT_EQ(padded->modulus(), n);
}

TEST_F(RsaTest, PublicKeyFromComponentsRejectsBadInput) {
  const Bytes n = key().PublicKey().modulus();
  const Bytes e = key().PublicKey().public_exponent();
  EXPECT_EQ(RsaPublicKey::FromComponents({}, e).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPublicKey::FromComponents(n, {}).status().code(),
            StatusCode::kInvalidArgument);
  // 1024-bit modulus.
  EXPECT_EQ(
      RsaPublicKey::FromComponents(ByteView(n).first(128), e).status().code(),
      StatusCode::kInvalidArgument);
}

TEST_F(RsaTest, PublicKeyCopiesShareTheKey) {
  const RsaPublicKey pub = key().PublicKey();
  RsaPublicKey copy = pub;
  EXPECT_EQ(copy.modulus(), pub.modulus());
  RsaPublicKey assigned = other_key().PublicKey();
  assigned = pub;
  EXPECT_EQ(assigned.modulus(), pub.modulus());
  ExpectRoundTrip(assigned, key(), RsaPadding::kOaepSha256);
}

TEST_F(RsaTest, SpkiDerRoundTrip) {
  const RsaPublicKey pub = key().PublicKey();
  Result<Bytes> der = pub.ToSpkiDer();
  ASSERT_TRUE(der.ok()) << der.status();
  Result<RsaPublicKey> parsed = RsaPublicKey::FromSpkiDer(*der);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->modulus(), pub.modulus());
  EXPECT_EQ(parsed->public_exponent(), pub.public_exponent());
  Result<Bytes> again = parsed->ToSpkiDer();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *der);
  ExpectRoundTrip(*parsed, key(), RsaPadding::kOaepSha256);
}

TEST_F(RsaTest, SpkiDerRejectsMalformedInput) {
  Result<Bytes> der = key().PublicKey().ToSpkiDer();
  ASSERT_TRUE(der.ok());
  Bytes trailing = *der;
  trailing.push_back(0);
  EXPECT_EQ(RsaPublicKey::FromSpkiDer(trailing).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPublicKey::FromSpkiDer(ByteView(*der).first(der->size() - 1))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPublicKey::FromSpkiDer({}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPublicKey::FromSpkiDer(AsBytes("not DER")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RsaTest, Pkcs8DerRoundTripDecryptsOldCiphertexts) {
  const SecretBytes dek = NewAes256Key();
  Bytes cts[3];
  for (int i = 0; i < 3; ++i) {
    Result<Bytes> ct =
        key().PublicKey().Encrypt(kAllPaddings[i], dek.RevealSecret());
    ASSERT_TRUE(ct.ok()) << ct.status();
    cts[i] = std::move(ct).value();
  }
  Result<SecretBytes> der = key().ToPkcs8Der();
  ASSERT_TRUE(der.ok()) << der.status();
  Result<RsaPrivateKey> restored =
      RsaPrivateKey::FromPkcs8Der(der->RevealSecret());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->bits(), 2048);
  EXPECT_EQ(restored->PublicKey().modulus(), key().PublicKey().modulus());
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(Name(kAllPaddings[i]));
    Result<SecretBytes> pt = restored->Decrypt(kAllPaddings[i], cts[i]);
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_TRUE(pt->Equals(dek));
  }
  Result<SecretBytes> again = restored->ToPkcs8Der();
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->Equals(*der));
}

TEST_F(RsaTest, Pkcs8DerRejectsMalformedInput) {
  Result<SecretBytes> der = key().ToPkcs8Der();
  ASSERT_TRUE(der.ok());
  const ByteView bytes = der->RevealSecret();
  Bytes trailing(bytes.begin(), bytes.end());
  trailing.push_back(0);
  EXPECT_EQ(RsaPrivateKey::FromPkcs8Der(trailing).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPrivateKey::FromPkcs8Der(bytes.first(bytes.size() - 1))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RsaPrivateKey::FromPkcs8Der({}).status().code(),
            StatusCode::kInvalidArgument);
  // An SPKI is not a private key.
  Result<Bytes> spki = key().PublicKey().ToSpkiDer();
  ASSERT_TRUE(spki.ok());
  EXPECT_EQ(RsaPrivateKey::FromPkcs8Der(*spki).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RsaForeignKeyTest, Rejects1024BitKeys) {
  std::optional<ForeignKeyDer> der = MakeForeignRsaKey(1024);
  ASSERT_TRUE(der.has_value()) << "EVP could not make a 1024-bit key";
  Result<RsaPrivateKey> priv = RsaPrivateKey::FromPkcs8Der(der->pkcs8);
  EXPECT_EQ(priv.status().code(), StatusCode::kInvalidArgument)
      << priv.status();
  EXPECT_NE(priv.status().message().find("1024"), std::string::npos)
      << priv.status();
  Result<RsaPublicKey> pub = RsaPublicKey::FromSpkiDer(der->spki);
  EXPECT_EQ(pub.status().code(), StatusCode::kInvalidArgument) << pub.status();
}

TEST_F(RsaTest, WrongKeyDecryptFails) {
  const SecretBytes dek = NewAes256Key();
  for (RsaPadding padding : kAllPaddings) {
    Result<Bytes> ct = key().PublicKey().Encrypt(padding, dek.RevealSecret());
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(other_key().Decrypt(padding, *ct).status(), DecryptionFailed())
        << Name(padding);
  }
}

TEST_F(RsaTest, WrongPaddingOrLabelFails) {
  const SecretBytes dek = NewAes256Key();
  Result<Bytes> ct =
      key().PublicKey().Encrypt(RsaPadding::kOaepSha256, dek.RevealSecret());
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(key().Decrypt(RsaPadding::kOaepSha1, *ct).status(),
            DecryptionFailed());
  EXPECT_EQ(key().Decrypt(RsaPadding::kPkcs1v15, *ct).status(),
            DecryptionFailed());
  EXPECT_EQ(
      key().Decrypt(RsaPadding::kOaepSha256, *ct, AsBytes("label")).status(),
      DecryptionFailed());
  // A label makes no sense without OAEP.
  EXPECT_EQ(key()
                .Decrypt(RsaPadding::kPkcs1v15, *ct, AsBytes("label"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RsaTest, TamperedOrMisSizedCiphertextFails) {
  const SecretBytes dek = NewAes256Key();
  for (RsaPadding padding : kAllPaddings) {
    SCOPED_TRACE(Name(padding));
    Result<Bytes> ct = key().PublicKey().Encrypt(padding, dek.RevealSecret());
    ASSERT_TRUE(ct.ok());
    Bytes tampered = *ct;
    tampered[128] ^= 0x01;
    EXPECT_EQ(key().Decrypt(padding, tampered).status(), DecryptionFailed());
    EXPECT_EQ(key().Decrypt(padding, ByteView(*ct).first(255)).status(),
              DecryptionFailed());
    Bytes longer = *ct;
    longer.push_back(0);
    EXPECT_EQ(key().Decrypt(padding, longer).status(), DecryptionFailed());
    EXPECT_EQ(key().Decrypt(padding, {}).status(), DecryptionFailed());
  }
}

TEST_F(RsaTest, PlaintextTooLongIsInvalidArgument) {
  for (RsaPadding padding : kAllPaddings) {
    SCOPED_TRACE(Name(padding));
    const size_t max = MaxPlaintext2048(padding);
    Bytes longest(max, 0x5a);
    Result<Bytes> ok = key().PublicKey().Encrypt(padding, longest);
    ASSERT_TRUE(ok.ok()) << ok.status();
    Result<SecretBytes> pt = key().Decrypt(padding, *ok);
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_TRUE(pt->Equals(SecretBytes::CopyFrom(longest)));

    Bytes too_long(max + 1, 0x5a);
    EXPECT_EQ(key().PublicKey().Encrypt(padding, too_long).status().code(),
              StatusCode::kInvalidArgument);
    Bytes way_too_long(1000, 0x5a);
    EXPECT_EQ(key().PublicKey().Encrypt(padding, way_too_long).status().code(),
              StatusCode::kInvalidArgument);
  }
}

TEST_F(RsaTest, EmptyPlaintextRoundTrips) {
  for (RsaPadding padding : kAllPaddings) {
    SCOPED_TRACE(Name(padding));
    Result<Bytes> ct = key().PublicKey().Encrypt(padding, {});
    ASSERT_TRUE(ct.ok()) << ct.status();
    Result<SecretBytes> pt = key().Decrypt(padding, *ct);
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_TRUE(pt->empty());
  }
}

}  // namespace
}  // namespace atrest::crypto
