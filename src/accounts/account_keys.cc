#include "accounts/account_keys.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "base/json.h"
#include "base/json_fields.h"
#include "crypto/random.h"
#include "resources/resource_manager.h"

namespace atrest::accounts {
namespace {

using nlohmann::json;

constexpr const char* kServiceKekPurpose = "accounts/aek";

// A rule of Rewrap failed: 400 with the rule's ARM code.
Status Rule(std::string code, std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message),
                std::move(code));
}

Bytes AekAad(const std::string& uid) {
  std::string s = "atrest/account-aek/" + uid;
  return Bytes(s.begin(), s.end());
}

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

struct Kek {
  bool service = true;
  keys::VaultKeyId id;  // With the version that wrapped.
};

json KekJson(const Kek& k) {
  if (k.service) return {{"source", "service"}};
  return {{"source", "vault"},
          {"vault_uri", k.id.vault_uri},
          {"key_name", k.id.name},
          {"key_version", k.id.version},
          {"alg", keys::KeyVaultClient::kAlgorithm}};
}

Result<Kek> ParseKek(const std::string& text) {
  json j = ParseJsonOrDiscarded(text, kStoredJsonLimits);
  if (!j.is_object()) return DataLossError("account key reference is corrupt");
  Kek k;
  if (JsonString(j, "source") == "service") return k;
  k.service = false;
  k.id.vault_uri = JsonString(j, "vault_uri");
  k.id.name = JsonString(j, "key_name");
  k.id.version = JsonString(j, "key_version");
  if (k.id.vault_uri.empty() || k.id.name.empty() || k.id.version.empty()) {
    return DataLossError("account key reference is corrupt");
  }
  return k;
}

bool HasOp(const keys::VaultKeyInfo& k, std::string_view op) {
  return std::find(k.key_ops.begin(), k.key_ops.end(), op) != k.key_ops.end();
}

// What a vault's refusal means for an account, as a rule code and message.
Status ExplainVaultError(const Status& s, const std::string& principal_id,
                         const std::string& vault_uri, std::string_view op) {
  const std::string& r = s.reason();
  if (r == "KeyVaultTenantMismatch") return Rule(r, s.message());
  if (r == "Forbidden/ForbiddenByPolicy" || r == "Forbidden/AccessDenied") {
    return Rule("KeyVaultAccessDenied",
                "The account's system-assigned identity (" + principal_id +
                    ") may not " + std::string(op) + " keys in the vault " +
                    vault_uri +
                    ": grant it the get, wrapKey and unwrapKey key "
                    "permissions in an access policy. The vault said: " +
                    s.message());
  }
  if (r == "Forbidden/ForbiddenByRbac") {
    return Rule("KeyVaultRbacNotSupported",
                "The vault " + vault_uri +
                    " uses Azure RBAC; customer-managed keys need a vault "
                    "that uses access policies.");
  }
  if (r == "Forbidden/ForbiddenByFirewall") {
    return Rule("KeyVaultFirewallBlocked",
                "The firewall of the vault " + vault_uri +
                    " refuses the account: allow trusted services "
                    "(bypass AzureServices). The vault said: " +
                    s.message());
  }
  if (r == "KeyNotFound" || r == "VaultNotFound") {
    return Rule("KeyVaultKeyNotFound",
                "The key was not found in the vault " + vault_uri +
                    " (it may be deleted). The vault said: " + s.message());
  }
  if (r == "Forbidden/KeyDisabled") {
    return Rule("KeyDisabled", "The key in " + vault_uri + " is disabled.");
  }
  if (r == "Forbidden/KeyExpired") {
    return Rule("KeyExpired", "The key in " + vault_uri + " has expired.");
  }
  if (r == "Forbidden/KeyNotYetValid") {
    return Rule("KeyNotYetValid",
                "The key in " + vault_uri + " is not valid yet (nbf).");
  }
  if (r == "Forbidden/KeyOperationForbidden") {
    return Rule(
        "KeyOperationsNotAllowed",
        "The key in " + vault_uri + " does not allow " + std::string(op) + ".");
  }
  if (r == "KeyVaultUnreachable" || r == "KeyVaultUriInvalid" ||
      r == "KeyVaultChallengeResourceMismatch") {
    return Rule(r, s.message());
  }
  if (s.code() == StatusCode::kUnauthenticated) {
    return Rule(
        "KeyVaultAccessDenied",
        "The vault " + vault_uri +
            " did not accept the account identity's token: " + s.message());
  }
  return Rule("KeyVaultError", "The vault " + vault_uri + " refused to " +
                                   std::string(op) + ": " + s.message());
}

