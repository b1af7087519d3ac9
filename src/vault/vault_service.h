// VaultService: the built-in key vault (DESIGN.md §4), both its management
// plane (Microsoft.KeyVault/vaults through ARM) and its keys data plane
// (reference/keyvault-api.md §3), with the rules of the real service:
// access policies or RBAC per operation, the firewall, soft delete and
// purge protection, rotation policies, backup and restore, RSA and RSA-HSM
// keys of 2048, 3072 and 4096 bits.
//
// Errors carry Key Vault's wire codes in Status::reason(), written
// "code" or "code/innererror" (e.g. "Forbidden/ForbiddenByPolicy",
// "KeyNotFound", "Conflict/ObjectIsDeletedButRecoverable"); management
// errors carry ARM codes ("VaultAlreadyExists", "AuthorizationFailed").
// Messages follow the real service's text where it is known and never hold
// key material or payload values.
//
// Every data-plane call is appended to the audit log, whatever its outcome
// (compactly and rate-limited for callers refused by authorization, refused
// with 503 "ServiceUnavailable" before it runs while the log's queue is
// full: vault/audit_writer.h), and every change is published on the
// EventBus after it commits. A call naming a key outside Key Vault's rules
// (1-127 letters, digits and '-') is refused with BadParameter before
// anything, the audit log included, sees the name.
//
// Key material: software keys are sealed by the vault's master key
// (AES-256-GCM, associated data = vault, key name and version); the master
// key is sealed by the service root key. RSA-HSM keys live in the PKCS#11
// token and only their handle is stored.
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_VAULT_VAULT_SERVICE_H_
#define ATREST_VAULT_VAULT_SERVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/aead.h"
#include "crypto/rsa.h"
#include "env/env.h"
#include "hsm/token.h"
#include "identity/identity_service.h"
#include "keys/root_key.h"
#include "resources/resource_manager.h"
#include "store/store.h"
#include "vault/audit_writer.h"
#include "vault/config.h"
#include "vault/events.h"

namespace atrest::vault {

// Where a vault lives in ARM.
struct VaultRef {
  std::string subscription_id;
  std::string resource_group;
  std::string name;
};
// "/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.KeyVault/vaults/<n>".
std::string VaultResourceId(const VaultRef& ref);

// A vault as the management plane shows it.
struct VaultInfo {
  store::Vault row;
  VaultProperties properties;
  std::map<std::string, std::string> tags;
};

// Who calls the data plane, and from where.
struct DataCaller {
  identity::Caller identity;
  std::string client_ip;
};

// A key version as the data plane shows it (KeyBundle).
struct KeyBundle {
  store::VaultKey key;
  store::VaultKeyVersion version;
  KeyAttributes attributes;
  crypto::RsaPublicKey public_key;
  std::string recovery_level;  // Of the vault.
  int recoverable_days = 0;
};

struct CreateKeyParams {
  std::string kty;  // "RSA" or "RSA-HSM"; others are refused.
  int key_size = 2048;
  std::optional<int64_t> public_exponent;  // Only 65537 is accepted.
  std::optional<std::vector<std::string>> key_ops;
  KeyAttributes attributes;  // key_ops and tags are taken from here too.
};

struct ImportKeyParams {
  bool hsm = false;  // "Hsm": true or key.kty "RSA-HSM".
  crypto::RsaPrivateComponents key;
  std::optional<std::vector<std::string>> key_ops;
  KeyAttributes attributes;
};

// Only the fields that are set change (KeyUpdateParameters).
struct UpdateKeyParams {
  std::optional<std::vector<std::string>> key_ops;
  std::optional<bool> enabled;
  std::optional<std::optional<int64_t>> not_before;  // nullopt inside = clear.
  std::optional<std::optional<int64_t>> expires;
  std::optional<std::map<std::string, std::string>> tags;
};

// What an encrypt, decrypt, wrap, unwrap or sign returns.
struct KeyOperationResult {
  std::string kid_version;  // The version that did it.
  Bytes value;
};

// A key (DESIGN.md §3 names it KEK) reference given by name and optionally
// version; an empty version means the latest one.
struct KeyRef {
  std::string vault;
  std::string name;
  std::string version;
};

struct VaultServiceOptions {
  // A page of ListKeys and friends returns at most this many items.
  size_t max_page = 25;
  // Software keys unsealed in memory, for speed; they are immutable, and
  // every call still checks the key's state in the store first.
  size_t key_cache_entries = 1024;
  // Told of every data-plane call once it ends: operation ("KeyUnwrap"),
  // result ("Success" or the error code) and duration, for /metrics. Must
  // be quick and thread-safe. May be empty.
  std::function<void(std::string_view operation, std::string_view result,
                     double seconds)>
      on_operation;
  // The audit log's queue and its limits for refused callers
  // (vault/audit_writer.h).
  AuditWriterOptions audit;
};

class VaultService {
 public:
  // `token` may be null: then RSA-HSM keys are refused.
  static Result<std::unique_ptr<VaultService>> Create(
      store::Store& store, env::Env& env, const keys::RootKey& root_key,
      resources::ResourceManager& resources, hsm::Token* token,
      EventBus& events, VaultServiceOptions options = {});
  ~VaultService();

