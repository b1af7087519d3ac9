// Tests of VaultService through its public interface: a real SqliteStore in
// a scratch directory, a ResourceManager, a FakeClock that the tests move by
// hand, and (for RSA-HSM keys) a real SoftHSM2 token.
//
// SoftHSM2 is a build dependency (scripts/install-deps.sh installs it):
// without it the HSM tests fail, they do not skip. PKCS#11 allows one Token
// per module and process, so the whole binary shares one token, opened by a
// global test environment before any test starts.
#include "vault/vault_service.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/base64.h"
#include "base/status_testing.h"
#include "base/utf8.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "env/testing.h"
#include "hsm/softhsm.h"
#include "resources/roles.h"
#include "store/sqlite_store.h"

namespace atrest::vault {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int64_t kDay = 86400;
constexpr char kGroup[] = "rg";
constexpr char kLocation[] = "westus";
constexpr char kHere[] = "127.0.0.1";

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool ContainsBytes(const std::string& haystack, ByteView needle) {
  const ByteView hay = AsBytes(haystack);
  return !needle.empty() && std::search(hay.begin(), hay.end(), needle.begin(),
                                        needle.end()) != hay.end();
}

Bytes RandomData(size_t size) {
  Bytes out(size);
  crypto::RandomBytes(out);
  return out;
}

// Expects a Verify call to succeed with `valid`.
void ExpectVerified(const Result<bool>& r, bool valid) {
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, valid);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

RotationPolicy ParsePolicy(const json& j) {
  Result<RotationPolicy> p = ParseRotationPolicy(j);
  EXPECT_OK(p);
  return p.ok() ? *p : RotationPolicy{};
}

// ---- RSA keys whose components the test knows ----

// A fresh RSA-2048 key's components, made with OpenSSL directly so that the
// test holds d, p and q (the crypto module never hands them out).
crypto::RsaPrivateComponents GenerateComponents() {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  EXPECT_NE(pkey, nullptr);
  auto get = [&](const char* name) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1) << name;
    Bytes out(static_cast<size_t>(BN_num_bytes(bn)));
    BN_bn2bin(bn, out.data());
    BN_clear_free(bn);
    return out;
  };
  auto secret = [&](const char* name) {
    Bytes b = get(name);
    crypto::SecretBytes s = crypto::SecretBytes::CopyFrom(b);
    std::fill(b.begin(), b.end(), 0);
    return s;
  };
  crypto::RsaPrivateComponents c;
  c.n = get(OSSL_PKEY_PARAM_RSA_N);
  c.e = get(OSSL_PKEY_PARAM_RSA_E);
  c.d = secret(OSSL_PKEY_PARAM_RSA_D);
  c.p = secret(OSSL_PKEY_PARAM_RSA_FACTOR1);
  c.q = secret(OSSL_PKEY_PARAM_RSA_FACTOR2);
  c.dp = secret(OSSL_PKEY_PARAM_RSA_EXPONENT1);
  c.dq = secret(OSSL_PKEY_PARAM_RSA_EXPONENT2);
  c.qi = secret(OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  EVP_PKEY_free(pkey);
  return c;
}

crypto::RsaPrivateComponents Clone(const crypto::RsaPrivateComponents& c) {
  crypto::RsaPrivateComponents out;
  out.n = c.n;
  out.e = c.e;
  out.d = c.d.Clone();
  out.p = c.p.Clone();
  out.q = c.q.Clone();
  out.dp = c.dp.Clone();
  out.dq = c.dq.Clone();
  out.qi = c.qi.Clone();
  return out;
}

// One key for the whole binary: importing it is much faster than making
// keys, for tests where the key material does not matter.
const crypto::RsaPrivateComponents& SharedKey() {
  static const crypto::RsaPrivateComponents* const kKey =
      new crypto::RsaPrivateComponents(GenerateComponents());
  return *kKey;
}

ImportKeyParams ImportParams(
    const crypto::RsaPrivateComponents& key,
    std::optional<std::vector<std::string>> key_ops = std::nullopt) {
  ImportKeyParams p;
  p.key = Clone(key);
  p.key_ops = std::move(key_ops);
  return p;
}

// ---- The shared SoftHSM2 token ----

class HsmEnvironment : public ::testing::Environment {
 public:
  static hsm::Token* token() { return token_.get(); }
  static const std::string& error() { return error_; }

  void SetUp() override {
    Result<std::string> module = hsm::FindSoftHsmModule();
    if (!module.ok()) {
      error_ =
          "SoftHSM2 is required for the RSA-HSM tests and is missing; run "
          "scripts/install-deps.sh (Debian package softhsm2): " +
          module.status().ToString();
      return;
    }
    Result<env::ScopedTempDir> dir = env::ScopedTempDir::Create();
    if (!dir.ok()) {
      error_ = "no scratch directory for SoftHSM2: " + dir.status().ToString();
      return;
    }
    dir_.emplace(std::move(dir).value());
    Result<hsm::TokenOptions> options = hsm::PrepareSoftHsm(
        env::Env::Default(), dir_->Join("hsm"), "atrest-vault-test");
    if (!options.ok()) {
      error_ = "PrepareSoftHsm failed: " + options.status().ToString();
      return;
    }
    Result<std::unique_ptr<hsm::Token>> token = hsm::Token::Open(*options);
    if (!token.ok()) {
      error_ = "Token::Open failed: " + token.status().ToString();
      return;
    }
    token_ = std::move(token).value();
  }

  void TearDown() override {
    token_.reset();
    dir_.reset();
  }

 private:
  static inline std::optional<env::ScopedTempDir> dir_;
  static inline std::unique_ptr<hsm::Token> token_;
  static inline std::string error_ = "the HSM test environment did not run";
};

[[maybe_unused]] ::testing::Environment* const kHsmEnvironment =
    ::testing::AddGlobalTestEnvironment(new HsmEnvironment);

#define ASSERT_HSM() \
  ASSERT_NE(HsmEnvironment::token(), nullptr) << HsmEnvironment::error()

// ---- The fixture ----

class VaultServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_,
                         store::SqliteStore::Open({.data_dir = dir_.path()}));
    rm_ = std::make_unique<resources::ResourceManager>(*store_, env_);
    tenant_ = NewTenant("t1");
    ASSERT_OK_AND_ASSIGN(store::Subscription sub,
                         rm_->CreateSubscription(tenant_, "Default"));
    sub_ = sub.id;
    owner_ = NewPrincipal("owner", tenant_);
    ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                       *resources::FindRole("Owner"),
                                       resources::SubscriptionScope(sub_)));
    ASSERT_OK(rm_->PutResourceGroup(owner_, sub_, kGroup, "West US", {}));

    crypto::SecretBytes root(32);
    crypto::RandomBytes(root.MutableSecret());
    ASSERT_OK_AND_ASSIGN(keys::RootKey root_key,
                         keys::RootKey::FromBytes(std::move(root)));
    root_key_.emplace(std::move(root_key));
    events_.Subscribe([this](const VaultEvent& e) {
      std::lock_guard lock(seen_mu_);
      seen_.push_back(e);
    });
    ASSERT_OK_AND_ASSIGN(vaults_,
                         VaultService::Create(*store_, env_, *root_key_, *rm_,
                                              HsmEnvironment::token(), events_,
                                              {.max_page = 2}));
  }

  std::string NewTenant(const std::string& name) {
    std::string id = env_.random().NewUuid();
    EXPECT_OK(store_->Transact([&](store::Transaction& tx) {
      return tx.tenants().Create({.id = id, .display_name = name});
    }));
    return id;
  }

  identity::Caller NewPrincipal(
      const std::string& name, const std::string& tenant,
      store::PrincipalKind kind = store::PrincipalKind::kServicePrincipal) {
    identity::Caller c{.tenant_id = tenant,
                       .object_id = env_.random().NewUuid(),
                       .app_id = env_.random().NewUuid()};
    store::Principal p{.object_id = c.object_id,
                       .tenant_id = tenant,
                       .kind = kind,
                       .display_name = name};
    if (kind == store::PrincipalKind::kServicePrincipal) p.app_id = c.app_id;
    if (kind == store::PrincipalKind::kManagedIdentity) {
      p.resource_id = "/subscriptions/" + sub_ +
                      "/resourceGroups/rg/providers/Microsoft.Storage/"
                      "storageAccounts/" +
                      name;
    }
    if (kind == store::PrincipalKind::kUser) {
      p.user_principal_name = name + "@contoso.example";
    }
    EXPECT_OK(store_->Transact(
        [&](store::Transaction& tx) { return tx.principals().Create(p); }));
    return c;
  }

  VaultRef Ref(const std::string& name, const std::string& group = kGroup) {
    return {sub_, group, name};
  }

  json Policy(const identity::Caller& who, std::vector<std::string> keys) {
    return {{"tenantId", who.tenant_id},
            {"objectId", who.object_id},
            {"permissions", {{"keys", std::move(keys)}}}};
  }

  // A standard vault where the owner may do everything with keys; `extra`
  // fields replace the defaults.
  json Props(const json& extra = json::object()) {
    json p = {{"tenantId", tenant_},
              {"sku", {{"family", "A"}, {"name", "standard"}}},
              {"accessPolicies", json::array({Policy(owner_, {"all"})})}};
    for (const auto& [k, v] : extra.items()) p[k] = v;
    return p;
  }

  void MakeVault(const std::string& name, const json& extra = json::object(),
                 const std::string& group = kGroup) {
    ASSERT_OK_AND_ASSIGN(VaultService::PutVaultResult r,
                         vaults_->PutVault(owner_, Ref(name, group), "West US",
                                           {}, Props(extra)));
    ASSERT_TRUE(r.created);
  }

  DataCaller As(const identity::Caller& who, std::string ip = kHere) {
    return {who, std::move(ip)};
  }
  DataCaller Owner() { return As(owner_); }

  Result<KeyBundle> Import(
      const std::string& vault, const std::string& name,
      std::optional<std::vector<std::string>> key_ops = std::nullopt) {
    return vaults_->ImportKey(Owner(), vault, name,
                              ImportParams(SharedKey(), std::move(key_ops)));
  }

  Result<KeyBundle> Create(const std::string& vault, const std::string& name,
                           const std::string& kty = "RSA") {
    return vaults_->CreateKey(Owner(), vault, name, {.kty = kty});
  }

  int64_t Now() const {
    return std::chrono::duration_cast<seconds>(clock_.Now().time_since_epoch())
        .count();
  }
  void AdvanceDays(int64_t days) { clock_.Advance(seconds(days * kDay)); }

  std::vector<VaultEvent> TakeEvents() {
    std::lock_guard lock(seen_mu_);
    return std::exchange(seen_, {});
  }
  std::vector<std::string> TakeEventKinds() {
    std::vector<std::string> out;
    for (const VaultEvent& e : TakeEvents()) {
      out.push_back(EventKindName(e.kind));
    }
    return out;
  }

  std::vector<std::string> VersionsOf(const std::string& vault,
                                      const std::string& name) {
    std::vector<std::string> out;
    std::string after;
    do {
      Result<VaultService::KeyPage> page =
          vaults_->ListKeyVersions(Owner(), vault, name, after, 100);
      EXPECT_OK(page);
      if (!page.ok()) break;
      for (const KeyBundle& b : page->items) out.push_back(b.version.version);
      after = page->next;
    } while (!after.empty());
    return out;
  }

  Result<KeyOperationResult> Wrap(const DataCaller& who,
                                  const std::string& vault,
                                  const std::string& name, ByteView key,
                                  const std::string& version = "") {
    return vaults_->WrapKey(who, {vault, name, version}, "RSA-OAEP-256", key);
  }

  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
  env::FakeClock clock_;
  env::Env env_{clock_, env::Env::Default().random(), env::Env::Default().fs()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<resources::ResourceManager> rm_;
  std::optional<keys::RootKey> root_key_;
  std::mutex seen_mu_;
  std::vector<VaultEvent> seen_;  // Guarded by seen_mu_.
  EventBus events_;
  std::unique_ptr<VaultService> vaults_;
  std::string tenant_, sub_;
  identity::Caller owner_;
};

// ======================= Management plane =======================