// The rules a key version itself must meet (types, size, state, operations;
// for an external vault also recoverability, which a built-in vault's
// definition shows instead).
Status CheckKey(const keys::VaultKeyInfo& key, bool external, int64_t now) {
  if (external) {
    const std::string& level = key.recovery_level;
    if (level.find("Purgeable") != std::string::npos ||
        level.find("Recoverable") == std::string::npos) {
      return Rule("KeyVaultNotRecoverable",
                  "The key's recovery level is '" + level +
                      "': the vault must have soft delete and purge "
                      "protection enabled.");
    }
  }
  if (key.kty != "RSA" && key.kty != "RSA-HSM") {
    return Rule("KeyTypeNotSupported", "The key is of type " + key.kty +
                                           "; only RSA and RSA-HSM keys are "
                                           "supported.");
  }
  if (key.key_bits != 2048) {
    return Rule("KeySizeNotSupported",
                "The key has " + std::to_string(key.key_bits) +
                    " bits; only 2048-bit keys are supported.");
  }
  if (!key.enabled) {
    return Rule("KeyDisabled",
                "The key " + key.id.ToString() + " is disabled.");
  }
  if (key.not_before && *key.not_before > now) {
    return Rule("KeyNotYetValid",
                "The key " + key.id.ToString() + " is not valid yet (nbf).");
  }
  if (key.expires && *key.expires <= now) {
    return Rule("KeyExpired", "The key " + key.id.ToString() + " has expired.");
  }
  if (!HasOp(key, "wrapKey") || !HasOp(key, "unwrapKey")) {
    return Rule("KeyOperationsNotAllowed",
                "The key " + key.id.ToString() +
                    " must allow the wrapKey and unwrapKey operations.");
  }
  return Status::Ok();
}

// The refusal of a data operation while the account key cannot be had.
Status Inaccessible(const KeyStatus& status) {
  return Status(StatusCode::kPermissionDenied,
                "The account's encryption key is inaccessible (" +
                    status.reason_code + "): " + status.reason,
                "CustomerManagedKeyInaccessible");
}

}  // namespace

// ---- EncryptionSettings, KeyStatus ----

Result<EncryptionSettings> EncryptionSettings::FromArm(const json& j) {
  if (!j.is_object()) {
    return Status(StatusCode::kInvalidArgument,
                  "properties.encryption must be an object",
                  "InvalidRequestContent");
  }
  EncryptionSettings e;
  // ARM's default for a missing keySource is Microsoft.KeyVault, but an
  // encryption object without one and without a key means nothing; treat
  // it as the service-managed default.
  const bool has_kv =
      j.contains("keyVaultProperties") && j["keyVaultProperties"].is_object();
  e.key_source =
      JsonString(j, "keySource", has_kv ? kCustomerManaged : kServiceManaged);
  if (e.key_source != kServiceManaged && e.key_source != kCustomerManaged) {
    return Status(StatusCode::kInvalidArgument,
                  "properties.encryption.keySource must be "
                  "Microsoft.CognitiveServices or Microsoft.KeyVault",
                  "InvalidRequestContent");
  }
  if (!e.customer_managed()) return e;
  if (!has_kv) {
    return Rule("KeyVaultUriInvalid",
                "properties.encryption.keyVaultProperties is required with "
                "keySource Microsoft.KeyVault");
  }
  const json& kv = j["keyVaultProperties"];
  auto str = [&](const char* name) -> std::string {
    return kv.contains(name) && kv[name].is_string()
               ? kv[name].get<std::string>()
               : "";
  };
  e.key_vault_uri = str("keyVaultUri");
  while (!e.key_vault_uri.empty() && e.key_vault_uri.back() == '/') {
    e.key_vault_uri.pop_back();
  }
  e.key_name = str("keyName");
  e.key_version = str("keyVersion");
  e.identity_client_id = str("identityClientId");
  return e;
}

