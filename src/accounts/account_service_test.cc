// Tests of AccountService and AccountKeys through their public interfaces: a
// real SqliteStore in a scratch directory, IdentityService, ResourceManager
// and a FakeClock moved by hand. Keys are service-managed here; calls to key
// vaults over HTTPS are covered by the node tests, so AccountKeys gets no
// built-in vault (vaults and events null) and its KeyVaultClient reaches
// only vaults that do not answer.
#include "accounts/account_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "accounts/account_keys.h"
#include "base/bytes.h"
#include "base/status_testing.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "env/testing.h"
#include "resources/roles.h"
#include "store/sqlite_store.h"

namespace atrest::accounts {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr char kGroup[] = "rg";
constexpr char kOtherGroup[] = "rg2";

using ::atrest::testing::StatusOf;

bool ContainsBytes(ByteView haystack, ByteView needle) {
  return !needle.empty() &&
         std::search(haystack.begin(), haystack.end(), needle.begin(),
                     needle.end()) != haystack.end();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool IsLowerHex32(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// ---- The fixture ----

class AccountServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_,
                         store::SqliteStore::Open({.data_dir = dir_.path()}));
    rm_ = std::make_unique<resources::ResourceManager>(*store_, env_);

    crypto::SecretBytes root(32);
    crypto::RandomBytes(root.MutableSecret());
    ASSERT_OK_AND_ASSIGN(keys::RootKey root_key,
                         keys::RootKey::FromBytes(std::move(root)));
    root_key_.emplace(std::move(root_key));
    ASSERT_OK_AND_ASSIGN(auto signing_seal,
                         root_key_->DeriveAead("identity/signing-keys"));
    identity_ = std::make_unique<identity::IdentityService>(
        *store_, env_, std::move(signing_seal),
        identity::IdentityOptions{.authority = "https://login.localhost"});

    tenant_ = NewTenant("t1");
    ASSERT_OK_AND_ASSIGN(store::Subscription sub,
                         rm_->CreateSubscription(tenant_, "Default"));
    sub_ = sub.id;
    owner_ = NewPrincipal("owner", tenant_);
    ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                       *resources::FindRole("Owner"),
                                       resources::SubscriptionScope(sub_)));
    ASSERT_OK(rm_->PutResourceGroup(owner_, sub_, kGroup, "West US", {}));
    ASSERT_OK(rm_->PutResourceGroup(owner_, sub_, kOtherGroup, "West US", {}));

    ASSERT_OK_AND_ASSIGN(keys_, MakeKeys(*root_key_));
    ASSERT_OK_AND_ASSIGN(auto api_key_seal,
                         root_key_->DeriveAead("accounts/api-keys"));
    accounts_ = std::make_unique<AccountService>(
        *store_, env_, std::move(api_key_seal), *identity_, *rm_, *keys_);
  }

  // AccountKeys with no built-in vault service and a short vault timeout.
  // The vault hosts allowed: the built-in suffix at a port where nothing
  // listens, and "vault.invalid", under which no name resolves.
  Result<std::unique_ptr<AccountKeys>> MakeKeys(const keys::RootKey& root) {
    AccountKeysOptions options;
    options.vault_https.timeout = seconds(5);
    ASSIGN_OR_RETURN(std::vector<keys::VaultSuffix> allowed,
                     keys::ParseVaultSuffixes("vault.invalid"));
    ASSIGN_OR_RETURN(options.vault_hosts,
                     keys::VaultHosts::Create(
                         {.host = "vault.localhost", .port = 1}, allowed));
    return AccountKeys::Create(*store_, env_, root, *identity_,
                               /*vaults=*/nullptr, /*events=*/nullptr,
                               std::move(options));
  }

  std::string NewTenant(const std::string& name) {
    std::string id = env_.random().NewUuid();
    EXPECT_OK(store_->Transact([&](store::Transaction& tx) {
      return tx.tenants().Create({.id = id, .display_name = name});
    }));
    return id;
  }

  identity::Caller NewPrincipal(const std::string& name,
                                const std::string& tenant) {
    identity::Caller c{.tenant_id = tenant,
                       .object_id = env_.random().NewUuid(),
                       .app_id = env_.random().NewUuid()};
    store::Principal p{.object_id = c.object_id,
                       .tenant_id = tenant,
                       .kind = store::PrincipalKind::kServicePrincipal,
                       .display_name = name,
                       .app_id = c.app_id};
    EXPECT_OK(store_->Transact(
        [&](store::Transaction& tx) { return tx.principals().Create(p); }));
    return c;
  }

  AccountRef Ref(const std::string& name, const std::string& group = kGroup) {
    return {sub_, group, name};
  }

  static AccountUpdate At(const std::string& location = "West US") {
    AccountUpdate u;
    u.location = location;
    return u;
  }

  Result<AccountService::PutResult> Put(const std::string& name,
                                        const AccountUpdate& update = At(),
                                        const std::string& group = kGroup) {
    return accounts_->PutAccount(owner_, Ref(name, group), update);
  }

  // Creates `name` and returns its row.
  store::Account Make(const std::string& name,
                      const std::string& group = kGroup) {
    Result<AccountService::PutResult> r = Put(name, At(), group);
    EXPECT_OK(r);
    if (!r.ok()) return {};
    EXPECT_TRUE(r->created);
    return r->account.row;
  }

  store::Account Row(const std::string& name) {
    Result<store::Account> row = store_->ReadResult(
        [&](store::Transaction& tx) { return tx.accounts().Get(name); });
    EXPECT_OK(row);
    return row.ok() ? *row : store::Account{};
  }

  Status UpdateRow(const store::Account& row) {
    return store_->Transact(
        [&](store::Transaction& tx) { return tx.accounts().Update(row); });
  }

  Result<store::Principal> PrincipalOf(const std::string& object_id) {
    return store_->ReadResult(
        [&](store::Transaction& tx) { return tx.principals().Get(object_id); });
  }

  // Managed identities of `tenant`.
  std::vector<store::Principal> ManagedIdentities(const std::string& tenant) {
    Result<std::vector<store::Principal>> all =
        store_->ReadResult([&](store::Transaction& tx) {
          return tx.principals().ListByTenant(tenant);
        });
    EXPECT_OK(all);
    std::vector<store::Principal> out;
    if (!all.ok()) return out;
    for (const store::Principal& p : *all) {
      if (p.kind == store::PrincipalKind::kManagedIdentity) out.push_back(p);
    }
    return out;
  }

  // Puts `update` (a change of identity or encryption) on `name`.
  Result<AccountService::PutResult> PutWith(
      const std::string& name, std::optional<std::string> identity_type,
      std::optional<EncryptionSettings> encryption) {
    AccountUpdate u = At();
    u.identity_type = std::move(identity_type);
    u.encryption = std::move(encryption);
    return Put(name, u);
  }

  static EncryptionSettings Cmk(const std::string& vault_uri,
                                const std::string& key_name = "cmk",
                                const std::string& identity_client_id = "") {
    EncryptionSettings e;
    e.key_source = EncryptionSettings::kCustomerManaged;
    e.key_vault_uri = vault_uri;
    e.key_name = key_name;
    e.identity_client_id = identity_client_id;
    return e;
  }

  // The account's AEK encrypts and decrypts.
  void ExpectAekWorks(const store::Account& account) {
    Result<std::shared_ptr<const crypto::Aead>> aek = keys_->Aek(account);
    ASSERT_OK(aek);
    const Bytes plain = ToBytes("the account's data");
    ASSERT_OK_AND_ASSIGN(Bytes sealed,
                         (*aek)->Encrypt(plain, ToBytes(account.uid)));
    ASSERT_OK_AND_ASSIGN(crypto::SecretBytes opened,
                         (*aek)->Decrypt(sealed, ToBytes(account.uid)));
    EXPECT_EQ(AsString(opened.RevealSecret()), AsString(plain));
  }

  int64_t Now() const {
    return std::chrono::duration_cast<seconds>(clock_.Now().time_since_epoch())
        .count();
  }

  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
  env::FakeClock clock_;
  env::Env env_{clock_, env::Env::Default().random(), env::Env::Default().fs()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<resources::ResourceManager> rm_;
  std::optional<keys::RootKey> root_key_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<AccountKeys> keys_;
  std::unique_ptr<AccountService> accounts_;
  std::string tenant_, sub_;
  identity::Caller owner_;
};

