#include "crypto/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <iostream>

namespace atrest::crypto {
namespace {

[[noreturn]] void DrbgFailed() {
  std::cerr << "atrest: OpenSSL DRBG failed; refusing to continue\n";
  std::abort();
}

}  // namespace

void RandomBytes(MutableByteView out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) DrbgFailed();
}

SecretBytes NewRandomSecret(size_t size) {
  SecretBytes s(size);
  MutableByteView m = s.MutableSecret();
  if (size != 0 && RAND_priv_bytes(m.data(), static_cast<int>(size)) != 1) {
    DrbgFailed();
  }
  return s;
}

}  // namespace atrest::crypto
