#include "accounts/account_service.h"

#include <openssl/crypto.h>

#include <cctype>

#include "base/base64.h"
#include "base/json.h"
#include "base/json_fields.h"
#include "crypto/random.h"

namespace atrest::accounts {
namespace {

using nlohmann::json;

constexpr const char* kAccountType = "Microsoft.CognitiveServices/accounts";

Status Arm(StatusCode code, std::string reason, std::string message) {
  return Status(code, std::move(message), std::move(reason));
}

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

bool SameText(const std::string& a, const std::string& b) {
  return Lower(a) == Lower(b);
}

// Account names name the endpoint host, so they are DNS labels: 2-63
// letters, digits and dashes, not starting or ending with a dash.
Status ValidateName(const std::string& name) {
  const bool ok =
      name.size() >= 2 && name.size() <= 63 && name.front() != '-' &&
      name.back() != '-' && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
      });
  if (ok) return Status::Ok();
  return Arm(StatusCode::kInvalidArgument, "InvalidAccountName",
             "Account name '" + name +
                 "' is invalid: it names the endpoint host <name>.openai."
                 "<domain>, so it must be 2-63 letters, digits and dashes, "
                 "not starting or ending with a dash.");
}

std::string NewApiKey() {
  Bytes raw(16);
  crypto::RandomBytes(raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Bytes Aad(const std::string& uid) {
  std::string s = "atrest/account-api-keys/" + uid;
  return Bytes(s.begin(), s.end());
}

}  // namespace

std::string AccountResourceId(const AccountRef& ref) {
  return resources::ResourceGroupScope(ref.subscription_id,
                                       ref.resource_group) +
         "/providers/" + kAccountType + "/" + ref.name;
}

AccountService::AccountService(store::Store& store, env::Env& env,
                               std::unique_ptr<crypto::Aead> api_key_seal,
                               identity::IdentityService& identity,
                               resources::ResourceManager& resources,
                               AccountKeys& keys)
    : store_(store),
      env_(env),
      api_key_seal_(std::move(api_key_seal)),
      identity_(identity),
      resources_(resources),
      keys_(keys) {}

int64_t AccountService::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

Result<Bytes> AccountService::SealKeys(const std::string& uid,
                                       const ApiKeys& keys) {
  json j = {{"key1", keys.key1}, {"key2", keys.key2}};
  std::string text = DumpJson(j);
  Result<Bytes> sealed = api_key_seal_->Encrypt(
      ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      Aad(uid));
  std::fill(text.begin(), text.end(), '\0');
  return sealed;
}

Result<ApiKeys> AccountService::OpenKeys(const store::Account& row) {
  ASSIGN_OR_RETURN(crypto::SecretBytes plain,
                   api_key_seal_->Decrypt(row.sealed_api_keys, Aad(row.uid)));
  ByteView v = plain.RevealSecret();
  json j = ParseJsonOrDiscarded(AsString(v), kStoredJsonLimits);
  if (!j.is_object()) return DataLossError("account API keys are corrupt");
  return ApiKeys{JsonString(j, "key1"), JsonString(j, "key2")};
}

Result<AccountInfo> AccountService::ToInfo(const store::Account& row) {
  AccountInfo info;
  info.row = row;
  ASSIGN_OR_RETURN(store::Subscription sub,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.subscriptions().Get(row.subscription_id);
                   }));
  info.tenant_id = sub.tenant_id;
  json tags = ParseJsonOrDiscarded(row.tags_json, kStoredJsonLimits);
  if (tags.is_object()) {
    for (const auto& [k, v] : tags.items()) {
      if (v.is_string()) info.tags[k] = v.get<std::string>();
    }
  }
  info.properties =
      ParseJsonOrDiscarded(row.properties_json, kStoredJsonLimits);
  if (!info.properties.is_object()) info.properties = json::object();
  Result<EncryptionSettings> enc = EncryptionSettings::FromArm(
      ParseJsonOrDiscarded(row.encryption_json, kStoredJsonLimits));
  if (enc.ok()) info.encryption = *enc;
  info.key_status = keys_.StatusOf(row);
  if (!row.identity_principal_id.empty()) {
    Result<store::Principal> p = store_.ReadResult([&](store::Transaction& tx) {
      return tx.principals().Get(row.identity_principal_id);
    });
    if (p.ok()) info.identity_tenant_id = p->tenant_id;
  }
  return info;
}

