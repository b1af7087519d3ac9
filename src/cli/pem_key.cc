#include "cli/pem_key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "base/base64.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"

namespace atrest::cli {
namespace {

using nlohmann::json;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BignumFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct OpenSslFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};

// One PEM block: its label and (wiped on destruction) DER bytes.
struct PemBlock {
  std::string label;
  std::string header;
  crypto::SecretBytes der;
};

// The next PEM block of `bio`; NotFound at the end.
Result<PemBlock> NextBlock(BIO* bio) {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
    ERR_clear_error();
    return NotFoundError("no more PEM blocks");
  }
  std::unique_ptr<char, OpenSslFree> name_owner(name), header_owner(header);
  PemBlock block{.label = name,
                 .header = header,
                 .der = crypto::SecretBytes::CopyFrom(
                     ByteView(data, static_cast<size_t>(len)))};
  OPENSSL_clear_free(data, static_cast<size_t>(len));
  return block;
}

// A big-endian parameter of `pkey` in base64url.
Result<std::string> Param(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    ERR_clear_error();
    return InvalidArgumentError(std::string("the PEM key has no RSA ") + name);
  }
  std::unique_ptr<BIGNUM, BignumFree> bn(raw);
  crypto::SecretBytes bytes(static_cast<size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), bytes.MutableSecret().data());
  return Base64UrlEncode(bytes.RevealSecret());
}

}  // namespace

Result<json> RsaPrivateJwkFromPem(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InvalidArgumentError("cannot read the PEM file");
  for (;;) {
    Result<PemBlock> block = NextBlock(bio.get());
    if (!block.ok()) break;
    if (block->label == "ENCRYPTED PRIVATE KEY" ||
        block->header.find("ENCRYPTED") != std::string::npos) {
      return InvalidArgumentError(
          "the PEM private key is encrypted; decrypt it first (openssl pkey "
          "-in <file> -out <plain file>)");
    }
    if (block->label != "PRIVATE KEY" && block->label != "RSA PRIVATE KEY") {
      continue;
    }
    // crypto/ decides what an acceptable RSA key is (type and size).
    const ByteView der = block->der.RevealSecret();
    RETURN_IF_ERROR(crypto::RsaPrivateKey::FromPkcs8Der(der).status());
    const unsigned char* p = der.data();
    std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
        d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
    if (!pkey) {
      ERR_clear_error();
      return InvalidArgumentError("the PEM private key cannot be decoded");
    }
    json jwk = {{"kty", "RSA"}};
    const std::pair<const char*, const char*> members[] = {
        {"n", OSSL_PKEY_PARAM_RSA_N},
        {"e", OSSL_PKEY_PARAM_RSA_E},
        {"d", OSSL_PKEY_PARAM_RSA_D},
        {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},
        {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    for (const auto& [member, param] : members) {
      ASSIGN_OR_RETURN(jwk[member], Param(pkey.get(), param));
    }
    return jwk;
  }
  return InvalidArgumentError(
      "the PEM file holds no private key (BEGIN PRIVATE KEY or BEGIN RSA "
      "PRIVATE KEY)");
}

}  // namespace atrest::cli
