// AccountKeys: the per-account part of the key hierarchy (DESIGN.md §3).
//
// Each account has one account encryption key (AEK, random AES-256). It is
// stored only wrapped, under either
//  * the service key (service-managed, the default): AES-256-GCM under a
//    key derived from the service root key, associated data = account uid;
//  * a customer-managed key (CMK): an RSA key in a key vault, through the
//    vault's wrapKey/unwrapKey (RSA-OAEP-256) called over HTTPS with a token
//    of the account's system-assigned managed identity
//    (keys/keyvault_client.h). The built-in vault is reached the same way.
// Changing the KEK (enable or disable CMK, new version, other key, other
// vault) unwraps the AEK with the current KEK and wraps it with the new one;
// no object is re-encrypted.
//
// Key state: an unwrapped AEK is cached for at most `kek_recheck`. Every
// built-in vault event (key, version, policy, firewall change) that may
// concern an account drops its cached AEK at once, on the publishing thread
// (so the next data operation asks the vault), and rechecks it on a worker
// thread; a bounded poll rechecks every CMK account each
// `kek_recheck`, and moves versionless references to the newest version.
// A failed unwrap makes the account's state "inaccessible" (with the reason
// and since when) until a later check succeeds.
//
// Errors of data operations while inaccessible: PermissionDenied with
// reason "CustomerManagedKeyInaccessible" and a message naming the problem
// the vault reported.
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_ACCOUNTS_ACCOUNT_KEYS_H_
#define ATREST_ACCOUNTS_ACCOUNT_KEYS_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "crypto/aead.h"
#include "env/env.h"
#include "identity/identity_service.h"
#include "keys/keyvault_client.h"
#include "keys/root_key.h"
#include "store/store.h"
#include "vault/events.h"
#include "vault/vault_service.h"

namespace atrest::accounts {

// properties.encryption of an account, as ARM spells it.
struct EncryptionSettings {
  static constexpr const char* kServiceManaged = "Microsoft.CognitiveServices";
  static constexpr const char* kCustomerManaged = "Microsoft.KeyVault";
  std::string key_source = kServiceManaged;
  std::string key_vault_uri;  // Normalised, no trailing slash.
  std::string key_name;
  std::string key_version;  // Empty: follow the newest version.
  std::string identity_client_id;

  bool customer_managed() const { return key_source == kCustomerManaged; }
  // Parses ARM's object; InvalidArgument naming the bad field.
  static Result<EncryptionSettings> FromArm(const nlohmann::json& j);
  nlohmann::json ToArm() const;
  friend bool operator==(const EncryptionSettings&,
                         const EncryptionSettings&) = default;
};

// The key state an account shows (properties.encryptionStatus).
struct KeyStatus {
  std::string state = "active";  // "active" or "inaccessible".
  std::string reason_code;       // Set when inaccessible.
  std::string reason;
  int64_t since = 0;         // When the state last changed.
  int64_t last_success = 0;  // Last time the KEK unwrapped the AEK.
  std::string key_version;   // CMK: the key version that wraps the AEK.

  nlohmann::json ToJson() const;
  static KeyStatus FromJson(std::string_view text);
};

// The AEK as stored: what wraps it and the wrapped bytes.
struct WrappedAek {
  std::string kek_json;
  Bytes wrapped;
  std::string key_version;  // CMK: the version that wrapped it.
};

struct AccountKeysOptions {
  std::chrono::seconds kek_recheck{300};
  // How the service reaches key vaults (CA files; its own vault hosts).
  net::HttpsOptions vault_https;
  // The only vaults the account identities' tokens go to. Vaults under its
  // built-in suffix ("<name>.vault.<domain>") are the built-in vault's, whose
  // ARM definition (region, permission model, firewall, recoverability) is
  // checked too. The default allows no vault.
  keys::VaultHosts vault_hosts;
};

class AccountKeys {
 public:
  // `vaults` and `events` may be null (no built-in vault).
  static Result<std::unique_ptr<AccountKeys>> Create(
      store::Store& store, env::Env& env, const keys::RootKey& root,
      identity::IdentityService& identity, vault::VaultService* vaults,
      vault::EventBus* events, AccountKeysOptions options);
  ~AccountKeys();

  // A fresh AEK for a new account `uid`, wrapped by the service key.
  Result<WrappedAek> NewServiceManaged(const std::string& uid);