Result<store::Account> AccountService::Load(const AccountRef& ref) {
  Result<store::Account> row = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.accounts().Get(ref.name); });
  if (row.ok() && row->subscription_id == ref.subscription_id &&
      SameText(row->resource_group, ref.resource_group)) {
    return row;
  }
  if (!row.ok() && row.status().code() != StatusCode::kNotFound) {
    return row.status();
  }
  return Arm(StatusCode::kNotFound, "ResourceNotFound",
             "The Resource '" + std::string(kAccountType) + "/" + ref.name +
                 "' under resource group '" + ref.resource_group +
                 "' was not found.");
}

Result<AccountInfo> AccountService::Apply(const identity::Caller& caller,
                                          const AccountRef& ref,
                                          const AccountUpdate& update,
                                          bool is_put, bool* created) {
  const std::string scope = AccountResourceId(ref);
  RETURN_IF_ERROR(
      resources_.Authorize(caller, scope, resources::Action::kWrite));
  RETURN_IF_ERROR(ValidateName(ref.name));
  ASSIGN_OR_RETURN(store::Subscription sub,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.subscriptions().Get(ref.subscription_id);
                   }));
  Result<store::Account> existing = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.accounts().Get(ref.name); });
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  store::Account row;
  *created = !existing.ok();
  if (existing.ok()) {
    if (existing->subscription_id != ref.subscription_id ||
        !SameText(existing->resource_group, ref.resource_group)) {
      return Arm(StatusCode::kAlreadyExists, "CustomDomainInUse",
                 "The account name '" + ref.name +
                     "' is taken by another account; account names name "
                     "their endpoint and are unique in the service.");
    }
    row = *existing;
    if (update.location &&
        resources::NormalizeLocation(*update.location) != row.location) {
      return Arm(StatusCode::kInvalidArgument, "LocationNotAvailable",
                 "The location of an account cannot change (it is " +
                     row.location + ").");
    }
  } else {
    if (!is_put) return Load(ref).status();
    if (!update.location || update.location->empty()) {
      return Arm(StatusCode::kInvalidArgument, "LocationRequired",
                 "The location property is required for this definition.");
    }
    row.uid = env_.random().NewUuid();
    row.name = ref.name;
    row.subscription_id = ref.subscription_id;
    Result<store::ResourceGroup> group = resources_.GetResourceGroup(
        caller, ref.subscription_id, ref.resource_group);
    if (!group.ok()) return group.status();
    row.resource_group = group->name;
    row.location = resources::NormalizeLocation(*update.location);
    row.kind = "OpenAI";
    row.sku = "S0";
    row.tags_json = "{}";
    row.properties_json = "{}";
    row.encryption_json = DumpJson(EncryptionSettings().ToArm());
    row.created_at = Now();
    KeyStatus status;
    status.since = row.created_at;
    row.key_status_json = DumpJson(status.ToJson());
    ASSIGN_OR_RETURN(ApiKeys keys,
                     (Result<ApiKeys>(ApiKeys{NewApiKey(), NewApiKey()})));
    ASSIGN_OR_RETURN(row.sealed_api_keys, SealKeys(row.uid, keys));
    ASSIGN_OR_RETURN(WrappedAek aek, keys_.NewServiceManaged(row.uid));
    row.kek_json = aek.kek_json;
    row.wrapped_aek = aek.wrapped;
  }
  if (update.kind) {
    if (*update.kind != "OpenAI" && *update.kind != "AIServices") {
      return Arm(StatusCode::kInvalidArgument, "InvalidApiSetId",
                 "atrest serves accounts of kind OpenAI (or AIServices), not "
                 "'" +
                     *update.kind + "'.");
    }
    row.kind = *update.kind;
  }
  if (update.sku) row.sku = *update.sku;
  if (update.tags) row.tags_json = DumpJson(json(*update.tags));
  if (is_put || !update.properties.empty()) {
    json props =
        is_put ? json::object()
               : ParseJsonOrDiscarded(row.properties_json, kStoredJsonLimits);
    if (!props.is_object()) props = json::object();
    for (const auto& [k, v] : update.properties.items()) props[k] = v;
    row.properties_json = DumpJson(props);
  }

  // The identity first: a key set in the same request uses the new one.
  std::string created_principal;
  std::string deleted_principal;
  if (update.identity_type) {
    const std::string& type = *update.identity_type;
    if (type == "SystemAssigned") {
      if (row.identity_principal_id.empty()) {
        ASSIGN_OR_RETURN(store::Principal p, identity_.CreateManagedIdentity(
                                                 sub.tenant_id,
                                                 AccountResourceId(ref) + "#" +
                                                     env_.random().NewUuid(),
                                                 ref.name));
        created_principal = p.object_id;
        row.identity_principal_id = p.object_id;
      }
    } else if (type == "None") {
      deleted_principal = row.identity_principal_id;
      row.identity_principal_id.clear();
    } else if (type.find("UserAssigned") == std::string::npos) {
      return Arm(
          StatusCode::kInvalidArgument, "InvalidIdentityType",
          "identity.type must be SystemAssigned or None, not '" + type + "'.");
    } else {
      return Arm(StatusCode::kInvalidArgument,
                 "UserAssignedIdentityNotSupported",
                 "Identity type '" + type +
                     "' is not supported: atrest accounts have a "
                     "system-assigned identity or none (customer-managed "
                     "keys need the system-assigned one).");
    }
  }
  auto undo_identity = [&] {
    if (!created_principal.empty()) {
      (void)identity_.DeletePrincipal(created_principal);
    }
  };

  if (update.encryption) {
    Result<EncryptionSettings> current = EncryptionSettings::FromArm(
        ParseJsonOrDiscarded(row.encryption_json, kStoredJsonLimits));
    const bool same = current.ok() && *current == *update.encryption &&
                      !update.encryption->customer_managed();
    if (!same) {
      Result<WrappedAek> aek =
          keys_.Rewrap(row, sub.tenant_id, *update.encryption);
      if (!aek.ok()) {
        undo_identity();
        return aek.status();
      }
      row.kek_json = aek->kek_json;
      row.wrapped_aek = aek->wrapped;
      EncryptionSettings stored = *update.encryption;
      if (stored.customer_managed()) {
        Result<std::string> uri =
            keys::VaultKeyId::NormalizeVaultUri(stored.key_vault_uri);
        if (uri.ok()) stored.key_vault_uri = *uri;
      }
      row.encryption_json = DumpJson(stored.ToArm());
    }
  }
  row.updated_at = Now();
  const std::string before_aek(existing.ok()
                                   ? std::string(existing->wrapped_aek.begin(),
                                                 existing->wrapped_aek.end())
                                   : "");
  Status s = store_.Transact([&](store::Transaction& tx) -> Status {
    if (*created) return tx.accounts().Create(row);
    ASSIGN_OR_RETURN(store::Account now, tx.accounts().GetByUid(row.uid));
    if (std::string(now.wrapped_aek.begin(), now.wrapped_aek.end()) !=
        before_aek) {
      return Arm(StatusCode::kAborted, "Conflict",
                 "The account's key changed while this request ran; try "
                 "again.");
    }
    return tx.accounts().Update(row);
  });
  if (!s.ok()) {
    undo_identity();
    if (s.code() == StatusCode::kAlreadyExists) {
      return Arm(StatusCode::kAlreadyExists, "CustomDomainInUse",
                 "The account name '" + ref.name + "' is already in use.");
    }
    return s;
  }
  if (!deleted_principal.empty()) {
    (void)identity_.DeletePrincipal(deleted_principal);
  }
  if (!*created) keys_.Recheck(row.uid);
  return ToInfo(row);
}