// ======================= PUT, PATCH, GET, LIST =======================

TEST_F(AccountServiceTest, PutCreatesThenReplaces) {
  AccountUpdate first = At("West US");
  first.tags = std::map<std::string, std::string>{{"env", "dev"}};
  first.properties = {{"customSubDomainName", "acct1"}, {"a", 1}};
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult created, Put("acct1", first));
  EXPECT_TRUE(created.created);
  const store::Account& row = created.account.row;
  EXPECT_EQ(row.name, "acct1");
  EXPECT_EQ(row.subscription_id, sub_);
  EXPECT_EQ(row.resource_group, kGroup);
  EXPECT_EQ(row.location, "westus");
  EXPECT_EQ(row.kind, "OpenAI");
  EXPECT_EQ(row.sku, "S0");
  EXPECT_EQ(row.created_at, Now());
  EXPECT_FALSE(row.uid.empty());
  EXPECT_TRUE(row.identity_principal_id.empty());
  EXPECT_EQ(created.account.tenant_id, tenant_);
  EXPECT_EQ(created.account.tags,
            (std::map<std::string, std::string>{{"env", "dev"}}));
  EXPECT_EQ(created.account.properties,
            json({{"customSubDomainName", "acct1"}, {"a", 1}}));
  EXPECT_EQ(created.account.encryption, EncryptionSettings{});
  EXPECT_FALSE(created.account.encryption.customer_managed());
  EXPECT_EQ(created.account.key_status.state, "active");
  EXPECT_EQ(created.account.key_status.since, Now());
  EXPECT_TRUE(created.account.identity_tenant_id.empty());

  clock_.Advance(seconds(10));
  AccountUpdate second = At("westus");  // The same location, other spelling.
  second.tags = std::map<std::string, std::string>{{"env", "prod"}};
  second.sku = "S1";
  second.properties = {{"b", 2}};
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult replaced,
                       Put("acct1", second));
  EXPECT_FALSE(replaced.created);
  EXPECT_EQ(replaced.account.row.uid, row.uid);
  EXPECT_EQ(replaced.account.row.created_at, row.created_at);
  EXPECT_EQ(replaced.account.row.updated_at, Now());
  EXPECT_EQ(replaced.account.row.sku, "S1");
  EXPECT_EQ(replaced.account.tags,
            (std::map<std::string, std::string>{{"env", "prod"}}));
  // PUT replaces the properties it echoes.
  EXPECT_EQ(replaced.account.properties, json({{"b", 2}}));
  // The AEK and API keys did not change.
  EXPECT_EQ(replaced.account.row.wrapped_aek, row.wrapped_aek);
  EXPECT_EQ(replaced.account.row.sealed_api_keys, row.sealed_api_keys);

  ASSERT_OK_AND_ASSIGN(AccountInfo got,
                       accounts_->GetAccount(owner_, Ref("acct1")));
  EXPECT_EQ(got.row, replaced.account.row);
  EXPECT_EQ(got.properties, json({{"b", 2}}));
}

TEST_F(AccountServiceTest, PatchChangesOnlyWhatItNames) {
  AccountUpdate first = At();
  first.tags = std::map<std::string, std::string>{{"env", "dev"}};
  first.properties = {{"a", 1}};
  ASSERT_OK(Put("acct1", first));

  AccountUpdate patch;
  patch.properties = {{"b", 2}};
  ASSERT_OK_AND_ASSIGN(AccountInfo patched,
                       accounts_->PatchAccount(owner_, Ref("acct1"), patch));
  EXPECT_EQ(patched.properties, json({{"a", 1}, {"b", 2}}));
  EXPECT_EQ(patched.tags, (std::map<std::string, std::string>{{"env", "dev"}}));

  EXPECT_REFUSED(accounts_->PatchAccount(owner_, Ref("nosuch"), patch),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_REFUSED(accounts_->GetAccount(owner_, Ref("nosuch")),
                 StatusCode::kNotFound, "ResourceNotFound");
}

TEST_F(AccountServiceTest, PutRefusesBadKindAndMissingLocation) {
  EXPECT_REFUSED(Put("acct1", AccountUpdate{}), StatusCode::kInvalidArgument,
                 "LocationRequired");
  AccountUpdate speech = At();
  speech.kind = "SpeechServices";
  EXPECT_REFUSED(Put("acct1", speech), StatusCode::kInvalidArgument,
                 "InvalidApiSetId");
  EXPECT_REFUSED(accounts_->GetAccount(owner_, Ref("acct1")),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_REFUSED(Put("acct1", At(), "nosuchgroup"), StatusCode::kNotFound,
                 "ResourceGroupNotFound");
}

TEST_F(AccountServiceTest, NamesMustBeDnsLabels) {
  for (const std::string& bad :
       {std::string("a"), std::string("-ab"), std::string("ab-"),
        std::string("a_b"), std::string("a.b"), std::string("a b"),
        std::string("a/b"), std::string("\xc3\xa9t\xc3\xa9"), std::string(),
        std::string(65, 'a')}) {
    SCOPED_TRACE("name '" + bad + "'");
    EXPECT_REFUSED(Put(bad), StatusCode::kInvalidArgument,
                   "InvalidAccountName");
  }
  for (const std::string& good :
       {std::string("ab"), std::string("a-b"), std::string("A1"),
        std::string("0x"), std::string(63, 'z')}) {
    Result<AccountService::PutResult> r = Put(good);
    EXPECT_OK(r);
    if (r.ok()) {
      EXPECT_TRUE(r->created) << good;
    }
  }
}

// A DNS label is at most 63 octets (RFC 1035 §2.3.4); the endpoint host
// "<name>.openai.<domain>" cannot have a 64-character first label.
TEST_F(AccountServiceTest, NameOf64CharactersIsNotADnsLabel) {
  EXPECT_REFUSED(Put(std::string(64, 'a')), StatusCode::kInvalidArgument,
                 "InvalidAccountName");
}

TEST_F(AccountServiceTest, LocationCannotChange) {
  const store::Account before = Make("acct1");
  EXPECT_REFUSED(Put("acct1", At("East US")), StatusCode::kInvalidArgument,
                 "LocationNotAvailable");
  EXPECT_EQ(Row("acct1"), before);
}

TEST_F(AccountServiceTest, NameTakenElsewhereIsCustomDomainInUse) {
  const store::Account first = Make("acct1");
  EXPECT_REFUSED(Put("acct1", At(), kOtherGroup), StatusCode::kAlreadyExists,
                 "CustomDomainInUse");
  // Names ignore case, as host names do.
  EXPECT_REFUSED(Put("ACCT1", At(), kOtherGroup), StatusCode::kAlreadyExists,
                 "CustomDomainInUse");
  // Another subscription of the same owner.
  ASSERT_OK_AND_ASSIGN(store::Subscription sub2,
                       rm_->CreateSubscription(tenant_, "Second"));
  ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub2.id, kGroup, "West US", {}));
  EXPECT_REFUSED(
      accounts_->PutAccount(owner_, {sub2.id, kGroup, "acct1"}, At()),
      StatusCode::kAlreadyExists, "CustomDomainInUse");
  EXPECT_EQ(Row("acct1"), first);
  // The same group in another case is the same group.
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult again,
                       Put("Acct1", At(), "RG"));
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.account.row.uid, first.uid);
}

