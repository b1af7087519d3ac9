// Tests of the vault and key configuration values: the ARM properties
// parser, ISO 8601 durations, rotation policies and recovery levels.
#include "vault/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace atrest::vault {
namespace {

using nlohmann::json;

constexpr char kTenant[] = "7d9a3f2e-0b1c-4d5e-8f60-112233445566";
constexpr char kOtherTenant[] = "0f0f0f0f-1111-2222-3333-444444444444";
constexpr char kObject[] = "a1b2c3d4-0000-1111-2222-333344445555";

constexpr int64_t kDay = 86400;

json Base() {
  return {{"tenantId", kTenant},
          {"sku", {{"family", "A"}, {"name", "standard"}}}};
}

json With(json j, const std::string& field, json value) {
  j[field] = std::move(value);
  return j;
}

// The error of applying `j` onto defaults; OK when it was accepted.
Status Apply(const json& j, VaultProperties base = {}) {
  return ApplyVaultProperties(j, std::move(base)).status();
}

void ExpectBadRequest(const Status& s, const std::string& mention) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(s.reason(), "BadRequest") << s;
  EXPECT_NE(s.message().find(mention), std::string::npos)
      << "message should name '" << mention << "': " << s.message();
}

// ---- ApplyVaultProperties ----

TEST(VaultPropertiesTest, MinimalDefinitionGetsTheServiceDefaults) {
  Result<VaultProperties> p = ApplyVaultProperties(Base(), {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant_id, kTenant);
  EXPECT_EQ(p->sku_family, "A");
  EXPECT_EQ(p->sku_name, "standard");
  EXPECT_TRUE(p->access_policies.empty());
  EXPECT_TRUE(p->enable_soft_delete);
  EXPECT_EQ(p->soft_delete_retention_days, 90);
  EXPECT_FALSE(p->enable_purge_protection);
  EXPECT_FALSE(p->enable_rbac_authorization);
  EXPECT_EQ(p->network_acls.default_action, "Allow");
  EXPECT_EQ(p->network_acls.bypass, "AzureServices");
  EXPECT_EQ(p->public_network_access, "Enabled");
}

TEST(VaultPropertiesTest, TenantIdIsRequiredAndLowerCased) {
  ExpectBadRequest(Apply({{"sku", {{"name", "standard"}}}}), "tenantId");
  ExpectBadRequest(Apply(With(Base(), "tenantId", "")), "tenantId");
  ExpectBadRequest(Apply(With(Base(), "tenantId", 5)), "tenantId");
  Result<VaultProperties> p = ApplyVaultProperties(
      With(Base(), "tenantId", "7D9A3F2E-0B1C-4D5E-8F60-112233445566"), {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->tenant_id, kTenant);
  ExpectBadRequest(Apply(json::array()), "properties");
}

TEST(VaultPropertiesTest, SkuNames) {
  for (const char* name : {"standard", "Standard", "premium", "PREMIUM"}) {
    Result<VaultProperties> p = ApplyVaultProperties(
        With(Base(), "sku", {{"family", "A"}, {"name", name}}), {});
    ASSERT_TRUE(p.ok()) << name << ": " << p.status();
    EXPECT_TRUE(p->sku_name == "standard" || p->sku_name == "premium")
        << "canonical spelling expected, got " << p->sku_name;
  }
  EXPECT_EQ(ApplyVaultProperties(
                With(Base(), "sku", {{"family", "a"}, {"name", "Premium"}}), {})
                ->sku_name,
            "premium");
  ExpectBadRequest(Apply(With(Base(), "sku", {{"name", "basic"}})), "sku.name");
  ExpectBadRequest(Apply(With(Base(), "sku", {{"family", "A"}})), "sku.name");
  ExpectBadRequest(Apply(With(Base(), "sku", {{"name", 1}})), "sku.name");
  ExpectBadRequest(
      Apply(With(Base(), "sku", {{"family", "B"}, {"name", "standard"}})),
      "sku.family");
  ExpectBadRequest(Apply(With(Base(), "sku", "standard")), "sku");
}

TEST(VaultPropertiesTest, RetentionIsSevenToNinetyDays) {
  for (int days : {7, 30, 90}) {
    Result<VaultProperties> p = ApplyVaultProperties(
        With(Base(), "softDeleteRetentionInDays", days), {});
    ASSERT_TRUE(p.ok()) << days << ": " << p.status();
    EXPECT_EQ(p->soft_delete_retention_days, days);
  }
  for (const json& bad : {json(6), json(91), json(0), json(-7), json(7.5),
                          json("30"), json(true)}) {
    ExpectBadRequest(Apply(With(Base(), "softDeleteRetentionInDays", bad)),
                     "softDeleteRetentionInDays");
  }
  // null means "not given".
  EXPECT_EQ(ApplyVaultProperties(
                With(Base(), "softDeleteRetentionInDays", nullptr), {})
                ->soft_delete_retention_days,
            90);
}

TEST(VaultPropertiesTest, SoftDeleteCannotBeTurnedOff) {
  ExpectBadRequest(Apply(With(Base(), "enableSoftDelete", false)),
                   "Soft delete");
  EXPECT_TRUE(Apply(With(Base(), "enableSoftDelete", true)).ok());
  EXPECT_TRUE(Apply(With(Base(), "enableSoftDelete", nullptr)).ok());
  ExpectBadRequest(Apply(With(Base(), "enableSoftDelete", "false")),
                   "enableSoftDelete");
}

TEST(VaultPropertiesTest, PurgeProtectionIsIrreversible) {
  Result<VaultProperties> on =
      ApplyVaultProperties(With(Base(), "enablePurgeProtection", true), {});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->enable_purge_protection);

  ExpectBadRequest(Apply({{"enablePurgeProtection", false}}, *on),
                   "Purge protection");
  // A full PUT that turns it off is refused too.
  ExpectBadRequest(Apply(With(Base(), "enablePurgeProtection", false), *on),
                   "Purge protection");
  // Leaving it out, or null, keeps it on.
  for (const json& patch :
       {json::object(), json{{"enablePurgeProtection", nullptr}},
        json{{"enablePurgeProtection", true}}}) {
    Result<VaultProperties> kept = ApplyVaultProperties(patch, *on);
    ASSERT_TRUE(kept.ok()) << patch << ": " << kept.status();
    EXPECT_TRUE(kept->enable_purge_protection);
  }
  // Off stays switchable while it was never on.
  EXPECT_TRUE(Apply({{"enablePurgeProtection", false}},
                    *ApplyVaultProperties(Base(), {}))
                  .ok());
}

TEST(VaultPropertiesTest, AccessPoliciesMustUseTheVaultTenant) {
  json policy = {{"tenantId", kTenant},
                 {"objectId", kObject},
                 {"permissions", {{"keys", {"Get", "wrapKey", "UnwrapKey"}}}}};
  Result<VaultProperties> p = ApplyVaultProperties(
      With(Base(), "accessPolicies", json::array({policy})), {});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->access_policies.size(), 1u);
  EXPECT_EQ(p->access_policies[0].tenant_id, kTenant);
  EXPECT_EQ(p->access_policies[0].object_id, kObject);
  EXPECT_EQ(p->access_policies[0].keys,
            (std::vector<std::string>{"Get", "wrapKey", "UnwrapKey"}));

  json foreign = policy;
  foreign["tenantId"] = kOtherTenant;
  ExpectBadRequest(
      Apply(With(Base(), "accessPolicies", json::array({policy, foreign}))),
      "tenant");

  // Upper-case GUIDs are the same tenant.
  json upper = policy;
  upper["tenantId"] = "7D9A3F2E-0B1C-4D5E-8F60-112233445566";
  EXPECT_TRUE(Apply(With(Base(), "accessPolicies", json::array({upper}))).ok());

  json unknown = policy;
  unknown["permissions"]["keys"] = {"get", "frobnicate"};
  ExpectBadRequest(
      Apply(With(Base(), "accessPolicies", json::array({unknown}))),
      "frobnicate");
  json no_object = policy;
  no_object.erase("objectId");
  ExpectBadRequest(
      Apply(With(Base(), "accessPolicies", json::array({no_object}))),
      "objectId");
  ExpectBadRequest(Apply(With(Base(), "accessPolicies", policy)),
                   "accessPolicies");
}

