// Aead: AES-256-GCM for small messages (wrapped keys, sealed records).
//
// Encrypt() draws a fresh random 96-bit nonce for every call and returns
//   nonce (12 bytes) || ciphertext || tag (16 bytes).
// Associated data is authenticated, not encrypted: bind what the ciphertext
// belongs to (account id, object id, key id and version) so it cannot be
// moved elsewhere. Random nonces limit one key to 2^32 messages (SP 800-38D
// §8.3); atrest uses each key for far fewer (one per wrapped object key).
// Large data goes through the streaming format (crypto/streaming_aead.h).
//
// Every failure to decrypt returns DecryptionFailed(): the same code and
// message whether the tag, the length or the associated data was wrong.
//
// Thread safety: immutable after Create(); safe for concurrent use.
#ifndef ATREST_CRYPTO_AEAD_H_
#define ATREST_CRYPTO_AEAD_H_

#include <memory>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// The one error every authenticated decryption failure returns.
Status DecryptionFailed();

class Aead {
 public:
  // `key` must be 32 bytes.
  static Result<std::unique_ptr<Aead>> Create(SecretBytes key);

  Result<Bytes> Encrypt(ByteView plaintext, ByteView associated_data) const;
  Result<SecretBytes> Decrypt(ByteView ciphertext,
                              ByteView associated_data) const;

 private:
  explicit Aead(SecretBytes key) : key_(std::move(key)) {}
  const SecretBytes key_;
};

// Wraps a data key under a key-encryption key (AES-256-GCM, see Aead).
Result<Bytes> WrapKey(const Aead& kek, const SecretBytes& key,
                      ByteView associated_data);
// Unwraps; DecryptionFailed() on any mismatch.
Result<SecretBytes> UnwrapKey(const Aead& kek, ByteView wrapped,
                              ByteView associated_data);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_AEAD_H_
