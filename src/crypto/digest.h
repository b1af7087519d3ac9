// Message digests (SHA-2) through OpenSSL's EVP_Digest.
#ifndef ATREST_CRYPTO_DIGEST_H_
#define ATREST_CRYPTO_DIGEST_H_

#include "base/bytes.h"

namespace atrest::crypto {

Bytes Sha256(ByteView data);
Bytes Sha384(ByteView data);
Bytes Sha512(ByteView data);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_DIGEST_H_