TEST_F(VaultServiceTest, PutVaultCreatesThenReplaces) {
  ASSERT_OK_AND_ASSIGN(VaultService::PutVaultResult first,
                       vaults_->PutVault(owner_, Ref("kv-main"), "West US",
                                         {{"env", "dev"}}, Props()));
  EXPECT_TRUE(first.created);
  EXPECT_EQ(first.vault.row.name, "kv-main");
  EXPECT_EQ(first.vault.row.location, kLocation);
  EXPECT_EQ(first.vault.row.tenant_id, tenant_);
  EXPECT_EQ(first.vault.row.created_at, Now());
  EXPECT_EQ(first.vault.properties.access_policies.size(), 1u);
  EXPECT_EQ(first.vault.tags,
            (std::map<std::string, std::string>{{"env", "dev"}}));

  clock_.Advance(seconds(10));
  ASSERT_OK_AND_ASSIGN(
      VaultService::PutVaultResult second,
      vaults_->PutVault(owner_, Ref("kv-main"), "westus", {{"env", "prod"}},
                        Props({{"enabledForDiskEncryption", true}})));
  EXPECT_FALSE(second.created);
  EXPECT_TRUE(second.vault.properties.enabled_for_disk_encryption);
  EXPECT_EQ(second.vault.row.created_at, first.vault.row.created_at);
  EXPECT_EQ(second.vault.row.updated_at, Now());

  ASSERT_OK_AND_ASSIGN(VaultInfo got,
                       vaults_->GetVault(owner_, Ref("kv-main")));
  EXPECT_EQ(got.tags, (std::map<std::string, std::string>{{"env", "prod"}}));
  EXPECT_TRUE(got.properties.enabled_for_disk_encryption);
  EXPECT_EQ(vaults_->ListVaults(owner_, sub_, "")->size(), 1u);
  EXPECT_EQ(vaults_->ListVaults(owner_, sub_, "RG")->size(), 1u);
  EXPECT_EQ(TakeEventKinds(),
            (std::vector<std::string>{"VaultCreated", "VaultUpdated"}));

  // What a replace may not change.
  EXPECT_REFUSED(vaults_->PutVault(owner_, Ref("kv-main"), "westus", {},
                                   Props({{"softDeleteRetentionInDays", 30}})),
                 StatusCode::kInvalidArgument, "BadRequest");
  EXPECT_REFUSED(vaults_->PatchVault(owner_, Ref("kv-main"), std::nullopt,
                                     {{"softDeleteRetentionInDays", 7}}),
                 StatusCode::kInvalidArgument, "BadRequest");
  // Nor may a vault be made for another tenant, or without a location or
  // resource group.
  std::string other = NewTenant("t2");
  EXPECT_REFUSED(vaults_->PutVault(owner_, Ref("kv-foreign"), "westus", {},
                                   Props({{"tenantId", other},
                                          {"accessPolicies", json::array()}})),
                 StatusCode::kInvalidArgument, "BadRequest");
  EXPECT_REFUSED(vaults_->PutVault(owner_, Ref("kv-nowhere"), "", {}, Props()),
                 StatusCode::kInvalidArgument, "LocationRequired");
  EXPECT_REFUSED(vaults_->PutVault(owner_, Ref("kv-nogroup", "missing"),
                                   "westus", {}, Props()),
                 StatusCode::kNotFound, "ResourceGroupNotFound");
  EXPECT_EQ(vaults_->ListVaults(owner_, sub_, "")->size(), 1u);
}

TEST_F(VaultServiceTest, VaultNamesFollowAzureRules) {
  for (const std::string& bad : std::vector<std::string>{
           "ab", "1vault", "vault-", "va--ult", "va_ult", "vault.one", "",
           std::string(25, 'a'), "-vault"}) {
    EXPECT_REFUSED(vaults_->PutVault(owner_, Ref(bad), "westus", {}, Props()),
                   StatusCode::kInvalidArgument, "VaultNameNotValid");
    ASSERT_OK_AND_ASSIGN(VaultService::NameAvailability a,
                         vaults_->CheckNameAvailability(owner_, sub_, bad));
    EXPECT_FALSE(a.available) << bad;
    EXPECT_EQ(a.reason, "AccountNameInvalid") << bad;
  }
  for (const std::string& good :
       std::vector<std::string>{"abc", "a-b-c-1", std::string(24, 'z')}) {
    ASSERT_NO_FATAL_FAILURE(MakeVault(good));
  }
  ASSERT_OK_AND_ASSIGN(VaultService::NameAvailability taken,
                       vaults_->CheckNameAvailability(owner_, sub_, "A-B-C-1"));
  EXPECT_FALSE(taken.available);
  EXPECT_EQ(taken.reason, "AlreadyExists");
  ASSERT_OK_AND_ASSIGN(VaultService::NameAvailability free,
                       vaults_->CheckNameAvailability(owner_, sub_, "kv-free"));
  EXPECT_TRUE(free.available);
}

TEST_F(VaultServiceTest, VaultNamesAreGloballyUnique) {
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub_, "rg2", "westus", {}));
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-main"));
  EXPECT_REFUSED(
      vaults_->PutVault(owner_, Ref("kv-main", "rg2"), "westus", {}, Props()),
      StatusCode::kAlreadyExists, "VaultAlreadyExists");
  EXPECT_REFUSED(
      vaults_->PutVault(owner_, Ref("KV-MAIN", "rg2"), "westus", {}, Props()),
      StatusCode::kAlreadyExists, "VaultAlreadyExists");
  // Another subscription of the same tenant is no different.
  ASSERT_OK_AND_ASSIGN(store::Subscription sub2,
                       rm_->CreateSubscription(tenant_, "Second"));
  ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub2.id, "rg", "westus", {}));
  EXPECT_REFUSED(vaults_->PutVault(owner_, {sub2.id, "rg", "kv-main"}, "westus",
                                   {}, Props()),
                 StatusCode::kAlreadyExists, "VaultAlreadyExists");
}

TEST_F(VaultServiceTest, DeletedVaultIsListedAndRecoverable) {
  ASSERT_OK_AND_ASSIGN(VaultService::PutVaultResult created,
                       vaults_->PutVault(owner_, Ref("kv-del"), "westus",
                                         {{"team", "a"}}, Props()));
  ASSERT_OK(Import("kv-del", "k1"));
  TakeEvents();

  clock_.Advance(seconds(100));
  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("kv-del")));
  const int64_t deleted_at = Now();
  EXPECT_REFUSED(vaults_->GetVault(owner_, Ref("kv-del")),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_TRUE(vaults_->ListVaults(owner_, sub_, "")->empty());
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-del", "k1", ""}),
                 StatusCode::kNotFound, "VaultNotFound");
  EXPECT_EQ(vaults_->VaultTenant("kv-del").status().code(),
            StatusCode::kNotFound);
  EXPECT_REFUSED(vaults_->DeleteVault(owner_, Ref("kv-del")),
                 StatusCode::kNotFound, "ResourceNotFound");

  ASSERT_OK_AND_ASSIGN(std::vector<VaultInfo> deleted,
                       vaults_->ListDeletedVaults(owner_, sub_));
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0].row.name, "kv-del");
  EXPECT_EQ(deleted[0].row.deleted_at, deleted_at);
  EXPECT_EQ(deleted[0].row.scheduled_purge_at, deleted_at + 90 * kDay);
  ASSERT_OK_AND_ASSIGN(VaultInfo one, vaults_->GetDeletedVault(
                                          owner_, sub_, "West US", "KV-DEL"));
  EXPECT_EQ(one.row.name, "kv-del");
  EXPECT_REFUSED(vaults_->GetDeletedVault(owner_, sub_, "eastus", "kv-del"),
                 StatusCode::kNotFound, "ResourceNotFound");

  // The name stays taken, wherever one asks for it.
  EXPECT_REFUSED(
      vaults_->PutVault(owner_, Ref("kv-del"), "westus", {}, Props()),
      StatusCode::kAlreadyExists, "ConflictError");
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub_, "rg2", "westus", {}));
  json recover = Props({{"createMode", "recover"}});
  EXPECT_REFUSED(
      vaults_->PutVault(owner_, Ref("kv-del", "rg2"), "westus", {}, recover),
      StatusCode::kAlreadyExists, "ConflictError");
  EXPECT_FALSE(
      vaults_->CheckNameAvailability(owner_, sub_, "kv-del")->available);

  // createMode recover brings it back with its keys.
  ASSERT_OK_AND_ASSIGN(VaultService::PutVaultResult back,
                       vaults_->PutVault(owner_, Ref("kv-del"), "westus",
                                         {{"team", "a"}}, recover));
  EXPECT_FALSE(back.created);
  EXPECT_EQ(back.vault.row.deleted_at, 0);
  EXPECT_EQ(back.vault.row.scheduled_purge_at, 0);
  EXPECT_EQ(back.vault.row.created_at, created.vault.row.created_at);
  EXPECT_OK(vaults_->GetVault(owner_, Ref("kv-del")));
  EXPECT_OK(vaults_->GetKey(Owner(), {"kv-del", "k1", ""}));
  EXPECT_TRUE(vaults_->ListDeletedVaults(owner_, sub_)->empty());

  // A bare {"createMode": "recover"} is enough, and recovering a live
  // vault is NotFound.
  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("kv-del")));
  ASSERT_OK_AND_ASSIGN(back,
                       vaults_->PutVault(owner_, Ref("kv-del"), "westus", {},
                                         {{"createMode", "recover"}}));
  EXPECT_EQ(back.vault.properties.access_policies.size(), 1u);
  EXPECT_OK(vaults_->GetKey(Owner(), {"kv-del", "k1", ""}));
  EXPECT_REFUSED(vaults_->PutVault(owner_, Ref("kv-del"), "westus", {},
                                   {{"createMode", "recover"}}),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(TakeEventKinds(),
            (std::vector<std::string>{"VaultDeleted", "VaultRecovered",
                                      "VaultDeleted", "VaultRecovered"}));
}

TEST_F(VaultServiceTest, PurgeProtectedVaultIsPurgedOnlyAfterItsDate) {
  ASSERT_NO_FATAL_FAILURE(MakeVault(
      "kv-pp",
      {{"enablePurgeProtection", true}, {"softDeleteRetentionInDays", 7}}));
  EXPECT_REFUSED(vaults_->PatchVault(owner_, Ref("kv-pp"), std::nullopt,
                                     {{"enablePurgeProtection", false}}),
                 StatusCode::kInvalidArgument, "BadRequest");
  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("kv-pp")));
  const int64_t scheduled = Now() + 7 * kDay;
  EXPECT_EQ(
      vaults_->ListDeletedVaults(owner_, sub_)->at(0).row.scheduled_purge_at,
      scheduled);

  EXPECT_REFUSED(vaults_->PurgeDeletedVault(owner_, sub_, "westus", "kv-pp"),
                 StatusCode::kPermissionDenied, "Forbidden");
  clock_.Advance(seconds(7 * kDay - 1));
  EXPECT_REFUSED(vaults_->PurgeDeletedVault(owner_, sub_, "westus", "kv-pp"),
                 StatusCode::kPermissionDenied, "Forbidden");
  EXPECT_EQ(vaults_->ListDeletedVaults(owner_, sub_)->size(), 1u);

  clock_.Advance(seconds(1));
  ASSERT_OK(vaults_->PurgeDeletedVault(owner_, sub_, "westus", "kv-pp"));
  EXPECT_TRUE(vaults_->ListDeletedVaults(owner_, sub_)->empty());
  EXPECT_TRUE(vaults_->CheckNameAvailability(owner_, sub_, "kv-pp")->available);
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-pp"));
}

TEST_F(VaultServiceTest, UnprotectedVaultIsPurgedAtOnce) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-gone"));
  ASSERT_OK(Import("kv-gone", "k1"));
  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("kv-gone")));
  TakeEvents();
  ASSERT_OK(vaults_->PurgeDeletedVault(owner_, sub_, "westus", "kv-gone"));
  EXPECT_EQ(TakeEventKinds(), std::vector<std::string>{"VaultPurged"});
  EXPECT_REFUSED(vaults_->PurgeDeletedVault(owner_, sub_, "westus", "kv-gone"),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(store_
                ->ReadResult([](store::Transaction& tx) {
                  return tx.vault_keys().Get("kv-gone", "k1");
                })
                .status()
                .code(),
            StatusCode::kNotFound);
  // A new vault of that name starts empty.
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-gone"));
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-gone", "k1", ""}),
                 StatusCode::kNotFound, "KeyNotFound");
}