json EncryptionSettings::ToArm() const {
  json j = {{"keySource", key_source}};
  if (customer_managed()) {
    j["keyVaultProperties"] = {{"keyVaultUri", key_vault_uri + "/"},
                               {"keyName", key_name},
                               {"keyVersion", key_version}};
    if (!identity_client_id.empty()) {
      j["keyVaultProperties"]["identityClientId"] = identity_client_id;
    }
  }
  return j;
}

json KeyStatus::ToJson() const {
  json j = {{"state", state}, {"since", since}, {"lastSuccess", last_success}};
  if (!reason_code.empty()) {
    j["reasonCode"] = reason_code;
    j["reason"] = reason;
  }
  if (!key_version.empty()) j["keyVersion"] = key_version;
  return j;
}

KeyStatus KeyStatus::FromJson(std::string_view text) {
  KeyStatus s;
  json j = ParseJsonOrDiscarded(text, kStoredJsonLimits);
  if (!j.is_object()) return s;
  s.state =
      JsonString(j, "state") == "inaccessible" ? "inaccessible" : "active";
  s.reason_code = JsonString(j, "reasonCode");
  s.reason = JsonString(j, "reason");
  s.since = JsonInt(j, "since");
  s.last_success = JsonInt(j, "lastSuccess");
  s.key_version = JsonString(j, "keyVersion");
  return s;
}

// ---- AccountKeys ----

Result<std::unique_ptr<AccountKeys>> AccountKeys::Create(
    store::Store& store, env::Env& env, const keys::RootKey& root,
    identity::IdentityService& identity, vault::VaultService* vaults,
    vault::EventBus* events, AccountKeysOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::Aead> kek,
                   root.DeriveAead(kServiceKekPurpose));
  return std::unique_ptr<AccountKeys>(
      new AccountKeys(store, env, std::move(kek), identity, vaults, events,
                      std::move(options)));
}

AccountKeys::AccountKeys(store::Store& store, env::Env& env,
                         std::unique_ptr<crypto::Aead> service_kek,
                         identity::IdentityService& identity,
                         vault::VaultService* vaults, vault::EventBus* events,
                         AccountKeysOptions options)
    : store_(store),
      env_(env),
      service_kek_(std::move(service_kek)),
      identity_(identity),
      vaults_(vaults),
      events_(events),
      options_(std::move(options)),
      client_(options_.vault_https, options_.vault_hosts) {
  if (events_ != nullptr) {
    subscription_ = events_->Subscribe(
        [this](const vault::VaultEvent& e) { OnVaultEvent(e); });
  }
  worker_ = std::thread([this] { WorkerLoop(); });
}

