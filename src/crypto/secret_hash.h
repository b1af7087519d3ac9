// Slow salted hashes for stored credentials (client secrets, API keys).
//
// Encoding: "pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>" with a
// 16-byte random salt and a 32-byte PBKDF2-HMAC-SHA256 output. PBKDF2 is
// chosen because it is approved in FIPS mode; the iteration count is in
// the encoding, so it can rise later without invalidating stored hashes.
// Secrets atrest generates are 256-bit random values, for which the work
// factor is a second line of defence, not the first.
#ifndef ATREST_CRYPTO_SECRET_HASH_H_
#define ATREST_CRYPTO_SECRET_HASH_H_

#include <string>
#include <string_view>

#include "base/status.h"

namespace atrest::crypto {

inline constexpr int kDefaultSecretHashIterations = 100'000;

Result<std::string> HashSecret(std::string_view secret,
                               int iterations = kDefaultSecretHashIterations);

// True only when `secret` matches `encoded` (compared in constant time).
// A malformed encoding never matches.
bool VerifySecret(std::string_view secret, std::string_view encoded);

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_SECRET_HASH_H_
