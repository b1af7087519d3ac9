// Token's cryptographic operations: Decrypt, Sign and the extraction probe.
// Key management is in token.cc.
#include <algorithm>
#include <iterator>
#include <optional>
#include <string>

#include "crypto/aead.h"
#include "hsm/host_crypto.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"
#include "hsm/token.h"

namespace atrest::hsm {
namespace {

using internal::AttrValue;
using internal::CkError;
using internal::CkrName;
using internal::kFalse;
using internal::kTrue;
using internal::Session;

struct PssParams {
  CK_MECHANISM_TYPE hash;
  CK_RSA_PKCS_MGF_TYPE mgf;
};

// For PS*: the hash and MGF1 hash; nullopt for RS*.
std::optional<PssParams> Pss(crypto::RsaSignatureAlgorithm alg) {
  switch (alg) {
    case crypto::RsaSignatureAlgorithm::kPs256:
      return PssParams{CKM_SHA256, CKG_MGF1_SHA256};
    case crypto::RsaSignatureAlgorithm::kPs384:
      return PssParams{CKM_SHA384, CKG_MGF1_SHA384};
    case crypto::RsaSignatureAlgorithm::kPs512:
      return PssParams{CKM_SHA512, CKG_MGF1_SHA512};
    default:
      return std::nullopt;
  }
}

bool ObjectGone(CK_RV rv) {
  return rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

}  // namespace

Result<crypto::SecretBytes> Token::Decrypt(std::string_view handle,
                                           crypto::RsaPadding padding,
                                           ByteView ciphertext) {
  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  ASSIGN_OR_RETURN(KeyObjects key, Find(session, handle));
  // The length is public; every key size this token holds takes exactly k
  // bytes, as SoftHSM2 insists for OAEP.
  if (ciphertext.size() != key.modulus_size) return crypto::DecryptionFailed();

  CK_RSA_PKCS_OAEP_PARAMS oaep{CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED,
                               nullptr, 0};
  CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
  switch (padding) {
    case crypto::RsaPadding::kOaepSha1:
      mechanism = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
      break;
    case crypto::RsaPadding::kPkcs1v15:
      mechanism = {CKM_RSA_PKCS, nullptr, 0};
      break;
    case crypto::RsaPadding::kOaepSha256:
      // SoftHSM2 rejects SHA-256 OAEP parameters (CKR_ARGUMENTS_BAD), so the
      // token does the raw private operation and the host removes the
      // padding in constant time (docs/hsm.md).
      mechanism = {CKM_RSA_X_509, nullptr, 0};
      break;
  }
  CK_FUNCTION_LIST* fn = session.fn();
  CK_RV rv = session.Check(
      fn->C_DecryptInit(session.get(), &mechanism, key.private_key));
  if (ObjectGone(rv)) {
    Forget(handle);
    return KeyNotFound(handle);
  }
  // Nothing so far depended on the ciphertext, so the token's reason may be
  // told. From here on, every failure is the same DecryptionFailed().
  if (rv != CKR_OK) return CkError("C_DecryptInit", rv);

  crypto::SecretBytes out(key.modulus_size);
  CK_ULONG len = out.size();
  rv = session.Check(
      fn->C_Decrypt(session.get(), const_cast<uint8_t*>(ciphertext.data()),
                    ciphertext.size(), out.MutableSecret().data(), &len));
  if (rv != CKR_OK || len > out.size()) return crypto::DecryptionFailed();
  if (padding != crypto::RsaPadding::kOaepSha256) {
    return crypto::SecretBytes::CopyFrom(out.RevealSecret().first(len));
  }
  // CKM_RSA_X_509 returns k bytes, but a token may drop leading zeros.
  crypto::SecretBytes em(key.modulus_size);
  std::copy_n(out.RevealSecret().begin(), len,
              em.MutableSecret().begin() + (em.size() - len));
  return internal::OaepSha256Decode(em);
}

Result<Bytes> Token::Sign(std::string_view handle,
                          crypto::RsaSignatureAlgorithm alg, ByteView digest) {
  const size_t digest_size = crypto::DigestSize(alg);
  if (digest.size() != digest_size) {
    return InvalidArgumentError(
        std::string(crypto::RsaSignatureAlgorithmName(alg)) + " signs a " +
        std::to_string(digest_size) + "-byte digest, got " +
        std::to_string(digest.size()) + " bytes");
  }
  const std::optional<PssParams> pss = Pss(alg);
  CK_RSA_PKCS_PSS_PARAMS pss_params{};
  CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
  Bytes input;
  if (pss.has_value()) {
    pss_params = {pss->hash, pss->mgf, digest_size};
    mechanism = {CKM_RSA_PKCS_PSS, &pss_params, sizeof(pss_params)};
    input.assign(digest.begin(), digest.end());
  } else {
    // Bare CKM_RSA_PKCS signs whatever it is given, so the DigestInfo that
    // names the hash (RFC 8017 §9.2) is prepended here.
    ByteView prefix = internal::DigestInfoPrefix(alg);
    input.assign(prefix.begin(), prefix.end());
    input.insert(input.end(), digest.begin(), digest.end());
  }

  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  ASSIGN_OR_RETURN(KeyObjects key, Find(session, handle));
  CK_FUNCTION_LIST* fn = session.fn();
  CK_RV rv =
      session.Check(fn->C_SignInit(session.get(), &mechanism, key.private_key));
  if (ObjectGone(rv)) {
    Forget(handle);
    return KeyNotFound(handle);
  }
  if (rv != CKR_OK) return CkError("C_SignInit", rv);
  Bytes signature(key.modulus_size);
  CK_ULONG len = signature.size();
  rv = session.Check(fn->C_Sign(session.get(), input.data(), input.size(),
                                signature.data(), &len));
  if (rv != CKR_OK) return CkError("C_Sign", rv);
  signature.resize(len);
  return signature;
}

Status Token::TryExportPrivateKey(std::string_view handle) {
  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  ASSIGN_OR_RETURN(KeyObjects key, Find(session, handle));
  CK_FUNCTION_LIST* fn = session.fn();

  // 1. Read the private exponent. Only the length is asked for; a token
  // that answers at all would give the value too.
  CK_ATTRIBUTE attr{CKA_PRIVATE_EXPONENT, nullptr, 0};
  const CK_RV read_rv = session.Check(
      fn->C_GetAttributeValue(session.get(), key.private_key, &attr, 1));
  const bool readable =
      read_rv == CKR_OK && attr.ulValueLen != CK_UNAVAILABLE_INFORMATION;

  // 2. Wrap the key under an AES key the attacker would know: a session key
  // the token makes, allowed to wrap.
  constexpr CK_OBJECT_CLASS kSecretKeyClass = CKO_SECRET_KEY;
  constexpr CK_KEY_TYPE kAesKeyType = CKK_AES;
  constexpr CK_ULONG kAesKeyLen = 32;
  CK_ATTRIBUTE aes_template[] = {
      AttrValue(CKA_CLASS, kSecretKeyClass),
      AttrValue(CKA_KEY_TYPE, kAesKeyType),
      AttrValue(CKA_VALUE_LEN, kAesKeyLen),
      AttrValue(CKA_TOKEN, kFalse),
      AttrValue(CKA_WRAP, kTrue),
  };
  CK_MECHANISM keygen{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE aes = CK_INVALID_HANDLE;
  CK_RV wrap_rv = session.Check(fn->C_GenerateKey(
      session.get(), &keygen, aes_template, std::size(aes_template), &aes));
  std::string wrap_what = "C_GenerateKey (wrapping key)";
  bool wrapped = false;
  if (wrap_rv == CKR_OK) {
    wrap_what = "C_WrapKey";
    CK_MECHANISM wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    CK_ULONG wrapped_len = 0;
    wrap_rv = session.Check(fn->C_WrapKey(
        session.get(), &wrap, aes, key.private_key, nullptr, &wrapped_len));
    if (wrap_rv == CKR_OK) {
      // The length query succeeded; see whether the wrap itself does.
      crypto::SecretBytes blob(wrapped_len);
      wrap_rv = session.Check(
          fn->C_WrapKey(session.get(), &wrap, aes, key.private_key,
                        blob.MutableSecret().data(), &wrapped_len));
      wrapped = wrap_rv == CKR_OK;
    }
    session.Check(fn->C_DestroyObject(session.get(), aes));
  }

  const std::string findings =
      "reading CKA_PRIVATE_EXPONENT: " + CkrName(read_rv) + "; " + wrap_what +
      ": " + CkrName(wrap_rv);
  if (readable || wrapped) {
    return InternalError("HSM key " + std::string(handle) +
                         " can be extracted from the token (" + findings + ")");
  }
  return PermissionDeniedError("HSM key " + std::string(handle) +
                               " cannot be extracted (" + findings + ")");
}

}  // namespace atrest::hsm