AccountKeys::~AccountKeys() {
  if (events_ != nullptr) events_->Unsubscribe(subscription_);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::string AccountKeys::BuiltinVaultName(const std::string& vault_uri) const {
  Result<keys::VaultEndpoint> vault = client_.hosts().Check(vault_uri);
  return vault.ok() && vault->builtin ? vault->name : "";
}

int64_t AccountKeys::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

Result<WrappedAek> AccountKeys::NewServiceManaged(const std::string& uid) {
  crypto::SecretBytes aek = crypto::NewAes256Key();
  ASSIGN_OR_RETURN(Bytes wrapped,
                   crypto::WrapKey(*service_kek_, aek, AekAad(uid)));
  return WrappedAek{DumpJson(KekJson(Kek{})), std::move(wrapped), ""};
}

keys::KeyVaultClient::TokenSource AccountKeys::Tokens(
    const std::string& principal_id) {
  return [this, principal_id](
             const std::string& tenant_id,
             const std::string& resource) -> Result<std::string> {
    ASSIGN_OR_RETURN(store::Principal p,
                     store_.ReadResult([&](store::Transaction& tx) {
                       return tx.principals().Get(principal_id);
                     }));
    if (p.tenant_id != tenant_id) {
      return Status(StatusCode::kInvalidArgument,
                    "The account's system-assigned identity is in tenant " +
                        p.tenant_id + ", but the vault is in tenant " +
                        tenant_id + ".",
                    "KeyVaultTenantMismatch");
    }
    const std::string cache_key = principal_id + "\n" + resource;
    {
      std::lock_guard lock(token_mu_);
      auto it = tokens_.find(cache_key);
      if (it != tokens_.end() && it->second.expires_on > Now() + 60) {
        return it->second.token;
      }
    }
    ASSIGN_OR_RETURN(identity::AccessToken t,
                     identity_.ManagedIdentityToken(principal_id, resource));
    std::lock_guard lock(token_mu_);
    tokens_[cache_key] = {t.token, t.expires_on};
    return t.token;
  };
}

Result<WrappedAek> AccountKeys::Rewrap(const store::Account& account,
                                       const std::string& tenant_id,
                                       const EncryptionSettings& target) {
  // The current KEK must still open the AEK: a key change never loses data.
  Result<crypto::SecretBytes> current = UnwrapStored(account);
  if (!current.ok()) {
    return Status(StatusCode::kFailedPrecondition,
                  "The account's current encryption key cannot be used, so "
                  "its data key cannot be moved to another key: " +
                      current.status().message(),
                  "CustomerManagedKeyInaccessible");
  }
  if (!target.customer_managed()) {
    ASSIGN_OR_RETURN(Bytes wrapped, crypto::WrapKey(*service_kek_, *current,
                                                    AekAad(account.uid)));
    return WrappedAek{DumpJson(KekJson(Kek{})), std::move(wrapped), ""};
  }

  if (!target.identity_client_id.empty()) {
    return Rule("UserAssignedIdentityNotSupported",
                "Customer-managed keys work only with the account's "
                "system-assigned managed identity; remove "
                "keyVaultProperties.identityClientId.");
  }
  // 1. The key URI, on a vault host that the identity's token may go to.
  Result<keys::VaultEndpoint> endpoint =
      client_.hosts().Check(target.key_vault_uri);
  if (!endpoint.ok()) return endpoint.status();
  const std::string& vault_uri = endpoint->uri;
  std::string key_uri = vault_uri + "/keys/" + target.key_name;
  if (!target.key_version.empty()) key_uri += "/" + target.key_version;
  ASSIGN_OR_RETURN(keys::VaultKeyId requested,
                   keys::VaultKeyId::Parse(key_uri));

  // 2. The vault answers with a challenge for Key Vault's audience, and 3.
  // in the account's tenant. Asked afresh: a vault may have moved to
  // another tenant since.
  Result<keys::VaultChallenge> challenge =
      client_.Challenge(vault_uri, /*refresh=*/true);
  if (!challenge.ok()) {
    const std::string& r = challenge.status().reason();
    if (r == "KeyVaultChallengeResourceMismatch" || r == "KeyVaultUriInvalid") {
      return Rule(r, challenge.status().message());
    }
    return Rule("KeyVaultUnreachable", challenge.status().message());
  }
  if (Lower(challenge->tenant_id) != Lower(tenant_id)) {
    return Rule("KeyVaultTenantMismatch",
                "The key vault " + vault_uri + " is in tenant " +
                    challenge->tenant_id + ", the account in tenant " +
                    tenant_id + "; they must be in the same tenant.");
  }
  // 4-7. What the vault's definition says, for vaults atrest hosts. For an
  // external vault, recoverability is read from the key below and the
  // firewall and permission model from the vault's refusals; its region is
  // not visible through the data plane (docs/accounts.md).
  const std::string builtin = endpoint->builtin ? endpoint->name : "";
  if (!builtin.empty() && vaults_ != nullptr) {
    Result<vault::VaultInfo> v = vaults_->DescribeVault(builtin);
    if (!v.ok()) {
      return Rule("KeyVaultUnreachable",
                  "The key vault " + vault_uri + " does not exist.");
    }
    if (resources::NormalizeLocation(v->row.location) != account.location) {
      return Rule("KeyVaultRegionMismatch",
                  "The key vault " + vault_uri + " is in " + v->row.location +
                      ", the account in " + account.location +
                      "; they must be in the same region.");
    }
    if (!v->properties.enable_soft_delete ||
        !v->properties.enable_purge_protection) {
      return Rule("KeyVaultNotRecoverable",
                  "The key vault " + vault_uri +
                      " must have both soft delete and purge protection "
                      "enabled.");
    }
    if (v->properties.enable_rbac_authorization) {
      return Rule("KeyVaultRbacNotSupported",
                  "The key vault " + vault_uri +
                      " uses Azure RBAC; customer-managed keys need a vault "
                      "that uses access policies.");
    }
    const vault::NetworkAcls& acl = v->properties.network_acls;
    const bool closed = acl.default_action == "Deny" ||
                        v->properties.public_network_access == "Disabled";
    if (closed && acl.bypass != "AzureServices") {
      return Rule("KeyVaultFirewallBlocked",
                  "The firewall of the key vault " + vault_uri +
                      " does not allow trusted services (bypass "
                      "AzureServices).");
    }
  }
  // 8. The identity.
  if (account.identity_principal_id.empty()) {
    return Rule("SystemAssignedIdentityRequired",
                "The account has no system-assigned managed identity: "
                "enable it (identity.type SystemAssigned) and grant it get, "
                "wrapKey and unwrapKey on the vault first.");
  }
  const auto tokens = Tokens(account.identity_principal_id);
  // 9-10. Permissions and the key itself.
  Result<keys::VaultKeyInfo> key = client_.GetKey(requested, tokens);
  if (!key.ok()) {
    if (key.status().reason() == "KeyVaultTenantMismatch") return key.status();
    return ExplainVaultError(key.status(), account.identity_principal_id,
                             vault_uri, "get");
  }
  RETURN_IF_ERROR(CheckKey(*key, /*external=*/builtin.empty(), Now()));
  ASSIGN_OR_RETURN(
      auto wrapped,
      WrapAndProve(key->id, *current, account.identity_principal_id, tokens));
  const keys::VaultKeyId& use = wrapped.first;
  Kek kek{.service = false, .id = use};
  return WrappedAek{DumpJson(KekJson(kek)), std::move(wrapped.second),
                    use.version};
}

Result<std::pair<keys::VaultKeyId, Bytes>> AccountKeys::WrapAndProve(
    const keys::VaultKeyId& key, const crypto::SecretBytes& aek,
    const std::string& principal_id,
    const keys::KeyVaultClient::TokenSource& tokens) {
  auto wrapped = client_.WrapKey(key, aek, tokens);
  if (!wrapped.ok()) {
    return ExplainVaultError(wrapped.status(), principal_id, key.vault_uri,
                             "wrapKey");
  }
  keys::VaultKeyId use = key;
  use.version = wrapped->first;
  Result<crypto::SecretBytes> back =
      client_.UnwrapKey(use, wrapped->second, tokens);
  if (!back.ok()) {
    return ExplainVaultError(back.status(), principal_id, key.vault_uri,
                             "unwrapKey");
  }
  if (back->size() != aek.size() ||
      CRYPTO_memcmp(back->RevealSecret().data(), aek.RevealSecret().data(),
                    aek.size()) != 0) {
    return Rule("KeyVaultError",
                "The vault's unwrapKey did not return the wrapped key.");
  }
  return std::make_pair(std::move(use), std::move(wrapped->second));
}

Result<crypto::SecretBytes> AccountKeys::UnwrapStored(
    const store::Account& account) {
  ASSIGN_OR_RETURN(Kek kek, ParseKek(account.kek_json));
  if (kek.service) {
    return crypto::UnwrapKey(*service_kek_, account.wrapped_aek,
                             AekAad(account.uid));
  }
  if (account.identity_principal_id.empty()) {
    return Status(StatusCode::kPermissionDenied,
                  "the account's system-assigned managed identity is "
                  "disabled, so the key vault cannot be reached",
                  "SystemAssignedIdentityRequired");
  }
  ASSIGN_OR_RETURN(store::Subscription sub,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.subscriptions().Get(account.subscription_id);
                   }));
  ASSIGN_OR_RETURN(store::Principal principal,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.principals().Get(account.identity_principal_id);
                   }));
  if (principal.tenant_id != sub.tenant_id) {
    return Status(StatusCode::kPermissionDenied,
                  "the account moved to tenant " + sub.tenant_id +
                      " but its system-assigned identity stayed in tenant " +
                      principal.tenant_id +
                      "; disable and enable the identity, then grant the "
                      "new one access to the key",
                  "ManagedIdentityTenantMismatch");
  }
  Result<crypto::SecretBytes> aek = client_.UnwrapKey(
      kek.id, account.wrapped_aek, Tokens(account.identity_principal_id));
  if (!aek.ok()) {
    Status why = ExplainVaultError(aek.status(), account.identity_principal_id,
                                   kek.id.vault_uri, "unwrapKey");
    return Status(StatusCode::kPermissionDenied, why.message(), why.reason());
  }
  return aek;
}

