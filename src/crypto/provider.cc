#include "crypto/provider.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "crypto/openssl_util.h"

namespace atrest::crypto {

Status InitializeCrypto(const CryptoConfig& config) {
  if (!config.fips) return Status::Ok();
  if (!config.fips_module_dir.empty() &&
      OSSL_PROVIDER_set_default_search_path(
          nullptr, config.fips_module_dir.c_str()) != 1) {
    return internal::OpenSslError("setting the OpenSSL module directory");
  }
  // try_load with retained fallbacks: a failed load must not leave the
  // process without any provider (plain OSSL_PROVIDER_load would).
  OSSL_PROVIDER* fips =
      OSSL_PROVIDER_try_load(nullptr, "fips", /*retain_fallbacks=*/1);
  if (fips == nullptr) {
    internal::ClearOpenSslErrors();
    return FailedPreconditionError(
        "FIPS mode was requested but OpenSSL's FIPS provider (fips.so) could "
        "not be loaded. Debian 12 does not ship one: build it from a "
        "FIPS-validated OpenSSL 3.0 release, run `openssl fipsinstall`, and "
        "point crypto.fips_module_dir (or OPENSSL_MODULES) at the directory "
        "holding fips.so; see docs/fips.md");
  }
  if (OSSL_PROVIDER_load(nullptr, "base") == nullptr) {
    return internal::OpenSslError("loading OpenSSL's base provider");
  }
  if (EVP_default_properties_enable_fips(nullptr, 1) != 1) {
    return internal::OpenSslError("making fips=yes the default property");
  }
  return Status::Ok();
}

bool FipsEnabled() { return EVP_default_properties_is_fips_enabled(nullptr); }

std::string CryptoDescription() {
  std::string d = OpenSSL_version(OPENSSL_VERSION);
  d += FipsEnabled() ? ", FIPS provider" : ", default provider";
  return d;
}

}  // namespace atrest::crypto
