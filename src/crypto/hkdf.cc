#include "crypto/hkdf.h"

#include <openssl/core_names.h>

#include "crypto/openssl_util.h"

namespace atrest::crypto {

Result<SecretBytes> HkdfSha256(ByteView ikm, ByteView salt, ByteView info,
                               size_t length) {
  if (length == 0 || length > 255 * 32) {
    return InvalidArgumentError("HKDF-SHA256 output must be 1 to 8160 bytes");
  }
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return internal::OpenSslError("fetching HKDF");
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return internal::OpenSslError("EVP_KDF_CTX_new");

  char digest[] = "SHA256";
  // OSSL_PARAM takes non-const pointers but only reads octet strings here.
  auto octets = [](const char* name, ByteView b) {
    return OSSL_PARAM_construct_octet_string(
        name, const_cast<uint8_t*>(b.data()), b.size());
  };
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] =
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
  if (!salt.empty()) params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
  params[n++] = octets(OSSL_KDF_PARAM_INFO, info);
  params[n] = OSSL_PARAM_construct_end();

  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.MutableSecret().data(), length, params) !=
      1) {
    return internal::OpenSslError("HKDF-SHA256 derive");
  }
  return out;
}

}  // namespace atrest::crypto
