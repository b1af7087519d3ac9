#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {
namespace {

constexpr size_t kOverhead = kGcmNonceSize + kGcmTagSize;

std::unique_ptr<Aead> NewAead() {
  Result<std::unique_ptr<Aead>> aead = Aead::Create(NewAes256Key());
  EXPECT_TRUE(aead.ok()) << aead.status();
  return aead.ok() ? std::move(aead).value() : nullptr;
}

std::string Reveal(const SecretBytes& s) {
  return std::string(AsString(s.RevealSecret()));
}

TEST(AeadTest, RoundTrip) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  Result<Bytes> ct = aead->Encrypt(AsBytes("attack at dawn"), AsBytes("ad"));
  ASSERT_TRUE(ct.ok()) << ct.status();
  EXPECT_EQ(ct->size(), kOverhead + 14);
  EXPECT_EQ(AsString(ByteView(*ct).subspan(kGcmNonceSize, 14)).find("attack"),
            std::string_view::npos)
      << "plaintext visible in the ciphertext";
  Result<SecretBytes> pt = aead->Decrypt(*ct, AsBytes("ad"));
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(Reveal(*pt), "attack at dawn");
}

TEST(AeadTest, RoundTripLargerMessageWithoutAssociatedData) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  Bytes msg(100000);
  RandomBytes(msg);
  Result<Bytes> ct = aead->Encrypt(msg, {});
  ASSERT_TRUE(ct.ok()) << ct.status();
  ASSERT_EQ(ct->size(), kOverhead + msg.size());
  Result<SecretBytes> pt = aead->Decrypt(*ct, {});
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_TRUE(pt->Equals(SecretBytes::CopyFrom(msg)));
}

TEST(AeadTest, EmptyPlaintext) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  for (std::string_view ad : {"", "object 7"}) {
    SCOPED_TRACE(std::string("ad='") + std::string(ad) + "'");
    Result<Bytes> ct = aead->Encrypt({}, AsBytes(ad));
    ASSERT_TRUE(ct.ok()) << ct.status();
    EXPECT_EQ(ct->size(), kOverhead);
    Result<SecretBytes> pt = aead->Decrypt(*ct, AsBytes(ad));
    ASSERT_TRUE(pt.ok()) << pt.status();
    EXPECT_TRUE(pt->empty());
    // The tag still authenticates the (empty) message and the AD.
    EXPECT_EQ(aead->Decrypt(*ct, AsBytes("other")).status(),
              DecryptionFailed());
  }
}

