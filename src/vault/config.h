// The configuration of a vault and of its keys, as values, with their JSON
// forms. The ARM wire shape of a vault's `properties` (reference/
// keyvault-api.md §6.1) is also how atrest keeps them in the store, so one
// parser validates both.
//
// Thread safety: plain values and pure functions.
#ifndef ATREST_VAULT_CONFIG_H_
#define ATREST_VAULT_CONFIG_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace atrest::vault {

// A legacy access policy entry: what `object_id` of `tenant_id` (optionally
// only through `application_id`, a compound identity) may do.
struct AccessPolicy {
  std::string tenant_id;
  std::string object_id;
  std::string application_id;     // Empty: any application.
  std::vector<std::string> keys;  // Key permissions as given ("get", "all").
  std::vector<std::string> secrets;
  std::vector<std::string> certificates;
  std::vector<std::string> storage;

  friend bool operator==(const AccessPolicy&, const AccessPolicy&) = default;
};

struct NetworkAcls {
  std::string default_action = "Allow";  // "Allow" or "Deny".
  std::string bypass = "AzureServices";  // "AzureServices" or "None".
  std::vector<std::string> ip_rules;     // IPv4 addresses or CIDR ranges.
  std::vector<std::string> virtual_network_rules;  // Resource ids; kept only.

  friend bool operator==(const NetworkAcls&, const NetworkAcls&) = default;
};

struct VaultProperties {
  std::string tenant_id;
  std::string sku_family = "A";
  std::string sku_name = "standard";  // "standard" or "premium".
  std::vector<AccessPolicy> access_policies;
  bool enabled_for_deployment = false;
  bool enabled_for_disk_encryption = false;
  bool enabled_for_template_deployment = false;
  bool enable_soft_delete = true;
  int soft_delete_retention_days = 90;
  bool enable_purge_protection = false;
  bool enable_rbac_authorization = false;
  NetworkAcls network_acls;
  std::string public_network_access = "Enabled";  // Or "Disabled".

  friend bool operator==(const VaultProperties&,
                         const VaultProperties&) = default;
};

// Applies the ARM `properties` object `json` onto `base` (all of it for
// PUT: pass a default-constructed base; only the fields present for PATCH)
// and validates the result. Errors are InvalidArgument with ARM-style
// reasons ("BadRequest") naming the field.
Result<VaultProperties> ApplyVaultProperties(const nlohmann::json& json,
                                             VaultProperties base);
// The ARM `properties` object; `vault_uri` is added as vaultUri.
nlohmann::json VaultPropertiesJson(const VaultProperties& p,
                                   const std::string& vault_uri);
Result<std::vector<AccessPolicy>> ParseAccessPolicies(
    const nlohmann::json& json);
nlohmann::json AccessPolicyJson(const AccessPolicy& p);

// Key Vault's recoveryLevel for a vault (reference/keyvault-api.md §5).
std::string RecoveryLevel(const VaultProperties& p);

// What is kept per key version besides its key material: the KeyAttributes
// and key_ops and tags of reference/keyvault-api.md §3.2-3.4.
struct KeyAttributes {
  bool enabled = true;
  std::optional<int64_t> not_before;  // nbf, Unix seconds.
  std::optional<int64_t> expires;     // exp, Unix seconds.
  bool exportable = false;
  std::vector<std::string> key_ops;
  std::map<std::string, std::string> tags;

  friend bool operator==(const KeyAttributes&, const KeyAttributes&) = default;
};
nlohmann::json KeyAttributesStoreJson(const KeyAttributes& a);
Result<KeyAttributes> ParseKeyAttributesStoreJson(const std::string& text);

// The six RSA operations a key allows when key_ops is not given.
const std::vector<std::string>& DefaultRsaKeyOps();
// OK when every entry is a JsonWebKeyOperation (encrypt, decrypt, sign,
// verify, wrapKey, unwrapKey, import, export); BadParameter otherwise.
Status ValidateKeyOps(const std::vector<std::string>& ops);

// A key rotation policy (reference/keyvault-api.md §3.9). Durations are
// ISO 8601 ("P30D", "P2M", "PT12H") as the client sent them.
struct LifetimeAction {
  std::string time_after_create;  // Exactly one of these two is set.
  std::string time_before_expiry;
  std::string action;  // "Rotate" or "Notify".

  friend bool operator==(const LifetimeAction&,
                         const LifetimeAction&) = default;
};
struct RotationPolicy {
  std::vector<LifetimeAction> lifetime_actions;
  std::string expiry_time;  // Empty: new versions get no exp.
  int64_t created = 0;
  int64_t updated = 0;

  friend bool operator==(const RotationPolicy&,
                         const RotationPolicy&) = default;
};
// From a KeyRotationPolicy request body; validates the durations, at most
// one Rotate and one Notify action, and expiryTime >= 28 days. Appends the
// service's default Notify (timeBeforeExpiry P30D) when none is given.
Result<RotationPolicy> ParseRotationPolicy(const nlohmann::json& json);
// The wire form without "id" (the API adds it).
nlohmann::json RotationPolicyJson(const RotationPolicy& p);
Result<RotationPolicy> ParseRotationPolicyStoreJson(const std::string& text);
nlohmann::json RotationPolicyStoreJson(const RotationPolicy& p);

// Seconds in an ISO 8601 duration (years as 365 days, months as 30 days);
// InvalidArgument for anything else.
Result<int64_t> ParseIsoDuration(const std::string& text);

}  // namespace atrest::vault

#endif  // ATREST_VAULT_CONFIG_H_