Result<crypto::SecretBytes> AccountKeys::Unwrap(const store::Account& account,
                                                bool follow_versions) {
  ASSIGN_OR_RETURN(crypto::SecretBytes aek, UnwrapStored(account));
  if (!follow_versions) return aek;
  Result<EncryptionSettings> settings = EncryptionSettings::FromArm(
      ParseJsonOrDiscarded(account.encryption_json, kStoredJsonLimits));
  ASSIGN_OR_RETURN(Kek kek, ParseKek(account.kek_json));
  if (kek.service || !settings.ok() || !settings->key_version.empty()) {
    return aek;
  }
  // Versionless: move to the newest enabled version when there is one.
  keys::VaultKeyId latest = kek.id;
  latest.version.clear();
  const auto tokens = Tokens(account.identity_principal_id);
  Result<keys::VaultKeyInfo> info = client_.GetKey(latest, tokens);
  if (!info.ok() || info->id.version == kek.id.version) return aek;
  // The new version must meet every rule a key set by hand meets, and the
  // round trip must work, before the only stored copy moves to it; until
  // then the account stays on the version it has.
  const std::string builtin = BuiltinVaultName(kek.id.vault_uri);
  if (!CheckKey(*info, /*external=*/builtin.empty(), Now()).ok()) return aek;
  auto wrapped =
      WrapAndProve(info->id, aek, account.identity_principal_id, tokens);
  if (!wrapped.ok()) return aek;
  Kek next{.service = false, .id = wrapped->first};
  const std::string old_wrapped(account.wrapped_aek.begin(),
                                account.wrapped_aek.end());
  Status s = store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Account row, tx.accounts().GetByUid(account.uid));
    if (std::string(row.wrapped_aek.begin(), row.wrapped_aek.end()) !=
        old_wrapped) {
      return Status::Ok();  // Changed meanwhile; the next check sees it.
    }
    row.kek_json = DumpJson(KekJson(next));
    row.wrapped_aek = wrapped->second;
    row.updated_at = Now();
    return tx.accounts().Update(row);
  });
  (void)s;  // The old version still opens the AEK; try again next time.
  return aek;
}

