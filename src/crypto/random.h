// Cryptographic randomness from OpenSSL's DRBG (inside the FIPS module when
// FIPS mode is on). Used for keys, salts and nonces; never faked in tests.
#ifndef ATREST_CRYPTO_RANDOM_H_
#define ATREST_CRYPTO_RANDOM_H_

#include "base/bytes.h"
#include "crypto/secret_bytes.h"

namespace atrest::crypto {

// Fills `out` with public random bytes (salts, nonces, ids). Aborts the
// process if the DRBG fails: continuing without randomness is never safe.
void RandomBytes(MutableByteView out);

// A fresh random secret of `size` bytes, from the private DRBG.
SecretBytes NewRandomSecret(size_t size);

// A fresh AES-256 key.
inline SecretBytes NewAes256Key() { return NewRandomSecret(32); }

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_RANDOM_H_
