#include "crypto/digest.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <iostream>

namespace atrest::crypto {
namespace {

Bytes Digest(const char* name, ByteView data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out.data(), &len,
                                  md, nullptr) != 1) {
    // The provider lost a basic hash: nothing later can be trusted.
    std::cerr << "atrest: " << name << " is unavailable in OpenSSL\n";
    std::abort();
  }
  EVP_MD_free(md);
  out.resize(len);
  return out;
}

}  // namespace

Bytes Sha256(ByteView data) { return Digest("SHA256", data); }
Bytes Sha384(ByteView data) { return Digest("SHA384", data); }
Bytes Sha512(ByteView data) { return Digest("SHA512", data); }

}  // namespace atrest::crypto