TEST_F(VaultServiceTest, MaintenancePurgesDeletedVaultWithItsKeys) {
  ASSERT_HSM();
  hsm::Token& token = *HsmEnvironment::token();
  ASSERT_NO_FATAL_FAILURE(MakeVault(
      "kv-hsm-old", {{"sku", {{"family", "A"}, {"name", "premium"}}}}));
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-live"));
  ASSERT_OK_AND_ASSIGN(KeyBundle hsm_key,
                       Create("kv-hsm-old", "hk", "RSA-HSM"));
  ASSERT_OK_AND_ASSIGN(KeyBundle rotated,
                       vaults_->RotateKey(Owner(), "kv-hsm-old", "hk"));
  ASSERT_OK(Import("kv-hsm-old", "sk"));
  ASSERT_OK(Import("kv-live", "sk"));
  const std::string handle1 = hsm_key.version.hsm_handle;
  const std::string handle2 = rotated.version.hsm_handle;
  ASSERT_FALSE(handle1.empty());
  ASSERT_FALSE(handle2.empty());

  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("kv-hsm-old")));
  TakeEvents();
  AdvanceDays(89);
  ASSERT_OK_AND_ASSIGN(int done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  EXPECT_EQ(vaults_->ListDeletedVaults(owner_, sub_)->size(), 1u);
  EXPECT_OK(token.PublicKey(handle1));

  AdvanceDays(1);
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 1);
  EXPECT_TRUE(vaults_->ListDeletedVaults(owner_, sub_)->empty());
  EXPECT_EQ(TakeEventKinds(), std::vector<std::string>{"VaultPurged"});
  EXPECT_EQ(token.PublicKey(handle1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(token.PublicKey(handle2).status().code(), StatusCode::kNotFound);
  for (const char* key : {"hk", "sk"}) {
    EXPECT_EQ(store_
                  ->ReadResult([&](store::Transaction& tx) {
                    return tx.vault_keys().Get("kv-hsm-old", key);
                  })
                  .status()
                  .code(),
              StatusCode::kNotFound)
        << key;
  }
  // Other vaults are untouched.
  EXPECT_OK(vaults_->GetKey(Owner(), {"kv-live", "sk", ""}));
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
}

TEST_F(VaultServiceTest, AccessPoliciesAddReplaceAndRemove) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-ap"));
  ASSERT_OK(Import("kv-ap", "k1"));
  identity::Caller alice = NewPrincipal("alice", tenant_);
  const DataCaller as_alice = As(alice);
  const Bytes secret = RandomData(32);
  auto alice_entry = [&](std::vector<std::string> keys) {
    return AccessPolicy{.tenant_id = tenant_,
                        .object_id = alice.object_id,
                        .keys = std::move(keys)};
  };
  auto alice_keys = [&](const std::vector<AccessPolicy>& policies)
      -> std::optional<std::vector<std::string>> {
    for (const AccessPolicy& p : policies) {
      if (p.object_id == alice.object_id) return p.keys;
    }
    return std::nullopt;
  };
  TakeEvents();

  EXPECT_REFUSED(vaults_->GetKey(as_alice, {"kv-ap", "k1", ""}),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");

  ASSERT_OK_AND_ASSIGN(
      std::vector<AccessPolicy> after,
      vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "add",
                                    {alice_entry({"get"})}));
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(alice_keys(after), std::vector<std::string>{"get"});
  EXPECT_OK(vaults_->GetKey(as_alice, {"kv-ap", "k1", ""}));
  EXPECT_REFUSED(Wrap(as_alice, "kv-ap", "k1", secret),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");

  // add merges into the entry, ignoring case.
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "Add",
                                           {alice_entry({"Get", "wrapKey"})}));
  EXPECT_EQ(alice_keys(after), (std::vector<std::string>{"get", "wrapKey"}));
  EXPECT_OK(Wrap(as_alice, "kv-ap", "k1", secret));

  // replace sets the entry's permissions.
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "replace",
                                           {alice_entry({"sign"})}));
  EXPECT_EQ(alice_keys(after), std::vector<std::string>{"sign"});
  EXPECT_REFUSED(vaults_->GetKey(as_alice, {"kv-ap", "k1", ""}),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");

  // remove takes away what is listed; an entry left empty goes.
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "add",
                                           {alice_entry({"get"})}));
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "remove",
                                           {alice_entry({"SIGN"})}));
  EXPECT_EQ(alice_keys(after), std::vector<std::string>{"get"});
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "remove",
                                           {alice_entry({"get"})}));
  EXPECT_EQ(alice_keys(after), std::nullopt);
  EXPECT_EQ(after.size(), 1u);
  // An entry without permissions removes the whole entry.
  ASSERT_OK(vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "add",
                                          {alice_entry({"get", "list"})}));
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "remove",
                                           {alice_entry({})}));
  EXPECT_EQ(alice_keys(after), std::nullopt);
  EXPECT_REFUSED(vaults_->GetKey(as_alice, {"kv-ap", "k1", ""}),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");
  // Removing what is not there changes nothing.
  ASSERT_OK_AND_ASSIGN(
      after, vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "remove",
                                           {alice_entry({"get"})}));
  EXPECT_EQ(after.size(), 1u);
  ASSERT_OK_AND_ASSIGN(VaultInfo info, vaults_->GetVault(owner_, Ref("kv-ap")));
  EXPECT_EQ(info.properties.access_policies, after);
  EXPECT_EQ(TakeEventKinds(), std::vector<std::string>(9, "VaultUpdated"));

  // Entries of another tenant, and unknown kinds, are refused.
  AccessPolicy foreign = alice_entry({"get"});
  foreign.tenant_id = NewTenant("t2");
  EXPECT_REFUSED(
      vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "add", {foreign}),
      StatusCode::kInvalidArgument, "BadRequest");
  EXPECT_REFUSED(vaults_->UpdateAccessPolicies(owner_, Ref("kv-ap"), "merge",
                                               {alice_entry({"get"})}),
                 StatusCode::kInvalidArgument, "BadRequest");
  EXPECT_TRUE(TakeEvents().empty());
}

TEST_F(VaultServiceTest, ReaderCannotChangeVaults) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-main"));
  identity::Caller reader = NewPrincipal("reader", tenant_);
  ASSERT_OK(rm_->AssignRoleUnchecked(reader.object_id,
                                     *resources::FindRole("Reader"),
                                     resources::SubscriptionScope(sub_)));
  EXPECT_REFUSED(
      vaults_->PutVault(reader, Ref("kv-reader"), "westus", {}, Props()),
      StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(
      vaults_->PutVault(reader, Ref("kv-main"), "westus", {}, Props()),
      StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(vaults_->PatchVault(reader, Ref("kv-main"), std::nullopt,
                                     {{"enabledForDeployment", true}}),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(vaults_->DeleteVault(reader, Ref("kv-main")),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(vaults_->UpdateAccessPolicies(reader, Ref("kv-main"), "add",
                                               {{.tenant_id = tenant_,
                                                 .object_id = reader.object_id,
                                                 .keys = {"all"}}}),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_OK(vaults_->GetVault(reader, Ref("kv-main")));
  EXPECT_EQ(vaults_->ListVaults(reader, sub_, "")->size(), 1u);
  EXPECT_OK(vaults_->ReadAudit(reader, Ref("kv-main"), 0, 10));
  // The management Reader role grants nothing on keys.
  EXPECT_REFUSED(vaults_->CreateKey(As(reader), "kv-main", "k", {.kty = "RSA"}),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");

  identity::Caller nobody = NewPrincipal("nobody", tenant_);
  EXPECT_REFUSED(vaults_->GetVault(nobody, Ref("kv-main")),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_FALSE(vaults_->GetVault(owner_, Ref("kv-main"))
                   ->properties.enabled_for_deployment);
}

TEST_F(VaultServiceTest, DeletingAResourceGroupSoftDeletesItsVaults) {
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub_, "rg2", "westus", {}));
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-a"));
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-b", {{"softDeleteRetentionInDays", 10}}));
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-c", json::object(), "rg2"));
  TakeEvents();

  ASSERT_OK(vaults_->DeleteVaultsInGroup(sub_, "RG"));
  EXPECT_EQ(TakeEventKinds(),
            (std::vector<std::string>{"VaultDeleted", "VaultDeleted"}));
  ASSERT_OK_AND_ASSIGN(std::vector<VaultInfo> live,
                       vaults_->ListVaults(owner_, sub_, ""));
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].row.name, "kv-c");
  ASSERT_OK_AND_ASSIGN(std::vector<VaultInfo> deleted,
                       vaults_->ListDeletedVaults(owner_, sub_));
  ASSERT_EQ(deleted.size(), 2u);
  EXPECT_EQ(deleted[0].row.name, "kv-a");
  EXPECT_EQ(deleted[0].row.scheduled_purge_at, Now() + 90 * kDay);
  EXPECT_EQ(deleted[1].row.name, "kv-b");
  EXPECT_EQ(deleted[1].row.scheduled_purge_at, Now() + 10 * kDay);
  // Running it again changes nothing.
  ASSERT_OK(vaults_->DeleteVaultsInGroup(sub_, "rg"));
  EXPECT_TRUE(TakeEvents().empty());

  // As the resource manager's group deletion hook.
  rm_->AddGroupDeletionHook(
      [this](const std::string& sub, const std::string& group) {
        return vaults_->DeleteVaultsInGroup(sub, group);
      });
  ASSERT_OK(rm_->DeleteResourceGroup(owner_, sub_, "rg2"));
  EXPECT_TRUE(vaults_->ListVaults(owner_, sub_, "")->empty());
  EXPECT_EQ(vaults_->ListDeletedVaults(owner_, sub_)->size(), 3u);
}

// ======================= Data plane =======================

TEST_F(VaultServiceTest, CreateGetUpdateAndVersions) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-data"));
  ASSERT_OK_AND_ASSIGN(KeyBundle v1, Create("kv-data", "k1"));
  EXPECT_EQ(v1.key.name, "k1");
  EXPECT_EQ(v1.version.kty, "RSA");
  EXPECT_EQ(v1.version.version.size(), 32u);
  EXPECT_EQ(v1.public_key.bits(), 2048);
  EXPECT_EQ(v1.public_key.public_exponent(), (Bytes{1, 0, 1}));
  EXPECT_EQ(v1.attributes.key_ops, DefaultRsaKeyOps());
  EXPECT_TRUE(v1.attributes.enabled);
  EXPECT_EQ(v1.recovery_level, "Recoverable+Purgeable");
  EXPECT_EQ(v1.recoverable_days, 90);
  EXPECT_EQ(v1.version.created_at, Now());
  EXPECT_TRUE(v1.version.hsm_handle.empty());
  EXPECT_FALSE(v1.version.sealed_private_key.empty());

  ASSERT_OK_AND_ASSIGN(KeyBundle got,
                       vaults_->GetKey(Owner(), {"kv-data", "K1", ""}));
  EXPECT_EQ(got.version.version, v1.version.version);
  EXPECT_EQ(got.public_key.modulus(), v1.public_key.modulus());

  // Creating a key that exists adds a version.
  clock_.Advance(seconds(5));
  ASSERT_OK_AND_ASSIGN(
      KeyBundle v2,
      vaults_->CreateKey(Owner(), "kv-data", "k1",
                         {.kty = "RSA",
                          .key_size = 3072,
                          .key_ops = std::vector<std::string>{"sign", "verify"},
                          .attributes = {.tags = {{"gen", "2"}}}}));
  EXPECT_NE(v2.version.version, v1.version.version);
  EXPECT_EQ(v2.public_key.bits(), 3072);
  EXPECT_EQ(v2.attributes.key_ops,
            (std::vector<std::string>{"sign", "verify"}));
  ASSERT_OK_AND_ASSIGN(got, vaults_->GetKey(Owner(), {"kv-data", "k1", ""}));
  EXPECT_EQ(got.version.version, v2.version.version);
  ASSERT_OK_AND_ASSIGN(
      got, vaults_->GetKey(Owner(), {"kv-data", "k1", v1.version.version}));
  EXPECT_EQ(got.public_key.modulus(), v1.public_key.modulus());
  EXPECT_EQ(VersionsOf("kv-data", "k1"),
            (std::vector<std::string>{v1.version.version, v2.version.version}));

  // Update changes only the fields given, of the version named.
  clock_.Advance(seconds(5));
  ASSERT_OK_AND_ASSIGN(
      KeyBundle updated,
      vaults_->UpdateKey(
          Owner(), {"kv-data", "k1", v1.version.version},
          {.key_ops = std::vector<std::string>{"wrapKey"},
           .tags = std::map<std::string, std::string>{{"owner", "team-a"}}}));
  EXPECT_EQ(updated.version.version, v1.version.version);
  EXPECT_EQ(updated.attributes.key_ops, std::vector<std::string>{"wrapKey"});
  EXPECT_EQ(updated.attributes.tags,
            (std::map<std::string, std::string>{{"owner", "team-a"}}));
  EXPECT_TRUE(updated.attributes.enabled);
  EXPECT_EQ(updated.version.updated_at, Now());
  ASSERT_OK_AND_ASSIGN(
      got, vaults_->GetKey(Owner(), {"kv-data", "k1", v1.version.version}));
  EXPECT_EQ(got.attributes, updated.attributes);
  ASSERT_OK_AND_ASSIGN(got, vaults_->GetKey(Owner(), {"kv-data", "k1", ""}));
  EXPECT_EQ(got.attributes.tags,
            (std::map<std::string, std::string>{{"gen", "2"}}));
  EXPECT_REFUSED(
      vaults_->UpdateKey(Owner(), {"kv-data", "k1", ""},
                         {.key_ops = std::vector<std::string>{"fly"}}),
      StatusCode::kInvalidArgument, "BadParameter");
}

TEST_F(VaultServiceTest, ListsArePaged) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-list"));
  for (const char* name : {"p3", "p1", "P5", "p2", "p4"}) {
    ASSERT_OK(Import("kv-list", name));
  }
  auto all_names = [&](size_t max, std::vector<size_t>* sizes) {
    std::vector<std::string> names;
    std::string after;
    int pages = 0;
    do {
      Result<VaultService::KeyPage> page =
          vaults_->ListKeys(Owner(), "kv-list", after, max);
      EXPECT_OK(page);
      if (!page.ok() || ++pages > 10) break;
      sizes->push_back(page->items.size());
      for (const KeyBundle& b : page->items) names.push_back(b.key.name);
      after = page->next;
    } while (!after.empty());
    return names;
  };
  std::vector<size_t> sizes;
  // max_page (2) caps what the caller asks for.
  EXPECT_EQ(all_names(100, &sizes),
            (std::vector<std::string>{"p1", "p2", "p3", "p4", "P5"}));
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
  sizes.clear();
  EXPECT_EQ(all_names(1, &sizes).size(), 5u);
  EXPECT_EQ(sizes, (std::vector<size_t>(5, 1)));

  // Deleted keys leave the list for the deleted list.
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-list", "p3"));
  sizes.clear();
  EXPECT_EQ(all_names(25, &sizes),
            (std::vector<std::string>{"p1", "p2", "p4", "P5"}));
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2}));
  ASSERT_OK_AND_ASSIGN(VaultService::KeyPage deleted,
                       vaults_->ListDeletedKeys(Owner(), "kv-list", "", 25));
  ASSERT_EQ(deleted.items.size(), 1u);
  EXPECT_EQ(deleted.items[0].key.name, "p3");
  EXPECT_TRUE(deleted.next.empty());

  // Versions page in the order they were made.
  std::vector<std::string> made;
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK_AND_ASSIGN(KeyBundle b, Import("kv-list", "versioned"));
    made.push_back(b.version.version);
  }
  ASSERT_OK_AND_ASSIGN(
      VaultService::KeyPage first,
      vaults_->ListKeyVersions(Owner(), "kv-list", "versioned", "", 25));
  EXPECT_EQ(first.items.size(), 2u);
  EXPECT_EQ(first.next, made[1]);
  EXPECT_EQ(VersionsOf("kv-list", "versioned"), made);
}

