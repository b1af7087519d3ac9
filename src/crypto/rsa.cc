#include "crypto/rsa.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/aead.h"

namespace atrest::crypto {
namespace {

using internal::BignumPtr;
using internal::PkeyCtxPtr;
using internal::PkeyPtr;

Status CheckBits(const EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
    return InvalidArgumentError("key is not an RSA key");
  }
  int bits = EVP_PKEY_get_bits(pkey);
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return InvalidArgumentError("RSA key must be 2048 to 4096 bits, got " +
                                std::to_string(bits));
  }
  return Status::Ok();
}

Bytes BignumParam(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) return {};
  BignumPtr bn(raw);
  Bytes out(BN_num_bytes(bn.get()));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

// Applies padding (and OAEP digests) to an encrypt or decrypt context.
Status SetPadding(EVP_PKEY_CTX* ctx, RsaPadding padding) {
  if (padding == RsaPadding::kPkcs1v15) {
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
               ? Status::Ok()
               : internal::OpenSslError("setting PKCS#1 v1.5 padding");
  }
  const char* md = padding == RsaPadding::kOaepSha256 ? "SHA256" : "SHA1";
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, md, nullptr) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, nullptr) != 1) {
    return internal::OpenSslError("setting OAEP padding");
  }
  return Status::Ok();
}

Result<PkeyPtr> FromParams(OSSL_PARAM_BLD* bld, int selection) {
  internal::ParamsPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    internal::ClearOpenSslErrors();
    return InvalidArgumentError("RSA key components are not a valid key");
  }
  PkeyPtr pkey(raw);
  RETURN_IF_ERROR(CheckBits(pkey.get()));
  return pkey;
}

bool PushBignum(OSSL_PARAM_BLD* bld, const char* name, ByteView bytes,
                std::vector<BignumPtr>& keep) {
  if (bytes.empty()) return false;
  BignumPtr bn(
      BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn || OSSL_PARAM_BLD_push_BN(bld, name, bn.get()) != 1) return false;
  keep.push_back(std::move(bn));
  return true;
}

struct SignatureParams {
  const char* name;
  const char* md;
  size_t digest_size;
  bool pss;
};

SignatureParams Params(RsaSignatureAlgorithm alg) {
  switch (alg) {
    case RsaSignatureAlgorithm::kRs256:
      return {"RS256", "SHA256", 32, false};
    case RsaSignatureAlgorithm::kRs384:
      return {"RS384", "SHA384", 48, false};
    case RsaSignatureAlgorithm::kRs512:
      return {"RS512", "SHA512", 64, false};
    case RsaSignatureAlgorithm::kPs256:
      return {"PS256", "SHA256", 32, true};
    case RsaSignatureAlgorithm::kPs384:
      return {"PS384", "SHA384", 48, true};
    case RsaSignatureAlgorithm::kPs512:
      return {"PS512", "SHA512", 64, true};
  }
  return {"", "", 0, false};
}

constexpr RsaSignatureAlgorithm kAllSignatureAlgorithms[] = {
    RsaSignatureAlgorithm::kRs256, RsaSignatureAlgorithm::kRs384,
    RsaSignatureAlgorithm::kRs512, RsaSignatureAlgorithm::kPs256,
    RsaSignatureAlgorithm::kPs384, RsaSignatureAlgorithm::kPs512};

// Applies the padding and digest of `alg` to a sign or verify context.
Status SetSignatureParams(EVP_PKEY_CTX* ctx, RsaSignatureAlgorithm alg,
                          ByteView digest) {
  SignatureParams p = Params(alg);
  if (digest.size() != p.digest_size) {
    return InvalidArgumentError(
        std::string(p.name) + " signs a " + std::to_string(p.digest_size) +
        "-byte digest, got " + std::to_string(digest.size()) + " bytes");
  }
  if (EVP_PKEY_CTX_set_rsa_padding(
          ctx, p.pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(p.md)) != 1 ||
      (p.pss &&
       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return internal::OpenSslError("setting signature parameters");
  }
  return Status::Ok();
}

}  // namespace

std::string_view RsaSignatureAlgorithmName(RsaSignatureAlgorithm alg) {
  return Params(alg).name;
}