TEST_F(AccountServiceTest, GetAndListByGroupAndSubscription) {
  Make("acct-b");
  Make("acct-a");
  Make("acct-c", kOtherGroup);

  auto names = [](const std::vector<AccountInfo>& v) {
    std::vector<std::string> out;
    for (const AccountInfo& i : v) out.push_back(i.row.name);
    return out;
  };
  ASSERT_OK_AND_ASSIGN(std::vector<AccountInfo> in_group,
                       accounts_->ListAccounts(owner_, sub_, kGroup));
  EXPECT_EQ(names(in_group), (std::vector<std::string>{"acct-a", "acct-b"}));
  ASSERT_OK_AND_ASSIGN(std::vector<AccountInfo> in_sub,
                       accounts_->ListAccounts(owner_, sub_, ""));
  EXPECT_EQ(names(in_sub),
            (std::vector<std::string>{"acct-a", "acct-b", "acct-c"}));
  EXPECT_REFUSED(accounts_->ListAccounts(owner_, sub_, "nosuchgroup"),
                 StatusCode::kNotFound, "ResourceGroupNotFound");

  ASSERT_OK_AND_ASSIGN(AccountInfo c,
                       accounts_->GetAccount(owner_, Ref("acct-c", "RG2")));
  EXPECT_EQ(c.row.name, "acct-c");
  // Found only in its own group.
  EXPECT_REFUSED(accounts_->GetAccount(owner_, Ref("acct-c", kGroup)),
                 StatusCode::kNotFound, "ResourceNotFound");

  ASSERT_OK_AND_ASSIGN(store::Account by_host,
                       accounts_->AccountForHost("ACCT-C"));
  EXPECT_EQ(by_host.uid, c.row.uid);
  EXPECT_EQ(accounts_->AccountForHost("nosuch").status().code(),
            StatusCode::kNotFound);
}

TEST_F(AccountServiceTest, ReaderMayGetButNotChange) {
  const store::Account row = Make("acct1");
  identity::Caller reader = NewPrincipal("reader", tenant_);
  ASSERT_OK(rm_->AssignRoleUnchecked(reader.object_id,
                                     *resources::FindRole("Reader"),
                                     resources::SubscriptionScope(sub_)));
  EXPECT_OK(accounts_->GetAccount(reader, Ref("acct1")));
  EXPECT_OK(accounts_->ListAccounts(reader, sub_, kGroup));

  EXPECT_REFUSED(accounts_->PutAccount(reader, Ref("acct1"), At()),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->PutAccount(reader, Ref("acct2"), At()),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->PatchAccount(reader, Ref("acct1"), At()),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->ListKeys(reader, Ref("acct1")),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->RegenerateKey(reader, Ref("acct1"), "Key1"),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->DeleteAccount(reader, Ref("acct1")),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->MoveAccounts(reader, sub_, kGroup, {"acct1"}, sub_,
                                         kOtherGroup),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_EQ(Row("acct1"), row);

  // Nobody without a role sees anything.
  identity::Caller nobody = NewPrincipal("nobody", tenant_);
  EXPECT_REFUSED(accounts_->GetAccount(nobody, Ref("acct1")),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  EXPECT_REFUSED(accounts_->ListAccounts(nobody, sub_, ""),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
}

TEST_F(AccountServiceTest, CallerOfAnotherTenantIsRefused) {
  const store::Account row = Make("acct1");
  const std::string other_tenant = NewTenant("t2");
  identity::Caller stranger = NewPrincipal("stranger", other_tenant);
  // Even a role assignment in this subscription does not help a principal
  // of another tenant.
  ASSERT_OK(rm_->AssignRoleUnchecked(stranger.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub_)));
  const StatusCode code = StatusCode::kUnauthenticated;
  const char* reason = "InvalidAuthenticationTokenTenant";
  EXPECT_REFUSED(accounts_->GetAccount(stranger, Ref("acct1")), code, reason);
  EXPECT_REFUSED(accounts_->ListAccounts(stranger, sub_, ""), code, reason);
  EXPECT_REFUSED(accounts_->PutAccount(stranger, Ref("acct1"), At()), code,
                 reason);
  EXPECT_REFUSED(accounts_->ListKeys(stranger, Ref("acct1")), code, reason);
  EXPECT_REFUSED(accounts_->RegenerateKey(stranger, Ref("acct1"), "Key1"), code,
                 reason);
  EXPECT_REFUSED(accounts_->DeleteAccount(stranger, Ref("acct1")), code,
                 reason);
  EXPECT_REFUSED(accounts_->PatchAccount(stranger, Ref("acct1"), At()), code,
                 reason);
  EXPECT_EQ(Row("acct1"), row);
}

// PATCH checks who is calling before it looks the account up, as every
// other method does: a stranger must not learn which accounts exist.
TEST_F(AccountServiceTest, PatchChecksTheCallerBeforeTheAccount) {
  const std::string other_tenant = NewTenant("t2");
  identity::Caller stranger = NewPrincipal("stranger", other_tenant);
  EXPECT_REFUSED(accounts_->PatchAccount(stranger, Ref("nosuch"), At()),
                 StatusCode::kUnauthenticated,
                 "InvalidAuthenticationTokenTenant");
  identity::Caller nobody = NewPrincipal("nobody", tenant_);
  EXPECT_REFUSED(accounts_->PatchAccount(nobody, Ref("nosuch"), At()),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
}

TEST_F(AccountServiceTest, DataAccessNeedsAnOpenAiDataRole) {
  const store::Account row = Make("acct1");
  const store::Account other = Make("acct2");
  // Owner is a control-plane role; data needs an OpenAI data role.
  EXPECT_REFUSED(accounts_->AuthorizeData(owner_, row),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
  identity::Caller user = NewPrincipal("user", tenant_);
  ASSERT_OK(rm_->AssignRoleUnchecked(
      user.object_id, *resources::FindRole("Cognitive Services OpenAI User"),
      AccountResourceId(Ref("acct1"))));
  EXPECT_OK(accounts_->AuthorizeData(user, row));
  EXPECT_REFUSED(accounts_->AuthorizeData(user, other),
                 StatusCode::kPermissionDenied, "AuthorizationFailed");
}

// ======================= Identity =======================

TEST_F(AccountServiceTest, SystemAssignedIdentityLifecycle) {
  Make("acct1");
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult on,
                       PutWith("acct1", "SystemAssigned", std::nullopt));
  const std::string first = on.account.row.identity_principal_id;
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(on.account.identity_tenant_id, tenant_);
  ASSERT_OK_AND_ASSIGN(store::Principal p, PrincipalOf(first));
  EXPECT_EQ(p.kind, store::PrincipalKind::kManagedIdentity);
  EXPECT_EQ(p.tenant_id, tenant_);
  EXPECT_EQ(Row("acct1").identity_principal_id, first);

  // Enabling again keeps the same identity.
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult again,
                       PutWith("acct1", "SystemAssigned", std::nullopt));
  EXPECT_EQ(again.account.row.identity_principal_id, first);
  // A PUT that does not name the identity leaves it alone.
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult unnamed, Put("acct1"));
  EXPECT_EQ(unnamed.account.row.identity_principal_id, first);

  // Disabling deletes the principal.
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult off,
                       PutWith("acct1", "None", std::nullopt));
  EXPECT_TRUE(off.account.row.identity_principal_id.empty());
  EXPECT_TRUE(off.account.identity_tenant_id.empty());
  EXPECT_EQ(PrincipalOf(first).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(ManagedIdentities(tenant_).empty());

  // Enabling again makes a new principal with a new objectId.
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult back,
                       PutWith("acct1", "SystemAssigned", std::nullopt));
  const std::string second = back.account.row.identity_principal_id;
  EXPECT_FALSE(second.empty());
  EXPECT_NE(second, first);
  EXPECT_OK(PrincipalOf(second));
  EXPECT_EQ(ManagedIdentities(tenant_).size(), 1u);
}