Result<AccountService::PutResult> AccountService::PutAccount(
    const identity::Caller& caller, const AccountRef& ref,
    const AccountUpdate& update) {
  PutResult out;
  ASSIGN_OR_RETURN(out.account,
                   Apply(caller, ref, update, /*is_put=*/true, &out.created));
  return out;
}

Result<AccountInfo> AccountService::PatchAccount(const identity::Caller& caller,
                                                 const AccountRef& ref,
                                                 const AccountUpdate& update) {
  // Authorization first, so strangers learn nothing of which names exist.
  RETURN_IF_ERROR(resources_.Authorize(caller, AccountResourceId(ref),
                                       resources::Action::kWrite));
  RETURN_IF_ERROR(Load(ref).status());
  bool created = false;
  return Apply(caller, ref, update, /*is_put=*/false, &created);
}

Result<AccountInfo> AccountService::GetAccount(const identity::Caller& caller,
                                               const AccountRef& ref) {
  RETURN_IF_ERROR(resources_.Authorize(caller, AccountResourceId(ref),
                                       resources::Action::kRead));
  ASSIGN_OR_RETURN(store::Account row, Load(ref));
  return ToInfo(row);
}

Result<store::Account> AccountService::Authorized(
    const identity::Caller& caller, const AccountRef& ref, bool write) {
  RETURN_IF_ERROR(resources_.Authorize(
      caller, AccountResourceId(ref),
      write ? resources::Action::kWrite : resources::Action::kRead));
  return Load(ref);
}

