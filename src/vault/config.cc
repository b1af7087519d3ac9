#include "vault/config.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "base/json.h"

namespace atrest::vault {
namespace {

using nlohmann::json;

Status Bad(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message), "BadRequest");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The canonical spelling of `value` among `allowed`, ignoring case.
Result<std::string> OneOf(const json& value, const std::string& field,
                          std::initializer_list<std::string_view> allowed) {
  if (value.is_string()) {
    for (std::string_view a : allowed) {
      if (EqualsIgnoreCase(value.get<std::string>(), a)) return std::string(a);
    }
  }
  std::string list;
  for (std::string_view a : allowed) {
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  return Bad("The value of '" + field + "' must be one of: " + list + ".");
}

Result<bool> Bool(const json& value, const std::string& field) {
  if (!value.is_boolean()) return Bad("'" + field + "' must be a boolean.");
  return value.get<bool>();
}

Result<std::vector<std::string>> Strings(const json& value,
                                         const std::string& field) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  if (!value.is_array()) return Bad("'" + field + "' must be an array.");
  for (const json& v : value) {
    if (!v.is_string()) {
      return Bad("'" + field + "' must be an array of strings.");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

const std::set<std::string>& KnownKeyPermissions() {
  static const std::set<std::string> kKnown = {"all",
                                               "encrypt",
                                               "decrypt",
                                               "wrapkey",
                                               "unwrapkey",
                                               "sign",
                                               "verify",
                                               "get",
                                               "list",
                                               "create",
                                               "update",
                                               "import",
                                               "delete",
                                               "backup",
                                               "restore",
                                               "recover",
                                               "purge",
                                               "release",
                                               "rotate",
                                               "getrotationpolicy",
                                               "setrotationpolicy"};
  return kKnown;
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// IPv4 address or CIDR range.
bool ValidIpRule(const std::string& rule) {
  size_t slash = rule.find('/');
  std::string ip = rule.substr(0, slash);
  if (slash != std::string::npos) {
    std::string bits = rule.substr(slash + 1);
    if (bits.empty() || bits.size() > 2 ||
        !std::all_of(bits.begin(), bits.end(), ::isdigit) ||
        std::stoi(bits) > 32) {
      return false;
    }
  }
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = ip.find('.', start);
    std::string part = ip.substr(start, dot - start);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), ::isdigit) ||
        std::stoi(part) > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

}  // namespace

Result<std::vector<AccessPolicy>> ParseAccessPolicies(const json& value) {
  std::vector<AccessPolicy> out;
  if (value.is_null()) return out;
  if (!value.is_array()) return Bad("'accessPolicies' must be an array.");
  if (value.size() > 1024) {
    return Bad("A vault may have at most 1024 access policies.");
  }
  for (const json& e : value) {
    if (!e.is_object()) return Bad("An access policy must be an object.");
    AccessPolicy p;
    const json tenant = e.value("tenantId", json());
    const json object = e.value("objectId", json());
    if (!tenant.is_string() || !object.is_string() ||
        tenant.get<std::string>().empty() ||
        object.get<std::string>().empty()) {
      return Bad("An access policy needs tenantId and objectId.");
    }
    p.tenant_id = Lower(tenant.get<std::string>());
    p.object_id = Lower(object.get<std::string>());
    if (json app = e.value("applicationId", json()); app.is_string()) {
      p.application_id = Lower(app.get<std::string>());
    }
    const json perms = e.value("permissions", json::object());
    if (!perms.is_object()) return Bad("'permissions' must be an object.");
    ASSIGN_OR_RETURN(p.keys, Strings(perms.value("keys", json()), "keys"));
    for (const std::string& k : p.keys) {
      if (!KnownKeyPermissions().contains(Lower(k))) {
        return Bad("The key permission '" + k + "' is not valid.");
      }
    }
    ASSIGN_OR_RETURN(p.secrets,
                     Strings(perms.value("secrets", json()), "secrets"));
    ASSIGN_OR_RETURN(
        p.certificates,
        Strings(perms.value("certificates", json()), "certificates"));
    ASSIGN_OR_RETURN(p.storage,
                     Strings(perms.value("storage", json()), "storage"));
    out.push_back(std::move(p));
  }
  return out;
}

json AccessPolicyJson(const AccessPolicy& p) {
  json out = {{"tenantId", p.tenant_id},
              {"objectId", p.object_id},
              {"permissions",
               {{"keys", p.keys},
                {"secrets", p.secrets},
                {"certificates", p.certificates},
                {"storage", p.storage}}}};
  if (!p.application_id.empty()) out["applicationId"] = p.application_id;
  return out;
}

Result<VaultProperties> ApplyVaultProperties(const json& j, VaultProperties p) {
  if (!j.is_object()) return Bad("'properties' must be an object.");
  const VaultProperties before = p;
  for (const auto& [field, value] : j.items()) {
    if (field == "tenantId") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return Bad("'tenantId' must be a GUID.");
      }
      p.tenant_id = Lower(value.get<std::string>());
    } else if (field == "sku") {
      if (!value.is_object()) return Bad("'sku' must be an object.");
      if (value.contains("family")) {
        ASSIGN_OR_RETURN(p.sku_family,
                         OneOf(value["family"], "sku.family", {"A"}));
      }
      ASSIGN_OR_RETURN(p.sku_name, OneOf(value.value("name", json()),
                                         "sku.name", {"standard", "premium"}));
    } else if (field == "accessPolicies") {
      ASSIGN_OR_RETURN(p.access_policies, ParseAccessPolicies(value));
    } else if (field == "enabledForDeployment") {
      ASSIGN_OR_RETURN(p.enabled_for_deployment, Bool(value, field));
    } else if (field == "enabledForDiskEncryption") {
      ASSIGN_OR_RETURN(p.enabled_for_disk_encryption, Bool(value, field));
    } else if (field == "enabledForTemplateDeployment") {
      ASSIGN_OR_RETURN(p.enabled_for_template_deployment, Bool(value, field));
    } else if (field == "enableSoftDelete") {
      if (value.is_null()) continue;
      ASSIGN_OR_RETURN(bool on, Bool(value, field));
      if (!on) {
        return Bad("Soft delete cannot be disabled: it is on for every vault.");
      }
    } else if (field == "softDeleteRetentionInDays") {
      if (value.is_null()) continue;
      if (!value.is_number_integer() || value.get<int64_t>() < 7 ||
          value.get<int64_t>() > 90) {
        return Bad(
            "'softDeleteRetentionInDays' must be an integer from 7 to 90.");
      }
      p.soft_delete_retention_days = value.get<int>();
    } else if (field == "enablePurgeProtection") {
      if (value.is_null()) continue;
      ASSIGN_OR_RETURN(p.enable_purge_protection, Bool(value, field));
    } else if (field == "enableRbacAuthorization") {
      if (value.is_null()) continue;
      ASSIGN_OR_RETURN(p.enable_rbac_authorization, Bool(value, field));
    } else if (field == "networkAcls") {
      if (value.is_null()) {
        p.network_acls = {};
        continue;
      }
      if (!value.is_object()) return Bad("'networkAcls' must be an object.");
      if (value.contains("defaultAction")) {
        ASSIGN_OR_RETURN(p.network_acls.default_action,
                         OneOf(value["defaultAction"],
                               "networkAcls.defaultAction", {"Allow", "Deny"}));
      }
      if (value.contains("bypass")) {
        ASSIGN_OR_RETURN(p.network_acls.bypass,
                         OneOf(value["bypass"], "networkAcls.bypass",
                               {"AzureServices", "None"}));
      }
      if (value.contains("ipRules")) {
        p.network_acls.ip_rules.clear();
        const json& rules = value["ipRules"];
        if (!rules.is_array() && !rules.is_null()) {
          return Bad("'networkAcls.ipRules' must be an array.");
        }
        for (const json& r : rules.is_null() ? json::array() : rules) {
          const json v = r.is_object() ? r.value("value", json()) : json();
          if (!v.is_string() || !ValidIpRule(v.get<std::string>())) {
            return Bad(
                "'networkAcls.ipRules' entries need a 'value' that is "
                "an IPv4 address or CIDR range.");
          }
          p.network_acls.ip_rules.push_back(v.get<std::string>());
        }
      }
      if (value.contains("virtualNetworkRules")) {
        p.network_acls.virtual_network_rules.clear();
        for (const json& r : value["virtualNetworkRules"].is_array()
                                 ? value["virtualNetworkRules"]
                                 : json::array()) {
          if (r.is_object() && r.value("id", json()).is_string()) {
            p.network_acls.virtual_network_rules.push_back(
                r["id"].get<std::string>());
          }
        }
      }
    } else if (field == "publicNetworkAccess") {
      ASSIGN_OR_RETURN(p.public_network_access,
                       OneOf(value, field, {"Enabled", "Disabled"}));
    }
    // Read-only and unknown fields (vaultUri, provisioningState,
    // createMode, ...) are ignored, as ARM does.
  }
  if (p.tenant_id.empty()) return Bad("'tenantId' is required.");
  if (before.enable_purge_protection && !p.enable_purge_protection) {
    return Bad("Purge protection cannot be disabled once it has been enabled.");
  }
  for (const AccessPolicy& a : p.access_policies) {
    if (a.tenant_id != p.tenant_id) {
      return Bad("Every access policy must use the vault's tenant '" +
                 p.tenant_id + "'.");
    }
  }
  return p;
}

json VaultPropertiesJson(const VaultProperties& p,
                         const std::string& vault_uri) {
  json policies = json::array();
  for (const AccessPolicy& a : p.access_policies) {
    policies.push_back(AccessPolicyJson(a));
  }
  json ip_rules = json::array();
  for (const std::string& r : p.network_acls.ip_rules) {
    ip_rules.push_back({{"value", r}});
  }
  json vnet_rules = json::array();
  for (const std::string& r : p.network_acls.virtual_network_rules) {
    vnet_rules.push_back({{"id", r}});
  }
  return {{"tenantId", p.tenant_id},
          {"sku", {{"family", p.sku_family}, {"name", p.sku_name}}},
          {"accessPolicies", std::move(policies)},
          {"enabledForDeployment", p.enabled_for_deployment},
          {"enabledForDiskEncryption", p.enabled_for_disk_encryption},
          {"enabledForTemplateDeployment", p.enabled_for_template_deployment},
          {"enableSoftDelete", p.enable_soft_delete},
          {"softDeleteRetentionInDays", p.soft_delete_retention_days},
          {"enablePurgeProtection", p.enable_purge_protection},
          {"enableRbacAuthorization", p.enable_rbac_authorization},
          {"networkAcls",
           {{"defaultAction", p.network_acls.default_action},
            {"bypass", p.network_acls.bypass},
            {"ipRules", std::move(ip_rules)},
            {"virtualNetworkRules", std::move(vnet_rules)}}},
          {"publicNetworkAccess", p.public_network_access},
          {"vaultUri", vault_uri},
          {"provisioningState", "Succeeded"}};
}

std::string RecoveryLevel(const VaultProperties& p) {
  const bool customized = p.soft_delete_retention_days < 90;
  std::string level = customized ? "CustomizedRecoverable" : "Recoverable";
  if (!p.enable_purge_protection) level += "+Purgeable";
  return level;
}

// ---- Keys ----

const std::vector<std::string>& DefaultRsaKeyOps() {
  static const std::vector<std::string> kOps = {
      "encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"};
  return kOps;
}

Status ValidateKeyOps(const std::vector<std::string>& ops) {
  static const std::set<std::string> kKnown = {
      "encrypt", "decrypt",   "sign",   "verify",
      "wrapKey", "unwrapKey", "import", "export"};
  for (const std::string& op : ops) {
    if (!kKnown.contains(op)) {
      return Status(StatusCode::kInvalidArgument,
                    "Invalid key operation '" + op + "'.", "BadParameter");
    }
  }
  return Status::Ok();
}

json KeyAttributesStoreJson(const KeyAttributes& a) {
  json out = {{"enabled", a.enabled},
              {"exportable", a.exportable},
              {"key_ops", a.key_ops},
              {"tags", a.tags}};
  if (a.not_before) out["nbf"] = *a.not_before;
  if (a.expires) out["exp"] = *a.expires;
  return out;
}

Result<KeyAttributes> ParseKeyAttributesStoreJson(const std::string& text) {
  json j = ParseJsonOrDiscarded(text, kStoredJsonLimits);
  if (!j.is_object()) {
    return Status(StatusCode::kDataLoss, "stored key attributes are damaged");
  }
  KeyAttributes a;
  a.enabled = j.value("enabled", true);
  a.exportable = j.value("exportable", false);
  if (j.contains("nbf")) a.not_before = j["nbf"].get<int64_t>();
  if (j.contains("exp")) a.expires = j["exp"].get<int64_t>();
  a.key_ops = j.value("key_ops", std::vector<std::string>{});
  a.tags = j.value("tags", std::map<std::string, std::string>{});
  return a;
}

// ---- Rotation policies ----

Result<int64_t> ParseIsoDuration(const std::string& text) {
  auto bad = [&]() {
    return Status(StatusCode::kInvalidArgument,
                  "'" + text + "' is not an ISO 8601 duration.",
                  "BadParameter");
  };
  if (text.size() < 3 || text[0] != 'P') return bad();
  int64_t total = 0;
  bool time = false;
  bool any = false;
  bool any_time = false;  // A component after 'T': "P1DT" is not a duration.
  // Components come largest unit first, each at most once ("P1D1D" and
  // "P1M1Y" are not durations); date units are all larger than time units.
  int64_t last_unit = std::numeric_limits<int64_t>::max();
  int64_t number = -1;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == 'T') {
      if (time || number >= 0) return bad();
      time = true;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number = (number < 0 ? 0 : number) * 10 + (c - '0');
      if (number > 1000000) return bad();
      continue;
    }
    if (number < 0) return bad();
    int64_t unit = 0;
    if (!time && c == 'Y') unit = 365 * 86400;
    if (!time && c == 'M') unit = 30 * 86400;
    if (!time && c == 'W') unit = 7 * 86400;
    if (!time && c == 'D') unit = 86400;
    if (time && c == 'H') unit = 3600;
    if (time && c == 'M') unit = 60;
    if (time && c == 'S') unit = 1;
    if (unit == 0 || unit >= last_unit) return bad();
    last_unit = unit;
    total += number * unit;
    number = -1;
    any = true;
    any_time = time;
  }
  if (!any || number >= 0 || (time && !any_time)) return bad();
  return total;
}

