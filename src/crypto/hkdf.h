// HKDF-SHA256 (RFC 5869) over OpenSSL's EVP_KDF.
#ifndef ATREST_CRYPTO_HKDF_H_
#define ATREST_CRYPTO_HKDF_H_

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {

// Derives `length` bytes (1 to 255 * 32) from input keying material `ikm`.
// InvalidArgument for a length outside that range.
Result<SecretBytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info,
                               size_t length);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_HKDF_H_