TEST_F(AccountServiceTest, IdentityOnCreate) {
  AccountUpdate u = At();
  u.identity_type = "SystemAssigned";
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult r, Put("acct1", u));
  EXPECT_TRUE(r.created);
  EXPECT_FALSE(r.account.row.identity_principal_id.empty());
  EXPECT_OK(PrincipalOf(r.account.row.identity_principal_id));
}

TEST_F(AccountServiceTest, UserAssignedIdentityIsRefused) {
  const store::Account before = Make("acct1");
  for (const char* type : {"UserAssigned", "SystemAssigned, UserAssigned",
                           "SystemAssigned,UserAssigned"}) {
    SCOPED_TRACE(type);
    EXPECT_REFUSED(PutWith("acct1", type, std::nullopt),
                   StatusCode::kInvalidArgument,
                   "UserAssignedIdentityNotSupported");
  }
  EXPECT_REFUSED(PutWith("acct1", "Bogus", std::nullopt),
                 StatusCode::kInvalidArgument, "InvalidIdentityType");
  EXPECT_EQ(Row("acct1"), before);
  EXPECT_TRUE(ManagedIdentities(tenant_).empty());
}

// ======================= Encryption settings =======================

TEST_F(AccountServiceTest, EncryptionSettingsFromArm) {
  ASSERT_OK_AND_ASSIGN(EncryptionSettings e,
                       EncryptionSettings::FromArm(
                           {{"keySource", "Microsoft.KeyVault"},
                            {"keyVaultProperties",
                             {{"keyVaultUri", "https://kv.vault.localhost//"},
                              {"keyName", "cmk"},
                              {"keyVersion", ""}}}}));
  EXPECT_TRUE(e.customer_managed());
  EXPECT_EQ(e.key_vault_uri, "https://kv.vault.localhost");
  EXPECT_EQ(e.key_name, "cmk");
  EXPECT_EQ(e.key_version, "");
  ASSERT_OK_AND_ASSIGN(EncryptionSettings back,
                       EncryptionSettings::FromArm(e.ToArm()));
  EXPECT_EQ(back, e);

  // keyVaultProperties without a keySource means customer-managed.
  ASSERT_OK_AND_ASSIGN(
      EncryptionSettings implied,
      EncryptionSettings::FromArm(
          {{"keyVaultProperties",
            {{"keyVaultUri", "https://kv.example"}, {"keyName", "k"}}}}));
  EXPECT_TRUE(implied.customer_managed());
  ASSERT_OK_AND_ASSIGN(EncryptionSettings empty,
                       EncryptionSettings::FromArm(json::object()));
  EXPECT_EQ(empty, EncryptionSettings{});

  EXPECT_REFUSED(EncryptionSettings::FromArm(json::array()),
                 StatusCode::kInvalidArgument, "InvalidRequestContent");
  EXPECT_REFUSED(EncryptionSettings::FromArm({{"keySource", "Other"}}),
                 StatusCode::kInvalidArgument, "InvalidRequestContent");
  EXPECT_REFUSED(
      EncryptionSettings::FromArm({{"keySource", "Microsoft.KeyVault"}}),
      StatusCode::kInvalidArgument, "KeyVaultUriInvalid");
}

TEST_F(AccountServiceTest, CmkWithUserAssignedIdentityIsRefused) {
  ASSERT_OK(PutWith("acct1", "SystemAssigned", std::nullopt));
  const store::Account before = Row("acct1");
  EXPECT_REFUSED(PutWith("acct1", std::nullopt,
                         Cmk("https://kv.vault.localhost", "cmk",
                             "11111111-2222-3333-4444-555555555555")),
                 StatusCode::kInvalidArgument,
                 "UserAssignedIdentityNotSupported");
  EXPECT_EQ(Row("acct1"), before);
}

TEST_F(AccountServiceTest, MalformedKeyVaultUriIsRefused) {
  const store::Account before = Make("acct1");
  for (const char* uri :
       {"not a uri", "http://kv.vault.localhost", "ftp://kv.example",
        "https://", "https://kv.example/path", "https://kv.example/?q=1",
        "https://user@kv.example", "https://kv.example:99999",
        // Hosts the identity's token must never go to: another suffix, the
        // server's other surfaces, user info, IP literals, other ports.
        "https://evil.example", "https://kv.vault.azure.net",
        "https://management.localhost:1", "https://a@b.vault.invalid",
        "https://127.0.0.1", "https://127.0.0.1:1", "https://[::1]",
        "https://[::1]:1", "https://kv.vault.invalid:8443",
        "https://kv.vault.localhost", "https://kv.vault.localhost:8443",
        "https://a.b.vault.invalid", "https://vault.invalid"}) {
    SCOPED_TRACE(uri);
    EXPECT_REFUSED(PutWith("acct1", std::nullopt, Cmk(uri)),
                   StatusCode::kInvalidArgument, "KeyVaultUriInvalid");
  }
  // A bad key name makes the key URI invalid too, before any vault is asked.
  EXPECT_REFUSED(
      PutWith("acct1", std::nullopt, Cmk("https://nope.vault.invalid", "a_b")),
      StatusCode::kInvalidArgument, "KeyVaultUriInvalid");
  EXPECT_REFUSED(
      PutWith("acct1", std::nullopt, Cmk("https://nope.vault.invalid", "")),
      StatusCode::kInvalidArgument, "KeyVaultUriInvalid");
  EXPECT_EQ(Row("acct1"), before);
}