Result<RotationPolicy> ParseRotationPolicy(const json& j) {
  auto bad = [](std::string m) {
    return Status(StatusCode::kInvalidArgument, std::move(m), "BadParameter");
  };
  if (!j.is_object()) return bad("The rotation policy must be an object.");
  RotationPolicy p;
  const json actions = j.value("lifetimeActions", json::array());
  if (!actions.is_array()) return bad("'lifetimeActions' must be an array.");
  int rotates = 0, notifies = 0;
  for (const json& a : actions) {
    if (!a.is_object()) return bad("A lifetime action must be an object.");
    LifetimeAction la;
    const json trigger = a.value("trigger", json::object());
    const json action = a.value("action", json::object());
    if (!trigger.is_object() || !action.is_object()) {
      return bad("A lifetime action needs a trigger and an action.");
    }
    if (trigger.value("timeAfterCreate", json()).is_string()) {
      la.time_after_create = trigger["timeAfterCreate"].get<std::string>();
      RETURN_IF_ERROR(ParseIsoDuration(la.time_after_create).status());
    }
    if (trigger.value("timeBeforeExpiry", json()).is_string()) {
      la.time_before_expiry = trigger["timeBeforeExpiry"].get<std::string>();
      RETURN_IF_ERROR(ParseIsoDuration(la.time_before_expiry).status());
    }
    if (la.time_after_create.empty() == la.time_before_expiry.empty()) {
      return bad(
          "A trigger needs exactly one of timeAfterCreate and "
          "timeBeforeExpiry.");
    }
    const json type = action.value("type", json());
    if (type.is_string() &&
        EqualsIgnoreCase(type.get<std::string>(), "Rotate")) {
      la.action = "Rotate";
      ++rotates;
    } else if (type.is_string() &&
               EqualsIgnoreCase(type.get<std::string>(), "Notify")) {
      la.action = "Notify";
      ++notifies;
    } else {
      return bad("The action type must be Rotate or Notify.");
    }
    p.lifetime_actions.push_back(std::move(la));
  }
  if (rotates > 1 || notifies > 1) {
    return bad(
        "A rotation policy has at most one Rotate and one Notify "
        "action.");
  }
  const json attrs = j.value("attributes", json::object());
  if (attrs.is_object() && attrs.value("expiryTime", json()).is_string()) {
    p.expiry_time = attrs["expiryTime"].get<std::string>();
    ASSIGN_OR_RETURN(int64_t expiry, ParseIsoDuration(p.expiry_time));
    if (expiry < 28 * 86400) {
      return bad("expiryTime must be at least 28 days.");
    }
  }
  if (notifies == 0) {
    p.lifetime_actions.push_back(
        {.time_before_expiry = "P30D", .action = "Notify"});
  }
  return p;
}