void AccountKeys::Record(const store::Account& account, const Status& outcome,
                         std::shared_ptr<const crypto::Aead> aek,
                         const std::string& key_version) {
  const int64_t now = Now();
  KeyStatus next;
  bool changed = false;
  bool state_changed = false;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[account.uid];
    if (!e.loaded) {
      e.status = KeyStatus::FromJson(account.key_status_json);
      e.loaded = true;
    }
    const std::string state = outcome.ok() ? "active" : "inaccessible";
    changed = state != e.status.state ||
              (!outcome.ok() && outcome.reason() != e.status.reason_code) ||
              (outcome.ok() && key_version != e.status.key_version);
    if (state != e.status.state) {
      e.status.since = now;
      state_changed = true;
    }
    e.status.state = state;
    e.status.reason_code = outcome.ok() ? "" : outcome.reason();
    e.status.reason = outcome.ok() ? "" : outcome.message();
    if (outcome.ok()) {
      e.status.last_success = now;
      e.status.key_version = key_version;
    }
    e.aek = std::move(aek);
    e.fetched = env_.clock().Monotonic();
    e.builtin_vault.clear();
    if (Result<Kek> kek = ParseKek(account.kek_json);
        kek.ok() && !kek->service) {
      e.builtin_vault = Lower(BuiltinVaultName(kek->id.vault_uri));
    }
    next = e.status;
  }
  if (!changed) return;
  Status s = store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Account row, tx.accounts().GetByUid(account.uid));
    row.key_status_json = DumpJson(next.ToJson());
    return tx.accounts().Update(row);
  });
  (void)s;  // The in-memory state is authoritative; the row is a record.
  if (state_changed) {
    std::lock_guard lock(listeners_mu_);
    for (const auto& [id, l] : listeners_) l(account.uid, next);
  }
}

int AccountKeys::AddStateListener(StateListener listener) {
  std::lock_guard lock(listeners_mu_);
  listeners_[next_listener_] = std::move(listener);
  return next_listener_++;
}

void AccountKeys::RemoveStateListener(int id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
}