// Rewrap checks the URI, then that the vault answers, and only later the
// account's identity: an account without one is told the vault is
// unreachable first.
TEST_F(AccountServiceTest, UnreachableVaultIsRefusedAndNothingChanges) {
  const store::Account before = Make("acct1");
  ASSERT_TRUE(before.identity_principal_id.empty());
  for (const char* uri :
       {"https://nope.vault.invalid", "https://nope.vault.localhost:1"}) {
    SCOPED_TRACE(uri);
    EXPECT_REFUSED(PutWith("acct1", std::nullopt, Cmk(uri)),
                   StatusCode::kInvalidArgument, "KeyVaultUnreachable");
  }
  EXPECT_EQ(Row("acct1"), before);

  // With the identity enabled in the same request: refused the same way,
  // and the identity made for the request is deleted again.
  EXPECT_REFUSED(
      PutWith("acct1", "SystemAssigned", Cmk("https://nope.vault.invalid")),
      StatusCode::kInvalidArgument, "KeyVaultUnreachable");
  EXPECT_EQ(Row("acct1"), before);
  EXPECT_TRUE(ManagedIdentities(tenant_).empty());

  // With an identity already enabled: the identity stays, nothing else
  // changes.
  ASSERT_OK(PutWith("acct1", "SystemAssigned", std::nullopt));
  const store::Account with_identity = Row("acct1");
  EXPECT_REFUSED(
      PutWith("acct1", std::nullopt, Cmk("https://nope.vault.invalid")),
      StatusCode::kInvalidArgument, "KeyVaultUnreachable");
  const store::Account after = Row("acct1");
  EXPECT_EQ(after, with_identity);
  EXPECT_EQ(after.wrapped_aek, before.wrapped_aek);
  EXPECT_EQ(after.kek_json, before.kek_json);
  EXPECT_EQ(after.encryption_json, before.encryption_json);
  EXPECT_OK(PrincipalOf(after.identity_principal_id));
  ExpectAekWorks(after);

  // A refused create stores nothing.
  AccountUpdate create = At();
  create.identity_type = "SystemAssigned";
  create.encryption = Cmk("https://nope.vault.invalid");
  EXPECT_REFUSED(Put("acct2", create), StatusCode::kInvalidArgument,
                 "KeyVaultUnreachable");
  EXPECT_REFUSED(accounts_->GetAccount(owner_, Ref("acct2")),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(ManagedIdentities(tenant_).size(), 1u);
}

TEST_F(AccountServiceTest, ServiceManagedAgainChangesNoKey) {
  const store::Account before = Make("acct1");
  ASSERT_OK_AND_ASSIGN(AccountService::PutResult r,
                       PutWith("acct1", std::nullopt, EncryptionSettings{}));
  EXPECT_EQ(r.account.row.wrapped_aek, before.wrapped_aek);
  EXPECT_EQ(r.account.row.kek_json, before.kek_json);
  ExpectAekWorks(r.account.row);
}

// ======================= API keys =======================

TEST_F(AccountServiceTest, ListAndRegenerateKeys) {
  Make("acct1");
  ASSERT_OK_AND_ASSIGN(ApiKeys keys, accounts_->ListKeys(owner_, Ref("acct1")));
  EXPECT_TRUE(IsLowerHex32(keys.key1)) << keys.key1;
  EXPECT_TRUE(IsLowerHex32(keys.key2)) << keys.key2;
  EXPECT_NE(keys.key1, keys.key2);
  ASSERT_OK_AND_ASSIGN(ApiKeys again,
                       accounts_->ListKeys(owner_, Ref("acct1")));
  EXPECT_EQ(again.key1, keys.key1);
  EXPECT_EQ(again.key2, keys.key2);

  ASSERT_OK_AND_ASSIGN(ApiKeys regenerated,
                       accounts_->RegenerateKey(owner_, Ref("acct1"), "Key1"));
  EXPECT_TRUE(IsLowerHex32(regenerated.key1));
  EXPECT_NE(regenerated.key1, keys.key1);
  EXPECT_EQ(regenerated.key2, keys.key2);
  ASSERT_OK_AND_ASSIGN(ApiKeys listed,
                       accounts_->ListKeys(owner_, Ref("acct1")));
  EXPECT_EQ(listed.key1, regenerated.key1);
  EXPECT_EQ(listed.key2, regenerated.key2);

  ASSERT_OK_AND_ASSIGN(ApiKeys second,
                       accounts_->RegenerateKey(owner_, Ref("acct1"), "key2"));
  EXPECT_EQ(second.key1, regenerated.key1);
  EXPECT_NE(second.key2, keys.key2);

  EXPECT_REFUSED(accounts_->RegenerateKey(owner_, Ref("acct1"), "Key3"),
                 StatusCode::kInvalidArgument, "InvalidRequestContent");
  EXPECT_REFUSED(accounts_->ListKeys(owner_, Ref("nosuch")),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_REFUSED(accounts_->ListKeys(owner_, Ref("acct1", kOtherGroup)),
                 StatusCode::kNotFound, "ResourceNotFound");
}

TEST_F(AccountServiceTest, CheckApiKeyAcceptsOnlyCurrentKeys) {
  Make("acct1");
  const store::Account other = Make("acct2");
  ASSERT_OK_AND_ASSIGN(ApiKeys keys, accounts_->ListKeys(owner_, Ref("acct1")));
  ASSERT_OK_AND_ASSIGN(ApiKeys other_keys,
                       accounts_->ListKeys(owner_, Ref("acct2")));
  store::Account row = Row("acct1");
  EXPECT_OK(accounts_->CheckApiKey(row, keys.key1));
  EXPECT_OK(accounts_->CheckApiKey(row, keys.key2));

  std::string upper = keys.key1;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return static_cast<char>(std::toupper(c)); });
  for (const std::string& bad :
       {std::string(), keys.key1.substr(0, 31), keys.key1 + "0", upper,
        other_keys.key1, keys.key1 + keys.key2}) {
    const Status s = accounts_->CheckApiKey(row, bad);
    EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(s.message().find(keys.key1), std::string::npos);
  }
  EXPECT_OK(accounts_->CheckApiKey(other, other_keys.key2));

  // After regenerating, the old key1 no longer works.
  ASSERT_OK(accounts_->RegenerateKey(owner_, Ref("acct1"), "Key1"));
  row = Row("acct1");
  EXPECT_EQ(accounts_->CheckApiKey(row, keys.key1).code(),
            StatusCode::kUnauthenticated);
  EXPECT_OK(accounts_->CheckApiKey(row, keys.key2));
}