json RotationPolicyJson(const RotationPolicy& p) {
  json actions = json::array();
  for (const LifetimeAction& a : p.lifetime_actions) {
    json trigger = json::object();
    if (!a.time_after_create.empty()) {
      trigger["timeAfterCreate"] = a.time_after_create;
    }
    if (!a.time_before_expiry.empty()) {
      trigger["timeBeforeExpiry"] = a.time_before_expiry;
    }
    actions.push_back({{"trigger", trigger}, {"action", {{"type", a.action}}}});
  }
  json attrs = json::object();
  if (!p.expiry_time.empty()) attrs["expiryTime"] = p.expiry_time;
  if (p.created) attrs["created"] = p.created;
  if (p.updated) attrs["updated"] = p.updated;
  return {{"lifetimeActions", std::move(actions)}, {"attributes", attrs}};
}

json RotationPolicyStoreJson(const RotationPolicy& p) {
  return RotationPolicyJson(p);
}

Result<RotationPolicy> ParseRotationPolicyStoreJson(const std::string& text) {
  json j = ParseJsonOrDiscarded(text, kStoredJsonLimits);
  if (!j.is_object()) {
    return Status(StatusCode::kDataLoss, "stored rotation policy is damaged");
  }
  RotationPolicy p;
  for (const json& a : j.value("lifetimeActions", json::array())) {
    const json t = a.value("trigger", json::object());
    p.lifetime_actions.push_back(
        {.time_after_create = t.value("timeAfterCreate", ""),
         .time_before_expiry = t.value("timeBeforeExpiry", ""),
         .action = a.value("action", json::object()).value("type", "")});
  }
  const json attrs = j.value("attributes", json::object());
  p.expiry_time = attrs.value("expiryTime", "");
  p.created = attrs.value("created", int64_t{0});
  p.updated = attrs.value("updated", int64_t{0});
  return p;
}

}  // namespace atrest::vault
