#include "hsm/token.h"

#include <type_traits>
#include <utility>
#include <vector>

#include "crypto/random.h"
#include "hsm/host_crypto.h"
#include "hsm/pkcs11.h"
#include "hsm/session_pool.h"

namespace atrest::hsm {
namespace {

using internal::AttrBytes;
using internal::AttrValue;
using internal::CkError;
using internal::kFalse;
using internal::kTrue;
using internal::Session;

// token.h keeps PKCS#11 types out and spells these as unsigned long.
static_assert(std::is_same_v<CK_OBJECT_HANDLE, unsigned long>);
static_assert(std::is_same_v<CK_SESSION_HANDLE, unsigned long>);

constexpr size_t kIdSize = 16;
constexpr CK_OBJECT_CLASS kPrivateKeyClass = CKO_PRIVATE_KEY;
constexpr CK_OBJECT_CLASS kPublicKeyClass = CKO_PUBLIC_KEY;
constexpr CK_OBJECT_CLASS kSecretKeyClass = CKO_SECRET_KEY;
constexpr CK_KEY_TYPE kRsaKeyType = CKK_RSA;
constexpr CK_KEY_TYPE kAesKeyType = CKK_AES;
constexpr uint8_t kF4[] = {0x01, 0x00, 0x01};

Result<Bytes> ParseHandle(std::string_view handle) {
  Bytes id;
  if (handle.size() != 2 * kIdSize || !HexDecode(handle, &id)) {
    return InvalidArgumentError("HSM key handle must be 32 hex characters");
  }
  return id;
}

// What every private key of ours is: a private token object that cannot be
// read or exported (CKA_SENSITIVE, not CKA_EXTRACTABLE) and that decrypts
// and signs but wraps, unwraps and derives nothing. `id` and `label` are
// borrowed by the returned template.
std::vector<CK_ATTRIBUTE> PrivateKeyTemplate(ByteView id,
                                             std::string_view label) {
  return {
      AttrValue(CKA_CLASS, kPrivateKeyClass),
      AttrValue(CKA_KEY_TYPE, kRsaKeyType),
      AttrValue(CKA_TOKEN, kTrue),
      AttrValue(CKA_PRIVATE, kTrue),
      AttrValue(CKA_SENSITIVE, kTrue),
      AttrValue(CKA_EXTRACTABLE, kFalse),
      AttrValue(CKA_DECRYPT, kTrue),
      AttrValue(CKA_SIGN, kTrue),
      AttrValue(CKA_UNWRAP, kFalse),
      AttrValue(CKA_DERIVE, kFalse),
      AttrBytes(CKA_ID, id),
      AttrBytes(CKA_LABEL, AsBytes(label)),
  };
}

// The public half: encrypts and verifies, readable without login.
std::vector<CK_ATTRIBUTE> PublicKeyTemplate(ByteView id,
                                            std::string_view label) {
  return {
      AttrValue(CKA_CLASS, kPublicKeyClass),
      AttrValue(CKA_KEY_TYPE, kRsaKeyType),
      AttrValue(CKA_TOKEN, kTrue),
      AttrValue(CKA_PRIVATE, kFalse),
      AttrValue(CKA_ENCRYPT, kTrue),
      AttrValue(CKA_VERIFY, kTrue),
      AttrValue(CKA_WRAP, kFalse),
      AttrBytes(CKA_ID, id),
      AttrBytes(CKA_LABEL, AsBytes(label)),
  };
}

// Destroys a token object when it goes out of scope, unless released.
class ObjectGuard {
 public:
  ObjectGuard(Session& session, CK_OBJECT_HANDLE object)
      : session_(session), object_(object) {}
  ~ObjectGuard() {
    if (object_ != CK_INVALID_HANDLE) {
      session_.Check(session_.fn()->C_DestroyObject(session_.get(), object_));
    }
  }
  ObjectGuard(const ObjectGuard&) = delete;
  ObjectGuard& operator=(const ObjectGuard&) = delete;
  void Release() { object_ = CK_INVALID_HANDLE; }

