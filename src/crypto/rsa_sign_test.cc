#include <gtest/gtest.h>

#include "crypto/digest.h"
#include "crypto/rsa.h"

namespace atrest::crypto {
namespace {

Bytes DigestFor(RsaSignatureAlgorithm alg, ByteView msg) {
  switch (DigestSize(alg)) {
    case 32:
      return Sha256(msg);
    case 48:
      return Sha384(msg);
    default:
      return Sha512(msg);
  }
}

TEST(RsaSignTest, EveryAlgorithmSignsAndVerifies) {
  Result<RsaPrivateKey> key = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(key.ok());
  for (const char* name :
       {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
    SCOPED_TRACE(name);
    Result<RsaSignatureAlgorithm> alg = ParseRsaSignatureAlgorithm(name);
    ASSERT_TRUE(alg.ok());
    EXPECT_EQ(RsaSignatureAlgorithmName(*alg), name);
    Bytes digest = DigestFor(*alg, AsBytes("header.payload"));
    Result<Bytes> sig = key->Sign(*alg, digest);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(sig->size(), 256u);
    EXPECT_TRUE(key->PublicKey().Verify(*alg, digest, *sig).ok());

    Bytes other = DigestFor(*alg, AsBytes("header.payload2"));
    EXPECT_EQ(key->PublicKey().Verify(*alg, other, *sig).code(),
              StatusCode::kPermissionDenied);
    Bytes bad = *sig;
    bad[10] ^= 1;
    EXPECT_EQ(key->PublicKey().Verify(*alg, digest, bad).code(),
              StatusCode::kPermissionDenied);
  }
}

TEST(RsaSignTest, PkcsSignaturesAreDeterministicAndPssAreNot) {
  Result<RsaPrivateKey> key = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(key.ok());
  Bytes digest = Sha256(AsBytes("m"));
  EXPECT_EQ(*key->Sign(RsaSignatureAlgorithm::kRs256, digest),
            *key->Sign(RsaSignatureAlgorithm::kRs256, digest));
  EXPECT_NE(*key->Sign(RsaSignatureAlgorithm::kPs256, digest),
            *key->Sign(RsaSignatureAlgorithm::kPs256, digest));
}

TEST(RsaSignTest, RejectsWrongDigestSizeAndUnknownNames) {
  Result<RsaPrivateKey> key = RsaPrivateKey::Generate(2048);
  ASSERT_TRUE(key.ok());
  Bytes digest = Sha256(AsBytes("m"));
  EXPECT_EQ(key->Sign(RsaSignatureAlgorithm::kRs512, digest).status().code(),
            StatusCode::kInvalidArgument);
  Bytes sig = *key->Sign(RsaSignatureAlgorithm::kRs256, digest);
  // An RS256 signature is not a PS256 one.
  EXPECT_FALSE(
      key->PublicKey().Verify(RsaSignatureAlgorithm::kPs256, digest, sig).ok());
  EXPECT_FALSE(ParseRsaSignatureAlgorithm("HS256").ok());
  EXPECT_FALSE(ParseRsaSignatureAlgorithm("none").ok());
}

TEST(DigestTest, KnownAnswers) {
  // FIPS 180-2 "abc".
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha384(AsBytes("abc")).size(), 48u);
  EXPECT_EQ(HexEncode(Sha512(AsBytes(""))).substr(0, 16), "cf83e1357eefb8bd");
}

}  // namespace
}  // namespace atrest::crypto