  // ---- Management plane (ARM). Authorized with ResourceManager. ----

  struct PutVaultResult {
    VaultInfo vault;
    bool created = false;
  };
  // PUT: create, replace, or (create_mode "recover") recover a soft-deleted
  // vault of that name. `properties` is the ARM properties object.
  Result<PutVaultResult> PutVault(
      const identity::Caller& caller, const VaultRef& ref,
      const std::string& location,
      const std::map<std::string, std::string>& tags,
      const nlohmann::json& properties);
  // PATCH: only what `properties` and `tags` (when set) name changes.
  Result<VaultInfo> PatchVault(
      const identity::Caller& caller, const VaultRef& ref,
      const std::optional<std::map<std::string, std::string>>& tags,
      const nlohmann::json& properties);
  Result<VaultInfo> GetVault(const identity::Caller& caller,
                             const VaultRef& ref);
  // `resource_group` empty: the whole subscription.
  Result<std::vector<VaultInfo>> ListVaults(const identity::Caller& caller,
                                            const std::string& subscription_id,
                                            const std::string& resource_group);
  // Soft delete (vaults always have soft delete). NotFound when absent.
  Status DeleteVault(const identity::Caller& caller, const VaultRef& ref);
  Result<std::vector<VaultInfo>> ListDeletedVaults(
      const identity::Caller& caller, const std::string& subscription_id);
  Result<VaultInfo> GetDeletedVault(const identity::Caller& caller,
                                    const std::string& subscription_id,
                                    const std::string& location,
                                    const std::string& name);
  // Refused (Forbidden) under purge protection before its scheduled date.
  Status PurgeDeletedVault(const identity::Caller& caller,
                           const std::string& subscription_id,
                           const std::string& location,
                           const std::string& name);
  struct NameAvailability {
    bool available = true;
    std::string reason;  // "AccountNameInvalid" or "AlreadyExists".
    std::string message;
  };
  Result<NameAvailability> CheckNameAvailability(
      const identity::Caller& caller, const std::string& subscription_id,
      const std::string& name);
  // accessPolicies/{add|replace|remove}. Returns the vault's policies after.
  Result<std::vector<AccessPolicy>> UpdateAccessPolicies(
      const identity::Caller& caller, const VaultRef& ref,
      const std::string& operation_kind,
      const std::vector<AccessPolicy>& entries);
  // Soft-deletes every vault of a resource group (its deletion hook).
  Status DeleteVaultsInGroup(const std::string& subscription_id,
                             const std::string& resource_group);
  // The audit log of a vault, for callers who may read the vault.
  Result<std::vector<store::AuditEvent>> ReadAudit(
      const identity::Caller& caller, const VaultRef& ref, int64_t after_seq,
      size_t limit);

  // A live vault's definition, for another resource provider that checks
  // a vault it is asked to use (an AI account's customer-managed key: its
  // region, recoverability, permission model and firewall). No caller:
  // it reveals nothing that the data plane's challenge and answers do not,
  // and it grants no access. NotFound for no live vault of that name.
  Result<VaultInfo> DescribeVault(const std::string& name);

  // ---- Data plane (<vault>.vault.<domain>). ----

  // The tenant a vault's challenge names; NotFound for no live vault.
  Result<std::string> VaultTenant(const std::string& vault);

