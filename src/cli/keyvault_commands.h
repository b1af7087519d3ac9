// `atrest keyvault ...`: the Key Vault management commands, named and
// behaving like `az keyvault` (reference/keyvault-api.md §6), over the
// Resource Manager REST API (api/keyvault_arm_api.h), printing az-like
// JSON: the vault as ARM returns it plus "resourceGroup".
//
// As in az, `set-policy` and `delete-policy` GET the vault, edit
// properties.accessPolicies here and PUT the whole vault back (§6.3), and
// `update` is a GET, an edit and a PUT. atrest has no Graph API, so
// policies name principals by --object-id only, and `create` takes the
// caller's own object id from the `oid` claim of the saved token.
//
// The data-plane commands (`atrest keyvault key ...`) live beside
// these in cli/keyvault_key_commands.h.
//
// Errors are as in cli/commands.h: ARM's code in Status::reason() and its
// message; az's own client-side refusals carry no reason.
//
// Thread safety: as cli/commands.h.
#ifndef ATREST_CLI_KEYVAULT_COMMANDS_H_
#define ATREST_CLI_KEYVAULT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/commands.h"

namespace atrest::cli {

// Which vault: --name, --resource-group and --subscription (empty: the
// profile's subscription). Except for create, an empty resource group is
// looked up by vault name, as az does.
struct VaultTarget {
  std::string name;
  std::string resource_group;
  std::string subscription;
};

// Network rule options shared by create and update. Each --ip-rules value
// may hold several addresses or CIDR ranges separated by commas or spaces.
struct NetworkRuleOptions {
  std::string default_action;  // "Allow" or "Deny"; empty: unchanged.
  std::string bypass;          // "AzureServices" or "None"; empty: unchanged.
  std::optional<std::vector<std::string>> ip_rules;  // Set: replaces.
};

struct KeyVaultCreateOptions {
  VaultTarget vault;
  std::string location;  // Empty: the resource group's location.
  std::string sku = "standard";
  int retention_days = 90;
  std::optional<bool> enable_purge_protection;
  std::optional<bool> enable_rbac_authorization;
  NetworkRuleOptions network;
  std::vector<std::string> tags;  // "key=value".
  // Without it (and without RBAC) the caller gets az's default access
  // policy on the new vault.
  bool no_self_perms = false;
};
// Refuses a vault that exists already ("The specified vault: <name> already
// exists"), as az does, then PUTs the new one.
Status KeyVaultCreate(const CliContext& ctx, const KeyVaultCreateOptions& o);

Status KeyVaultShow(const CliContext& ctx, const VaultTarget& vault);

// `resource_group` empty: every vault of the subscription, through the
// generic resources list az uses (items without properties).
Status KeyVaultList(const CliContext& ctx, const std::string& resource_group,
                    const std::string& subscription);

struct KeyVaultUpdateOptions {
  VaultTarget vault;
  std::optional<bool> enable_purge_protection;
  std::optional<int> retention_days;
  std::optional<bool> enable_rbac_authorization;
  NetworkRuleOptions network;
};
Status KeyVaultUpdate(const CliContext& ctx, const KeyVaultUpdateOptions& o);

// Soft delete; prints nothing.
Status KeyVaultDelete(const CliContext& ctx, const VaultTarget& vault);

// Purges a soft-deleted vault; `location` empty: looked up among the
// deleted vaults. Prints nothing.
Status KeyVaultPurge(const CliContext& ctx, const std::string& name,
                     const std::string& location,
                     const std::string& subscription);

struct KeyVaultPolicyOptions {
  VaultTarget vault;
  std::string object_id;
  std::string application_id;  // Compound identity; empty: none.
  // Set: replaces that list of the entry (deduplicated); unset: kept.
  std::optional<std::vector<std::string>> key_permissions;
  std::optional<std::vector<std::string>> secret_permissions;
  std::optional<std::vector<std::string>> certificate_permissions;
  std::optional<std::vector<std::string>> storage_permissions;
};
// Adds or edits the entry of (vault tenant, object id, application id);
// refused on vaults with RBAC authorization.
Status KeyVaultSetPolicy(const CliContext& ctx, const KeyVaultPolicyOptions& o);
// Removes that entry; "No matching policies found" when there is none;
// refused on vaults with RBAC authorization. Permission lists are ignored.
Status KeyVaultDeletePolicy(const CliContext& ctx,
                            const KeyVaultPolicyOptions& o);

// atrest extension: prints the vault's data-plane audit events after
// sequence number `after`, oldest first, following nextLink.
Status KeyVaultAudit(const CliContext& ctx, const VaultTarget& vault,
                     int64_t after);

}  // namespace atrest::cli

#endif  // ATREST_CLI_KEYVAULT_COMMANDS_H_
