// AccountService: AI accounts (Microsoft.CognitiveServices/accounts, kind
// OpenAI) on the management plane, and who may use an account's data plane
// (reference/azure-openai-api.md §3.1-3.2, DESIGN.md §3-4).
//
// An account has a location, kind, SKU and tags; an optional
// system-assigned managed identity (a principal with a fresh objectId each
// time it is enabled, deleted when disabled); two data-plane API keys; and
// its encryption settings: service-managed by default, or a customer-managed
// key in a key vault, checked and applied by AccountKeys.
//
// Account names are unique over the service ignoring case and name the
// endpoint "https://<name>.openai.<domain>/", so they must be DNS labels.
//
// Errors carry ARM codes in Status::reason() ("AuthorizationFailed",
// "ResourceNotFound", the CMK rule codes of AccountKeys::Rewrap, ...).
//
// Thread safety: safe for concurrent use.
#ifndef ATREST_ACCOUNTS_ACCOUNT_SERVICE_H_
#define ATREST_ACCOUNTS_ACCOUNT_SERVICE_H_

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "accounts/account_keys.h"
#include "base/status.h"
#include "env/env.h"
#include "identity/identity_service.h"
#include "keys/root_key.h"
#include "resources/resource_manager.h"
#include "store/store.h"

namespace atrest::accounts {

struct AccountRef {
  std::string subscription_id;
  std::string resource_group;
  std::string name;
};
// "/subscriptions/<s>/resourceGroups/<g>/providers/
//  Microsoft.CognitiveServices/accounts/<n>".
std::string AccountResourceId(const AccountRef& ref);

// An account as the management plane shows it.
struct AccountInfo {
  store::Account row;
  std::string tenant_id;  // Of its subscription.
  std::map<std::string, std::string> tags;
  nlohmann::json properties;  // The stored, echoed properties.
  EncryptionSettings encryption;
  KeyStatus key_status;
  std::string identity_tenant_id;  // Of the identity; empty when none.
};

struct ApiKeys {
  std::string key1;
  std::string key2;
};

// The ARM body of a PUT or PATCH.
struct AccountUpdate {
  std::optional<std::string> location;  // PUT only.
  std::optional<std::string> kind;
  std::optional<std::string> sku;
  std::optional<std::map<std::string, std::string>> tags;
  std::optional<std::string> identity_type;  // "None", "SystemAssigned".
  std::optional<EncryptionSettings> encryption;
  nlohmann::json properties = nlohmann::json::object();  // Others, echoed.
};

class AccountService {
 public:
  AccountService(store::Store& store, env::Env& env,
                 std::unique_ptr<crypto::Aead> api_key_seal,
                 identity::IdentityService& identity,
                 resources::ResourceManager& resources, AccountKeys& keys);

  struct PutResult {
    AccountInfo account;
    bool created = false;
  };
  // PUT: create, or replace what the body names (location cannot change).
  Result<PutResult> PutAccount(const identity::Caller& caller,
                               const AccountRef& ref,
                               const AccountUpdate& update);
  // PATCH: only what the body names changes.
  Result<AccountInfo> PatchAccount(const identity::Caller& caller,
                                   const AccountRef& ref,
                                   const AccountUpdate& update);
  Result<AccountInfo> GetAccount(const identity::Caller& caller,
                                 const AccountRef& ref);
  // `resource_group` empty: the whole subscription.
  Result<std::vector<AccountInfo>> ListAccounts(
      const identity::Caller& caller, const std::string& subscription_id,
      const std::string& resource_group);
  // Deletes the account, its identity and its object rows; `on_deleted`
  // (set by the files service) then removes the account's blobs.
  Status DeleteAccount(const identity::Caller& caller, const AccountRef& ref);
  Result<ApiKeys> ListKeys(const identity::Caller& caller,
                           const AccountRef& ref);
  Result<ApiKeys> RegenerateKey(const identity::Caller& caller,
                                const AccountRef& ref,
                                const std::string& key_name);
  // Moves accounts to another group, maybe of another subscription (ARM
  // moveResources). The system-assigned identity does not follow the
  // account into another tenant (see AccountKeys).
  Status MoveAccounts(const identity::Caller& caller,
                      const std::string& subscription_id,
                      const std::string& resource_group,
                      const std::vector<std::string>& names,
                      const std::string& target_subscription,
                      const std::string& target_group);
  // The group-deletion hook: deletes every account of the group.
  Status DeleteAccountsInGroup(const std::string& subscription_id,
                               const std::string& resource_group);

  // Called with an account's uid after it is deleted (blob cleanup).
  void SetOnDeleted(std::function<void(const std::string&)> fn) {
    on_deleted_ = std::move(fn);
  }

  // The account row, once `caller` may read it (or write it, `write`), for
  // services of the account's child resources (deployments).
  Result<store::Account> Authorized(const identity::Caller& caller,
                                    const AccountRef& ref, bool write);

  // ---- Data plane ----

  // The account whose endpoint host label is `label`; NotFound otherwise.
  Result<store::Account> AccountForHost(const std::string& label);
  // OK when `key` is one of the account's API keys (constant time).
  Status CheckApiKey(const store::Account& account, std::string_view key);
  // OK when `caller` holds a data role on the account (RBAC).
  Status AuthorizeData(const identity::Caller& caller,
                       const store::Account& account);

  AccountKeys& keys() { return keys_; }

 private:
  Result<AccountInfo> ToInfo(const store::Account& row);
  Result<store::Account> Load(const AccountRef& ref);
  Result<AccountInfo> Apply(const identity::Caller& caller,
                            const AccountRef& ref, const AccountUpdate& update,
                            bool is_put, bool* created);
  Result<ApiKeys> OpenKeys(const store::Account& row);
  Result<Bytes> SealKeys(const std::string& uid, const ApiKeys& keys);
  Status DeleteRow(const store::Account& row);
  int64_t Now() const;

  store::Store& store_;
  env::Env& env_;
  const std::unique_ptr<crypto::Aead> api_key_seal_;
  identity::IdentityService& identity_;
  resources::ResourceManager& resources_;
  AccountKeys& keys_;
  std::function<void(const std::string&)> on_deleted_;
};

}  // namespace atrest::accounts

#endif  // ATREST_ACCOUNTS_ACCOUNT_SERVICE_H_
