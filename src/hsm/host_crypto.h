// Internal to hsm/: the host-side halves of the token operations, done with
// OpenSSL where the token cannot or should not do them.
//
//  * DigestInfo prefixes, so that RS256/384/512 can be signed with the bare
//    CKM_RSA_PKCS mechanism over a digest the caller computed.
//  * OAEP decoding with SHA-256 / MGF1-SHA-256 after a raw RSA operation in
//    the token, because SoftHSM2 refuses those OAEP parameters (see
//    docs/hsm.md).
//  * AES key wrap with padding (RFC 5649) and the key's components, for
//    ImportRsa.
//
// Thread safety: free functions without shared state.
#ifndef ATREST_HSM_HOST_CRYPTO_H_
#define ATREST_HSM_HOST_CRYPTO_H_

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"

namespace atrest::hsm::internal {

// The DER DigestInfo header that precedes a digest in an RSASSA-PKCS1-v1_5
// signature (RFC 8017 §9.2, note 1), for RS256, RS384 and RS512.
// REQUIRES: `alg` is one of those.
ByteView DigestInfoPrefix(crypto::RsaSignatureAlgorithm alg);

// Removes OAEP padding (SHA-256, MGF1-SHA-256, empty label) from `em`, the
// k-byte result of a raw RSA private operation (k = modulus size). Runs in
// constant time with respect to the padding; every failure is
// crypto::DecryptionFailed().
Result<crypto::SecretBytes> OaepSha256Decode(const crypto::SecretBytes& em);

// AES-256 key wrap with padding (RFC 5649, PKCS#11 CKM_AES_KEY_WRAP_PAD).
Result<Bytes> AesKeyWrapPad(const crypto::SecretBytes& kek,
                            const crypto::SecretBytes& plaintext);

// n, e, d, p, q, dp, dq and qi of `key`, for tokens that take a private key
// only as attributes (C_CreateObject).
Result<crypto::RsaPrivateComponents> PrivateComponents(
    const crypto::RsaPrivateKey& key);

}  // namespace atrest::hsm::internal

#endif  // ATREST_HSM_HOST_CRYPTO_H_