  Result<KeyBundle> CreateKey(const DataCaller& caller,
                              const std::string& vault, const std::string& name,
                              const CreateKeyParams& params);
  Result<KeyBundle> ImportKey(const DataCaller& caller,
                              const std::string& vault, const std::string& name,
                              const ImportKeyParams& params);
  Result<KeyBundle> GetKey(const DataCaller& caller, const KeyRef& ref);
  struct KeyPage {
    std::vector<KeyBundle> items;
    std::string next;  // Opaque continuation; empty at the end.
  };
  // Latest version of every live key.
  Result<KeyPage> ListKeys(const DataCaller& caller, const std::string& vault,
                           const std::string& after, size_t max);
  Result<KeyPage> ListKeyVersions(const DataCaller& caller,
                                  const std::string& vault,
                                  const std::string& name,
                                  const std::string& after, size_t max);
  Result<KeyBundle> UpdateKey(const DataCaller& caller, const KeyRef& ref,
                              const UpdateKeyParams& params);
  // Soft delete (or purge at once when the vault has no soft delete);
  // returns the latest version as it was.
  Result<KeyBundle> DeleteKey(const DataCaller& caller,
                              const std::string& vault,
                              const std::string& name);
  Result<KeyBundle> GetDeletedKey(const DataCaller& caller,
                                  const std::string& vault,
                                  const std::string& name);
  Result<KeyPage> ListDeletedKeys(const DataCaller& caller,
                                  const std::string& vault,
                                  const std::string& after, size_t max);
  Result<KeyBundle> RecoverDeletedKey(const DataCaller& caller,
                                      const std::string& vault,
                                      const std::string& name);
  Status PurgeDeletedKey(const DataCaller& caller, const std::string& vault,
                         const std::string& name);
  Result<Bytes> BackupKey(const DataCaller& caller, const std::string& vault,
                          const std::string& name);
  Result<KeyBundle> RestoreKey(const DataCaller& caller,
                               const std::string& vault, ByteView blob);
  Result<KeyBundle> RotateKey(const DataCaller& caller,
                              const std::string& vault,
                              const std::string& name);
  Result<RotationPolicy> GetRotationPolicy(const DataCaller& caller,
                                           const std::string& vault,
                                           const std::string& name);
  Result<RotationPolicy> SetRotationPolicy(const DataCaller& caller,
                                           const std::string& vault,
                                           const std::string& name,
                                           const RotationPolicy& policy);

  // alg: RSA-OAEP, RSA-OAEP-256, RSA1_5.
  Result<KeyOperationResult> Encrypt(const DataCaller& caller,
                                     const KeyRef& ref, const std::string& alg,
                                     ByteView plaintext);
  Result<KeyOperationResult> Decrypt(const DataCaller& caller,
                                     const KeyRef& ref, const std::string& alg,
                                     ByteView ciphertext);
  Result<KeyOperationResult> WrapKey(const DataCaller& caller,
                                     const KeyRef& ref, const std::string& alg,
                                     ByteView key);
  Result<KeyOperationResult> UnwrapKey(const DataCaller& caller,
                                       const KeyRef& ref,
                                       const std::string& alg,
                                       ByteView wrapped);
  // alg: RS256/384/512, PS256/384/512, over a digest.
  Result<KeyOperationResult> Sign(const DataCaller& caller, const KeyRef& ref,
                                  const std::string& alg, ByteView digest);
  Result<bool> Verify(const DataCaller& caller, const KeyRef& ref,
                      const std::string& alg, ByteView digest,
                      ByteView signature);
  Result<Bytes> RandomBytes(const DataCaller& caller, const std::string& vault,
                            int count);

  // ---- Time-driven work. ----

  // Purges soft-deleted vaults and keys whose date has come, and rotates
  // keys whose rotation policy says so. The server calls it periodically;
  // tests call it after moving the fake clock. Returns how many things it
  // did. A vault or key it cannot handle does not stop the rest: the first
  // such error is returned after everything else was done, and that item
  // is tried again on the next call.
  Result<int> RunMaintenance();

 private:
  class Impl;
  explicit VaultService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atrest::vault

#endif  // ATREST_VAULT_VAULT_SERVICE_H_
