// Internal to crypto/: owning handles for OpenSSL objects and error text.
#ifndef ATREST_CRYPTO_OPENSSL_UTIL_H_
#define ATREST_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace atrest::crypto::internal {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};

using CipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using KdfPtr = std::unique_ptr<EVP_KDF, Deleter<EVP_KDF_free>>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Deleter<EVP_KDF_CTX_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;
using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;

// The AES-256-GCM implementation of the active providers, fetched once.
const EVP_CIPHER* Aes256Gcm();

// Drains OpenSSL's error queue and returns Internal("<what>: <reason>").
// Use only where the failure cannot depend on secret data; decrypt paths
// return DecryptionFailed() instead.
Status OpenSslError(std::string_view what);

// Clears OpenSSL's error queue (after a failure that is reported generically).
void ClearOpenSslErrors();

}  // namespace atrest::crypto::internal

#endif  // ATREST_CRYPTO_OPENSSL_UTIL_H_