Result<RsaSignatureAlgorithm> ParseRsaSignatureAlgorithm(
    std::string_view name) {
  for (RsaSignatureAlgorithm alg : kAllSignatureAlgorithms) {
    if (name == Params(alg).name) return alg;
  }
  return InvalidArgumentError(
      "signature algorithm must be one of RS256, RS384, RS512, PS256, PS384, "
      "PS512");
}

size_t DigestSize(RsaSignatureAlgorithm alg) { return Params(alg).digest_size; }

std::string_view RsaPaddingName(RsaPadding padding) {
  switch (padding) {
    case RsaPadding::kOaepSha1:
      return "RSA-OAEP";
    case RsaPadding::kOaepSha256:
      return "RSA-OAEP-256";
    case RsaPadding::kPkcs1v15:
      return "RSA1_5";
  }
  return "";
}

Result<RsaPadding> ParseRsaPadding(std::string_view name) {
  if (name == "RSA-OAEP") return RsaPadding::kOaepSha1;
  if (name == "RSA-OAEP-256") return RsaPadding::kOaepSha256;
  if (name == "RSA1_5") return RsaPadding::kPkcs1v15;
  return InvalidArgumentError(
      "algorithm must be RSA-OAEP, RSA-OAEP-256 or RSA1_5");
}

// ---------------------------------------------------------------------------
// RsaPublicKey

Result<RsaPublicKey> RsaPublicKey::FromComponents(ByteView n, ByteView e) {
  internal::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  std::vector<BignumPtr> keep;
  if (!bld || !PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_N, n, keep) ||
      !PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_E, e, keep)) {
    return InvalidArgumentError("RSA public key needs n and e");
  }
  ASSIGN_OR_RETURN(PkeyPtr pkey, FromParams(bld.get(), EVP_PKEY_PUBLIC_KEY));
  return RsaPublicKey(std::move(pkey));
}

Result<RsaPublicKey> RsaPublicKey::FromSpkiDer(ByteView der) {
  const unsigned char* p = der.data();
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return InvalidArgumentError("not a DER SubjectPublicKeyInfo");
  }
  RETURN_IF_ERROR(CheckBits(pkey.get()));
  return RsaPublicKey(std::move(pkey));
}

RsaPublicKey::RsaPublicKey(const RsaPublicKey& other) { *this = other; }

RsaPublicKey& RsaPublicKey::operator=(const RsaPublicKey& other) {
  if (this != &other) {
    if (other.pkey_) EVP_PKEY_up_ref(other.pkey_.get());
    pkey_.reset(other.pkey_.get());
  }
  return *this;
}

int RsaPublicKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }
Bytes RsaPublicKey::modulus() const {
  return BignumParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N);
}
Bytes RsaPublicKey::public_exponent() const {
  return BignumParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E);
}

Result<Bytes> RsaPublicKey::ToSpkiDer() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0) return internal::OpenSslError("encoding the public key");
  Bytes out(len);
  unsigned char* p = out.data();
  i2d_PUBKEY(pkey_.get(), &p);
  return out;
}

Result<Bytes> RsaPublicKey::Encrypt(RsaPadding padding,
                                    ByteView plaintext) const {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1) {
    return internal::OpenSslError("RSA encrypt init");
  }
  RETURN_IF_ERROR(SetPadding(ctx.get(), padding));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(),
                       plaintext.size()) != 1) {
    return internal::OpenSslError("RSA encrypt");
  }
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(),
                       plaintext.size()) != 1) {
    internal::ClearOpenSslErrors();
    return InvalidArgumentError(
        "plaintext is too long for this RSA key and padding");
  }
  out.resize(len);
  return out;
}

Status RsaPublicKey::Verify(RsaSignatureAlgorithm alg, ByteView digest,
                            ByteView signature) const {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return internal::OpenSslError("RSA verify init");
  }
  RETURN_IF_ERROR(SetSignatureParams(ctx.get(), alg, digest));
  if (EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(),
                      digest.data(), digest.size()) != 1) {
    internal::ClearOpenSslErrors();
    return PermissionDeniedError("signature is not valid");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// RsaPrivateKey

Result<RsaPrivateKey> RsaPrivateKey::Generate(int bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return InvalidArgumentError("RSA key size must be 2048, 3072 or 4096");
  }
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return internal::OpenSslError("RSA key generation");
  }
  return RsaPrivateKey(PkeyPtr(raw));
}

