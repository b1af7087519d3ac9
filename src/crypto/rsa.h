// RSA keys and RSA encryption (key wrapping) over OpenSSL 3's EVP_PKEY.
//
// Paddings are named as the Key Vault API names them:
//   RSA-OAEP      OAEP with SHA-1 and MGF1-SHA-1
//   RSA-OAEP-256  OAEP with SHA-256 and MGF1-SHA-256 (what atrest uses)
//   RSA1_5        PKCS#1 v1.5; offered only because the Key Vault API does,
//                 never used for atrest's own keys.
// Decrypt() reports every failure as DecryptionFailed(), whatever the cause,
// so that padding errors cannot be told apart (no Bleichenbacher oracle).
//
// Thread safety: keys are immutable; concurrent use of one key is safe.
#ifndef ATREST_CRYPTO_RSA_H_
#define ATREST_CRYPTO_RSA_H_

#include <memory>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/openssl_util.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {

enum class RsaPadding { kOaepSha1, kOaepSha256, kPkcs1v15 };

// "RSA-OAEP", "RSA-OAEP-256" or "RSA1_5".
std::string_view RsaPaddingName(RsaPadding padding);
// The inverse; InvalidArgument naming the accepted values otherwise.
Result<RsaPadding> ParseRsaPadding(std::string_view name);

// Signature algorithms as JOSE and Key Vault name them: RSASSA-PKCS1-v1_5
// (RS*) and RSASSA-PSS with salt length = digest length (PS*), over a
// digest the caller computed with the matching hash.
enum class RsaSignatureAlgorithm {
  kRs256,
  kRs384,
  kRs512,
  kPs256,
  kPs384,
  kPs512
};

// "RS256" ... "PS512".
std::string_view RsaSignatureAlgorithmName(RsaSignatureAlgorithm alg);
Result<RsaSignatureAlgorithm> ParseRsaSignatureAlgorithm(std::string_view name);
// 32, 48 or 64: the digest size the algorithm signs.
size_t DigestSize(RsaSignatureAlgorithm alg);

// RSA key sizes atrest creates and accepts.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 4096;

class RsaPublicKey {
 public:
  // From the big-endian modulus and public exponent (as in a JWK).
  static Result<RsaPublicKey> FromComponents(ByteView n, ByteView e);
  // From a DER SubjectPublicKeyInfo.
  static Result<RsaPublicKey> FromSpkiDer(ByteView der);

  RsaPublicKey(const RsaPublicKey& other);
  RsaPublicKey& operator=(const RsaPublicKey& other);
  RsaPublicKey(RsaPublicKey&&) noexcept = default;
  RsaPublicKey& operator=(RsaPublicKey&&) noexcept = default;

  int bits() const;
  // Big-endian, without leading zero bytes.
  Bytes modulus() const;
  Bytes public_exponent() const;
  Result<Bytes> ToSpkiDer() const;

  Result<Bytes> Encrypt(RsaPadding padding, ByteView plaintext) const;

  // OK when `signature` is valid for `digest`; InvalidArgument for a digest
  // of the wrong size; PermissionDenied("signature is not valid") otherwise.
  Status Verify(RsaSignatureAlgorithm alg, ByteView digest,
                ByteView signature) const;

 private:
  friend class RsaPrivateKey;
  explicit RsaPublicKey(internal::PkeyPtr pkey) : pkey_(std::move(pkey)) {}
  internal::PkeyPtr pkey_;
};

// The private parts of an RSA key, big-endian, as in a JWK (RFC 7518 §6.3.2).
struct RsaPrivateComponents {
  Bytes n, e;
  SecretBytes d, p, q, dp, dq, qi;
};

class RsaPrivateKey {
 public:
  // A new key of `bits` (2048, 3072 or 4096) with exponent 65537.
  static Result<RsaPrivateKey> Generate(int bits);
  // From an unencrypted PKCS#8 PrivateKeyInfo in DER.
  static Result<RsaPrivateKey> FromPkcs8Der(ByteView der);
  static Result<RsaPrivateKey> FromComponents(
      const RsaPrivateComponents& parts);

  RsaPrivateKey(RsaPrivateKey&&) noexcept = default;
  RsaPrivateKey& operator=(RsaPrivateKey&&) noexcept = default;

  int bits() const;
  RsaPublicKey PublicKey() const;
  // The key as PKCS#8 DER, for sealing at rest. Never write it out unsealed.
  Result<SecretBytes> ToPkcs8Der() const;

  // `oaep_label` is empty for every Key Vault algorithm.
  Result<SecretBytes> Decrypt(RsaPadding padding, ByteView ciphertext,
                              ByteView oaep_label = {}) const;

  // Signs a digest; InvalidArgument when its size does not match `alg`.
  Result<Bytes> Sign(RsaSignatureAlgorithm alg, ByteView digest) const;

 private:
  explicit RsaPrivateKey(internal::PkeyPtr pkey) : pkey_(std::move(pkey)) {}
  internal::PkeyPtr pkey_;
};

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_RSA_H_