Result<std::vector<AccountInfo>> AccountService::ListAccounts(
    const identity::Caller& caller, const std::string& subscription_id,
    const std::string& resource_group) {
  const std::string scope =
      resource_group.empty()
          ? resources::SubscriptionScope(subscription_id)
          : resources::ResourceGroupScope(subscription_id, resource_group);
  RETURN_IF_ERROR(
      resources_.Authorize(caller, scope, resources::Action::kRead));
  if (!resource_group.empty()) {
    RETURN_IF_ERROR(
        resources_.GetResourceGroup(caller, subscription_id, resource_group)
            .status());
  }
  ASSIGN_OR_RETURN(std::vector<store::Account> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.accounts().ListBySubscription(subscription_id,
                                                             resource_group);
                   }));
  std::vector<AccountInfo> out;
  for (const store::Account& row : rows) {
    ASSIGN_OR_RETURN(AccountInfo info, ToInfo(row));
    out.push_back(std::move(info));
  }
  return out;
}

Status AccountService::DeleteRow(const store::Account& row) {
  // The rows (with every wrapped data key) go first: from then on the
  // blobs are unreadable, whatever happens to them.
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.accounts().Delete(row.name); }));
  if (!row.identity_principal_id.empty()) {
    (void)identity_.DeletePrincipal(row.identity_principal_id);
  }
  keys_.Forget(row.uid);
  if (on_deleted_) on_deleted_(row.uid);
  return Status::Ok();
}

Status AccountService::DeleteAccount(const identity::Caller& caller,
                                     const AccountRef& ref) {
  RETURN_IF_ERROR(resources_.Authorize(caller, AccountResourceId(ref),
                                       resources::Action::kDelete));
  ASSIGN_OR_RETURN(store::Account row, Load(ref));
  return DeleteRow(row);
}

Status AccountService::DeleteAccountsInGroup(
    const std::string& subscription_id, const std::string& resource_group) {
  ASSIGN_OR_RETURN(std::vector<store::Account> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.accounts().ListBySubscription(subscription_id,
                                                             resource_group);
                   }));
  for (const store::Account& row : rows) RETURN_IF_ERROR(DeleteRow(row));
  return Status::Ok();
}

Result<ApiKeys> AccountService::ListKeys(const identity::Caller& caller,
                                         const AccountRef& ref) {
  RETURN_IF_ERROR(resources_.Authorize(caller, AccountResourceId(ref),
                                       resources::Action::kWrite));
  ASSIGN_OR_RETURN(store::Account row, Load(ref));
  return OpenKeys(row);
}