 private:
  Session& session_;
  CK_OBJECT_HANDLE object_;
};

// A fresh random CKA_ID and the handle that names it.
std::pair<Bytes, std::string> NewId() {
  Bytes id(kIdSize);
  crypto::RandomBytes(id);
  std::string handle = HexEncode(id);
  return {std::move(id), std::move(handle)};
}

}  // namespace

Token::Token(std::unique_ptr<internal::Module> module,
             std::unique_ptr<internal::SessionPool> pool, ImportMethod method)
    : module_(std::move(module)),
      pool_(std::move(pool)),
      import_method_(method) {}

Token::~Token() = default;

Result<std::unique_ptr<Token>> Token::Open(const TokenOptions& options) {
  RETURN_IF_ERROR(internal::CheckTokenLabel(options.token_label));
  if (options.pin.empty()) return InvalidArgumentError("token PIN is empty");
  ASSIGN_OR_RETURN(std::unique_ptr<internal::Module> module,
                   internal::Module::Load(options.module_path));
  ASSIGN_OR_RETURN(CK_SLOT_ID slot, module->FindToken(options.token_label));
  ImportMethod method = options.import_method;
  if (method == ImportMethod::kAuto) {
    method = module->HasMechanism(slot, CKM_AES_KEY_WRAP_PAD, CKF_UNWRAP)
                 ? ImportMethod::kUnwrap
                 : ImportMethod::kCreateObject;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<internal::SessionPool> pool,
                   internal::SessionPool::Create(module->fn(), slot,
                                                 options.pin.RevealSecret(),
                                                 options.max_sessions));
  return std::unique_ptr<Token>(
      new Token(std::move(module), std::move(pool), method));
}

Result<Token::KeyObjects> Token::Find(Session& session,
                                      std::string_view handle) {
  ASSIGN_OR_RETURN(Bytes id, ParseHandle(handle));
  const std::string key = HexEncode(id);  // Canonical (lower-case) form.
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    generation = forgotten_;
  }
  ASSIGN_OR_RETURN(
      std::vector<CK_OBJECT_HANDLE> priv,
      session.FindObjects(
          {AttrValue(CKA_CLASS, kPrivateKeyClass), AttrBytes(CKA_ID, id)}, 2));
  if (priv.empty()) return KeyNotFound(handle);
  if (priv.size() > 1) {
    return InternalError("the token holds two private keys with id " + key);
  }
  ASSIGN_OR_RETURN(
      std::vector<CK_OBJECT_HANDLE> pub,
      session.FindObjects(
          {AttrValue(CKA_CLASS, kPublicKeyClass), AttrBytes(CKA_ID, id)}, 1));
  ASSIGN_OR_RETURN(Bytes modulus, session.GetAttribute(priv[0], CKA_MODULUS));
  size_t size = modulus.size();
  for (uint8_t b : modulus) {
    if (b != 0) break;
    --size;
  }
  KeyObjects objects{priv[0], pub.empty() ? CK_INVALID_HANDLE : pub[0], size};
  std::lock_guard<std::mutex> lock(mu_);
  // A Destroy that ran meanwhile may have removed these objects; then they
  // are returned (the operation fails on them) but not remembered.
  if (forgotten_ == generation) cache_[key] = objects;
  return objects;
}

Status Token::KeyNotFound(std::string_view handle) {
  return NotFoundError("HSM key " + std::string(handle) +
                       " is not in the token");
}

void Token::Forget(std::string_view handle) {
  Bytes id;
  if (!HexDecode(handle, &id)) return;
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(HexEncode(id));
  ++forgotten_;
}

