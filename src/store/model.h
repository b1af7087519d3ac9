// Plain rows of the metadata store (DESIGN.md §5): the identity and
// management entities. These are values with no SQL in them; every Store
// implementation reads and writes exactly these fields.
//
// Conventions:
//  * Ids are strings. GUID-shaped ids (tenant, subscription, objectId, appId,
//    key ids, role assignment ids) are stored exactly as given; callers pass
//    them in lower case so that lookups match.
//  * Names that ARM treats case-insensitively (resource group names, role
//    assignment scopes) are stored as given and matched ignoring ASCII case.
//  * Times are UnixSeconds (seconds since 1970-01-01T00:00:00Z, UTC), the
//    unit of JWT iat/nbf/exp; the store never reads a clock itself.
//
// Thread safety: plain values.
#ifndef ATREST_STORE_MODEL_H_
#define ATREST_STORE_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace atrest::store {

using UnixSeconds = int64_t;

// A directory (Entra tenant).
struct Tenant {
  std::string id;  // GUID.
  std::string display_name;
  UnixSeconds created_at = 0;

  friend bool operator==(const Tenant&, const Tenant&) = default;
};

// ARM subscription states, spelled as ARM spells them on the wire.
enum class SubscriptionState {
  kEnabled,
  kWarned,
  kPastDue,
  kDisabled,
  kDeleted
};
std::string_view SubscriptionStateName(SubscriptionState state);
// Inverse of SubscriptionStateName; nullopt for an unknown name.
std::optional<SubscriptionState> ParseSubscriptionState(std::string_view name);

// A subscription; belongs to exactly one tenant.
struct Subscription {
  std::string id;  // subscriptionId (GUID), also its ARM name.
  std::string tenant_id;
  std::string display_name;
  SubscriptionState state = SubscriptionState::kEnabled;
  UnixSeconds created_at = 0;
  // The Microsoft.Subscription alias it was created under, unique in its
  // tenant; empty when it has none (bootstrap, `atrest ad tenant create`, or
  // after the alias was deleted).
  std::string alias;

  friend bool operator==(const Subscription&, const Subscription&) = default;
};

// A resource group. Its key is (subscription_id, name ignoring case).
struct ResourceGroup {
  std::string subscription_id;
  std::string name;      // As the creator spelled it.
  std::string location;  // Immutable after creation.
  std::map<std::string, std::string> tags;
  UnixSeconds created_at = 0;

  friend bool operator==(const ResourceGroup&, const ResourceGroup&) = default;
};

enum class PrincipalKind { kUser, kServicePrincipal, kManagedIdentity };
std::string_view PrincipalKindName(PrincipalKind kind);
std::optional<PrincipalKind> ParsePrincipalKind(std::string_view name);

// Anything a token can be issued to. Which optional field is set depends on
// `kind`, and the store enforces it:
//  * kUser: user_principal_name (e.g. "alice@contoso.example"), unique per
//    tenant.
//  * kServicePrincipal: app_id (the OAuth client_id), unique per tenant.
//  * kManagedIdentity: resource_id, the ARM id of the resource the identity
//    belongs to; unique over the whole store.
// The other two must be empty.
struct Principal {
  std::string object_id;  // GUID; the token's oid claim.
  std::string tenant_id;
  PrincipalKind kind = PrincipalKind::kUser;
  std::string display_name;
  std::string user_principal_name;
  std::string app_id;
  std::string resource_id;
  UnixSeconds created_at = 0;

  friend bool operator==(const Principal&, const Principal&) = default;
};

// A client secret of a service principal. The store keeps only the slow,
// salted hash string computed by the identity service (an opaque, self-
// describing string such as a PHC string); the secret itself never reaches
// the store.
struct ClientSecret {
  std::string principal_id;  // object_id of a kServicePrincipal.
  std::string key_id;        // GUID, unique per principal.
  std::string secret_hash;   // Opaque; never logged or put in messages.
  UnixSeconds not_before = 0;
  UnixSeconds expires_at = 0;