TEST_F(VaultServiceTest, PagingGoesOnWhenTheLastKeySeenIsDeleted) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-list"));
  for (const char* name : {"p1", "p2", "p3", "p4", "p5"}) {
    ASSERT_OK(Import("kv-list", name));
  }
  ASSERT_OK_AND_ASSIGN(VaultService::KeyPage first,
                       vaults_->ListKeys(Owner(), "kv-list", "", 2));
  ASSERT_EQ(first.items.size(), 2u);
  ASSERT_FALSE(first.next.empty());
  // Another client deletes the key the cursor names.
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-list", "p2"));
  ASSERT_OK_AND_ASSIGN(VaultService::KeyPage second,
                       vaults_->ListKeys(Owner(), "kv-list", first.next, 2));
  ASSERT_EQ(second.items.size(), 2u);
  EXPECT_EQ(second.items[0].key.name, "p3");
  EXPECT_EQ(second.items[1].key.name, "p4");
  ASSERT_OK_AND_ASSIGN(VaultService::KeyPage third,
                       vaults_->ListKeys(Owner(), "kv-list", second.next, 2));
  ASSERT_EQ(third.items.size(), 1u);
  EXPECT_EQ(third.items[0].key.name, "p5");
  EXPECT_TRUE(third.next.empty());

  // The same for deleted keys, when one is recovered meanwhile.
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-list", "p1"));
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-list", "p4"));
  ASSERT_OK_AND_ASSIGN(first,
                       vaults_->ListDeletedKeys(Owner(), "kv-list", "", 1));
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].key.name, "p1");
  ASSERT_OK(vaults_->RecoverDeletedKey(Owner(), "kv-list", "p1"));
  ASSERT_OK_AND_ASSIGN(
      second, vaults_->ListDeletedKeys(Owner(), "kv-list", first.next, 1));
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].key.name, "p2");
}

