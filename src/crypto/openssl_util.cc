#include "crypto/openssl_util.h"

#include <openssl/err.h>

#include <cstdlib>
#include <iostream>

namespace atrest::crypto::internal {

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) {
      std::cerr << "atrest: no AES-256-GCM implementation in the active "
                   "OpenSSL providers\n";
      std::abort();
    }
    return c;
  }();
  return cipher;
}

Status OpenSslError(std::string_view what) {
  unsigned long code = ERR_get_error();
  std::string message(what);
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    message += ": ";
    message += buf;
  }
  ERR_clear_error();
  return InternalError(std::move(message));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace atrest::crypto::internal
