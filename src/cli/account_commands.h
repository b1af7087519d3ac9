// `atrest cognitiveservices account ...` and `atrest resource move`: AI
// accounts managed as `az cognitiveservices account` and `az resource move`
// manage them, over the Resource Manager REST API (api/accounts_arm_api.h,
// api-version 2024-10-01; moveResources 2021-04-01), printing az-like JSON:
// the account as ARM returns it plus "resourceGroup".
//
// As in az: create is a PUT (kind OpenAI and sku S0 unless given), update and
// identity assign/remove are PATCHes, identity commands print the account's
// identity object, keys commands print {key1, key2}, and delete and move print
// nothing. atrest extensions: update sets a customer-managed key by
// --encryption-key-* options instead of az's --encryption JSON, or by a key
// identifier (--encryption-key-id https://<vault>/keys/<name>[/<version>]).
//
// Errors are as in cli/commands.h: ARM's code (e.g. "ResourceNotFound",
// "KeyVaultUriInvalid") in Status::reason() and its message; client-side
// refusals carry no reason.
//
// Thread safety: as cli/commands.h.
#ifndef ATREST_CLI_ACCOUNT_COMMANDS_H_
#define ATREST_CLI_ACCOUNT_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/commands.h"

namespace atrest::cli {

// Which account: --name/-n, --resource-group/-g and --subscription (empty:
// the profile's subscription).
struct AccountTarget {
  std::string name;
  std::string resource_group;
  std::string subscription;
};

struct AccountCreateOptions {
  AccountTarget account;
  std::string location;
  std::string kind = "OpenAI";
  std::string sku = "S0";
  bool assign_identity = false;   // A system-assigned identity.
  std::vector<std::string> tags;  // "key=value".
};
Status AccountCreate(const CliContext& ctx, const AccountCreateOptions& o);

Status AccountShow(const CliContext& ctx, const AccountTarget& account);

// `resource_group` empty: every account of the subscription.
Status AccountList(const CliContext& ctx, const std::string& resource_group,
                   const std::string& subscription);

// Prints nothing.
Status AccountDelete(const CliContext& ctx, const AccountTarget& account);

Status AccountKeysList(const CliContext& ctx, const AccountTarget& account);
// `key_name` "Key1" or "Key2" (any case); prints both keys.
Status AccountKeysRegenerate(const CliContext& ctx,
                             const AccountTarget& account,
                             const std::string& key_name);

// PATCH identity {type: SystemAssigned} / {type: None}; print the identity.
Status AccountIdentityAssign(const CliContext& ctx,
                             const AccountTarget& account);
Status AccountIdentityRemove(const CliContext& ctx,
                             const AccountTarget& account);
Status AccountIdentityShow(const CliContext& ctx, const AccountTarget& account);

struct AccountUpdateOptions {
  AccountTarget account;
  // "Microsoft.KeyVault" or "Microsoft.CognitiveServices"; empty: from the
  // other options (Microsoft.KeyVault when a key is named), else unchanged.
  std::string encryption_key_source;
  std::string encryption_key_vault;  // https://<vault>.vault.<domain>
  std::string encryption_key_name;
  std::string encryption_key_version;  // Empty: the latest, followed.
  // https://<vault>/keys/<name>[/<version>]: fills the three above, which
  // must then be empty.
  std::string encryption_key_id;
  std::optional<std::vector<std::string>> tags;  // Set: replaces.
};
// PATCHes what is given (properties.encryption {keySource,
// keyVaultProperties{keyVaultUri, keyName, keyVersion}}, tags) and prints
// the account.
Status AccountUpdate(const CliContext& ctx, const AccountUpdateOptions& o);

struct ResourceMoveOptions {
  std::vector<std::string> ids;  // All of one subscription and group.
  std::string destination_group;
  std::string destination_subscription;  // Empty: the profile's.
};
// POSTs {resources, targetResourceGroup} to the moveResources of the ids'
// group (in the ids' subscription); prints nothing.
Status ResourceMove(const CliContext& ctx, const ResourceMoveOptions& o);

// `atrest cognitiveservices account deployment create|show|list|delete`, as
// `az cognitiveservices account deployment`: the account's deployments
// (accounts/{name}/deployments/{deployment}), printed as ARM returns them
// plus "resourceGroup"; delete prints nothing.
struct DeploymentOptions {
  AccountTarget account;
  std::string deployment;  // --deployment-name.
  std::string model_name;
  std::string model_version = "1";
  std::string model_format = "OpenAI";
  std::string sku_name = "Standard";
  int sku_capacity = 1;
};
Status DeploymentCreate(const CliContext& ctx, const DeploymentOptions& o);
Status DeploymentShow(const CliContext& ctx, const AccountTarget& account,
                      const std::string& deployment);
Status DeploymentList(const CliContext& ctx, const AccountTarget& account);
Status DeploymentDelete(const CliContext& ctx, const AccountTarget& account,
                        const std::string& deployment);

}  // namespace atrest::cli

#endif  // ATREST_CLI_ACCOUNT_COMMANDS_H_