  friend bool operator==(const ClientSecret&, const ClientSecret&) = default;
};

// An RBAC role assignment: `principal_id` holds `role_name` at `scope` (an
// ARM id such as "/subscriptions/<id>/resourceGroups/<name>").
struct RoleAssignment {
  std::string id;  // GUID; the assignment's ARM name.
  std::string principal_id;
  std::string role_name;  // E.g. "Key Vault Crypto User".
  std::string scope;
  UnixSeconds created_at = 0;

  friend bool operator==(const RoleAssignment&,
                         const RoleAssignment&) = default;
};

// A tenant's token-signing key. The private key arrives already sealed by
// the key hierarchy; the store keeps the opaque bytes.
struct SigningKey {
  std::string tenant_id;
  std::string kid;  // Unique per tenant; the JWS "kid" header.
  UnixSeconds created_at = 0;
  UnixSeconds not_after = 0;  // Last second at which it may sign.
  Bytes sealed_private_key;

  friend bool operator==(const SigningKey&, const SigningKey&) = default;
};

// ---- Key vault (DESIGN.md §4) ----
//
// The vault service owns the meaning of the *_json columns (configuration
// that only it reads: SKU, access policies, network rules, key attributes,
// rotation policies); the store keeps them as opaque text so that a schema
// change there needs no migration here.

// A Microsoft.KeyVault/vaults resource. Vault names are DNS labels, unique
// over the whole service ignoring case, and stay taken while the vault is
// soft-deleted.
struct Vault {
  std::string name;  // As created.
  std::string subscription_id;
  std::string resource_group;
  std::string location;  // Normalised ("westus").
  std::string tenant_id;
  std::string properties_json;
  // The vault master key, sealed by the service root key. It seals every
  // software key of the vault; purging the vault destroys it.
  Bytes sealed_master_key;
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;
  UnixSeconds deleted_at = 0;          // 0 while the vault is live.
  UnixSeconds scheduled_purge_at = 0;  // Set when deleted.

  friend bool operator==(const Vault&, const Vault&) = default;
};

// A key of a vault: its name and what holds for all its versions. Key names
// are unique per vault ignoring case.
struct VaultKey {
  std::string vault;                 // Vault name.
  std::string name;                  // As created.
  std::string rotation_policy_json;  // Empty: no policy set.
  UnixSeconds created_at = 0;
  UnixSeconds deleted_at = 0;  // 0 while live; soft delete takes all versions.
  UnixSeconds scheduled_purge_at = 0;

  friend bool operator==(const VaultKey&, const VaultKey&) = default;
};

// One version of a key. Exactly one of sealed_private_key (a software key:
// PKCS#8 sealed by the vault master key, associated data = key id and
// version) and hsm_handle (a key inside the PKCS#11 token) is set.
struct VaultKeyVersion {
  std::string vault;
  std::string name;
  std::string version;          // 32 lower-case hex characters.
  std::string kty;              // "RSA" or "RSA-HSM".
  std::string attributes_json;  // key_ops, enabled, nbf, exp, tags, ...
  Bytes public_key;             // SubjectPublicKeyInfo DER.
  Bytes sealed_private_key;
  std::string hsm_handle;
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;

  friend bool operator==(const VaultKeyVersion&,
                         const VaultKeyVersion&) = default;
};

