// Token: RSA keys that live inside a PKCS#11 token and never leave it.
//
// The built-in vault's RSA-HSM keys (DESIGN.md §4) are made here: generated
// in the token (or brought in once by ImportRsa) as non-extractable,
// sensitive, private token objects, and used only through the token's own
// operations. The caller stores the opaque handle GenerateRsa/ImportRsa
// return (32 hex characters, the keys' CKA_ID) and passes it back.
//
// By default the token is a SoftHSM2 token that PrepareSoftHsm
// (hsm/softhsm.h) makes under the data directory; any PKCS#11 module can be
// used instead by giving its path and a token label and PIN. docs/hsm.md
// describes both, and why RSA-OAEP-256 is decoded on the host.
//
// Errors: Decrypt reports every failure that involves the ciphertext as
// crypto::DecryptionFailed(), whatever the token said, so that padding
// errors cannot be told apart. An unknown handle is NotFound, a malformed one
// InvalidArgument; other token failures carry the CKR_* name in the message
// (never the PIN or key material).
//
// Thread safety: all methods may be called from several threads at once;
// they share a small pool of logged-in sessions. PKCS#11 allows one
// initialisation of a module per process, so open at most one Token per
// module and process.
#ifndef ATREST_HSM_TOKEN_H_
#define ATREST_HSM_TOKEN_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/rsa.h"
#include "crypto/secret_bytes.h"

namespace atrest::hsm {

namespace internal {
class Module;
class Session;
class SessionPool;
}  // namespace internal

// How ImportRsa brings a private key into the token.
enum class ImportMethod {
  // kUnwrap when the token can unwrap with CKM_AES_KEY_WRAP_PAD, otherwise
  // kCreateObject. SoftHSM2 can, so it gets kUnwrap.
  kAuto,
  // The PKCS#8 key is wrapped on the host under a fresh AES-256 key that
  // exists in the token only as a session object, and enters with
  // C_UnwrapKey. Works with tokens that refuse plaintext private keys.
  kUnwrap,
  // The key's components are given to C_CreateObject as attributes.
  kCreateObject,
};

struct TokenOptions {
  // The PKCS#11 module (a shared object), loaded with dlopen.
  std::string module_path;
  // The label of an initialised token in that module (1-32 characters).
  std::string token_label;
  // The user PIN. Used once, to log in, and not kept; never logged or put in
  // an error message.
  crypto::SecretBytes pin;
  // At most this many sessions (and so concurrent token operations).
  size_t max_sessions = 8;
  ImportMethod import_method = ImportMethod::kAuto;
};

class Token {
 public:
  // Loads the module, finds the token by label and logs in. NotFound when no
  // token has the label; PermissionDenied ("C_Login: CKR_PIN_INCORRECT") for
  // a wrong PIN; FailedPrecondition when the module cannot be loaded or is
  // already initialised in this process.
  static Result<std::unique_ptr<Token>> Open(const TokenOptions& options);

  // Logs out, closes the sessions, C_Finalize and dlclose.
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // A new RSA key pair of `bits` (2048, 3072 or 4096), exponent 65537, made
  // in the token as token objects. The private key is CKA_PRIVATE,
  // CKA_SENSITIVE and not CKA_EXTRACTABLE. Returns the handle.
  Result<std::string> GenerateRsa(int bits);

  // Brings `key` into the token as a non-extractable, sensitive private key
  // plus its public key, by `import_method()`. Returns the handle. The
  // caller still holds `key` and should drop it.
  Result<std::string> ImportRsa(const crypto::RsaPrivateKey& key);

  Result<crypto::RsaPublicKey> PublicKey(std::string_view handle);

  // RSA-OAEP with CKM_RSA_PKCS_OAEP (SHA-1); RSA1_5 with CKM_RSA_PKCS;
  // RSA-OAEP-256 as a raw private operation (CKM_RSA_X_509) in the token
  // followed by constant-time OAEP decoding on the host.
  Result<crypto::SecretBytes> Decrypt(std::string_view handle,
                                      crypto::RsaPadding padding,
                                      ByteView ciphertext);

  // Signs a digest the caller computed: RS* with CKM_RSA_PKCS over a
  // DigestInfo built on the host, PS* with CKM_RSA_PKCS_PSS (MGF1 with the
  // same hash, salt length = digest length). InvalidArgument when the digest
  // size does not match `alg`.
  Result<Bytes> Sign(std::string_view handle, crypto::RsaSignatureAlgorithm alg,
                     ByteView digest);

  // Destroys both objects of the key. NotFound when neither exists.
  Status Destroy(std::string_view handle);

  // Does what an attacker holding the PIN would: reads CKA_PRIVATE_EXPONENT
  // and asks C_WrapKey to export the private key under a session AES key.
  // For tests and self-checks. Never OK: PermissionDenied naming the
  // refusals (CKR_ATTRIBUTE_SENSITIVE, CKR_KEY_UNEXTRACTABLE) when the key
  // is protected; Internal if the token would give the key out; NotFound for
  // an unknown handle.
  Status TryExportPrivateKey(std::string_view handle);

  // The method ImportRsa uses (never kAuto).
  ImportMethod import_method() const { return import_method_; }

 private:
  // The objects of one key. CK_OBJECT_HANDLE values; the PKCS#11 types stay
  // out of this header.
  struct KeyObjects {
    unsigned long private_key = 0;
    unsigned long public_key = 0;  // 0 when the token has no public object.
    size_t modulus_size = 0;       // Bytes.
  };

  Token(std::unique_ptr<internal::Module> module,
        std::unique_ptr<internal::SessionPool> pool, ImportMethod method);

  // The key behind `handle`, from the cache or looked up in the token.
  Result<KeyObjects> Find(internal::Session& session, std::string_view handle);
  // Drops `handle` from the cache.
  void Forget(std::string_view handle);
  static Status KeyNotFound(std::string_view handle);
  // Create the private key object for ImportRsa; return its handle.
  Result<unsigned long> ImportByUnwrap(internal::Session& session, ByteView id,
                                       const crypto::RsaPrivateKey& key);
  Result<unsigned long> ImportByCreateObject(internal::Session& session,
                                             ByteView id,
                                             const crypto::RsaPrivateKey& key);

  // module_ comes before pool_ so that it is destroyed after it: the pool's
  // sessions close before the module is finalised.
  const std::unique_ptr<internal::Module> module_;
  const std::unique_ptr<internal::SessionPool> pool_;
  const ImportMethod import_method_;

  // Object handles stay valid for as long as the module is initialised, so
  // a key is looked up once. Only this Token destroys objects, and it
  // forgets them when it does; an operation that finds a handle gone
  // (destroyed by someone else) forgets it too.
  std::mutex mu_;
  std::map<std::string, KeyObjects> cache_;  // By handle; guarded by mu_.
  uint64_t forgotten_ = 0;  // Bumped by Forget(); guarded by mu_.
};

}  // namespace atrest::hsm

#endif  // ATREST_HSM_TOKEN_H_
