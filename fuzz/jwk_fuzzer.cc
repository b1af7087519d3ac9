// Fuzzes the JWK parser of crypto/jwk.h, which reads untrusted key-import
// requests, and the RSA key construction behind it.
//
// Invariants, each checked with abort():
//  - ParseRsaJwkText returns a JWK or InvalidArgument, never crashes;
//  - on success ToPublicKey() and ToPrivateKey() return a key or
//    InvalidArgument (FailedPrecondition for a public-only JWK);
//  - an accepted key has 2048 to 4096 bits and works: a 32-byte key wrapped
//    with the public key unwraps to the same bytes with the private key, and
//    the private key's public half is the JWK's n and e.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/jwk.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"
#include "fuzz_check.h"

namespace atrest::crypto {
namespace {

// Leading zero bytes do not change a big-endian integer.
ByteView StripZeros(ByteView b) {
  while (!b.empty() && b.front() == 0) b = b.subspan(1);
  return b;
}

bool SameInteger(ByteView a, ByteView b) {
  a = StripZeros(a);
  b = StripZeros(b);
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

int Run(const uint8_t* data, size_t size) {
  Result<RsaJwk> jwk = ParseRsaJwkText(AsString(ByteView(data, size)));
  if (!jwk.ok()) {
    FUZZ_CHECK(jwk.status().code() == StatusCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(jwk->kty == "RSA" || jwk->kty == "RSA-HSM");
  FUZZ_CHECK(!jwk->n.empty() && !jwk->e.empty());

  static const uint8_t kDek[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                   23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

  Result<RsaPublicKey> pub = jwk->ToPublicKey();
  if (pub.ok()) {
    FUZZ_CHECK(pub->bits() >= kMinRsaBits && pub->bits() <= kMaxRsaBits);
    FUZZ_CHECK(SameInteger(pub->modulus(), jwk->n));
    FUZZ_CHECK(SameInteger(pub->public_exponent(), jwk->e));
    // Must not crash, whatever the exponent; may fail for a bad one.
    Result<Bytes> wrapped = pub->Encrypt(RsaPadding::kOaepSha256, kDek);
    (void)wrapped;
  } else {
    FUZZ_CHECK(pub.status().code() == StatusCode::kInvalidArgument);
  }

  Result<RsaPrivateKey> priv = jwk->ToPrivateKey();
  if (!priv.ok()) {
    FUZZ_CHECK(priv.status().code() == (jwk->private_parts
                                            ? StatusCode::kInvalidArgument
                                            : StatusCode::kFailedPrecondition));
    return 0;
  }
  FUZZ_CHECK(jwk->private_parts.has_value());
  FUZZ_CHECK(pub.ok());  // A valid private key has a valid public half.
  const RsaPublicKey half = priv->PublicKey();
  FUZZ_CHECK(SameInteger(half.modulus(), jwk->n));
  FUZZ_CHECK(SameInteger(half.public_exponent(), jwk->e));
  Result<Bytes> wrapped = pub->Encrypt(RsaPadding::kOaepSha256, kDek);
  FUZZ_CHECK(wrapped.ok());
  Result<SecretBytes> unwrapped =
      priv->Decrypt(RsaPadding::kOaepSha256, *wrapped);
  FUZZ_CHECK(unwrapped.ok());
  const ByteView got = unwrapped->RevealSecret();
  FUZZ_CHECK(got.size() == sizeof(kDek) &&
             std::equal(got.begin(), got.end(), kDek));
  return 0;
}

}  // namespace
}  // namespace atrest::crypto

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atrest::crypto::Run(data, size);
}