TEST(VaultPropertiesTest, IpRulesMustBeIpv4AddressesOrRanges) {
  auto acls = [](json rules) {
    return With(Base(), "networkAcls",
                {{"defaultAction", "Deny"},
                 {"bypass", "None"},
                 {"ipRules", std::move(rules)}});
  };
  Result<VaultProperties> ok =
      ApplyVaultProperties(acls({{{"value", "10.0.0.0/8"}},
                                 {{"value", "203.0.113.7"}},
                                 {{"value", "0.0.0.0/0"}},
                                 {{"value", "1.2.3.4/32"}}}),
                           {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->network_acls.default_action, "Deny");
  EXPECT_EQ(ok->network_acls.bypass, "None");
  EXPECT_EQ(ok->network_acls.ip_rules,
            (std::vector<std::string>{"10.0.0.0/8", "203.0.113.7", "0.0.0.0/0",
                                      "1.2.3.4/32"}));

  for (const char* bad :
       {"300.1.1.1", "1.2.3.4/33", "1.2.3", "1.2.3.4.5", "abc", "1.2.3.4/", "",
        "1.2.3.4/x", "1..3.4", "1.2.3.4.", "::1", "1.2.3.4/123"}) {
    ExpectBadRequest(Apply(acls({{{"value", bad}}})), "ipRules");
  }
  // Entries are objects with a string value.
  ExpectBadRequest(Apply(acls({"1.2.3.4"})), "ipRules");
  ExpectBadRequest(Apply(acls({{{"value", 1234}}})), "ipRules");
  ExpectBadRequest(Apply(acls("1.2.3.4")), "ipRules");

  ExpectBadRequest(
      Apply(With(Base(), "networkAcls", {{"defaultAction", "Block"}})),
      "defaultAction");
  ExpectBadRequest(Apply(With(Base(), "networkAcls", {{"bypass", "All"}})),
                   "bypass");
  ExpectBadRequest(Apply(With(Base(), "publicNetworkAccess", "Off")),
                   "publicNetworkAccess");
}

TEST(VaultPropertiesTest, JsonFormRoundTrips) {
  json in = Base();
  in["sku"]["name"] = "premium";
  in["softDeleteRetentionInDays"] = 14;
  in["enablePurgeProtection"] = true;
  in["enableRbacAuthorization"] = true;
  in["enabledForDiskEncryption"] = true;
  in["publicNetworkAccess"] = "Disabled";
  in["accessPolicies"] = {{{"tenantId", kTenant},
                           {"objectId", kObject},
                           {"applicationId", "app-1"},
                           {"permissions", {{"keys", {"get"}}}}}};
  in["networkAcls"] = {{"defaultAction", "Deny"},
                       {"bypass", "None"},
                       {"ipRules", {{{"value", "10.0.0.0/8"}}}},
                       {"virtualNetworkRules", {{{"id", "/vnet/1"}}}}};
  Result<VaultProperties> p = ApplyVaultProperties(in, {});
  ASSERT_TRUE(p.ok()) << p.status();
  json out = VaultPropertiesJson(*p, "https://v1.vault.example/");
  EXPECT_EQ(out["vaultUri"], "https://v1.vault.example/");
  EXPECT_EQ(out["provisioningState"], "Succeeded");
  Result<VaultProperties> again = ApplyVaultProperties(out, {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *p);
}

// ---- RecoveryLevel ----

TEST(RecoveryLevelTest, FollowsRetentionAndPurgeProtection) {
  VaultProperties p;
  p.soft_delete_retention_days = 90;
  p.enable_purge_protection = false;
  EXPECT_EQ(RecoveryLevel(p), "Recoverable+Purgeable");
  p.enable_purge_protection = true;
  EXPECT_EQ(RecoveryLevel(p), "Recoverable");
  p.soft_delete_retention_days = 7;
  p.enable_purge_protection = false;
  EXPECT_EQ(RecoveryLevel(p), "CustomizedRecoverable+Purgeable");
  p.enable_purge_protection = true;
  EXPECT_EQ(RecoveryLevel(p), "CustomizedRecoverable");
  p.soft_delete_retention_days = 89;
  EXPECT_EQ(RecoveryLevel(p), "CustomizedRecoverable");
}

// ---- ParseIsoDuration ----

TEST(IsoDurationTest, ParsesDatesAndTimes) {
  struct Case {
    const char* text;
    int64_t seconds;
  };
  for (const Case& c : {
           Case{"P30D", 30 * kDay},
           Case{"P2M", 60 * kDay},
           Case{"P1Y", 365 * kDay},
           Case{"P1W", 7 * kDay},
           Case{"PT12H", 12 * 3600},
           Case{"PT90M", 90 * 60},
           Case{"PT45S", 45},
           Case{"P1Y2M3DT4H5M6S",
                365 * kDay + 60 * kDay + 3 * kDay + 4 * 3600 + 5 * 60 + 6},
           Case{"P0D", 0},
           Case{"P1DT1S", kDay + 1},
       }) {
    Result<int64_t> d = ParseIsoDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.seconds) << c.text;
  }
}

TEST(IsoDurationTest, RefusesWhatIsNotADuration) {
  for (const char* bad :
       {"",      "P",     "PT",    "30D",    "P30",        "PT30D",
        "P1H",   "P-1D",  "P1.5D", "p30d",   "P 1D",       "P1DT",
        "P30DT", "D30P",  "P1X",   "PT1Y",   "P99999999D", "P1D ",
        "TP1D",  "P1D1D", "P1M1Y", "PT1S1M", "P1DT2H3H",   "P1D1W"}) {
    Result<int64_t> d = ParseIsoDuration(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "' parsed as " << *d;
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << bad;
      EXPECT_EQ(d.status().reason(), "BadParameter") << bad;
    }
  }
}

// ---- ParseRotationPolicy ----

json Action(const std::string& trigger, const std::string& duration,
            const std::string& type) {
  return {{"trigger", {{trigger, duration}}}, {"action", {{"type", type}}}};
}

TEST(RotationPolicyTest, AppendsTheDefaultNotify) {
  Result<RotationPolicy> p = ParseRotationPolicy(
      {{"lifetimeActions",
        json::array({Action("timeAfterCreate", "P30D", "rotate")})},
       {"attributes", {{"expiryTime", "P90D"}}}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->expiry_time, "P90D");
  ASSERT_EQ(p->lifetime_actions.size(), 2u);
  EXPECT_EQ(p->lifetime_actions[0],
            (LifetimeAction{.time_after_create = "P30D", .action = "Rotate"}));
  EXPECT_EQ(p->lifetime_actions[1],
            (LifetimeAction{.time_before_expiry = "P30D", .action = "Notify"}));
}

TEST(RotationPolicyTest, KeepsAGivenNotify) {
  Result<RotationPolicy> p = ParseRotationPolicy(
      {{"lifetimeActions",
        json::array({Action("timeBeforeExpiry", "P10D", "Rotate"),
                     Action("timeBeforeExpiry", "P7D", "Notify")})}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->expiry_time, "");
  ASSERT_EQ(p->lifetime_actions.size(), 2u);
  EXPECT_EQ(p->lifetime_actions[1],
            (LifetimeAction{.time_before_expiry = "P7D", .action = "Notify"}));

  // An empty policy is the service default.
  Result<RotationPolicy> empty = ParseRotationPolicy(json::object());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->lifetime_actions,
            (std::vector<LifetimeAction>{
                {.time_before_expiry = "P30D", .action = "Notify"}}));
}

TEST(RotationPolicyTest, RefusesBadPolicies) {
  auto refused = [](const json& j) {
    Result<RotationPolicy> p = ParseRotationPolicy(j);
    EXPECT_FALSE(p.ok()) << j;
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << j;
      EXPECT_EQ(p.status().reason(), "BadParameter") << j;
    }
  };
  // Two Rotate actions (or two Notify actions).
  refused({{"lifetimeActions",
            json::array({Action("timeAfterCreate", "P30D", "Rotate"),
                         Action("timeBeforeExpiry", "P10D", "Rotate")})}});
  refused({{"lifetimeActions",
            json::array({Action("timeBeforeExpiry", "P30D", "Notify"),
                         Action("timeBeforeExpiry", "P10D", "Notify")})}});
  // expiryTime under 28 days.
  refused({{"lifetimeActions",
            json::array({Action("timeAfterCreate", "P7D", "Rotate")})},
           {"attributes", {{"expiryTime", "P27D"}}}});
  refused({{"attributes", {{"expiryTime", "PT600H"}}}});
  refused({{"attributes", {{"expiryTime", "ninety days"}}}});
  // Triggers need exactly one duration, and it must parse.
  json both = Action("timeAfterCreate", "P1D", "Rotate");
  both["trigger"]["timeBeforeExpiry"] = "P1D";
  refused({{"lifetimeActions", json::array({both})}});
  json neither = Action("timeAfterCreate", "P1D", "Rotate");
  neither["trigger"] = json::object();
  refused({{"lifetimeActions", json::array({neither})}});
  refused({{"lifetimeActions",
            json::array({Action("timeAfterCreate", "P1X", "Rotate")})}});
  refused({{"lifetimeActions",
            json::array({Action("timeAfterCreate", "P1D", "Delete")})}});
  refused({{"lifetimeActions", "Rotate"}});
  refused(json::array());

  Result<RotationPolicy> minimum =
      ParseRotationPolicy({{"attributes", {{"expiryTime", "P28D"}}}});
  EXPECT_TRUE(minimum.ok()) << minimum.status();
}

TEST(RotationPolicyTest, StoreFormRoundTrips) {
  Result<RotationPolicy> p = ParseRotationPolicy(
      {{"lifetimeActions",
        json::array({Action("timeAfterCreate", "P2M", "Rotate")})},
       {"attributes", {{"expiryTime", "P1Y"}}}});
  ASSERT_TRUE(p.ok()) << p.status();
  p->created = 1767225600;
  p->updated = 1767225700;
  Result<RotationPolicy> back =
      ParseRotationPolicyStoreJson(RotationPolicyStoreJson(*p).dump());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *p);
  EXPECT_EQ(ParseRotationPolicyStoreJson("not json").status().code(),
            StatusCode::kDataLoss);
}

// ---- Key attributes and operations ----

TEST(KeyAttributesTest, StoreFormRoundTrips) {
  KeyAttributes a{.enabled = false,
                  .not_before = 1767225600,
                  .expires = 1798761600,
                  .key_ops = {"wrapKey", "unwrapKey"},
                  .tags = {{"env", "test"}}};
  Result<KeyAttributes> back =
      ParseKeyAttributesStoreJson(KeyAttributesStoreJson(a).dump());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, a);
  KeyAttributes plain;
  EXPECT_EQ(*ParseKeyAttributesStoreJson(KeyAttributesStoreJson(plain).dump()),
            plain);
}

TEST(KeyOpsTest, OnlyJsonWebKeyOperations) {
  EXPECT_TRUE(ValidateKeyOps(DefaultRsaKeyOps()).ok());
  EXPECT_TRUE(ValidateKeyOps({"import", "export"}).ok());
  Status s = ValidateKeyOps({"sign", "destroy"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "BadParameter");
  EXPECT_NE(s.message().find("destroy"), std::string::npos);
}

}  // namespace
}  // namespace atrest::vault
