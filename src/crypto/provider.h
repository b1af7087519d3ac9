// Choosing the OpenSSL provider that does atrest's cryptography.
//
// By default OpenSSL's default provider is used. With `fips = true`,
// InitializeCrypto() loads the FIPS provider (and "base", for key encoders),
// makes "fips=yes" the default property query, and so every EVP fetch that
// follows resolves inside the FIPS module or fails. Debian 12 ships no FIPS
// provider: docs/fips.md says how to bring one and what FIPS mode refuses.
//
// Call InitializeCrypto() once, before any other crypto/ function.
#ifndef ATREST_CRYPTO_PROVIDER_H_
#define ATREST_CRYPTO_PROVIDER_H_

#include <string>

#include "base/status.h"

namespace atrest::crypto {

struct CryptoConfig {
  bool fips = false;
  // Directory holding fips.so; empty means OpenSSL's MODULESDIR
  // (or the OPENSSL_MODULES environment variable).
  std::string fips_module_dir;
};

// Success: the requested provider is active. Failure (FailedPrecondition):
// FIPS was asked for and cannot be loaded; the message says what to install.
Status InitializeCrypto(const CryptoConfig& config);

// True when the default property query requires FIPS implementations.
bool FipsEnabled();

// "OpenSSL 3.0.x ..., provider default|fips" for --version and self-test.
std::string CryptoDescription();

}  // namespace atrest::crypto

#endif  // ATREST_CRYPTO_PROVIDER_H_