Result<std::shared_ptr<const crypto::Aead>> AccountKeys::Aek(
    const store::Account& account) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(account.uid);
    if (it != entries_.end() && it->second.loaded &&
        env_.clock().Monotonic() - it->second.fetched < options_.kek_recheck) {
      const Entry& e = it->second;
      if (e.status.state == "active" && e.aek) return e.aek;
      if (e.status.state != "active") return Inaccessible(e.status);
    }
  }
  Recheck(account.uid);
  std::lock_guard lock(mu_);
  auto it = entries_.find(account.uid);
  if (it == entries_.end()) {
    return NotFoundError("account " + account.name + " no longer exists");
  }
  if (it->second.status.state == "active" && it->second.aek) {
    return it->second.aek;
  }
  return Inaccessible(it->second.status);
}

KeyStatus AccountKeys::StatusOf(const store::Account& account) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(account.uid);
  if (it != entries_.end() && it->second.loaded) return it->second.status;
  return KeyStatus::FromJson(account.key_status_json);
}

void AccountKeys::Recheck(const std::string& uid) {
  Result<store::Account> account = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.accounts().GetByUid(uid); });
  if (!account.ok()) {
    Forget(uid);
    return;
  }
  Result<crypto::SecretBytes> aek = Unwrap(*account, /*follow_versions=*/true);
  std::string version;
  if (Result<Kek> kek = ParseKek(account->kek_json);
      kek.ok() && !kek->service) {
    version = kek->id.version;
  }
  if (!aek.ok()) {
    Status why = aek.status();
    if (why.reason().empty()) {
      why = Status(why.code(), why.message(), "KeyVaultError");
    }
    Record(*account, why, nullptr, version);
    return;
  }
  Result<std::unique_ptr<crypto::Aead>> aead =
      crypto::Aead::Create(std::move(*aek));
  if (!aead.ok()) {
    Record(*account, aead.status(), nullptr, version);
    return;
  }
  // A versionless key may have moved on: report the version now in use.
  Result<store::Account> fresh = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.accounts().GetByUid(uid); });
  if (fresh.ok()) {
    if (Result<Kek> kek = ParseKek(fresh->kek_json);
        kek.ok() && !kek->service) {
      version = kek->id.version;
    }
  }
  Record(*account, Status::Ok(),
         std::shared_ptr<const crypto::Aead>(std::move(*aead)), version);
}

void AccountKeys::Forget(const std::string& uid) {
  std::lock_guard lock(mu_);
  entries_.erase(uid);
}

void AccountKeys::RecheckAll() {
  Result<std::vector<store::Account>> all = store_.ReadResult(
      [](store::Transaction& tx) { return tx.accounts().List(); });
  if (!all.ok()) return;
  for (const store::Account& a : *all) {
    Result<Kek> kek = ParseKek(a.kek_json);
    if (kek.ok() && !kek->service) Recheck(a.uid);
  }
}

void AccountKeys::OnVaultEvent(const vault::VaultEvent& event) {
  const std::string vault = Lower(event.vault);
  {
    std::lock_guard lock(mu_);
    // Revocation must not wait for the worker: drop the keys now, so every
    // data operation from here on asks the vault (or the worker's result).
    for (auto& [uid, e] : entries_) {
      if (e.builtin_vault == vault) {
        e.aek.reset();
        e.fetched = env::MonoTime{};
      }
    }
    pending_vaults_.insert(vault);
  }
  cv_.notify_all();
}

void AccountKeys::WorkerLoop() {
  auto next_poll = std::chrono::steady_clock::now() + options_.kek_recheck;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_until(lock, next_poll,
                   [&] { return stopping_ || !pending_vaults_.empty(); });
    if (stopping_) return;
    std::set<std::string> vaults;
    vaults.swap(pending_vaults_);
    const bool poll = std::chrono::steady_clock::now() >= next_poll;
    lock.unlock();
    if (poll) {
      RecheckAll();
      next_poll = std::chrono::steady_clock::now() + options_.kek_recheck;
    } else {
      Result<std::vector<store::Account>> all = store_.ReadResult(
          [](store::Transaction& tx) { return tx.accounts().List(); });
      if (all.ok()) {
        for (const store::Account& a : *all) {
          Result<Kek> kek = ParseKek(a.kek_json);
          if (!kek.ok() || kek->service) continue;
          const std::string name = BuiltinVaultName(kek->id.vault_uri);
          if (!name.empty() && vaults.count(Lower(name)) > 0) Recheck(a.uid);
        }
      }
    }
    lock.lock();
  }
}

}  // namespace atrest::accounts