Result<std::string> Token::GenerateRsa(int bits) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return InvalidArgumentError("RSA key size must be 2048, 3072 or 4096");
  }
  auto [id, handle] = NewId();
  const CK_ULONG modulus_bits = static_cast<CK_ULONG>(bits);
  std::vector<CK_ATTRIBUTE> pub = PublicKeyTemplate(id, handle);
  pub.push_back(AttrValue(CKA_MODULUS_BITS, modulus_bits));
  pub.push_back(AttrBytes(CKA_PUBLIC_EXPONENT, kF4));
  std::vector<CK_ATTRIBUTE> priv = PrivateKeyTemplate(id, handle);
  CK_MECHANISM mechanism{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};

  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  CK_OBJECT_HANDLE pub_object = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE priv_object = CK_INVALID_HANDLE;
  CK_RV rv = session.Check(session.fn()->C_GenerateKeyPair(
      session.get(), &mechanism, pub.data(), pub.size(), priv.data(),
      priv.size(), &pub_object, &priv_object));
  if (rv != CKR_OK) return CkError("C_GenerateKeyPair", rv);
  std::lock_guard<std::mutex> lock(mu_);
  cache_[handle] = {priv_object, pub_object, static_cast<size_t>(bits) / 8};
  return handle;
}

Result<std::string> Token::ImportRsa(const crypto::RsaPrivateKey& key) {
  auto [id, handle] = NewId();
  const crypto::RsaPublicKey public_key = key.PublicKey();
  const Bytes n = public_key.modulus();
  const Bytes e = public_key.public_exponent();

  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  ASSIGN_OR_RETURN(CK_OBJECT_HANDLE priv_object,
                   import_method_ == ImportMethod::kUnwrap
                       ? ImportByUnwrap(session, id, key)
                       : ImportByCreateObject(session, id, key));
  ObjectGuard priv_guard(session, priv_object);

  std::vector<CK_ATTRIBUTE> pub = PublicKeyTemplate(id, handle);
  pub.push_back(AttrBytes(CKA_MODULUS, n));
  pub.push_back(AttrBytes(CKA_PUBLIC_EXPONENT, e));
  CK_OBJECT_HANDLE pub_object = CK_INVALID_HANDLE;
  CK_RV rv = session.Check(session.fn()->C_CreateObject(
      session.get(), pub.data(), pub.size(), &pub_object));
  if (rv != CKR_OK) return CkError("C_CreateObject (public key)", rv);
  priv_guard.Release();
  std::lock_guard<std::mutex> lock(mu_);
  cache_[handle] = {priv_object, pub_object, n.size()};
  return handle;
}