TEST(AeadTest, NonceIsFreshForEveryEncryption) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  Result<Bytes> a = aead->Encrypt(AsBytes("same"), AsBytes("ad"));
  Result<Bytes> b = aead->Encrypt(AsBytes("same"), AsBytes("ad"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(Bytes(a->begin(), a->begin() + kGcmNonceSize),
            Bytes(b->begin(), b->begin() + kGcmNonceSize));
  // Both still decrypt.
  EXPECT_TRUE(aead->Decrypt(*a, AsBytes("ad")).ok());
  EXPECT_TRUE(aead->Decrypt(*b, AsBytes("ad")).ok());
}

TEST(AeadTest, WrongKeyFails) {
  std::unique_ptr<Aead> aead = NewAead();
  std::unique_ptr<Aead> other = NewAead();
  ASSERT_NE(aead, nullptr);
  ASSERT_NE(other, nullptr);
  Result<Bytes> ct = aead->Encrypt(AsBytes("secret"), AsBytes("ad"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(other->Decrypt(*ct, AsBytes("ad")).status(), DecryptionFailed());
}

TEST(AeadTest, WrongAssociatedDataFails) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  Result<Bytes> ct = aead->Encrypt(AsBytes("secret"), AsBytes("account=1"));
  ASSERT_TRUE(ct.ok());
  for (std::string_view ad : {"account=2", "account=1 ", "", "Account=1"}) {
    EXPECT_EQ(aead->Decrypt(*ct, AsBytes(ad)).status(), DecryptionFailed())
        << "ad='" << ad << "'";
  }
  Result<Bytes> no_ad = aead->Encrypt(AsBytes("secret"), {});
  ASSERT_TRUE(no_ad.ok());
  EXPECT_EQ(aead->Decrypt(*no_ad, AsBytes("x")).status(), DecryptionFailed());
}

TEST(AeadTest, EveryFlippedBitFails) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  Result<Bytes> ct = aead->Encrypt(AsBytes("short"), AsBytes("ad"));
  ASSERT_TRUE(ct.ok());
  ASSERT_EQ(ct->size(), kOverhead + 5);
  // Nonce, ciphertext body and tag: every bit of every byte.
  for (size_t i = 0; i < ct->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = *ct;
      tampered[i] ^= static_cast<uint8_t>(1u << bit);
      EXPECT_EQ(aead->Decrypt(tampered, AsBytes("ad")).status(),
                DecryptionFailed())
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(AeadTest, TruncatedOrExtendedFails) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  Result<Bytes> ct = aead->Encrypt(AsBytes("a short message"), AsBytes("ad"));
  ASSERT_TRUE(ct.ok());
  // Every proper prefix, and every suffix that drops leading bytes.
  for (size_t len = 0; len < ct->size(); ++len) {
    EXPECT_EQ(aead->Decrypt(ByteView(*ct).first(len), AsBytes("ad")).status(),
              DecryptionFailed())
        << "prefix of " << len << " bytes";
    EXPECT_EQ(aead->Decrypt(ByteView(*ct).last(len), AsBytes("ad")).status(),
              DecryptionFailed())
        << "suffix of " << len << " bytes";
  }
  Bytes extended = *ct;
  extended.push_back(0);
  EXPECT_EQ(aead->Decrypt(extended, AsBytes("ad")).status(),
            DecryptionFailed());
}

TEST(AeadTest, TooShortFails) {
  std::unique_ptr<Aead> aead = NewAead();
  ASSERT_NE(aead, nullptr);
  for (size_t len : {size_t{0}, size_t{1}, kGcmNonceSize, kOverhead - 1}) {
    Bytes junk(len, 0xab);
    EXPECT_EQ(aead->Decrypt(junk, {}).status(), DecryptionFailed())
        << len << " bytes";
  }
  // Exactly nonce + tag is well-formed but does not authenticate.
  Bytes junk(kOverhead, 0);
  EXPECT_EQ(aead->Decrypt(junk, {}).status(), DecryptionFailed());
}

TEST(AeadTest, DecryptionFailedIsOneFixedError) {
  EXPECT_FALSE(DecryptionFailed().ok());
  EXPECT_EQ(DecryptionFailed(), DecryptionFailed());
  EXPECT_EQ(DecryptionFailed().code(), StatusCode::kDataLoss);
}

TEST(AeadTest, CreateRejectsWrongKeySizes) {
  for (size_t size : {size_t{0}, size_t{16}, size_t{24}, size_t{31}, size_t{33},
                      size_t{64}}) {
    Result<std::unique_ptr<Aead>> aead = Aead::Create(NewRandomSecret(size));
    EXPECT_EQ(aead.status().code(), StatusCode::kInvalidArgument)
        << size << "-byte key: " << aead.status();
  }
  EXPECT_TRUE(Aead::Create(NewRandomSecret(32)).ok());
}

TEST(AeadTest, WrapUnwrapRoundTrip) {
  std::unique_ptr<Aead> kek = NewAead();
  ASSERT_NE(kek, nullptr);
  const SecretBytes dek = NewAes256Key();
  Result<Bytes> wrapped = WrapKey(*kek, dek, AsBytes("file 42 v1"));
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(wrapped->size(), kOverhead + kAes256KeySize);
  Result<SecretBytes> unwrapped =
      UnwrapKey(*kek, *wrapped, AsBytes("file 42 v1"));
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status();
  EXPECT_TRUE(unwrapped->Equals(dek));
  // The unwrapped key works as a key.
  EXPECT_TRUE(Aead::Create(std::move(unwrapped).value()).ok());
}

TEST(AeadTest, UnwrapIsBoundToAssociatedDataAndKek) {
  std::unique_ptr<Aead> kek = NewAead();
  std::unique_ptr<Aead> other_kek = NewAead();
  ASSERT_NE(kek, nullptr);
  ASSERT_NE(other_kek, nullptr);
  const SecretBytes dek = NewAes256Key();
  Result<Bytes> wrapped = WrapKey(*kek, dek, AsBytes("file 42 v1"));
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(UnwrapKey(*kek, *wrapped, AsBytes("file 43 v1")).status(),
            DecryptionFailed());
  EXPECT_EQ(UnwrapKey(*kek, *wrapped, AsBytes("file 42 v2")).status(),
            DecryptionFailed());
  EXPECT_EQ(UnwrapKey(*kek, *wrapped, {}).status(), DecryptionFailed());
  EXPECT_EQ(UnwrapKey(*other_kek, *wrapped, AsBytes("file 42 v1")).status(),
            DecryptionFailed());
  Bytes tampered = *wrapped;
  tampered[kGcmNonceSize] ^= 1;
  EXPECT_EQ(UnwrapKey(*kek, tampered, AsBytes("file 42 v1")).status(),
            DecryptionFailed());
}

}  // namespace
}  // namespace atrest::crypto