  // Checks every rule for using `target` with `account` (in order: key URI
  // and an allowed vault host, vault reachable and asking for Key Vault's
  // audience, same tenant, same region, soft delete and purge
  // protection, access policies rather than RBAC, firewall, system-assigned
  // identity, get/wrapKey/unwrapKey granted, key type and size and state)
  // and returns the AEK wrapped under it. Each rule has its own reason
  // (an ARM error code). The caller stores the result in one row update.
  // `tenant_id` is the account's tenant (its subscription's).
  Result<WrappedAek> Rewrap(const store::Account& account,
                            const std::string& tenant_id,
                            const EncryptionSettings& target);

  // The account's AEK for encrypting and decrypting its objects.
  Result<std::shared_ptr<const crypto::Aead>> Aek(
      const store::Account& account);

  // The status as last seen (from memory, else the row).
  KeyStatus StatusOf(const store::Account& account);

  // Drops the cached AEK of `uid` and checks it again now (synchronously).
  void Recheck(const std::string& uid);
  // Forgets `uid` (a deleted account).
  void Forget(const std::string& uid);
  // Rechecks every customer-managed account (the bounded poll).
  void RecheckAll();

  // Called whenever an account's key state changes between active and
  // inaccessible, on the thread that noticed, after the change is recorded.
  // Listeners must not block or call back into AccountKeys. Returns an id
  // for RemoveStateListener, which returns once no call of that listener is
  // running.
  using StateListener =
      std::function<void(const std::string& uid, const KeyStatus& status)>;
  int AddStateListener(StateListener listener);
  void RemoveStateListener(int id);

 private:
  struct Entry {
    std::shared_ptr<const crypto::Aead> aek;
    env::MonoTime fetched{};
    KeyStatus status;
    bool loaded = false;
    // Lower-case name of the built-in vault whose key wraps the AEK; empty
    // for service-managed and external keys.
    std::string builtin_vault;
  };
  AccountKeys(store::Store& store, env::Env& env,
              std::unique_ptr<crypto::Aead> service_kek,
              identity::IdentityService& identity, vault::VaultService* vaults,
              vault::EventBus* events, AccountKeysOptions options);

  // Unwraps the stored AEK; follows a versionless key to its newest
  // version (rewrapping and storing) when `follow_versions`.
  Result<crypto::SecretBytes> Unwrap(const store::Account& account,
                                     bool follow_versions);
  Result<crypto::SecretBytes> UnwrapStored(const store::Account& account);
  // Wraps `aek` under `key` (its version, or the current one) and proves
  // the vault unwraps it again; returns the version used and the bytes.
  // Errors are the rule codes of Rewrap.
  Result<std::pair<keys::VaultKeyId, Bytes>> WrapAndProve(
      const keys::VaultKeyId& key, const crypto::SecretBytes& aek,
      const std::string& principal_id,
      const keys::KeyVaultClient::TokenSource& tokens);
  // A bearer-token source for the account's managed identity.
  keys::KeyVaultClient::TokenSource Tokens(const std::string& principal_id);
  // Records the outcome of a check; persists a change of state.
  void Record(const store::Account& account, const Status& outcome,
              std::shared_ptr<const crypto::Aead> aek,
              const std::string& key_version);
  void OnVaultEvent(const vault::VaultEvent& event);
  void WorkerLoop();
  int64_t Now() const;
  // The built-in vault's name when `vault_uri` is one of its vaults; empty
  // otherwise.
  std::string BuiltinVaultName(const std::string& vault_uri) const;

  store::Store& store_;
  env::Env& env_;
  const std::unique_ptr<crypto::Aead> service_kek_;
  identity::IdentityService& identity_;
  vault::VaultService* const vaults_;
  vault::EventBus* const events_;
  const AccountKeysOptions options_;
  keys::KeyVaultClient client_;
  uint64_t subscription_ = 0;

  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // By uid. Guarded by mu_.
  std::set<std::string> pending_vaults_;  // Guarded by mu_.
  // Held while listeners run, so that removing one waits for its calls.
  std::mutex listeners_mu_;
  std::map<int, StateListener> listeners_;  // Guarded by listeners_mu_.
  int next_listener_ = 0;                   // Guarded by listeners_mu_.
  bool stopping_ = false;                   // Guarded by mu_.
  std::condition_variable cv_;
  std::thread worker_;

  std::mutex token_mu_;
  struct CachedToken {
    std::string token;
    int64_t expires_on = 0;
  };
  std::map<std::string, CachedToken> tokens_;  // Guarded by token_mu_.
};

}  // namespace atrest::accounts

#endif  // ATREST_ACCOUNTS_ACCOUNT_KEYS_H_