TEST_F(AccountServiceTest, ApiKeysAreNotStoredInPlaintext) {
  Make("acct1");
  ASSERT_OK_AND_ASSIGN(ApiKeys keys, accounts_->ListKeys(owner_, Ref("acct1")));
  const store::Account row = Row("acct1");
  ASSERT_FALSE(row.sealed_api_keys.empty());
  for (const std::string& key : {keys.key1, keys.key2}) {
    Bytes raw;
    ASSERT_TRUE(HexDecode(key, &raw));
    EXPECT_FALSE(ContainsBytes(row.sealed_api_keys, AsBytes(key)));
    EXPECT_FALSE(ContainsBytes(row.sealed_api_keys, raw));
    // Nor anywhere in the database files (db, WAL, shared memory).
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string file = ReadWholeFile(
          dir_.Join(std::string(store::SqliteStore::kFileName) + suffix));
      EXPECT_FALSE(ContainsBytes(AsBytes(file), AsBytes(key))) << suffix;
      EXPECT_FALSE(ContainsBytes(AsBytes(file), raw)) << suffix;
    }
  }
  // Keys sealed for one account do not open as another's.
  store::Account other = Make("acct2");
  other.sealed_api_keys = row.sealed_api_keys;
  ASSERT_OK(UpdateRow(other));
  EXPECT_FALSE(accounts_->ListKeys(owner_, Ref("acct2")).ok());
  EXPECT_NE(accounts_->CheckApiKey(other, keys.key1).code(), StatusCode::kOk);
}

// RegenerateKey must find the account in the group the caller named, as
// ListKeys does: a caller with write access to its own subscription must
// not reach an account of another subscription (or tenant) by name.
TEST_F(AccountServiceTest, RegenerateKeyStaysInTheCallersGroup) {
  Make("victim");
  ASSERT_OK_AND_ASSIGN(ApiKeys before,
                       accounts_->ListKeys(owner_, Ref("victim")));

  // Same tenant, another subscription that the attacker owns.
  identity::Caller attacker = NewPrincipal("attacker", tenant_);
  ASSERT_OK_AND_ASSIGN(store::Subscription own,
                       rm_->CreateSubscription(tenant_, "Attacker's"));
  ASSERT_OK(rm_->AssignRoleUnchecked(attacker.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(own.id)));
  EXPECT_REFUSED(accounts_->ListKeys(attacker, {own.id, kGroup, "victim"}),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_REFUSED(
      accounts_->RegenerateKey(attacker, {own.id, kGroup, "victim"}, "Key1"),
      StatusCode::kNotFound, "ResourceNotFound");

  // Another tenant altogether.
  const std::string other_tenant = NewTenant("t2");
  identity::Caller stranger = NewPrincipal("stranger", other_tenant);
  ASSERT_OK_AND_ASSIGN(store::Subscription theirs,
                       rm_->CreateSubscription(other_tenant, "Theirs"));
  ASSERT_OK(rm_->AssignRoleUnchecked(stranger.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(theirs.id)));
  EXPECT_REFUSED(
      accounts_->RegenerateKey(stranger, {theirs.id, kGroup, "victim"}, "Key2"),
      StatusCode::kNotFound, "ResourceNotFound");

  // The owner of the account and within its own subscription, the owner
  // naming the wrong group is refused too.
  EXPECT_REFUSED(
      accounts_->RegenerateKey(owner_, Ref("victim", kOtherGroup), "Key1"),
      StatusCode::kNotFound, "ResourceNotFound");

  ASSERT_OK_AND_ASSIGN(ApiKeys after,
                       accounts_->ListKeys(owner_, Ref("victim")));
  EXPECT_EQ(after.key1, before.key1);
  EXPECT_EQ(after.key2, before.key2);
}

// ======================= Delete =======================

TEST_F(AccountServiceTest, DeleteAccountRemovesRowIdentityAndObjects) {
  std::vector<std::string> deleted;
  accounts_->SetOnDeleted(
      [&](const std::string& uid) { deleted.push_back(uid); });
  ASSERT_OK(PutWith("acct1", "SystemAssigned", std::nullopt));
  const store::Account row = Row("acct1");
  const store::Account keep = Make("acct2");
  ASSERT_FALSE(row.identity_principal_id.empty());
  // An object row of the account.
  store::StoredObject object{.account_uid = row.uid,
                             .id = "file-0123456789abcdef0123456789abcdef",
                             .kind = "file",
                             .purpose = "assistants",
                             .filename = "a.txt",
                             .status = "processed",
                             .wrapped_dek = Bytes(60, 1),
                             .blob = row.uid + "/file-1"};
  ASSERT_OK(store_->TransactResult(
      [&](store::Transaction& tx) { return tx.objects().Create(object); }));

  ASSERT_OK(accounts_->DeleteAccount(owner_, Ref("acct1")));
  EXPECT_EQ(deleted, std::vector<std::string>{row.uid});
  EXPECT_REFUSED(accounts_->GetAccount(owner_, Ref("acct1")),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(store_
                ->ReadResult([&](store::Transaction& tx) {
                  return tx.accounts().GetByUid(row.uid);
                })
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(PrincipalOf(row.identity_principal_id).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_
                ->ReadResult([&](store::Transaction& tx) {
                  return tx.objects().Get(row.uid, object.id);
                })
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(keys_->Aek(row).ok());

  EXPECT_REFUSED(accounts_->DeleteAccount(owner_, Ref("acct1")),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(deleted.size(), 1u);
  EXPECT_EQ(Row("acct2"), keep);

  // The name is free again; the new account is a new one.
  const store::Account reborn = Make("acct1");
  EXPECT_NE(reborn.uid, row.uid);
}

TEST_F(AccountServiceTest, DeleteAccountsInGroup) {
  std::vector<std::string> deleted;
  accounts_->SetOnDeleted(
      [&](const std::string& uid) { deleted.push_back(uid); });
  const store::Account a = Make("acct-a");
  const store::Account b = Make("acct-b");
  const store::Account c = Make("acct-c", kOtherGroup);
  ASSERT_OK(accounts_->DeleteAccountsInGroup(sub_, kGroup));
  std::sort(deleted.begin(), deleted.end());
  std::vector<std::string> want = {a.uid, b.uid};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(deleted, want);
  ASSERT_OK_AND_ASSIGN(std::vector<AccountInfo> left,
                       accounts_->ListAccounts(owner_, sub_, ""));
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].row.uid, c.uid);

  // Through the resource manager's group deletion hook.
  rm_->AddGroupDeletionHook(
      [this](const std::string& sub, const std::string& group) {
        return accounts_->DeleteAccountsInGroup(sub, group);
      });
  ASSERT_OK(rm_->DeleteResourceGroup(owner_, sub_, kOtherGroup));
  EXPECT_EQ(deleted.size(), 3u);
  ASSERT_OK_AND_ASSIGN(left, accounts_->ListAccounts(owner_, sub_, ""));
  EXPECT_TRUE(left.empty());
}

// ======================= Move =======================

TEST_F(AccountServiceTest, MoveToAnotherGroupAndSubscription) {
  const store::Account a = Make("acct-a");
  const store::Account b = Make("acct-b");
  ExpectAekWorks(a);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> aek, keys_->Aek(a));
  ASSERT_OK_AND_ASSIGN(Bytes sealed,
                       aek->Encrypt(ToBytes("before the move"), {}));

  ASSERT_OK(
      accounts_->MoveAccounts(owner_, sub_, kGroup, {"acct-a"}, sub_, "RG2"));
  EXPECT_REFUSED(accounts_->GetAccount(owner_, Ref("acct-a")),
                 StatusCode::kNotFound, "ResourceNotFound");
  ASSERT_OK_AND_ASSIGN(
      AccountInfo moved,
      accounts_->GetAccount(owner_, Ref("acct-a", kOtherGroup)));
  EXPECT_EQ(moved.row.uid, a.uid);
  EXPECT_EQ(moved.row.resource_group, kOtherGroup);  // As the group spells it.
  EXPECT_EQ(moved.row.wrapped_aek, a.wrapped_aek);
  EXPECT_EQ(moved.key_status.state, "active");
  EXPECT_EQ(Row("acct-b"), b);

  // Another subscription of the same tenant.
  ASSERT_OK_AND_ASSIGN(store::Subscription sub2,
                       rm_->CreateSubscription(tenant_, "Second"));
  ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub2.id, "target", "West US", {}));
  ASSERT_OK(accounts_->MoveAccounts(owner_, sub_, kOtherGroup, {"acct-a"},
                                    sub2.id, "target"));
  ASSERT_OK_AND_ASSIGN(
      AccountInfo there,
      accounts_->GetAccount(owner_, {sub2.id, "target", "acct-a"}));
  EXPECT_EQ(there.tenant_id, tenant_);

  // The AEK is the same key after the moves.
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> after,
                       keys_->Aek(there.row));
  ASSERT_OK_AND_ASSIGN(crypto::SecretBytes opened, after->Decrypt(sealed, {}));
  EXPECT_EQ(AsString(opened.RevealSecret()), "before the move");
}

