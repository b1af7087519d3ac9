// Internal to vault/: the state VaultService's two source files share.
#ifndef ATREST_VAULT_VAULT_IMPL_H_
#define ATREST_VAULT_VAULT_IMPL_H_

#include <condition_variable>
#include <deque>
#include <list>
#include <thread>

#include "vault/audit_writer.h"
#include "vault/vault_service.h"

namespace atrest::vault {

// Key Vault errors: `reason` is "code" or "code/innererror".
Status KvError(StatusCode code, std::string reason, std::string message);

// One data-plane call's view of its vault, after authorization.
struct VaultContext {
  store::Vault row;
  VaultProperties properties;
};

// What the data plane asks an access policy for (lower case), and the
// RBAC family of that permission.
enum class KeyPermissionFamily { kRead, kCrypto, kManage };
struct Permission {
  const char* name;         // "get", "unwrapkey", ...
  const char* data_action;  // "Microsoft.KeyVault/vaults/keys/read", ...
  KeyPermissionFamily family;
};

// A key version a key operation may use: authorized, found, enabled, inside
// nbf/exp and with the operation in its key_ops.
struct UsableKey {
  VaultContext ctx;
  store::VaultKeyVersion version;
};

enum class CryptoOp { kEncrypt, kDecrypt, kWrap, kUnwrap };

class VaultService::Impl {
 public:
  Impl(store::Store& store, env::Env& env, resources::ResourceManager& rm,
       hsm::Token* token, EventBus& events, VaultServiceOptions options,
       std::unique_ptr<crypto::Aead> master_seal,
       std::unique_ptr<crypto::Aead> backup_seal)
      : store_(store),
        env_(env),
        resources_(rm),
        token_(token),
        events_(events),
        options_(options),
        master_seal_(std::move(master_seal)),
        backup_seal_(std::move(backup_seal)),
        audit_(store, env.clock(), options_.audit) {}

  int64_t Now() const;

  // ---- Shared helpers (vault_service.cc) ----
  Result<VaultInfo> Load(const std::string& name);
  Result<VaultInfo> ToInfo(store::Vault row);
  // The row's parsed properties, parsed once per distinct properties_json
  // (the data plane needs them on every call).
  Result<VaultProperties> Properties(const store::Vault& row);
  std::string StoredProperties(const VaultProperties& p,
                               const std::map<std::string, std::string>& tags);
  Status AuthorizeVault(const identity::Caller& caller, const VaultRef& ref,
                        resources::Action action);
  Result<std::shared_ptr<const crypto::Aead>> MasterKey(
      const store::Vault& vault);
  // Destroys HSM objects of every version of the key; then forgets cached
  // software keys of it. The rows are deleted by the caller.
  void ReleaseKeyMaterial(const std::vector<store::VaultKeyVersion>& versions);
  Status PurgeVaultNow(const store::Vault& vault);
  Status PurgeKeyNow(const store::Vault& vault, const store::VaultKey& key);

  // ---- Data plane (key_service.cc) ----
  // Finds the live vault, checks tenant, firewall and the permission.
  Result<VaultContext> Begin(const DataCaller& caller, const std::string& vault,
                             const Permission& permission);
  // Runs `fn` and appends the audit event whatever its outcome; except that
  // a non-empty `key` outside Key Vault's name rules (1-127 letters, digits
  // and '-') is refused with BadParameter before `fn` runs and is not
  // audited, so that no such name is ever stored.
  template <typename T, typename Fn>
  Result<T> Audited(const DataCaller& caller, const std::string& vault,
                    const char* operation, const std::string& key, Fn&& fn);
  Result<KeyBundle> Bundle(const VaultContext& ctx, store::VaultKey key,
                           store::VaultKeyVersion version);
  Result<store::VaultKeyVersion> ResolveVersion(store::Transaction& tx,
                                                const VaultContext& ctx,
                                                const std::string& name,
                                                const std::string& version,
                                                store::VaultKey* key_out);
  // A new version of `name` from fresh or imported material.
  Result<KeyBundle> AddVersion(const VaultContext& ctx, const std::string& name,
                               const std::string& kty, int bits,
                               const crypto::RsaPrivateKey* imported,
                               KeyAttributes attributes, bool create_key_row,
                               bool allow_existing);
  Result<std::shared_ptr<const crypto::RsaPrivateKey>> SoftwareKey(
      const VaultContext& ctx, const store::VaultKeyVersion& v);
  Result<KeyBundle> RotateNow(const VaultContext& ctx, const std::string& name);
  std::string NewVersionId();
  // Begin + ResolveVersion + the key-state checks every key operation
  // makes; `version_out` is set as soon as the version is known (audit).
  Result<UsableKey> Usable(const DataCaller& caller, const KeyRef& ref,
                           const Permission& permission, const char* operation,
                           std::string& version_out);
  // A page of the vault's live (or deleted) keys after the name `after`.
  Result<KeyPage> KeysPage(const VaultContext& ctx, bool deleted,
                           const std::string& after, size_t max);
  Result<KeyOperationResult> Cipher(const DataCaller& caller, const KeyRef& ref,
                                    const std::string& alg, ByteView input,
                                    CryptoOp op, std::string& version_out);

  store::Store& store_;
  env::Env& env_;
  resources::ResourceManager& resources_;
  hsm::Token* token_;
  EventBus& events_;
  const VaultServiceOptions options_;
  const std::unique_ptr<crypto::Aead> master_seal_;
  const std::unique_ptr<crypto::Aead> backup_seal_;
  AuditWriter audit_;

  std::mutex mu_;
  // Unsealed vault master keys by lower-case vault name; guarded by mu_.
  std::map<std::string, std::shared_ptr<const crypto::Aead>> master_keys_;
  // Unsealed software keys by "<vault>/<name>/<version>" (lower case);
  // guarded by mu_. Cleared whole when full: simple, and rare.
  std::map<std::string, std::shared_ptr<const crypto::RsaPrivateKey>>
      key_cache_;
  // Lower-case vault name -> (properties_json, parsed); guarded by mu_.
  // Keyed on the stored text, so a change to the vault is never missed.
  static constexpr size_t kMaxCachedVaults = 1024;
  std::map<std::string, std::pair<std::string, VaultProperties>> properties_;
};

std::string Lower(std::string s);
std::string KeyCacheId(const std::string& vault, const std::string& name,
                       const std::string& version);

}  // namespace atrest::vault

#endif  // ATREST_VAULT_VAULT_IMPL_H_
