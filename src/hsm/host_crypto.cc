#include "hsm/host_crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>

#include "crypto/aead.h"

namespace atrest::hsm::internal {
namespace {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Fn(p);
  }
};
using MdPtr = std::unique_ptr<EVP_MD, Deleter<EVP_MD_free>>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, Deleter<EVP_CIPHER_free>>;
using CipherCtxPtr =
    std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;

constexpr uint8_t kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                     0x01, 0x05, 0x00, 0x04, 0x20};
constexpr uint8_t kSha384Prefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                     0x02, 0x05, 0x00, 0x04, 0x30};
constexpr uint8_t kSha512Prefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                     0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                     0x03, 0x05, 0x00, 0x04, 0x40};

// A big-endian copy of one BIGNUM parameter; empty when absent.
crypto::SecretBytes BignumParam(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  BignumPtr bn(raw);
  crypto::SecretBytes out(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.MutableSecret().data());
  return out;
}

}  // namespace

ByteView DigestInfoPrefix(crypto::RsaSignatureAlgorithm alg) {
  switch (alg) {
    case crypto::RsaSignatureAlgorithm::kRs256:
      return kSha256Prefix;
    case crypto::RsaSignatureAlgorithm::kRs384:
      return kSha384Prefix;
    case crypto::RsaSignatureAlgorithm::kRs512:
      return kSha512Prefix;
    default:
      return {};
  }
}

Result<crypto::SecretBytes> OaepSha256Decode(const crypto::SecretBytes& em) {
  MdPtr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  const int k = static_cast<int>(em.size());
  crypto::SecretBytes out(em.size());
  int len = -1;
  if (md) {
    // OpenSSL 3.0 has no non-deprecated way to remove OAEP padding from the
    // result of a private operation done elsewhere: the EVP interface only
    // pads and unpads around its own RSA operation. This function is the one
    // OpenSSL's own RSA decryption uses, and it checks the padding in
    // constant time (no Manger oracle), so it is the right tool despite the
    // 3.0 deprecation; only that warning is silenced, here and nowhere else.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    len = RSA_padding_check_PKCS1_OAEP_mgf1(
        out.MutableSecret().data(), k, em.RevealSecret().data(), k, k,
        /*param=*/nullptr, /*plen=*/0, md.get(), md.get());
#pragma GCC diagnostic pop
  }
  if (len < 0) {
    ERR_clear_error();
    return crypto::DecryptionFailed();
  }
  return crypto::SecretBytes::CopyFrom(
      out.RevealSecret().first(static_cast<size_t>(len)));
}

Result<Bytes> AesKeyWrapPad(const crypto::SecretBytes& kek,
                            const crypto::SecretBytes& plaintext) {
  CipherPtr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-WRAP-PAD", nullptr));
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx || kek.size() != crypto::kAes256KeySize) {
    ERR_clear_error();
    return InternalError("AES-256-WRAP-PAD is not available");
  }
  // Needed by the legacy EVP path; harmless with providers.
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  Bytes out(plaintext.size() + 16);
  int len = 0;
  int final_len = 0;
  if (EVP_EncryptInit_ex2(ctx.get(), cipher.get(), kek.RevealSecret().data(),
                          nullptr, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &len,
                        plaintext.RevealSecret().data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    ERR_clear_error();
    return InternalError("AES key wrap failed");
  }
  out.resize(static_cast<size_t>(len + final_len));
  return out;
}

Result<crypto::RsaPrivateComponents> PrivateComponents(
    const crypto::RsaPrivateKey& key) {
  // crypto/ hands out private keys only as PKCS#8; parse it back here.
  ASSIGN_OR_RETURN(crypto::SecretBytes der, key.ToPkcs8Der());
  const unsigned char* p = der.RevealSecret().data();
  PkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p,
                                  static_cast<long>(der.size())));  // NOLINT
  if (!pkey) {
    ERR_clear_error();
    return InternalError("cannot parse the private key's PKCS#8 encoding");
  }
  crypto::RsaPrivateComponents c;
  crypto::SecretBytes n = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_N);
  crypto::SecretBytes e = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_E);
  c.n.assign(n.RevealSecret().begin(), n.RevealSecret().end());
  c.e.assign(e.RevealSecret().begin(), e.RevealSecret().end());
  c.d = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_D);
  c.p = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_FACTOR1);
  c.q = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_FACTOR2);
  c.dp = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1);
  c.dq = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2);
  c.qi = BignumParam(pkey.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  if (c.n.empty() || c.e.empty() || c.d.empty() || c.p.empty() || c.q.empty() ||
      c.dp.empty() || c.dq.empty() || c.qi.empty()) {
    ERR_clear_error();
    return InvalidArgumentError(
        "RSA private key lacks CRT components (n, e, d, p, q, dp, dq, qi)");
  }
  return c;
}

}  // namespace atrest::hsm::internal