TEST_F(AccountServiceTest, MoveIsAllOrNothing) {
  const store::Account a = Make("acct-a");
  EXPECT_REFUSED(
      accounts_->MoveAccounts(owner_, sub_, kGroup, {"acct-a", "nosuch"}, sub_,
                              kOtherGroup),
      StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(Row("acct-a"), a);
  EXPECT_REFUSED(accounts_->MoveAccounts(owner_, sub_, kGroup, {"acct-a"}, sub_,
                                         "nosuchgroup"),
                 StatusCode::kNotFound, "ResourceGroupNotFound");
  EXPECT_EQ(Row("acct-a"), a);
  // Only from the group it is in.
  EXPECT_REFUSED(accounts_->MoveAccounts(owner_, sub_, kOtherGroup, {"acct-a"},
                                         sub_, kGroup),
                 StatusCode::kNotFound, "ResourceNotFound");
  EXPECT_EQ(Row("acct-a"), a);
}

// A caller's token is of one tenant, and ResourceManager requires every
// subscription it acts on to be of that tenant, so MoveAccounts cannot move
// an account into another tenant: refused, nothing moves.
TEST_F(AccountServiceTest, MoveToAnotherTenantIsRefused) {
  const store::Account a = Make("acct-a");
  const std::string t2 = NewTenant("t2");
  ASSERT_OK_AND_ASSIGN(store::Subscription sub2,
                       rm_->CreateSubscription(t2, "Other tenant"));
  ASSERT_OK(store_->Transact([&](store::Transaction& tx) {
    return tx.resource_groups().Create(
        {sub2.id, "target", "westus", {}, Now()});
  }));
  // The same principal holds Owner on both subscriptions.
  ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  EXPECT_REFUSED(accounts_->MoveAccounts(owner_, sub_, kGroup, {"acct-a"},
                                         sub2.id, "target"),
                 StatusCode::kUnauthenticated,
                 "InvalidAuthenticationTokenTenant");
  // Nor with a caller that names the other tenant.
  identity::Caller as_t2 = owner_;
  as_t2.tenant_id = t2;
  EXPECT_REFUSED(accounts_->MoveAccounts(as_t2, sub_, kGroup, {"acct-a"},
                                         sub2.id, "target"),
                 StatusCode::kUnauthenticated,
                 "InvalidAuthenticationTokenTenant");
  EXPECT_EQ(Row("acct-a"), a);
}

// How an account reaches another tenant: moved into a subscription that is
// then transferred to another directory (SubscriptionRepo::ChangeTenant, as
// `atrest ad subscription change-directory` does). A service-managed AEK
// stays usable; a customer-managed one becomes inaccessible because the
// system-assigned identity stays in its old tenant (DESIGN.md §4).
TEST_F(AccountServiceTest, AccountInAnotherTenantKeepsServiceManagedKey) {
  ASSERT_OK(PutWith("acct-sm", "SystemAssigned", std::nullopt));
  ASSERT_OK(PutWith("acct-cmk", "SystemAssigned", std::nullopt));
  const std::string old_identity = Row("acct-sm").identity_principal_id;
  ASSERT_OK_AND_ASSIGN(store::Subscription sub2,
                       rm_->CreateSubscription(tenant_, "To transfer"));
  ASSERT_OK(rm_->AssignRoleUnchecked(owner_.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  ASSERT_OK(rm_->PutResourceGroup(owner_, sub2.id, "target", "West US", {}));
  ASSERT_OK(accounts_->MoveAccounts(
      owner_, sub_, kGroup, {"acct-sm", "acct-cmk"}, sub2.id, "target"));
  // acct-cmk as if its AEK were wrapped by a vault key (never reached: the
  // tenant check comes first).
  store::Account cmk = Row("acct-cmk");
  cmk.kek_json = json{{"source", "vault"},
                      {"vault_uri", "https://nope.vault.invalid"},
                      {"key_name", "cmk"},
                      {"key_version", std::string(32, 'a')},
                      {"alg", "RSA-OAEP-256"}}
                     .dump();
  ASSERT_OK(UpdateRow(cmk));

  const std::string t2 = NewTenant("t2");
  ASSERT_OK(store_->Transact([&](store::Transaction& tx) {
    return tx.subscriptions().ChangeTenant(sub2.id, t2);
  }));
  for (const char* name : {"acct-sm", "acct-cmk"})
    keys_->Recheck(Row(name).uid);

  // The old tenant's owner no longer reaches it; an owner in the new one
  // does, and sees the identity left behind in the old tenant.
  EXPECT_REFUSED(accounts_->GetAccount(owner_, {sub2.id, "target", "acct-sm"}),
                 StatusCode::kUnauthenticated,
                 "InvalidAuthenticationTokenTenant");
  identity::Caller new_owner = NewPrincipal("new-owner", t2);
  ASSERT_OK(rm_->AssignRoleUnchecked(new_owner.object_id,
                                     *resources::FindRole("Owner"),
                                     resources::SubscriptionScope(sub2.id)));
  ASSERT_OK_AND_ASSIGN(
      AccountInfo info,
      accounts_->GetAccount(new_owner, {sub2.id, "target", "acct-sm"}));
  EXPECT_EQ(info.tenant_id, t2);
  EXPECT_EQ(info.row.identity_principal_id, old_identity);
  EXPECT_EQ(info.identity_tenant_id, tenant_);
  EXPECT_EQ(info.key_status.state, "active");

  const store::Account sm = Row("acct-sm");
  ExpectAekWorks(sm);
  EXPECT_EQ(keys_->StatusOf(sm).state, "active");

  cmk = Row("acct-cmk");
  EXPECT_REFUSED(keys_->Aek(cmk), StatusCode::kPermissionDenied,
                 "CustomerManagedKeyInaccessible");
  const KeyStatus status = keys_->StatusOf(cmk);
  EXPECT_EQ(status.state, "inaccessible");
  EXPECT_EQ(status.reason_code, "ManagedIdentityTenantMismatch");
  EXPECT_EQ(KeyStatus::FromJson(cmk.key_status_json).state, "inaccessible");

  // Re-enabling the identity makes one in the new tenant.
  ASSERT_OK(
      accounts_->PutAccount(new_owner, {sub2.id, "target", "acct-sm"}, [] {
        AccountUpdate u = At();
        u.identity_type = "None";
        return u;
      }()));
  ASSERT_OK_AND_ASSIGN(
      AccountService::PutResult back,
      accounts_->PutAccount(new_owner, {sub2.id, "target", "acct-sm"}, [] {
        AccountUpdate u = At();
        u.identity_type = "SystemAssigned";
        return u;
      }()));
  EXPECT_EQ(back.account.identity_tenant_id, t2);
  EXPECT_NE(back.account.row.identity_principal_id, old_identity);
  ExpectAekWorks(back.account.row);
}

// ======================= AccountKeys =======================

TEST_F(AccountServiceTest, ServiceManagedAekIsUsableAndCached) {
  const store::Account row = Make("acct1");
  EXPECT_EQ(json::parse(row.kek_json), json({{"source", "service"}}));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> aek,
                       keys_->Aek(row));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> again,
                       keys_->Aek(row));
  EXPECT_EQ(aek.get(), again.get());
  ExpectAekWorks(row);
  const KeyStatus status = keys_->StatusOf(row);
  EXPECT_EQ(status.state, "active");
  EXPECT_TRUE(status.reason_code.empty());
  EXPECT_EQ(status.last_success, Now());

  // After kek_recheck the AEK is unwrapped again: the same key.
  ASSERT_OK_AND_ASSIGN(Bytes sealed, aek->Encrypt(ToBytes("x"), {}));
  clock_.Advance(seconds(301));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> later,
                       keys_->Aek(row));
  EXPECT_NE(later.get(), aek.get());
  EXPECT_OK(later->Decrypt(sealed, {}));
  EXPECT_EQ(keys_->StatusOf(row).last_success, Now());
}