Result<ApiKeys> AccountService::RegenerateKey(const identity::Caller& caller,
                                              const AccountRef& ref,
                                              const std::string& key_name) {
  RETURN_IF_ERROR(resources_.Authorize(caller, AccountResourceId(ref),
                                       resources::Action::kWrite));
  if (!SameText(key_name, "Key1") && !SameText(key_name, "Key2")) {
    return Arm(StatusCode::kInvalidArgument, "InvalidRequestContent",
               "keyName must be Key1 or Key2.");
  }
  // The account is the one at `ref`, the scope just authorized, not any
  // account of that name.
  ASSIGN_OR_RETURN(const store::Account found, Load(ref));
  ApiKeys out;
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Account row, tx.accounts().GetByUid(found.uid));
    if (row.subscription_id != ref.subscription_id ||
        !SameText(row.resource_group, ref.resource_group)) {
      return Arm(StatusCode::kNotFound, "ResourceNotFound",
                 "The account '" + ref.name +
                     "' moved while its key was being regenerated.");
    }
    ASSIGN_OR_RETURN(out, OpenKeys(row));
    (SameText(key_name, "Key1") ? out.key1 : out.key2) = NewApiKey();
    ASSIGN_OR_RETURN(row.sealed_api_keys, SealKeys(row.uid, out));
    row.updated_at = Now();
    return tx.accounts().Update(row);
  }));
  return out;
}

Status AccountService::MoveAccounts(const identity::Caller& caller,
                                    const std::string& subscription_id,
                                    const std::string& resource_group,
                                    const std::vector<std::string>& names,
                                    const std::string& target_subscription,
                                    const std::string& target_group) {
  RETURN_IF_ERROR(resources_.Authorize(
      caller, resources::ResourceGroupScope(subscription_id, resource_group),
      resources::Action::kWrite));
  RETURN_IF_ERROR(resources_.Authorize(
      caller, resources::ResourceGroupScope(target_subscription, target_group),
      resources::Action::kWrite));
  ASSIGN_OR_RETURN(
      store::ResourceGroup target,
      resources_.GetResourceGroup(caller, target_subscription, target_group));
  std::vector<std::string> moved;
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) -> Status {
    moved.clear();
    for (const std::string& name : names) {
      Result<store::Account> row = tx.accounts().Get(name);
      if (!row.ok() || row->subscription_id != subscription_id ||
          !SameText(row->resource_group, resource_group)) {
        return Arm(StatusCode::kNotFound, "ResourceNotFound",
                   "The account '" + name + "' is not in resource group '" +
                       resource_group + "'.");
      }
      row->subscription_id = target_subscription;
      row->resource_group = target.name;
      row->updated_at = Now();
      RETURN_IF_ERROR(tx.accounts().Update(*row));
      moved.push_back(row->uid);
    }
    return Status::Ok();
  }));
  for (const std::string& uid : moved) keys_.Recheck(uid);
  return Status::Ok();
}

Result<store::Account> AccountService::AccountForHost(
    const std::string& label) {
  return store_.ReadResult(
      [&](store::Transaction& tx) { return tx.accounts().Get(label); });
}

Status AccountService::CheckApiKey(const store::Account& account,
                                   std::string_view key) {
  ASSIGN_OR_RETURN(ApiKeys keys, OpenKeys(account));
  bool match = false;
  for (const std::string* k : {&keys.key1, &keys.key2}) {
    if (k->size() == key.size() &&
        CRYPTO_memcmp(k->data(), key.data(), key.size()) == 0) {
      match = true;
    }
  }
  if (match) return Status::Ok();
  return Status(StatusCode::kUnauthenticated,
                "Access denied due to invalid subscription key or wrong API "
                "endpoint. Make sure to provide a valid key for an active "
                "subscription and use a correct regional API endpoint for "
                "your resource.",
                "401");
}

Status AccountService::AuthorizeData(const identity::Caller& caller,
                                     const store::Account& account) {
  return resources_.Authorize(
      caller,
      AccountResourceId(
          {account.subscription_id, account.resource_group, account.name}),
      resources::Action::kOpenAiData);
}

}  // namespace atrest::accounts