TEST_F(VaultServiceTest, MissingKeysAndBadRequests) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-nf"));
  Result<KeyBundle> missing = vaults_->GetKey(Owner(), {"kv-nf", "nope", ""});
  EXPECT_REFUSED(missing, StatusCode::kNotFound, "KeyNotFound");
  EXPECT_TRUE(Contains(missing.status().message(), "nope"));
  ASSERT_OK(Import("kv-nf", "k1"));
  EXPECT_REFUSED(
      vaults_->GetKey(Owner(), {"kv-nf", "k1", std::string(32, '0')}),
      StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(
      vaults_->UpdateKey(Owner(), {"kv-nf", "nope", ""}, {.enabled = false}),
      StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->DeleteKey(Owner(), "kv-nf", "nope"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->GetDeletedKey(Owner(), "kv-nf", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->RecoverDeletedKey(Owner(), "kv-nf", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->PurgeDeletedKey(Owner(), "kv-nf", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(Wrap(Owner(), "kv-nf", "nope", RandomData(32)),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->RotateKey(Owner(), "kv-nf", "nope"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-missing", "k1", ""}),
                 StatusCode::kNotFound, "VaultNotFound");

  auto create = [&](const std::string& name, CreateKeyParams p) {
    return vaults_->CreateKey(Owner(), "kv-nf", name, p);
  };
  EXPECT_REFUSED(create("bad_name", {.kty = "RSA"}),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(create(std::string(128, 'k'), {.kty = "RSA"}),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(create("k2", {.kty = "EC"}), StatusCode::kInvalidArgument,
                 "BadParameter");
  EXPECT_REFUSED(create("k2", {.kty = "RSA", .key_size = 1024}),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(create("k2", {.kty = "RSA", .public_exponent = 3}),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(
      create("k2", {.kty = "RSA", .key_ops = std::vector<std::string>{"fly"}}),
      StatusCode::kInvalidArgument, "BadParameter");
  Result<KeyBundle> hsm_on_standard = create("k2", {.kty = "RSA-HSM"});
  EXPECT_REFUSED(hsm_on_standard, StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_TRUE(Contains(hsm_on_standard.status().message(),
                       "Hardware key operation not allowed on standard vault"));
  EXPECT_REFUSED(vaults_->RandomBytes(Owner(), "kv-nf", 0),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(vaults_->RandomBytes(Owner(), "kv-nf", 129),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_EQ(vaults_->RandomBytes(Owner(), "kv-nf", 32)->size(), 32u);
  // None of the refused calls made a key.
  ASSERT_OK_AND_ASSIGN(VaultService::KeyPage page,
                       vaults_->ListKeys(Owner(), "kv-nf", "", 25));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].key.name, "k1");
}

TEST_F(VaultServiceTest, KeyOperationsRoundTrip) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-ops"));
  ASSERT_OK_AND_ASSIGN(KeyBundle key, Import("kv-ops", "k"));
  ASSERT_OK_AND_ASSIGN(crypto::RsaPrivateKey local,
                       crypto::RsaPrivateKey::FromComponents(SharedKey()));
  const KeyRef latest{"kv-ops", "k", ""};
  const Bytes cek = RandomData(32);

  ASSERT_OK_AND_ASSIGN(KeyOperationResult wrapped,
                       vaults_->WrapKey(Owner(), latest, "RSA-OAEP-256", cek));
  EXPECT_EQ(wrapped.kid_version, key.version.version);
  EXPECT_EQ(wrapped.value.size(), 256u);
  ASSERT_OK_AND_ASSIGN(
      KeyOperationResult unwrapped,
      vaults_->UnwrapKey(Owner(), latest, "RSA-OAEP-256", wrapped.value));
  EXPECT_EQ(unwrapped.value, cek);
  EXPECT_EQ(unwrapped.kid_version, key.version.version);
  // The vault really uses the imported key.
  ASSERT_OK_AND_ASSIGN(
      crypto::SecretBytes local_plain,
      local.Decrypt(crypto::RsaPadding::kOaepSha256, wrapped.value));
  EXPECT_EQ(Bytes(local_plain.RevealSecret().begin(),
                  local_plain.RevealSecret().end()),
            cek);

  for (const char* alg : {"RSA-OAEP", "RSA1_5", "RSA-OAEP-256"}) {
    ASSERT_OK_AND_ASSIGN(KeyOperationResult ct,
                         vaults_->Encrypt(Owner(), latest, alg, cek));
    ASSERT_OK_AND_ASSIGN(KeyOperationResult pt,
                         vaults_->Decrypt(Owner(), latest, alg, ct.value));
    EXPECT_EQ(pt.value, cek) << alg;
  }
  EXPECT_REFUSED(
      vaults_->UnwrapKey(Owner(), latest, "RSA-OAEP-256", RandomData(256)),
      StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(vaults_->WrapKey(Owner(), latest, "A256KW", cek),
                 StatusCode::kInvalidArgument, "BadParameter");

  const Bytes digest = crypto::Sha256(AsBytes("message"));
  for (const char* alg : {"RS256", "PS256"}) {
    ASSERT_OK_AND_ASSIGN(KeyOperationResult sig,
                         vaults_->Sign(Owner(), latest, alg, digest));
    EXPECT_EQ(sig.kid_version, key.version.version);
    ExpectVerified(vaults_->Verify(Owner(), latest, alg, digest, sig.value),
                   true);
    Bytes other = crypto::Sha256(AsBytes("other message"));
    ExpectVerified(vaults_->Verify(Owner(), latest, alg, other, sig.value),
                   false);
    EXPECT_OK(key.public_key.Verify(*crypto::ParseRsaSignatureAlgorithm(alg),
                                    digest, sig.value));
  }
  EXPECT_REFUSED(vaults_->Sign(Owner(), latest, "RS512", digest),
                 StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_REFUSED(vaults_->Sign(Owner(), latest, "ES256", digest),
                 StatusCode::kInvalidArgument, "BadParameter");

  // key_ops limit what a key does.
  ASSERT_OK(Import("kv-ops", "wrap-only",
                   std::vector<std::string>{"wrapKey", "unwrapKey"}));
  EXPECT_REFUSED(
      vaults_->Sign(Owner(), {"kv-ops", "wrap-only", ""}, "RS256", digest),
      StatusCode::kPermissionDenied, "Forbidden/KeyOperationForbidden");
  EXPECT_REFUSED(
      vaults_->Encrypt(Owner(), {"kv-ops", "wrap-only", ""}, "RSA-OAEP", cek),
      StatusCode::kPermissionDenied, "Forbidden/KeyOperationForbidden");
  EXPECT_OK(Wrap(Owner(), "kv-ops", "wrap-only", cek));
}

TEST_F(VaultServiceTest, AccessPoliciesDecidePerPermission) {
  identity::Caller bob = NewPrincipal("bob", tenant_);
  identity::Caller eve = NewPrincipal("eve", tenant_);
  identity::Caller app = NewPrincipal("app", tenant_);
  json app_policy = Policy(app, {"get"});
  app_policy["applicationId"] = app.app_id;
  ASSERT_NO_FATAL_FAILURE(MakeVault(
      "kv-ap", {{"accessPolicies",
                 json::array({Policy(owner_, {"all"}),
                              Policy(bob, {"Get", "list"}), app_policy})}}));
  ASSERT_OK(Import("kv-ap", "k1"));
  const KeyRef k1{"kv-ap", "k1", ""};

  EXPECT_OK(vaults_->GetKey(As(bob), k1));
  EXPECT_OK(vaults_->ListKeys(As(bob), "kv-ap", "", 10));
  // Rotation policies accept the older "get" permission too.
  EXPECT_OK(vaults_->GetRotationPolicy(As(bob), "kv-ap", "k1"));

  Result<KeyOperationResult> unwrap =
      vaults_->UnwrapKey(As(bob), k1, "RSA-OAEP-256", RandomData(256));
  EXPECT_REFUSED(unwrap, StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByPolicy");
  EXPECT_TRUE(Contains(unwrap.status().message(),
                       "does not have keys unwrapKey permission"))
      << unwrap.status();
  EXPECT_TRUE(Contains(unwrap.status().message(), "oid=" + bob.object_id));
  EXPECT_TRUE(Contains(unwrap.status().message(), "kv-ap;location=westus"));

  struct Case {
    std::string permission;
    Status status;
  };
  for (const Case& c : {
           Case{"create",
                vaults_->CreateKey(As(bob), "kv-ap", "k2", {.kty = "RSA"})
                    .status()},
           Case{
               "sign",
               vaults_->Sign(As(bob), k1, "RS256", crypto::Sha256(AsBytes("m")))
                   .status()},
           Case{"wrapKey",
                Wrap(As(bob), "kv-ap", "k1", RandomData(32)).status()},
           Case{"delete", vaults_->DeleteKey(As(bob), "kv-ap", "k1").status()},
           Case{"backup", vaults_->BackupKey(As(bob), "kv-ap", "k1").status()},
           Case{"get", vaults_->GetKey(As(eve), k1).status()},
       }) {
    EXPECT_EQ(c.status.reason(), "Forbidden/ForbiddenByPolicy")
        << c.permission << ": " << c.status;
    EXPECT_TRUE(Contains(c.status.message(),
                         "does not have keys " + c.permission + " permission"))
        << c.status;
  }

  // A compound identity: only through its application.
  EXPECT_OK(vaults_->GetKey(As(app), k1));
  identity::Caller other_app = app;
  other_app.app_id = env_.random().NewUuid();
  EXPECT_REFUSED(vaults_->GetKey(As(other_app), k1),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");
}

TEST_F(VaultServiceTest, RbacVaultsUseRoleAssignments) {
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-rbac", {{"enableRbacAuthorization", true}}));
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-other", {{"enableRbacAuthorization", true}}));
  const std::string scope = VaultResourceId(Ref("kv-rbac"));
  EXPECT_EQ(scope, "/subscriptions/" + sub_ +
                       "/resourceGroups/rg/providers/Microsoft.KeyVault/"
                       "vaults/kv-rbac");

  // The owner's access policy counts for nothing here, nor does Owner.
  Result<KeyBundle> refused = Import("kv-rbac", "k1");
  EXPECT_REFUSED(refused, StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByRbac");
  EXPECT_TRUE(Contains(refused.status().message(),
                       "Microsoft.KeyVault/vaults/keys/import/action"))
      << refused.status();
  ASSERT_OK(rm_->CreateRoleAssignment(owner_, scope, env_.random().NewUuid(),
                                      owner_.object_id,
                                      "Key Vault Crypto Officer"));
  ASSERT_OK(Import("kv-rbac", "k1"));

  identity::Caller carol = NewPrincipal("carol", tenant_);
  const Bytes cek = RandomData(32);
  Result<KeyOperationResult> wrap = Wrap(As(carol), "kv-rbac", "k1", cek);
  EXPECT_REFUSED(wrap, StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByRbac");
  EXPECT_TRUE(Contains(wrap.status().message(),
                       "Microsoft.KeyVault/vaults/keys/wrap/action"));

  // A role at another vault's scope does not reach this one.
  ASSERT_OK(rm_->CreateRoleAssignment(owner_, VaultResourceId(Ref("kv-other")),
                                      env_.random().NewUuid(), carol.object_id,
                                      "Key Vault Crypto User"));
  EXPECT_REFUSED(Wrap(As(carol), "kv-rbac", "k1", cek),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByRbac");

  ASSERT_OK(rm_->CreateRoleAssignment(owner_, scope, env_.random().NewUuid(),
                                      carol.object_id,
                                      "Key Vault Crypto User"));
  ASSERT_OK_AND_ASSIGN(KeyOperationResult wrapped,
                       Wrap(As(carol), "kv-rbac", "k1", cek));
  EXPECT_EQ(vaults_
                ->UnwrapKey(As(carol), {"kv-rbac", "k1", ""}, "RSA-OAEP-256",
                            wrapped.value)
                ->value,
            cek);
  EXPECT_OK(vaults_->GetKey(As(carol), {"kv-rbac", "k1", ""}));
  // Crypto User uses keys; it does not manage them.
  EXPECT_REFUSED(vaults_->CreateKey(As(carol), "kv-rbac", "k2", {.kty = "RSA"}),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByRbac");
  EXPECT_REFUSED(vaults_->DeleteKey(As(carol), "kv-rbac", "k1"),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByRbac");

  // A role at the resource group reaches the vaults in it.
  identity::Caller dave = NewPrincipal("dave", tenant_);
  EXPECT_REFUSED(vaults_->GetKey(As(dave), {"kv-rbac", "k1", ""}),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByRbac");
  ASSERT_OK(rm_->CreateRoleAssignment(
      owner_, resources::ResourceGroupScope(sub_, "RG"),
      env_.random().NewUuid(), dave.object_id, "Key Vault Reader"));
  EXPECT_OK(vaults_->GetKey(As(dave), {"kv-rbac", "k1", ""}));
  EXPECT_REFUSED(Wrap(As(dave), "kv-rbac", "k1", cek),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByRbac");
}

TEST_F(VaultServiceTest, FirewallAllowsOnlyListedAddresses) {
  ASSERT_NO_FATAL_FAILURE(MakeVault(
      "kv-fw", {{"networkAcls",
                 {{"defaultAction", "Deny"},
                  {"bypass", "None"},
                  {"ipRules",
                   {{{"value", "10.1.0.0/16"}}, {{"value", "192.0.2.7"}}}}}}}));
  ASSERT_OK(vaults_->ImportKey(As(owner_, "10.1.0.5"), "kv-fw", "k1",
                               ImportParams(SharedKey())));
  const KeyRef k1{"kv-fw", "k1", ""};

  Result<KeyBundle> denied = vaults_->GetKey(Owner(), k1);
  EXPECT_REFUSED(denied, StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByFirewall");
  EXPECT_TRUE(Contains(denied.status().message(), "Client address: 127.0.0.1"))
      << denied.status();
  for (const char* ip :
       {"10.1.0.1", "10.1.255.255", "192.0.2.7", "::ffff:10.1.2.3"}) {
    SCOPED_TRACE(ip);
    EXPECT_OK(vaults_->GetKey(As(owner_, ip), k1));
  }
  for (const char* ip : {"10.2.0.1", "10.0.255.255", "192.0.2.8", "", "::1",
                         "not-an-address", "10.1.0.1.5"}) {
    EXPECT_REFUSED(vaults_->GetKey(As(owner_, ip), k1),
                   StatusCode::kPermissionDenied,
                   "Forbidden/ForbiddenByFirewall");
  }

  // Disabling public access closes the listed addresses too.
  ASSERT_OK(vaults_->PatchVault(owner_, Ref("kv-fw"), std::nullopt,
                                {{"publicNetworkAccess", "Disabled"}}));
  EXPECT_REFUSED(vaults_->GetKey(As(owner_, "10.1.0.1"), k1),
                 StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByFirewall");
  // The firewall guards only the data plane.
  EXPECT_OK(vaults_->GetVault(owner_, Ref("kv-fw")));

  ASSERT_OK(
      vaults_->PatchVault(owner_, Ref("kv-fw"), std::nullopt,
                          {{"publicNetworkAccess", "Enabled"},
                           {"networkAcls", {{"defaultAction", "Allow"}}}}));
  EXPECT_OK(vaults_->GetKey(Owner(), k1));
}

TEST_F(VaultServiceTest, TrustedServicesBypassTheFirewallButNeedAPolicy) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-mi"));
  ASSERT_OK(Import("kv-mi", "k1"));
  ASSERT_OK(vaults_->PatchVault(
      owner_, Ref("kv-mi"), std::nullopt,
      {{"networkAcls",
        {{"defaultAction", "Deny"}, {"bypass", "AzureServices"}}}}));
  identity::Caller mi =
      NewPrincipal("storage", tenant_, store::PrincipalKind::kManagedIdentity);
  const KeyRef k1{"kv-mi", "k1", ""};
  const Bytes cek = RandomData(32);

  EXPECT_REFUSED(vaults_->GetKey(Owner(), k1), StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByFirewall");
  // Past the firewall, but without a policy.
  EXPECT_REFUSED(vaults_->GetKey(As(mi, "203.0.113.9"), k1),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");
  ASSERT_OK(vaults_->UpdateAccessPolicies(
      owner_, Ref("kv-mi"), "add",
      {{.tenant_id = tenant_,
        .object_id = mi.object_id,
        .keys = {"get", "wrapKey", "unwrapKey"}}}));
  EXPECT_OK(vaults_->GetKey(As(mi, "203.0.113.9"), k1));
  ASSERT_OK_AND_ASSIGN(KeyOperationResult wrapped,
                       Wrap(As(mi, "203.0.113.9"), "kv-mi", "k1", cek));
  EXPECT_EQ(
      vaults_->UnwrapKey(As(mi), k1, "RSA-OAEP-256", wrapped.value)->value,
      cek);
  // Trusted services still pass when public access is off...
  ASSERT_OK(vaults_->PatchVault(owner_, Ref("kv-mi"), std::nullopt,
                                {{"publicNetworkAccess", "Disabled"}}));
  EXPECT_OK(vaults_->GetKey(As(mi), k1));
  // ...but not when the vault takes no bypass.
  ASSERT_OK(vaults_->PatchVault(owner_, Ref("kv-mi"), std::nullopt,
                                {{"networkAcls", {{"bypass", "None"}}}}));
  EXPECT_REFUSED(vaults_->GetKey(As(mi), k1), StatusCode::kPermissionDenied,
                 "Forbidden/ForbiddenByFirewall");
}

TEST_F(VaultServiceTest, CallersOfAnotherTenantAreUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-t"));
  ASSERT_OK(Import("kv-t", "k1"));
  EXPECT_EQ(vaults_->VaultTenant("kv-t").value(), tenant_);
  EXPECT_EQ(vaults_->VaultTenant("KV-T").value(), tenant_);
  EXPECT_REFUSED(vaults_->VaultTenant("kv-none"), StatusCode::kNotFound,
                 "VaultNotFound");

  std::string other = NewTenant("t2");
  identity::Caller stranger = NewPrincipal("stranger", other);
  // Even one that claims the object id of a principal with a policy.
  identity::Caller impostor = owner_;
  impostor.tenant_id = other;
  for (const identity::Caller& who : {stranger, impostor}) {
    Result<KeyBundle> r = vaults_->GetKey(As(who), {"kv-t", "k1", ""});
    EXPECT_REFUSED(r, StatusCode::kUnauthenticated, "Unauthorized");
    EXPECT_TRUE(Contains(r.status().message(), tenant_)) << r.status();
    EXPECT_REFUSED(vaults_->RandomBytes(As(who), "kv-t", 8),
                   StatusCode::kUnauthenticated, "Unauthorized");
  }
}

TEST_F(VaultServiceTest, DisabledNotYetValidAndExpiredKeys) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-state"));
  ASSERT_OK(Import("kv-state", "k1"));
  const KeyRef k1{"kv-state", "k1", ""};
  const Bytes cek = RandomData(32);
  const Bytes digest = crypto::Sha256(AsBytes("m"));

  ASSERT_OK(vaults_->UpdateKey(Owner(), k1, {.enabled = false}));
  EXPECT_REFUSED(Wrap(Owner(), "kv-state", "k1", cek),
                 StatusCode::kPermissionDenied, "Forbidden/KeyDisabled");
  EXPECT_REFUSED(vaults_->Sign(Owner(), k1, "RS256", digest),
                 StatusCode::kPermissionDenied, "Forbidden/KeyDisabled");
  ASSERT_OK_AND_ASSIGN(KeyBundle disabled, vaults_->GetKey(Owner(), k1));
  EXPECT_FALSE(disabled.attributes.enabled);

  ASSERT_OK(vaults_->UpdateKey(
      Owner(), k1,
      {.enabled = true, .not_before = std::optional<int64_t>(Now() + 3600)}));
  EXPECT_REFUSED(Wrap(Owner(), "kv-state", "k1", cek),
                 StatusCode::kPermissionDenied, "Forbidden/KeyNotYetValid");
  clock_.Advance(seconds(3599));
  EXPECT_REFUSED(vaults_->Sign(Owner(), k1, "RS256", digest),
                 StatusCode::kPermissionDenied, "Forbidden/KeyNotYetValid");
  clock_.Advance(seconds(1));
  EXPECT_OK(Wrap(Owner(), "kv-state", "k1", cek));

  ASSERT_OK(vaults_->UpdateKey(
      Owner(), k1, {.expires = std::optional<int64_t>(Now() + 60)}));
  EXPECT_OK(Wrap(Owner(), "kv-state", "k1", cek));
  clock_.Advance(seconds(60));
  EXPECT_REFUSED(Wrap(Owner(), "kv-state", "k1", cek),
                 StatusCode::kPermissionDenied, "Forbidden/KeyExpired");
  EXPECT_REFUSED(vaults_->Sign(Owner(), k1, "RS256", digest),
                 StatusCode::kPermissionDenied, "Forbidden/KeyExpired");

  // Clearing exp (and nbf) makes it usable again.
  ASSERT_OK_AND_ASSIGN(
      KeyBundle cleared,
      vaults_->UpdateKey(Owner(), k1,
                         {.not_before = std::optional<int64_t>(),
                          .expires = std::optional<int64_t>()}));
  EXPECT_EQ(cleared.attributes.expires, std::nullopt);
  EXPECT_EQ(cleared.attributes.not_before, std::nullopt);
  EXPECT_OK(Wrap(Owner(), "kv-state", "k1", cek));
  EXPECT_OK(vaults_->Sign(Owner(), k1, "RS256", digest));

  // Dates given at creation count too.
  ImportKeyParams later = ImportParams(SharedKey());
  later.attributes.not_before = Now() + 10;
  ASSERT_OK(vaults_->ImportKey(Owner(), "kv-state", "later", std::move(later)));
  EXPECT_REFUSED(Wrap(Owner(), "kv-state", "later", cek),
                 StatusCode::kPermissionDenied, "Forbidden/KeyNotYetValid");
}

TEST_F(VaultServiceTest, SoftDeletedKeysAreRecoveredOrPurged) {
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-sd", {{"softDeleteRetentionInDays", 30}}));
  ASSERT_OK_AND_ASSIGN(KeyBundle k, Import("kv-sd", "k1"));
  const Bytes cek = RandomData(32);
  ASSERT_OK_AND_ASSIGN(KeyOperationResult wrapped,
                       Wrap(Owner(), "kv-sd", "k1", cek));

  ASSERT_OK_AND_ASSIGN(KeyBundle gone,
                       vaults_->DeleteKey(Owner(), "kv-sd", "k1"));
  EXPECT_EQ(gone.version.version, k.version.version);
  EXPECT_EQ(gone.key.deleted_at, Now());
  EXPECT_EQ(gone.key.scheduled_purge_at, Now() + 30 * kDay);
  EXPECT_EQ(gone.recovery_level, "CustomizedRecoverable+Purgeable");
  EXPECT_EQ(gone.recoverable_days, 30);
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-sd", "k1", ""}),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->UnwrapKey(Owner(), {"kv-sd", "k1", ""},
                                    "RSA-OAEP-256", wrapped.value),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->DeleteKey(Owner(), "kv-sd", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  ASSERT_OK_AND_ASSIGN(KeyBundle deleted,
                       vaults_->GetDeletedKey(Owner(), "kv-sd", "K1"));
  EXPECT_EQ(deleted.key.scheduled_purge_at, Now() + 30 * kDay);

  // The name cannot be reused while the key is recoverable.
  for (const Status& s :
       {Create("kv-sd", "k1").status(), Import("kv-sd", "K1").status()}) {
    EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s;
    EXPECT_EQ(s.reason(), "Conflict/ObjectIsDeletedButRecoverable") << s;
  }

  ASSERT_OK_AND_ASSIGN(KeyBundle recovered,
                       vaults_->RecoverDeletedKey(Owner(), "kv-sd", "k1"));
  EXPECT_EQ(recovered.version.version, k.version.version);
  EXPECT_EQ(recovered.key.deleted_at, 0);
  EXPECT_EQ(vaults_
                ->UnwrapKey(Owner(), {"kv-sd", "k1", ""}, "RSA-OAEP-256",
                            wrapped.value)
                ->value,
            cek);
  EXPECT_REFUSED(vaults_->GetDeletedKey(Owner(), "kv-sd", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");

  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-sd", "k1"));
  ASSERT_OK(vaults_->PurgeDeletedKey(Owner(), "kv-sd", "k1"));
  EXPECT_REFUSED(vaults_->GetDeletedKey(Owner(), "kv-sd", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_REFUSED(vaults_->RecoverDeletedKey(Owner(), "kv-sd", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  // A new key of that name is a new key.
  ASSERT_OK_AND_ASSIGN(KeyBundle fresh, Import("kv-sd", "k1"));
  EXPECT_EQ(VersionsOf("kv-sd", "k1"),
            std::vector<std::string>{fresh.version.version});
}

TEST_F(VaultServiceTest, PurgeProtectionForbidsPurgingKeys) {
  ASSERT_NO_FATAL_FAILURE(MakeVault(
      "kv-pp",
      {{"enablePurgeProtection", true}, {"softDeleteRetentionInDays", 7}}));
  ASSERT_OK_AND_ASSIGN(KeyBundle k, Import("kv-pp", "k1"));
  EXPECT_EQ(k.recovery_level, "CustomizedRecoverable");
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-pp", "k1"));
  Status s = vaults_->PurgeDeletedKey(Owner(), "kv-pp", "k1");
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s;
  EXPECT_EQ(s.reason(), "Forbidden") << s;
  EXPECT_TRUE(Contains(s.message(), "purge protection")) << s;
  EXPECT_OK(vaults_->GetDeletedKey(Owner(), "kv-pp", "k1"));
  // Recovery still works.
  EXPECT_OK(vaults_->RecoverDeletedKey(Owner(), "kv-pp", "k1"));

  // Once the retention period has passed, purging is allowed (maintenance
  // would purge it anyway); a second before, it is not.
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-pp", "k1"));
  clock_.Advance(seconds(7 * kDay - 1));
  EXPECT_EQ(vaults_->PurgeDeletedKey(Owner(), "kv-pp", "k1").code(),
            StatusCode::kPermissionDenied);
  clock_.Advance(seconds(1));
  ASSERT_OK(vaults_->PurgeDeletedKey(Owner(), "kv-pp", "k1"));
  EXPECT_EQ(vaults_->GetDeletedKey(Owner(), "kv-pp", "k1").status().code(),
            StatusCode::kNotFound);
}

TEST_F(VaultServiceTest, MaintenancePurgesDeletedKeysAfterRetention) {
  ASSERT_NO_FATAL_FAILURE(MakeVault(
      "kv-ret",
      {{"softDeleteRetentionInDays", 7}, {"enablePurgeProtection", true}}));
  ASSERT_OK(Import("kv-ret", "k1"));
  ASSERT_OK(Import("kv-ret", "k2"));
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-ret", "k1"));
  TakeEvents();

  AdvanceDays(6);
  ASSERT_OK_AND_ASSIGN(int done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  EXPECT_OK(vaults_->GetDeletedKey(Owner(), "kv-ret", "k1"));

  clock_.Advance(seconds(kDay - 1));
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  clock_.Advance(seconds(1));
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 1);
  EXPECT_EQ(TakeEventKinds(), std::vector<std::string>{"KeyPurged"});
  EXPECT_REFUSED(vaults_->GetDeletedKey(Owner(), "kv-ret", "k1"),
                 StatusCode::kNotFound, "KeyNotFound");
  EXPECT_OK(Import("kv-ret", "k1"));
  EXPECT_OK(vaults_->GetKey(Owner(), {"kv-ret", "k2", ""}));
}

// ======================= HSM keys =======================

TEST_F(VaultServiceTest, HsmKeysLiveInTheToken) {
  ASSERT_HSM();
  hsm::Token& token = *HsmEnvironment::token();
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-hsm", {{"sku", {{"family", "A"}, {"name", "premium"}}}}));
  ASSERT_OK_AND_ASSIGN(KeyBundle hk, Create("kv-hsm", "hk", "RSA-HSM"));
  EXPECT_EQ(hk.version.kty, "RSA-HSM");
  EXPECT_FALSE(hk.version.hsm_handle.empty());
  EXPECT_TRUE(hk.version.sealed_private_key.empty());
  EXPECT_EQ(hk.public_key.bits(), 2048);
  ASSERT_OK_AND_ASSIGN(crypto::RsaPublicKey in_token,
                       token.PublicKey(hk.version.hsm_handle));
  EXPECT_EQ(in_token.modulus(), hk.public_key.modulus());
  EXPECT_EQ(token.TryExportPrivateKey(hk.version.hsm_handle).code(),
            StatusCode::kPermissionDenied);

  const KeyRef ref{"kv-hsm", "hk", ""};
  const Bytes cek = RandomData(32);
  for (const char* alg : {"RSA-OAEP-256", "RSA-OAEP", "RSA1_5"}) {
    ASSERT_OK_AND_ASSIGN(KeyOperationResult w,
                         vaults_->WrapKey(Owner(), ref, alg, cek));
    ASSERT_OK_AND_ASSIGN(KeyOperationResult u,
                         vaults_->UnwrapKey(Owner(), ref, alg, w.value));
    EXPECT_EQ(u.value, cek) << alg;
  }
  const Bytes digest = crypto::Sha256(AsBytes("hsm"));
  ASSERT_OK_AND_ASSIGN(KeyOperationResult sig,
                       vaults_->Sign(Owner(), ref, "PS256", digest));
  ExpectVerified(vaults_->Verify(Owner(), ref, "PS256", digest, sig.value),
                 true);

  // Imported as RSA-HSM, the key enters the token.
  ImportKeyParams imported = ImportParams(SharedKey());
  imported.hsm = true;
  ASSERT_OK_AND_ASSIGN(KeyBundle ik, vaults_->ImportKey(Owner(), "kv-hsm", "ik",
                                                        std::move(imported)));
  EXPECT_EQ(ik.version.kty, "RSA-HSM");
  EXPECT_FALSE(ik.version.hsm_handle.empty());
  EXPECT_EQ(ik.public_key.modulus(), SharedKey().n);

  // Purging destroys the token objects.
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-hsm", "hk"));
  EXPECT_OK(token.PublicKey(hk.version.hsm_handle));
  ASSERT_OK(vaults_->PurgeDeletedKey(Owner(), "kv-hsm", "hk"));
  EXPECT_EQ(token.PublicKey(hk.version.hsm_handle).status().code(),
            StatusCode::kNotFound);
}

TEST_F(VaultServiceTest, HsmKeysWithoutATokenAreRefusedNotFatal) {
  ASSERT_HSM();
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-hsm", {{"sku", {{"family", "A"}, {"name", "premium"}}}}));
  ASSERT_OK(Create("kv-hsm", "hk", "RSA-HSM"));
  ASSERT_OK(Import("kv-hsm", "sk"));
  const KeyRef hk{"kv-hsm", "hk", ""};
  const Bytes cek = RandomData(32);
  ASSERT_OK_AND_ASSIGN(KeyOperationResult wrapped,
                       Wrap(Owner(), "kv-hsm", "hk", cek));

  // The same store served without a token (SoftHSM2 uninstalled, say).
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<VaultService> no_token,
      VaultService::Create(*store_, env_, *root_key_, *rm_, nullptr, events_));
  EXPECT_OK(no_token->GetKey(Owner(), hk));
  EXPECT_OK(no_token->WrapKey(Owner(), hk, "RSA-OAEP-256", cek));
  EXPECT_REFUSED(
      no_token->UnwrapKey(Owner(), hk, "RSA-OAEP-256", wrapped.value),
      StatusCode::kFailedPrecondition, "BadParameter");
  EXPECT_REFUSED(no_token->Decrypt(Owner(), hk, "RSA-OAEP-256", wrapped.value),
                 StatusCode::kFailedPrecondition, "BadParameter");
  EXPECT_REFUSED(
      no_token->Sign(Owner(), hk, "RS256", crypto::Sha256(AsBytes("m"))),
      StatusCode::kFailedPrecondition, "BadParameter");
  EXPECT_REFUSED(no_token->RotateKey(Owner(), "kv-hsm", "hk"),
                 StatusCode::kFailedPrecondition, "BadParameter");
  EXPECT_REFUSED(
      no_token->CreateKey(Owner(), "kv-hsm", "hk2", {.kty = "RSA-HSM"}),
      StatusCode::kFailedPrecondition, "BadParameter");
  // Software keys do not need the token.
  ASSERT_OK_AND_ASSIGN(
      KeyOperationResult sw,
      no_token->WrapKey(Owner(), {"kv-hsm", "sk", ""}, "RSA-OAEP-256", cek));
  EXPECT_EQ(
      no_token
          ->UnwrapKey(Owner(), {"kv-hsm", "sk", ""}, "RSA-OAEP-256", sw.value)
          ->value,
      cek);
  // With the token back, the key works as before.
  EXPECT_EQ(
      vaults_->UnwrapKey(Owner(), hk, "RSA-OAEP-256", wrapped.value)->value,
      cek);
}

TEST_F(VaultServiceTest, MaintenanceGoesOnPastAKeyItCannotRotate) {
  ASSERT_HSM();
  const json rotate_monthly = {
      {"lifetimeActions",
       json::array({{{"trigger", {{"timeAfterCreate", "P30D"}}},
                     {"action", {{"type", "Rotate"}}}}})}};
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("a-hsm", {{"sku", {{"family", "A"}, {"name", "premium"}}}}));
  ASSERT_OK(Create("a-hsm", "hk", "RSA-HSM"));
  ASSERT_OK(vaults_->SetRotationPolicy(Owner(), "a-hsm", "hk",
                                       ParsePolicy(rotate_monthly)));
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("b-gone", {{"softDeleteRetentionInDays", 7}}));
  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("b-gone")));
  ASSERT_NO_FATAL_FAILURE(MakeVault("c-soft"));
  ASSERT_OK(Import("c-soft", "k"));
  ASSERT_OK(vaults_->SetRotationPolicy(Owner(), "c-soft", "k",
                                       ParsePolicy(rotate_monthly)));
  AdvanceDays(31);

  // Without the token the HSM key cannot rotate; the rest is still done,
  // and the failure is reported.
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<VaultService> no_token,
      VaultService::Create(*store_, env_, *root_key_, *rm_, nullptr, events_));
  Result<int> done = no_token->RunMaintenance();
  EXPECT_EQ(done.status().code(), StatusCode::kFailedPrecondition)
      << done.status();
  EXPECT_TRUE(vaults_->ListDeletedVaults(owner_, sub_)->empty());
  EXPECT_EQ(VersionsOf("c-soft", "k").size(), 2u);
  EXPECT_EQ(VersionsOf("a-hsm", "hk").size(), 1u);

  // With it, the key that was left rotates, and nothing else happens.
  ASSERT_OK_AND_ASSIGN(int rotated, vaults_->RunMaintenance());
  EXPECT_EQ(rotated, 1);
  EXPECT_EQ(VersionsOf("a-hsm", "hk").size(), 2u);
  EXPECT_EQ(VersionsOf("c-soft", "k").size(), 2u);
}

// ======================= Rotation =======================

TEST_F(VaultServiceTest, RotationPolicyRotatesAfterCreate) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-rot"));
  ASSERT_OK_AND_ASSIGN(
      KeyBundle first,
      vaults_->CreateKey(
          Owner(), "kv-rot", "k1",
          {.kty = "RSA",
           .key_ops = std::vector<std::string>{"wrapKey", "unwrapKey"},
           .attributes = {.tags = {{"app", "x"}}}}));
  // Without a policy the service default shows.
  ASSERT_OK_AND_ASSIGN(RotationPolicy shown,
                       vaults_->GetRotationPolicy(Owner(), "kv-rot", "k1"));
  EXPECT_EQ(shown.lifetime_actions,
            (std::vector<LifetimeAction>{
                {.time_before_expiry = "P30D", .action = "Notify"}}));
  const Bytes cek = RandomData(32);
  ASSERT_OK_AND_ASSIGN(KeyOperationResult old_wrap,
                       Wrap(Owner(), "kv-rot", "k1", cek));
  TakeEvents();

  const int64_t set_at = Now();
  ASSERT_OK_AND_ASSIGN(
      RotationPolicy stored,
      vaults_->SetRotationPolicy(
          Owner(), "kv-rot", "k1",
          ParsePolicy(
              {{"lifetimeActions",
                json::array({{{"trigger", {{"timeAfterCreate", "P30D"}}},
                              {"action", {{"type", "Rotate"}}}}})},
               {"attributes", {{"expiryTime", "P90D"}}}})));
  EXPECT_EQ(stored.created, set_at);
  EXPECT_EQ(stored.updated, set_at);
  ASSERT_OK_AND_ASSIGN(shown,
                       vaults_->GetRotationPolicy(Owner(), "kv-rot", "k1"));
  EXPECT_EQ(shown, stored);
  EXPECT_EQ(shown.expiry_time, "P90D");
  ASSERT_EQ(shown.lifetime_actions.size(), 2u);

  AdvanceDays(29);
  ASSERT_OK_AND_ASSIGN(int done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  EXPECT_EQ(VersionsOf("kv-rot", "k1").size(), 1u);

  AdvanceDays(2);
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 1);
  std::vector<std::string> versions = VersionsOf("kv-rot", "k1");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0], first.version.version);
  ASSERT_OK_AND_ASSIGN(KeyBundle latest,
                       vaults_->GetKey(Owner(), {"kv-rot", "k1", ""}));
  EXPECT_EQ(latest.version.version, versions[1]);
  EXPECT_EQ(latest.version.created_at, Now());
  EXPECT_EQ(latest.attributes.expires, Now() + 90 * kDay);
  EXPECT_EQ(latest.attributes.key_ops, first.attributes.key_ops);
  EXPECT_EQ(latest.attributes.tags, first.attributes.tags);
  EXPECT_EQ(latest.public_key.bits(), 2048);
  EXPECT_NE(latest.public_key.modulus(), first.public_key.modulus());
  EXPECT_EQ(TakeEventKinds(), (std::vector<std::string>{"RotationPolicyChanged",
                                                        "KeyVersionCreated"}));

  // Not again until the new version is 30 days old.
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  AdvanceDays(29);
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  // Old ciphertext still unwraps with the old version named.
  EXPECT_EQ(vaults_
                ->UnwrapKey(Owner(), {"kv-rot", "k1", first.version.version},
                            "RSA-OAEP-256", old_wrap.value)
                ->value,
            cek);
  // And a later policy update keeps its creation time.
  ASSERT_OK_AND_ASSIGN(RotationPolicy again,
                       vaults_->SetRotationPolicy(Owner(), "kv-rot", "k1",
                                                  ParsePolicy(json::object())));
  EXPECT_EQ(again.created, set_at);
  EXPECT_EQ(again.updated, Now());
}

TEST_F(VaultServiceTest, RotationPolicyRotatesBeforeExpiry) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-rot"));
  ImportKeyParams params = ImportParams(SharedKey());
  params.attributes.expires = Now() + 40 * kDay;
  ASSERT_OK(vaults_->ImportKey(Owner(), "kv-rot", "k1", std::move(params)));
  ASSERT_OK(vaults_->SetRotationPolicy(
      Owner(), "kv-rot", "k1",
      ParsePolicy({{"lifetimeActions",
                    json::array({{{"trigger", {{"timeBeforeExpiry", "P10D"}}},
                                  {"action", {{"type", "Rotate"}}}}})},
                   {"attributes", {{"expiryTime", "P60D"}}}})));

  AdvanceDays(29);
  ASSERT_OK_AND_ASSIGN(int done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  AdvanceDays(1);  // exp - 10 days.
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 1);
  ASSERT_OK_AND_ASSIGN(KeyBundle latest,
                       vaults_->GetKey(Owner(), {"kv-rot", "k1", ""}));
  EXPECT_EQ(latest.attributes.expires, Now() + 60 * kDay);
  EXPECT_EQ(VersionsOf("kv-rot", "k1").size(), 2u);

  // The new version is due 10 days before its own exp.
  AdvanceDays(49);
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 0);
  AdvanceDays(1);
  ASSERT_OK_AND_ASSIGN(done, vaults_->RunMaintenance());
  EXPECT_EQ(done, 1);
  EXPECT_EQ(VersionsOf("kv-rot", "k1").size(), 3u);

  // Manual rotation follows the policy's expiryTime too.
  ASSERT_OK_AND_ASSIGN(KeyBundle manual,
                       vaults_->RotateKey(Owner(), "kv-rot", "k1"));
  EXPECT_EQ(manual.attributes.expires, Now() + 60 * kDay);
}

// ======================= Backup and restore =======================

TEST_F(VaultServiceTest, BackupRestoresIntoAnotherVaultOfTheTenant) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-src"));
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-dst"));
  ASSERT_OK_AND_ASSIGN(KeyBundle v1, Import("kv-src", "k1"));
  ASSERT_OK_AND_ASSIGN(KeyBundle v2,
                       vaults_->RotateKey(Owner(), "kv-src", "k1"));
  ASSERT_OK(vaults_->SetRotationPolicy(
      Owner(), "kv-src", "k1",
      ParsePolicy({{"attributes", {{"expiryTime", "P1Y"}}}})));
  const Bytes cek = RandomData(32);
  ASSERT_OK_AND_ASSIGN(KeyOperationResult w1,
                       Wrap(Owner(), "kv-src", "k1", cek, v1.version.version));
  ASSERT_OK_AND_ASSIGN(KeyOperationResult w2,
                       Wrap(Owner(), "kv-src", "k1", cek));
  EXPECT_EQ(w2.kid_version, v2.version.version);

  ASSERT_OK_AND_ASSIGN(Bytes blob, vaults_->BackupKey(Owner(), "kv-src", "k1"));
  ASSERT_OK_AND_ASSIGN(KeyBundle restored,
                       vaults_->RestoreKey(Owner(), "kv-dst", blob));
  EXPECT_EQ(restored.key.name, "k1");
  EXPECT_EQ(restored.key.vault, "kv-dst");
  EXPECT_EQ(restored.version.version, v2.version.version);
  EXPECT_EQ(VersionsOf("kv-dst", "k1"),
            (std::vector<std::string>{v1.version.version, v2.version.version}));
  EXPECT_EQ(vaults_
                ->UnwrapKey(Owner(), {"kv-dst", "k1", v1.version.version},
                            "RSA-OAEP-256", w1.value)
                ->value,
            cek);
  EXPECT_EQ(
      vaults_
          ->UnwrapKey(Owner(), {"kv-dst", "k1", ""}, "RSA-OAEP-256", w2.value)
          ->value,
      cek);
  ASSERT_OK_AND_ASSIGN(RotationPolicy policy,
                       vaults_->GetRotationPolicy(Owner(), "kv-dst", "k1"));
  EXPECT_EQ(policy.expiry_time, "P1Y");

  // A name that is taken, live or deleted, refuses the restore.
  EXPECT_REFUSED(vaults_->RestoreKey(Owner(), "kv-src", blob),
                 StatusCode::kAlreadyExists, "Conflict");
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-dst", "k1"));
  EXPECT_REFUSED(vaults_->RestoreKey(Owner(), "kv-dst", blob),
                 StatusCode::kAlreadyExists,
                 "Conflict/ObjectIsDeletedButRecoverable");
  // After a purge the same blob restores again.
  ASSERT_OK(vaults_->PurgeDeletedKey(Owner(), "kv-dst", "k1"));
  EXPECT_OK(vaults_->RestoreKey(Owner(), "kv-dst", blob));
}

TEST_F(VaultServiceTest, BackupsAreBoundToTheirTenantAndAuthenticated) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-src"));
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-dst"));
  ASSERT_OK(Import("kv-src", "k1"));
  ASSERT_OK_AND_ASSIGN(Bytes blob, vaults_->BackupKey(Owner(), "kv-src", "k1"));
  // The blob holds no key material in the clear.
  EXPECT_FALSE(ContainsBytes(std::string(blob.begin(), blob.end()),
                             SharedKey().d.RevealSecret()));

  // Another tenant's vault refuses it.
  std::string other = NewTenant("t2");
  identity::Caller owner2 = NewPrincipal("owner2", other);
  ASSERT_OK_AND_ASSIGN(store::Subscription sub2,
                       rm_->CreateSubscription(other, "Other"));
  ASSERT_OK(rm_->AssignRoleUnchecked(owner2.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  ASSERT_OK(rm_->PutResourceGroup(owner2, sub2.id, "rg", "westus", {}));
  ASSERT_OK(vaults_->PutVault(
      owner2, {sub2.id, "rg", "kv-other-tenant"}, "westus", {},
      {{"tenantId", other},
       {"sku", {{"family", "A"}, {"name", "standard"}}},
       {"accessPolicies", json::array({Policy(owner2, {"all"})})}}));
  EXPECT_REFUSED(vaults_->RestoreKey(As(owner2), "kv-other-tenant", blob),
                 StatusCode::kInvalidArgument, "BadParameter");
  // Rewriting the tenant in the header breaks the seal.
  std::string text(blob.begin(), blob.end());
  size_t at = text.find(tenant_);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, tenant_.size(), other);
  EXPECT_REFUSED(
      vaults_->RestoreKey(As(owner2), "kv-other-tenant", AsBytes(text)),
      StatusCode::kInvalidArgument, "Malformed backup blob");

  // Any damage is the one malformed error.
  for (size_t i : {blob.size() - 1, blob.size() / 2, blob.size() - 40}) {
    Bytes flipped = blob;
    flipped[i] ^= 0x01;
    SCOPED_TRACE("flipped byte " + std::to_string(i));
    EXPECT_REFUSED(vaults_->RestoreKey(Owner(), "kv-dst", flipped),
                   StatusCode::kInvalidArgument, "Malformed backup blob");
  }
  Bytes truncated(blob.begin(), blob.end() - 1);
  EXPECT_REFUSED(vaults_->RestoreKey(Owner(), "kv-dst", truncated),
                 StatusCode::kInvalidArgument, "Malformed backup blob");
  Bytes magic = blob;
  magic[0] ^= 0x20;
  EXPECT_REFUSED(vaults_->RestoreKey(Owner(), "kv-dst", magic),
                 StatusCode::kInvalidArgument, "Malformed backup blob");
  EXPECT_REFUSED(vaults_->RestoreKey(Owner(), "kv-dst", Bytes{}),
                 StatusCode::kInvalidArgument, "Malformed backup blob");
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-dst", "k1", ""}),
                 StatusCode::kNotFound, "KeyNotFound");
}

TEST_F(VaultServiceTest, HsmKeysCannotBeBackedUp) {
  ASSERT_HSM();
  ASSERT_NO_FATAL_FAILURE(
      MakeVault("kv-hsm", {{"sku", {{"family", "A"}, {"name", "premium"}}}}));
  ImportKeyParams p = ImportParams(SharedKey());
  p.hsm = true;
  ASSERT_OK(vaults_->ImportKey(Owner(), "kv-hsm", "hk", std::move(p)));
  Result<Bytes> blob = vaults_->BackupKey(Owner(), "kv-hsm", "hk");
  EXPECT_REFUSED(blob, StatusCode::kInvalidArgument, "BadParameter");
  EXPECT_TRUE(Contains(blob.status().message(), "RSA-HSM"));
}

// ======================= At rest =======================

TEST_F(VaultServiceTest, PrivateKeysAreNeverStoredInTheClear) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-rest"));
  const crypto::RsaPrivateComponents key = GenerateComponents();
  ASSERT_OK_AND_ASSIGN(crypto::RsaPrivateKey rsa,
                       crypto::RsaPrivateKey::FromComponents(key));
  ASSERT_OK_AND_ASSIGN(crypto::SecretBytes pkcs8, rsa.ToPkcs8Der());
  ASSERT_OK(
      vaults_->ImportKey(Owner(), "kv-rest", "imported", ImportParams(key)));
  ASSERT_OK(Create("kv-rest", "made"));
  ASSERT_OK(vaults_->RotateKey(Owner(), "kv-rest", "imported"));
  ASSERT_OK(vaults_->BackupKey(Owner(), "kv-rest", "imported"));
  // Unseal it too, so that any cache or audit path has run.
  ASSERT_OK(vaults_->Sign(Owner(), {"kv-rest", "imported", ""}, "RS256",
                          crypto::Sha256(AsBytes("m"))));
  ASSERT_OK(vaults_->ReadAudit(owner_, Ref("kv-rest"), 0, 100));

  std::string files;
  for (const char* suffix : {"", "-wal", "-journal"}) {
    files += ReadFile(
        dir_.Join(std::string(store::SqliteStore::kFileName) + suffix));
  }
  ASSERT_GT(files.size(), 0u);
  // The public modulus is there (so the search works)...
  EXPECT_TRUE(ContainsBytes(files, key.n));
  // ...the private parts are not, in any form.
  EXPECT_FALSE(ContainsBytes(files, pkcs8.RevealSecret()));
  for (const crypto::SecretBytes* part :
       {&key.d, &key.p, &key.q, &key.dp, &key.dq, &key.qi}) {
    EXPECT_FALSE(ContainsBytes(files, part->RevealSecret()));
  }
  const std::string d_b64 = Base64Encode(key.d.RevealSecret());
  const std::string d_b64url = Base64UrlEncode(key.d.RevealSecret());
  EXPECT_FALSE(Contains(files, d_b64.substr(0, 64)));
  EXPECT_FALSE(Contains(files, d_b64url.substr(0, 64)));
}

// ======================= Events =======================

TEST_F(VaultServiceTest, EveryChangeIsPublishedInOrder) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-ev"));
  ASSERT_OK_AND_ASSIGN(KeyBundle created, Import("kv-ev", "k1"));
  ASSERT_OK_AND_ASSIGN(KeyBundle rotated,
                       vaults_->RotateKey(Owner(), "kv-ev", "k1"));
  ASSERT_OK(vaults_->UpdateKey(
      Owner(), {"kv-ev", "k1", ""},
      {.tags = std::map<std::string, std::string>{{"a", "b"}}}));
  ASSERT_OK(vaults_->SetRotationPolicy(Owner(), "kv-ev", "k1",
                                       ParsePolicy(json::object())));
  ASSERT_OK(vaults_->PatchVault(owner_, Ref("kv-ev"), std::nullopt,
                                {{"enabledForDeployment", true}}));
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-ev", "k1"));
  ASSERT_OK(vaults_->RecoverDeletedKey(Owner(), "kv-ev", "k1"));
  ASSERT_OK(vaults_->DeleteKey(Owner(), "kv-ev", "k1"));
  ASSERT_OK(vaults_->PurgeDeletedKey(Owner(), "kv-ev", "k1"));
  // Reads and refusals publish nothing.
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-ev", "k1", ""}),
                 StatusCode::kNotFound, "KeyNotFound");
  (void)vaults_->CreateKey(As(NewPrincipal("nobody", tenant_)), "kv-ev", "k2",
                           {.kty = "RSA"});
  ASSERT_OK(vaults_->DeleteVault(owner_, Ref("kv-ev")));

  std::vector<VaultEvent> events = TakeEvents();
  std::vector<std::string> kinds;
  for (const VaultEvent& e : events) kinds.push_back(EventKindName(e.kind));
  EXPECT_EQ(kinds,
            (std::vector<std::string>{
                "VaultCreated", "KeyCreated", "KeyVersionCreated", "KeyUpdated",
                "RotationPolicyChanged", "VaultUpdated", "KeyDeleted",
                "KeyRecovered", "KeyDeleted", "KeyPurged", "VaultDeleted"}));
  ASSERT_EQ(events.size(), 11u);
  for (const VaultEvent& e : events) EXPECT_EQ(e.vault, "kv-ev");
  EXPECT_EQ(events[0].key, "");
  EXPECT_EQ(events[1].key, "k1");
  EXPECT_EQ(events[1].version, created.version.version);
  EXPECT_EQ(events[2].version, rotated.version.version);
  EXPECT_EQ(events[3].version, rotated.version.version);
  EXPECT_EQ(events[9].key, "k1");
}

// ======================= Audit =======================

TEST_F(VaultServiceTest, AuditRecordsCallsWithoutPayloads) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-audit"));
  identity::Caller bob = NewPrincipal("bob", tenant_);
  ASSERT_OK(vaults_->UpdateAccessPolicies(
      owner_, Ref("kv-audit"), "add",
      {{.tenant_id = tenant_, .object_id = bob.object_id, .keys = {"get"}}}));
  ASSERT_OK_AND_ASSIGN(KeyBundle key, Import("kv-audit", "k1"));
  const Bytes cek = RandomData(32);
  ASSERT_OK_AND_ASSIGN(KeyOperationResult wrapped,
                       Wrap(Owner(), "kv-audit", "k1", cek));
  clock_.Advance(seconds(30));
  const int64_t refused_at = Now();
  EXPECT_REFUSED(vaults_->UnwrapKey(As(bob, "10.9.8.7"), {"kv-audit", "k1", ""},
                                    "RSA-OAEP-256", wrapped.value),
                 StatusCode::kPermissionDenied, "Forbidden/ForbiddenByPolicy");
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-audit", "nope", ""}),
                 StatusCode::kNotFound, "KeyNotFound");
  std::string other = NewTenant("t2");
  EXPECT_REFUSED(
      vaults_->GetKey(As(NewPrincipal("x", other)), {"kv-audit", "k1", ""}),
      StatusCode::kUnauthenticated, "Unauthorized");

  ASSERT_OK_AND_ASSIGN(std::vector<store::AuditEvent> events,
                       vaults_->ReadAudit(owner_, Ref("kv-audit"), 0, 100));
  ASSERT_EQ(events.size(), 5u);
  struct Want {
    std::string operation, result;
    int status;
    std::string object_id, ip, key, version;
  };
  const std::vector<Want> want = {
      {"KeyImport", "Success", 200, owner_.object_id, kHere, "k1",
       key.version.version},
      {"KeyWrap", "Success", 200, owner_.object_id, kHere, "k1",
       key.version.version},
      {"KeyUnwrap", "ForbiddenByPolicy", 403, bob.object_id, "10.9.8.7", "k1",
       ""},
      {"KeyGet", "KeyNotFound", 404, owner_.object_id, kHere, "nope", ""},
      {"KeyGet", "Unauthorized", 401, "", kHere, "k1", ""},
  };
  const std::string cek_b64 = Base64Encode(cek);
  const std::string cek_b64url = Base64UrlEncode(cek);
  const std::string cek_hex = HexEncode(cek);
  const std::string wrapped_b64url = Base64UrlEncode(wrapped.value);
  int64_t last_seq = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const store::AuditEvent& e = events[i];
    SCOPED_TRACE("event " + std::to_string(i) + " " + e.operation);
    EXPECT_GT(e.seq, last_seq);
    last_seq = e.seq;
    EXPECT_EQ(e.vault, "kv-audit");
    EXPECT_EQ(e.operation, want[i].operation);
    EXPECT_EQ(e.result, want[i].result);
    EXPECT_EQ(e.status_code, want[i].status);
    if (!want[i].object_id.empty()) {
      EXPECT_EQ(e.caller_object_id, want[i].object_id);
      EXPECT_EQ(e.caller_tenant_id, tenant_);
    } else {
      EXPECT_EQ(e.caller_tenant_id, other);
    }
    EXPECT_EQ(e.client_ip, want[i].ip);
    EXPECT_EQ(e.key_name, want[i].key);
    EXPECT_EQ(e.key_version, want[i].version);
    for (const std::string& field :
         {e.vault, e.caller_tenant_id, e.caller_object_id, e.caller_app_id,
          e.client_ip, e.key_name, e.key_version, e.operation, e.result}) {
      EXPECT_FALSE(Contains(field, cek_b64)) << field;
      EXPECT_FALSE(Contains(field, cek_b64url)) << field;
      EXPECT_FALSE(Contains(field, cek_hex)) << field;
      EXPECT_FALSE(Contains(field, wrapped_b64url.substr(0, 40))) << field;
    }
  }
  EXPECT_EQ(events[2].time, refused_at);
  EXPECT_EQ(events[2].caller_app_id, bob.app_id);

  // Reading goes on after a sequence number.
  ASSERT_OK_AND_ASSIGN(
      std::vector<store::AuditEvent> rest,
      vaults_->ReadAudit(owner_, Ref("kv-audit"), events[2].seq, 100));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0], events[3]);
  ASSERT_OK_AND_ASSIGN(rest, vaults_->ReadAudit(owner_, Ref("kv-audit"), 0, 2));
  EXPECT_EQ(rest.size(), 2u);
  // Only callers who may read the vault see its audit log.
  EXPECT_REFUSED(vaults_->ReadAudit(bob, Ref("kv-audit"), 0, 100),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
}

// While the audit log's queue is full (here: the disk is full, so nothing
// drains), calls are refused before they run, with 503 ServiceUnavailable,
// and counted; once the disk has room, every record arrives.
TEST_F(VaultServiceTest, CallsAreRefusedBeforeTheyRunWhileTheAuditQueueIsFull) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-queue"));
  ASSERT_OK(Import("kv-queue", "k1"));
  // Shared: the store outlives this test's body.
  auto full = std::make_shared<std::atomic<bool>>(false);
  vaults_.reset();
  rm_.reset();
  store_.reset();
  store::SqliteStoreOptions so{.data_dir = dir_.path()};
  so.simulate_full_disk = [full] { return full->load(); };
  ASSERT_OK_AND_ASSIGN(store_, store::SqliteStore::Open(so));
  rm_ = std::make_unique<resources::ResourceManager>(*store_, env_);
  VaultServiceOptions vo;
  vo.audit.max_queued = 3;
  vo.audit.flush_interval = std::chrono::milliseconds(10);
  ASSERT_OK_AND_ASSIGN(
      vaults_, VaultService::Create(*store_, env_, *root_key_, *rm_,
                                    HsmEnvironment::token(), events_, vo));
  *full = true;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(vaults_->GetKey(Owner(), {"kv-queue", "k1", ""}));
  }
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-queue", "k1", ""}),
                 StatusCode::kUnavailable, "ServiceUnavailable");
  EXPECT_REFUSED(vaults_->CreateKey(Owner(), "kv-queue", "k2", {.kty = "RSA"}),
                 StatusCode::kUnavailable, "ServiceUnavailable");
  *full = false;
  ASSERT_OK_AND_ASSIGN(std::vector<store::AuditEvent> events,
                       vaults_->ReadAudit(owner_, Ref("kv-queue"), 0, 100));
  ASSERT_GE(events.size(), 4u);
  const store::AuditEvent& summary = events.back();
  EXPECT_EQ(summary.operation, AuditWriter::kSummaryOperation);
  EXPECT_EQ(summary.result, "AuditQueueFull");
  EXPECT_EQ(summary.status_code, 503);
  EXPECT_EQ(summary.count, 2);
  EXPECT_EQ(std::count_if(events.begin(), events.end(),
                          [](const store::AuditEvent& e) {
                            return e.operation == "KeyGet";
                          }),
            3);
  // The refused create never ran.
  EXPECT_REFUSED(vaults_->GetKey(Owner(), {"kv-queue", "k2", ""}),
                 StatusCode::kNotFound, "KeyNotFound");
}

// Callers the vault refuses (no policy; another tenant) cannot grow its
// log without bound: their records are compact and rate-limited, and the
// rest are counted in summary records. The vault's own callers are not
// limited, but their overlong names are stored compactly too.
TEST_F(VaultServiceTest, RefusedCallersCannotGrowTheAuditLogUnbounded) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-flood"));
  identity::Caller bob = NewPrincipal("bob", tenant_);
  identity::Caller eve = NewPrincipal("eve", NewTenant("t-eve"));
  const std::string huge(30000, 'n');
  // Whichever refusal each gets (the name is not a valid key name, too).
  for (int i = 0; i < 150; ++i) {
    EXPECT_FALSE(vaults_
                     ->GetKey(As(bob, "10.1.1.1"),
                              {"kv-flood", huge + std::to_string(i), ""})
                     .ok());
    EXPECT_FALSE(vaults_
                     ->GetKey(As(eve, "10.2.2.2"),
                              {"kv-flood", huge, std::string(5000, 'v')})
                     .ok());
  }
  for (int i = 0; i < 30; ++i) {
    EXPECT_FALSE(vaults_->GetKey(Owner(), {"kv-flood", huge, ""}).ok());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<store::AuditEvent> events,
                       vaults_->ReadAudit(owner_, Ref("kv-flood"), 0, 1000));
  const AuditWriterOptions limits;
  std::map<std::string, int64_t> calls;  // Caller -> calls accounted for.
  std::map<std::string, size_t> records;
  for (const store::AuditEvent& e : events) {
    EXPECT_LE(e.key_name.size(), 64u);
    EXPECT_LE(e.key_version.size(), 64u);
    calls[e.caller_object_id] += e.count;
    ++records[e.caller_object_id];
  }
  EXPECT_EQ(calls[bob.object_id], 150);
  EXPECT_EQ(calls[eve.object_id], 150);
  EXPECT_EQ(calls[owner_.object_id], 30);
  // A refused caller: its burst, then one summary per result.
  EXPECT_LE(records[bob.object_id], size_t(limits.refused_burst) + 2);
  EXPECT_LE(records[eve.object_id], size_t(limits.refused_burst) + 2);
  // The owner's calls name no valid key either, so they are refused before
  // any permission is looked at and limited like anyone's.
  EXPECT_LE(records[owner_.object_id], size_t(limits.refused_burst) + 2);
}

}  // namespace
}  // namespace atrest::vault

namespace atrest::vault {
namespace {

// A key name from a request path that breaks Key Vault's rules is refused
// before anything stores it, the audit log included, whoever the caller is;
// bytes that are not UTF-8 among them.
TEST_F(VaultServiceTest, KeyNamesOutsideTheRulesAreRefusedAndAuditedCompactly) {
  ASSERT_NO_FATAL_FAILURE(MakeVault("kv-names"));
  ASSERT_OK(Import("kv-names", "k1"));
  const identity::Caller stranger = NewPrincipal("x", NewTenant("t2"));
  const std::string bad[] = {"\xff", "k\xc3", "bad!name", std::string(128, 'k'),
                             "a/b",  "k 1"};
  for (const std::string& name : bad) {
    SCOPED_TRACE(name);
    for (const DataCaller& who : {Owner(), As(stranger)}) {
      EXPECT_REFUSED(vaults_->GetKey(who, {"kv-names", name, ""}),
                     StatusCode::kInvalidArgument, "BadParameter");
      EXPECT_REFUSED(vaults_->DeleteKey(who, "kv-names", name),
                     StatusCode::kInvalidArgument, "BadParameter");
      EXPECT_REFUSED(vaults_->ListKeyVersions(who, "kv-names", name, "", 25),
                     StatusCode::kInvalidArgument, "BadParameter");
      EXPECT_REFUSED(vaults_->CreateKey(who, "kv-names", name,
                                        {.kty = "RSA", .key_size = 2048}),
                     StatusCode::kInvalidArgument, "BadParameter");
      EXPECT_REFUSED(Wrap(who, "kv-names", name, RandomData(32)),
                     StatusCode::kInvalidArgument, "BadParameter");
    }
  }
  // The longest name the rules allow is looked up (and not found).
  EXPECT_REFUSED(
      vaults_->GetKey(Owner(), {"kv-names", std::string(127, 'k'), ""}),
      StatusCode::kNotFound, "KeyNotFound");

  ASSERT_OK_AND_ASSIGN(std::vector<store::AuditEvent> events,
                       vaults_->ReadAudit(owner_, Ref("kv-names"), 0, 1000));
  // Every refusal is recorded, each bad name only in its compact form
  // (letters, digits, '_' and '~'), never as sent.
  int64_t refused = 0;
  for (const store::AuditEvent& e : events) {
    if (e.result != "BadParameter") continue;
    refused += e.count;
    if (e.operation == AuditWriter::kSummaryOperation) continue;
    EXPECT_LE(e.key_name.size(), 64u);
    EXPECT_TRUE(IsValidUtf8(e.key_name)) << e.key_name;
    EXPECT_NE(e.key_name.find('~'), std::string::npos) << e.key_name;
  }
  EXPECT_EQ(refused, int64_t{std::size(bad)} * 2 * 5);
  EXPECT_EQ(events.front().key_name, "k1");
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const auto& e) {
    return e.key_name == std::string(127, 'k') && e.result == "KeyNotFound";
  }));
}

}  // namespace
}  // namespace atrest::vault