TEST_F(AccountServiceTest, NewServiceManagedIsFreshEachTime) {
  ASSERT_OK_AND_ASSIGN(WrappedAek one, keys_->NewServiceManaged("uid-1"));
  ASSERT_OK_AND_ASSIGN(WrappedAek two, keys_->NewServiceManaged("uid-1"));
  EXPECT_NE(one.wrapped, two.wrapped);
  EXPECT_EQ(one.kek_json, two.kek_json);
  EXPECT_TRUE(one.key_version.empty());
  EXPECT_GE(one.wrapped.size(), 32u + 16u);  // Key and tag at least.
}

TEST_F(AccountServiceTest, WrappedAekIsBoundToItsAccount) {
  const store::Account a = Make("acct-a");
  store::Account b = Make("acct-b");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> aek_a,
                       keys_->Aek(a));
  ASSERT_OK_AND_ASSIGN(Bytes sealed, aek_a->Encrypt(ToBytes("a's data"), {}));

  // B's row with A's wrapped AEK: it does not unwrap as B.
  b.wrapped_aek = a.wrapped_aek;
  ASSERT_OK(UpdateRow(b));
  keys_->Forget(b.uid);
  const Result<std::shared_ptr<const crypto::Aead>> stolen = keys_->Aek(b);
  EXPECT_REFUSED(stolen, StatusCode::kPermissionDenied,
                 "CustomerManagedKeyInaccessible");
  EXPECT_EQ(keys_->StatusOf(b).state, "inaccessible");
  // A is unaffected.
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> still,
                       keys_->Aek(a));
  EXPECT_OK(still->Decrypt(sealed, {}));

  // Restoring B's own key makes it active again at the next check.
  b = Row("acct-b");
  ASSERT_OK_AND_ASSIGN(WrappedAek fresh, keys_->NewServiceManaged(b.uid));
  b.wrapped_aek = fresh.wrapped;
  ASSERT_OK(UpdateRow(b));
  keys_->Recheck(b.uid);
  EXPECT_EQ(keys_->StatusOf(b).state, "active");
  ExpectAekWorks(Row("acct-b"));
}

TEST_F(AccountServiceTest, AekNeedsTheSameRootKey) {
  const store::Account row = Make("acct1");
  crypto::SecretBytes other(32);
  crypto::RandomBytes(other.MutableSecret());
  ASSERT_OK_AND_ASSIGN(keys::RootKey other_root,
                       keys::RootKey::FromBytes(std::move(other)));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AccountKeys> other_keys,
                       MakeKeys(other_root));
  EXPECT_REFUSED(other_keys->Aek(row), StatusCode::kPermissionDenied,
                 "CustomerManagedKeyInaccessible");
  // The same root key in a new AccountKeys (a restart) opens it.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AccountKeys> restarted,
                       MakeKeys(*root_key_));
  EXPECT_OK(restarted->Aek(row));
}

TEST_F(AccountServiceTest, RewrapToServiceManagedKeepsTheAek) {
  const store::Account row = Make("acct1");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> aek,
                       keys_->Aek(row));
  ASSERT_OK_AND_ASSIGN(Bytes sealed, aek->Encrypt(ToBytes("data"), {}));
  ASSERT_OK_AND_ASSIGN(WrappedAek rewrapped,
                       keys_->Rewrap(row, tenant_, EncryptionSettings{}));
  EXPECT_NE(rewrapped.wrapped, row.wrapped_aek);
  store::Account updated = row;
  updated.wrapped_aek = rewrapped.wrapped;
  updated.kek_json = rewrapped.kek_json;
  ASSERT_OK(UpdateRow(updated));
  keys_->Forget(row.uid);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<const crypto::Aead> again,
                       keys_->Aek(updated));
  EXPECT_OK(again->Decrypt(sealed, {}));

  // A row whose AEK does not open cannot be rewrapped.
  store::Account broken = row;
  broken.wrapped_aek.back() ^= 1;
  EXPECT_REFUSED(keys_->Rewrap(broken, tenant_, EncryptionSettings{}),
                 StatusCode::kFailedPrecondition,
                 "CustomerManagedKeyInaccessible");
}

TEST_F(AccountServiceTest, KeyStatusJsonRoundTrip) {
  KeyStatus s;
  s.state = "inaccessible";
  s.reason_code = "KeyDisabled";
  s.reason = "The key is disabled.";
  s.since = 10;
  s.last_success = 5;
  s.key_version = std::string(32, 'b');
  const KeyStatus back = KeyStatus::FromJson(s.ToJson().dump());
  EXPECT_EQ(back.state, s.state);
  EXPECT_EQ(back.reason_code, s.reason_code);
  EXPECT_EQ(back.reason, s.reason);
  EXPECT_EQ(back.since, s.since);
  EXPECT_EQ(back.last_success, s.last_success);
  EXPECT_EQ(back.key_version, s.key_version);
  EXPECT_EQ(KeyStatus::FromJson("not json").state, "active");
}

}  // namespace
}  // namespace atrest::accounts