// One data-plane call, as the audit log keeps it: who, from where, what and
// how it ended; never key material or payload values.
struct AuditEvent {
  int64_t seq = 0;  // Assigned by the store on Append, increasing.
  UnixSeconds time = 0;
  std::string vault;
  std::string caller_tenant_id;
  std::string caller_object_id;
  std::string caller_app_id;
  std::string client_ip;
  std::string key_name;     // Empty for vault-level calls (list, rng).
  std::string key_version;  // Empty when no version applies.
  std::string operation;    // "KeyGet", "KeyUnwrap", ...
  std::string result;       // "Success" or the error code.
  int status_code = 0;
  // How many calls the record stands for: 1, or N for a summary of refused
  // calls coalesced by the audit writer (vault/audit_writer.h).
  int64_t count = 1;

  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// ---- AI accounts and their files (DESIGN.md §3) ----
//
// As for vaults, the accounts service owns the meaning of the *_json
// columns; the store keeps them as opaque text.

// A Microsoft.CognitiveServices/accounts resource. Account names are unique
// over the whole service ignoring case: each names its endpoint host
// "<name>.openai.<domain>".
struct Account {
  // GUID fixed for the account's life, whatever its name, group or
  // subscription: the associated data that binds its keys and objects.
  std::string uid;
  std::string name;  // As created.
  std::string subscription_id;
  std::string resource_group;
  std::string location;  // Normalised ("westeurope").
  std::string kind;      // "OpenAI".
  std::string sku;       // "S0".
  std::string tags_json;
  std::string properties_json;  // What ARM echoes back, minus encryption.
  // The system-assigned managed identity's object id; empty when none.
  std::string identity_principal_id;
  // key1 and key2 of the data plane, sealed by a root-derived key.
  Bytes sealed_api_keys;
  // The customer's encryption choice (key source, vault, key, version).
  std::string encryption_json;
  // The account encryption key (AEK), wrapped under the key named by
  // `kek_json` (the service root key or a vault key version).
  std::string kek_json;
  Bytes wrapped_aek;
  // Key state as last observed: active or inaccessible, why, since when,
  // last successful check.
  std::string key_status_json;
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;

  friend bool operator==(const Account&, const Account&) = default;
};

// One stored object of an account: an uploaded file, a results file, a
// model or a checkpoint. Its data key (DEK) is kept here wrapped by the
// account's AEK, never in the blob, so deleting the row makes the blob
// unreadable.
struct StoredObject {
  std::string account_uid;
  std::string id;    // "file-<32 hex>", unique per account.
  std::string kind;  // "file" (later: "model", "checkpoint").
  std::string purpose;
  std::string filename;
  int64_t bytes = 0;  // Plaintext size.
  std::string status;
  std::string status_details;
  UnixSeconds created_at = 0;
  Bytes wrapped_dek;
  std::string blob;  // Name in the blob store.
  int64_t seq = 0;   // Assigned by the store on Create, increasing.
  // Kind-specific facts the owning service reads (a checkpoint's step and
  // metrics, a model's base model); "{}" for files.
  std::string meta_json = "{}";

  friend bool operator==(const StoredObject&, const StoredObject&) = default;
};

// ---- Fine-tuning jobs and deployments ----
//
// The finetune/ and deploy/ services own the meaning of the *_json columns.
// Checkpoints and fine-tuned models are StoredObjects of kind "checkpoint"
// and "model" whose `purpose` holds the id of the job that made them.

struct FineTuningJobRow {
  std::string account_uid;
  std::string id;      // "ftjob-<32 hex>".
  std::string status;  // pending, running, succeeded, failed, cancelled.
  std::string job_json;
  UnixSeconds updated_at = 0;
  int64_t seq = 0;  // Assigned by the store on Create, increasing.

  friend bool operator==(const FineTuningJobRow&,
                         const FineTuningJobRow&) = default;
};

struct JobEventRow {
  std::string account_uid;
  std::string job_id;
  std::string event_json;
  int64_t seq = 0;  // Assigned by the store on Add, increasing.

  friend bool operator==(const JobEventRow&, const JobEventRow&) = default;
};

// A Microsoft.CognitiveServices/accounts/deployments resource. Names are
// unique per account ignoring case.
struct DeploymentRow {
  std::string account_uid;
  std::string name;
  std::string model_id;  // The deployed model's id.
  std::string deployment_json;
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;

  friend bool operator==(const DeploymentRow&, const DeploymentRow&) = default;
};

}  // namespace atrest::store

#endif  // ATREST_STORE_MODEL_H_