Result<unsigned long> Token::ImportByUnwrap(Session& session, ByteView id,
                                            const crypto::RsaPrivateKey& key) {
  CK_FUNCTION_LIST* fn = session.fn();
  // A one-use AES key that exists in the token only as a session object
  // (gone when the session closes, destroyed below in any case) and can do
  // nothing but unwrap.
  crypto::SecretBytes kek = crypto::NewAes256Key();
  std::vector<CK_ATTRIBUTE> kek_template = {
      AttrValue(CKA_CLASS, kSecretKeyClass),
      AttrValue(CKA_KEY_TYPE, kAesKeyType),
      AttrValue(CKA_TOKEN, kFalse),
      AttrValue(CKA_PRIVATE, kTrue),
      AttrValue(CKA_SENSITIVE, kTrue),
      AttrValue(CKA_EXTRACTABLE, kFalse),
      AttrValue(CKA_UNWRAP, kTrue),
      AttrValue(CKA_WRAP, kFalse),
      AttrValue(CKA_ENCRYPT, kFalse),
      AttrValue(CKA_DECRYPT, kFalse),
      AttrBytes(CKA_VALUE, kek.RevealSecret()),
  };
  CK_OBJECT_HANDLE kek_object = CK_INVALID_HANDLE;
  CK_RV rv = session.Check(fn->C_CreateObject(
      session.get(), kek_template.data(), kek_template.size(), &kek_object));
  if (rv != CKR_OK) return CkError("C_CreateObject (unwrapping key)", rv);
  ObjectGuard kek_guard(session, kek_object);

  ASSIGN_OR_RETURN(crypto::SecretBytes pkcs8, key.ToPkcs8Der());
  ASSIGN_OR_RETURN(Bytes wrapped, internal::AesKeyWrapPad(kek, pkcs8));
  const std::string label = HexEncode(id);
  std::vector<CK_ATTRIBUTE> templ = PrivateKeyTemplate(id, label);
  CK_MECHANISM mechanism{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  rv = session.Check(fn->C_UnwrapKey(session.get(), &mechanism, kek_object,
                                     wrapped.data(), wrapped.size(),
                                     templ.data(), templ.size(), &object));
  if (rv != CKR_OK) return CkError("C_UnwrapKey (private key)", rv);
  return object;
}

Result<unsigned long> Token::ImportByCreateObject(
    Session& session, ByteView id, const crypto::RsaPrivateKey& key) {
  ASSIGN_OR_RETURN(crypto::RsaPrivateComponents c,
                   internal::PrivateComponents(key));
  const std::string label = HexEncode(id);
  std::vector<CK_ATTRIBUTE> templ = PrivateKeyTemplate(id, label);
  templ.push_back(AttrBytes(CKA_MODULUS, c.n));
  templ.push_back(AttrBytes(CKA_PUBLIC_EXPONENT, c.e));
  templ.push_back(AttrBytes(CKA_PRIVATE_EXPONENT, c.d.RevealSecret()));
  templ.push_back(AttrBytes(CKA_PRIME_1, c.p.RevealSecret()));
  templ.push_back(AttrBytes(CKA_PRIME_2, c.q.RevealSecret()));
  templ.push_back(AttrBytes(CKA_EXPONENT_1, c.dp.RevealSecret()));
  templ.push_back(AttrBytes(CKA_EXPONENT_2, c.dq.RevealSecret()));
  templ.push_back(AttrBytes(CKA_COEFFICIENT, c.qi.RevealSecret()));
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  CK_RV rv = session.Check(session.fn()->C_CreateObject(
      session.get(), templ.data(), templ.size(), &object));
  if (rv != CKR_OK) return CkError("C_CreateObject (private key)", rv);
  return object;
}

Result<crypto::RsaPublicKey> Token::PublicKey(std::string_view handle) {
  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  ASSIGN_OR_RETURN(KeyObjects key, Find(session, handle));
  // Modulus and exponent are public attributes of either object.
  const CK_OBJECT_HANDLE object =
      key.public_key != CK_INVALID_HANDLE ? key.public_key : key.private_key;
  Result<Bytes> n = session.GetAttribute(object, CKA_MODULUS);
  Result<Bytes> e = n.ok() ? session.GetAttribute(object, CKA_PUBLIC_EXPONENT)
                           : Result<Bytes>(n.status());
  if (!e.ok()) {
    if (e.status().code() != StatusCode::kNotFound) return e.status();
    // CKR_OBJECT_HANDLE_INVALID: destroyed behind our back.
    Forget(handle);
    return KeyNotFound(handle);
  }
  return crypto::RsaPublicKey::FromComponents(*n, *e);
}

Status Token::Destroy(std::string_view handle) {
  ASSIGN_OR_RETURN(Bytes id, ParseHandle(handle));
  ASSIGN_OR_RETURN(Session session, pool_->Acquire());
  std::vector<CK_OBJECT_HANDLE> objects;
  for (const CK_OBJECT_CLASS& object_class :
       {kPrivateKeyClass, kPublicKeyClass}) {
    ASSIGN_OR_RETURN(
        std::vector<CK_OBJECT_HANDLE> found,
        session.FindObjects(
            {AttrValue(CKA_CLASS, object_class), AttrBytes(CKA_ID, id)}, 4));
    objects.insert(objects.end(), found.begin(), found.end());
  }
  if (objects.empty()) return KeyNotFound(handle);
  // Forgotten before and after, so that no concurrent Find can leave the
  // destroyed objects in the cache (see Find).
  Forget(handle);
  Status status = Status::Ok();
  for (CK_OBJECT_HANDLE object : objects) {
    CK_RV rv =
        session.Check(session.fn()->C_DestroyObject(session.get(), object));
    if (rv != CKR_OK && status.ok()) status = CkError("C_DestroyObject", rv);
  }
  Forget(handle);
  return status;
}

}  // namespace atrest::hsm