Result<RsaPrivateKey> RsaPrivateKey::FromPkcs8Der(ByteView der) {
  const unsigned char* p = der.data();
  PkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey || p != der.data() + der.size()) {
    internal::ClearOpenSslErrors();
    return InvalidArgumentError("not a DER PKCS#8 private key");
  }
  RETURN_IF_ERROR(CheckBits(pkey.get()));
  return RsaPrivateKey(std::move(pkey));
}

Result<RsaPrivateKey> RsaPrivateKey::FromComponents(
    const RsaPrivateComponents& parts) {
  internal::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  std::vector<BignumPtr> keep;
  const bool ok = bld &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_N, parts.n, keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_E, parts.e, keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_D,
                             parts.d.RevealSecret(), keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1,
                             parts.p.RevealSecret(), keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2,
                             parts.q.RevealSecret(), keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1,
                             parts.dp.RevealSecret(), keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2,
                             parts.dq.RevealSecret(), keep) &&
                  PushBignum(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
                             parts.qi.RevealSecret(), keep);
  if (!ok) {
    internal::ClearOpenSslErrors();
    return InvalidArgumentError(
        "RSA private key needs n, e, d, p, q, dp, dq and qi");
  }
  ASSIGN_OR_RETURN(PkeyPtr pkey, FromParams(bld.get(), EVP_PKEY_KEYPAIR));
  // Reject inconsistent components (p * q != n and the like).
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
    internal::ClearOpenSslErrors();
    return InvalidArgumentError("RSA private key components are inconsistent");
  }
  return RsaPrivateKey(std::move(pkey));
}

int RsaPrivateKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

RsaPublicKey RsaPrivateKey::PublicKey() const {
  EVP_PKEY_up_ref(pkey_.get());
  return RsaPublicKey(PkeyPtr(pkey_.get()));
}

Result<SecretBytes> RsaPrivateKey::ToPkcs8Der() const {
  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(pkey_.get());
  if (info == nullptr) return internal::OpenSslError("encoding PKCS#8");
  int len = i2d_PKCS8_PRIV_KEY_INFO(info, nullptr);
  SecretBytes out(len > 0 ? static_cast<size_t>(len) : 0);
  unsigned char* p = out.MutableSecret().data();
  if (len <= 0 || i2d_PKCS8_PRIV_KEY_INFO(info, &p) != len) {
    PKCS8_PRIV_KEY_INFO_free(info);
    return internal::OpenSslError("encoding PKCS#8");
  }
  PKCS8_PRIV_KEY_INFO_free(info);
  return out;
}

Result<SecretBytes> RsaPrivateKey::Decrypt(RsaPadding padding,
                                           ByteView ciphertext,
                                           ByteView oaep_label) const {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) {
    return internal::OpenSslError("RSA decrypt init");
  }
  RETURN_IF_ERROR(SetPadding(ctx.get(), padding));
  if (!oaep_label.empty()) {
    if (padding == RsaPadding::kPkcs1v15) {
      return InvalidArgumentError("an OAEP label needs OAEP padding");
    }
    void* label = OPENSSL_memdup(oaep_label.data(), oaep_label.size());
    if (label == nullptr ||
        EVP_PKEY_CTX_set0_rsa_oaep_label(
            ctx.get(), label, static_cast<int>(oaep_label.size())) != 1) {
      OPENSSL_free(label);
      return internal::OpenSslError("setting the OAEP label");
    }
  }
  size_t len = static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()));
  SecretBytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.MutableSecret().data(), &len,
                       ciphertext.data(), ciphertext.size()) != 1) {
    internal::ClearOpenSslErrors();
    return DecryptionFailed();
  }
  return SecretBytes::CopyFrom(out.RevealSecret().first(len));
}

Result<Bytes> RsaPrivateKey::Sign(RsaSignatureAlgorithm alg,
                                  ByteView digest) const {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) {
    return internal::OpenSslError("RSA sign init");
  }
  RETURN_IF_ERROR(SetSignatureParams(ctx.get(), alg, digest));
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) !=
      1) {
    return internal::OpenSslError("RSA sign");
  }
  Bytes out(len);
  if (EVP_PKEY_sign(ctx.get(), out.data(), &len, digest.data(),
                    digest.size()) != 1) {
    return internal::OpenSslError("RSA sign");
  }
  out.resize(len);
  return out;
}

}  // namespace atrest::crypto
