// CRUD, unique keys, NotFound, ordering and purge cascades of the vault,
// vault key and audit repositories, and migration 3 on an existing database.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store_test_util.h"

namespace atrest::store {
namespace {

constexpr char kV1[] = "0123456789abcdef0123456789abcdef";
constexpr char kV2[] = "fedcba9876543210fedcba9876543210";
constexpr char kV3[] = "00000000000000000000000000000001";

Vault MakeVault(const std::string& name, const std::string& group = "MyGroup",
                const std::string& subscription = "s1") {
  Vault v;
  v.name = name;
  v.subscription_id = subscription;
  v.resource_group = group;
  v.location = "westus";
  v.tenant_id = "t1";
  v.properties_json = R"({"sku":{"family":"A","name":"standard"}})";
  v.sealed_master_key = {0, 1, 2, 0, 255};
  v.created_at = 1767225700;
  v.updated_at = 1767225700;
  return v;
}

VaultKey MakeKey(const std::string& vault, const std::string& name) {
  return VaultKey{vault, name, "", 1767225800};
}

VaultKeyVersion SoftwareVersion(const std::string& vault,
                                const std::string& key,
                                const std::string& version) {
  VaultKeyVersion v;
  v.vault = vault;
  v.name = key;
  v.version = version;
  v.kty = "RSA";
  v.attributes_json = R"({"enabled":true})";
  v.public_key = {0x30, 0x82, 0x01, 0x22};
  v.sealed_private_key = {9, 8, 7, 0, 6};
  v.created_at = 1767225900;  // The same for every version.
  v.updated_at = 1767225900;
  return v;
}

AuditEvent Event(const std::string& vault, const std::string& operation) {
  AuditEvent e;
  e.time = 1767226000;
  e.vault = vault;
  e.caller_tenant_id = "t1";
  e.caller_object_id = "oid-1";
  e.caller_app_id = "app-1";
  e.client_ip = "192.0.2.7";
  e.key_name = "RsaKey";
  e.key_version = kV1;
  e.operation = operation;
  e.result = "Success";
  e.status_code = 200;
  return e;
}

// A tenant t1, a subscription s1 and its resource groups MyGroup and Other.
class VaultRepos : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_OK(Seed());
  }

  Status Seed() {
    return Tx([](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
      RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s1", "t1")));
      RETURN_IF_ERROR(
          tx.resource_groups().Create(MakeGroup("s1", "MyGroup", "westus")));
      return tx.resource_groups().Create(MakeGroup("s1", "Other", "westus"));
    });
  }

  Status CreateVault(const Vault& v) {
    return Tx([&](Transaction& tx) { return tx.vaults().Create(v); });
  }

  Result<Vault> GetVault(const std::string& name) {
    return store_->ReadResult(
        [&](Transaction& tx) { return tx.vaults().Get(name); });
  }
};

TEST_F(VaultRepos, VaultCrud) {
  const Vault v = MakeVault("MyVault", "mygroup");  // Group matched by key.
  ASSERT_OK(CreateVault(v));
  ASSERT_OK(CreateVault(MakeVault("alpha", "Other")));
  Result<Vault> got = GetVault("MYVAULT");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, v);  // Names as created.

  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    auto all = tx.vaults().List();
    EXPECT_EQ(all->size(), 2u);
    EXPECT_EQ(all->at(0).name, "alpha");
    EXPECT_EQ(all->at(1), v);
    EXPECT_EQ(*tx.vaults().ListBySubscription("s1"), *all);
    EXPECT_TRUE(tx.vaults().ListBySubscription("s2")->empty());
    return Status::Ok();
  }));

  // Update replaces only the mutable fields.
  Vault changed = v;
  changed.name = "myvault";
  changed.location = "eastus";
  changed.properties_json = "{}";
  changed.updated_at = 200;
  changed.deleted_at = 300;
  changed.scheduled_purge_at = 400;
  changed.subscription_id = "s9";
  changed.resource_group = "Elsewhere";
  changed.tenant_id = "t9";
  changed.sealed_master_key = {1};
  changed.created_at = 1;
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.vaults().Update(changed); }));
  Vault expected = v;
  expected.location = "eastus";
  expected.properties_json = "{}";
  expected.updated_at = 200;
  expected.deleted_at = 300;
  expected.scheduled_purge_at = 400;
  EXPECT_EQ(*GetVault("MyVault"), expected);

  Status s = Tx(
      [&](Transaction& tx) { return tx.vaults().Update(MakeVault("none")); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "vault 'none' not found");

  ASSERT_OK(Tx([](Transaction& tx) { return tx.vaults().Delete("MYVAULT"); }));
  EXPECT_EQ(GetVault("MyVault").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(GetVault("MyVault").status().message(),
            "vault 'MyVault' not found");
  EXPECT_EQ(
      Tx([](Transaction& tx) { return tx.vaults().Delete("MyVault"); }).code(),
      StatusCode::kNotFound);
}

TEST_F(VaultRepos, VaultRequiredFields) {
  Vault v = MakeVault("");
  EXPECT_EQ(CreateVault(v).message(), "vault name is required");
  v = MakeVault("v");
  v.sealed_master_key.clear();
  EXPECT_EQ(CreateVault(v).code(), StatusCode::kInvalidArgument);
  v = MakeVault("v");
  v.location.clear();
  EXPECT_EQ(CreateVault(v).code(), StatusCode::kInvalidArgument);
  v = MakeVault("v", "");
  EXPECT_EQ(CreateVault(v).code(), StatusCode::kInvalidArgument);
}

TEST_F(VaultRepos, NameStaysTakenWhileTheVaultExists) {
  ASSERT_OK(CreateVault(MakeVault("Vault1")));
  Status s = CreateVault(MakeVault("VAULT1", "Other"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "vault 'VAULT1' already exists");

  Vault deleted = MakeVault("Vault1");
  deleted.deleted_at = 500;
  deleted.scheduled_purge_at = 500 + 90 * 86400;
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.vaults().Update(deleted); }));
  EXPECT_EQ(CreateVault(MakeVault("vault1")).code(),
            StatusCode::kAlreadyExists);

  // Purged, the name is free again.
  ASSERT_OK(Tx([](Transaction& tx) { return tx.vaults().Delete("vault1"); }));
  ASSERT_OK(CreateVault(MakeVault("vault1", "Other")));
}

TEST_F(VaultRepos, CreateNeedsGroupAndSubscription) {
  Status s = CreateVault(MakeVault("v", "NoGroup"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "resource group 'NoGroup' not found");
  s = CreateVault(MakeVault("v", "MyGroup", "nosub"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "subscription 'nosub' not found");
  EXPECT_EQ(GetVault("v").status().code(), StatusCode::kNotFound);
}

TEST_F(VaultRepos, DeletedVaultOutlivesItsGroup) {
  Vault v = MakeVault("Kept");
  ASSERT_OK(CreateVault(v));
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vault_keys().Create(MakeKey("Kept", "k")));
    return tx.vault_keys().AddVersion(SoftwareVersion("Kept", "k", kV1));
  }));
  v.deleted_at = 600;
  v.scheduled_purge_at = 700;
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vaults().Update(v));
    RETURN_IF_ERROR(tx.resource_groups().Delete("s1", "Other"));
    return tx.resource_groups().Delete("s1", "MyGroup");
  }));
  EXPECT_EQ(*GetVault("kept"), v);
  ASSERT_OK(store_->Read([](Transaction& tx) -> Status {
    EXPECT_TRUE(tx.vault_keys().Get("Kept", "k").ok());
    EXPECT_EQ(tx.vault_keys().ListVersions("Kept", "k")->size(), 1u);
    return Status::Ok();
  }));
  // The vault still holds on to its subscription.
  Status s =
      Tx([](Transaction& tx) { return tx.subscriptions().Delete("s1"); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "subscription 's1' still has resource groups or vaults; delete "
            "them first");
}

TEST_F(VaultRepos, Keys) {
  ASSERT_OK(CreateVault(MakeVault("MyVault")));
  const VaultKey key{"MyVault", "RsaKey", R"({"lifetimeActions":[]})", 10};
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vault_keys().Create(key));
    // The vault's name in any case finds it.
    return tx.vault_keys().Create(MakeKey("MYVAULT", "another"));
  }));
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    EXPECT_EQ(*tx.vault_keys().Get("myvault", "RSAKEY"), key);
    auto list = tx.vault_keys().List("MyVault");
    EXPECT_EQ(list->size(), 2u);
    EXPECT_EQ(list->at(0), MakeKey("MyVault", "another"));
    EXPECT_EQ(list->at(1), key);
    EXPECT_TRUE(tx.vault_keys().List("other")->empty());
    Status missing = tx.vault_keys().Get("MyVault", "nokey").status();
    EXPECT_EQ(missing.code(), StatusCode::kNotFound);
    EXPECT_EQ(missing.message(), "key 'nokey' not found");
    return Status::Ok();
  }));

  Status s = Tx([](Transaction& tx) {
    return tx.vault_keys().Create(MakeKey("MyVault", "RSAKEY"));
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "key 'RSAKEY' already exists in vault 'MyVault'");
  s = Tx([](Transaction& tx) {
    return tx.vault_keys().Create(MakeKey("novault", "k"));
  });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "vault 'novault' not found");
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.vault_keys().Create(MakeKey("MyVault", ""));
            }).code(),
            StatusCode::kInvalidArgument);

  // Soft delete and the rotation policy round trip; the rest never changes.
  VaultKey deleted = key;
  deleted.name = "rsakey";
  deleted.rotation_policy_json = "";
  deleted.deleted_at = 1000;
  deleted.scheduled_purge_at = 2000;
  deleted.created_at = 1;
  ASSERT_OK(
      Tx([&](Transaction& tx) { return tx.vault_keys().Update(deleted); }));
  VaultKey expected = key;
  expected.rotation_policy_json = "";
  expected.deleted_at = 1000;
  expected.scheduled_purge_at = 2000;
  EXPECT_EQ(*store_->ReadResult([](Transaction& tx) {
    return tx.vault_keys().Get("MyVault", "RsaKey");
  }),
            expected);
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.vault_keys().Update(MakeKey("MyVault", "nokey"));
            }).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.vault_keys().Create(MakeKey("MyVault", "rsakey"));
            }).code(),
            StatusCode::kAlreadyExists);
}

TEST_F(VaultRepos, PurgingAKeyRemovesItsVersions) {
  ASSERT_OK(CreateVault(MakeVault("MyVault")));
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vault_keys().Create(MakeKey("MyVault", "k")));
    RETURN_IF_ERROR(tx.vault_keys().Create(MakeKey("MyVault", "kept")));
    RETURN_IF_ERROR(
        tx.vault_keys().AddVersion(SoftwareVersion("MyVault", "k", kV1)));
    RETURN_IF_ERROR(
        tx.vault_keys().AddVersion(SoftwareVersion("MyVault", "k", kV2)));
    return tx.vault_keys().AddVersion(SoftwareVersion("MyVault", "kept", kV1));
  }));
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.vault_keys().Delete("myvault", "K"); }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.vault_keys().Delete("MyVault", "k");
            }).code(),
            StatusCode::kNotFound);
  ASSERT_OK(store_->Read([](Transaction& tx) -> Status {
    VaultKeyRepo& keys = tx.vault_keys();
    EXPECT_EQ(keys.Get("MyVault", "k").status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(keys.ListVersions("MyVault", "k")->empty());
    EXPECT_EQ(keys.GetVersion("MyVault", "k", kV1).status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(keys.ListVersions("MyVault", "kept")->size(), 1u);
    return Status::Ok();
  }));
  // A new key of the same name starts without versions.
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vault_keys().Create(MakeKey("MyVault", "k")));
    EXPECT_EQ(tx.vault_keys().LatestVersion("MyVault", "k").status().code(),
              StatusCode::kNotFound);
    return tx.vault_keys().AddVersion(SoftwareVersion("MyVault", "k", kV1));
  }));
}

TEST_F(VaultRepos, Versions) {
  ASSERT_OK(CreateVault(MakeVault("MyVault")));
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.vault_keys().Create(MakeKey("MyVault", "RsaKey"));
  }));
  Status none = store_
                    ->ReadResult([](Transaction& tx) {
                      return tx.vault_keys().LatestVersion("MyVault", "RsaKey");
                    })
                    .status();
  EXPECT_EQ(none.code(), StatusCode::kNotFound);
  EXPECT_EQ(none.message(), "version of key 'RsaKey' not found");

  // Equal created_at, and ids that sort neither in insertion order nor
  // against it: only the order of AddVersion counts.
  const VaultKeyVersion v1 = SoftwareVersion("MyVault", "RsaKey", kV1);
  const VaultKeyVersion v2 = SoftwareVersion("MyVault", "RsaKey", kV2);
  VaultKeyVersion v3 = SoftwareVersion("MyVault", "RsaKey", kV3);
  v3.kty = "RSA-HSM";
  v3.sealed_private_key.clear();
  v3.hsm_handle = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  for (VaultKeyVersion added : std::vector<VaultKeyVersion>{v1, v2, v3}) {
    added.vault = "myvault";  // Found ignoring case, returned as created.
    added.name = "RSAKEY";
    ASSERT_OK(
        Tx([&](Transaction& tx) { return tx.vault_keys().AddVersion(added); }));
  }
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    VaultKeyRepo& keys = tx.vault_keys();
    EXPECT_EQ(*keys.LatestVersion("MYVAULT", "rsakey"), v3);
    EXPECT_EQ(*keys.ListVersions("MyVault", "RsaKey"),
              (std::vector<VaultKeyVersion>{v1, v2, v3}));
    EXPECT_EQ(*keys.GetVersion("myvault", "rsakey", kV2), v2);
    // Versions match exactly.
    Status s =
        keys.GetVersion("MyVault", "RsaKey", "FEDCBA9876543210FEDCBA9876543210")
            .status();
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    s = keys.GetVersion("MyVault", "RsaKey", "abc").status();
    EXPECT_EQ(s.message(), "key version 'abc' not found");
    EXPECT_EQ(keys.GetVersion("MyVault", "other", kV1).status().code(),
              StatusCode::kNotFound);
    return Status::Ok();
  }));

  // One more after a read: still last.
  const VaultKeyVersion v4 =
      SoftwareVersion("MyVault", "RsaKey", "11111111111111111111111111111111");
  ASSERT_OK(
      Tx([&](Transaction& tx) { return tx.vault_keys().AddVersion(v4); }));
  EXPECT_EQ(*store_->ReadResult([](Transaction& tx) {
    return tx.vault_keys().LatestVersion("MyVault", "RsaKey");
  }),
            v4);

  // UpdateVersion replaces attributes_json and updated_at only.
  VaultKeyVersion changed = v2;
  changed.attributes_json = R"({"enabled":false})";
  changed.updated_at = 1767229999;
  changed.kty = "EC";
  changed.public_key = {1};
  changed.created_at = 5;
  ASSERT_OK(Tx(
      [&](Transaction& tx) { return tx.vault_keys().UpdateVersion(changed); }));
  VaultKeyVersion expected = v2;
  expected.attributes_json = changed.attributes_json;
  expected.updated_at = changed.updated_at;
  EXPECT_EQ(*store_->ReadResult([](Transaction& tx) {
    return tx.vault_keys().GetVersion("MyVault", "RsaKey", kV2);
  }),
            expected);
  changed.version = "00000000000000000000000000000000";
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.vault_keys().UpdateVersion(changed);
            }).code(),
            StatusCode::kNotFound);
}

TEST_F(VaultRepos, AddVersionErrors) {
  ASSERT_OK(CreateVault(MakeVault("MyVault")));
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vault_keys().Create(MakeKey("MyVault", "k")));
    return tx.vault_keys().AddVersion(SoftwareVersion("MyVault", "k", kV1));
  }));
  auto add = [&](const VaultKeyVersion& v) {
    return Tx([&](Transaction& tx) { return tx.vault_keys().AddVersion(v); });
  };
  Status s = add(SoftwareVersion("MyVault", "K", kV1));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(),
            std::string("version '") + kV1 + "' of key 'K' already exists");
  s = add(SoftwareVersion("MyVault", "nokey", kV1));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "key 'nokey' not found");
  EXPECT_EQ(add(SoftwareVersion("novault", "k", kV2)).code(),
            StatusCode::kNotFound);

  VaultKeyVersion both = SoftwareVersion("MyVault", "k", kV2);
  both.hsm_handle = "handle";
  EXPECT_EQ(add(both).code(), StatusCode::kInvalidArgument);
  VaultKeyVersion neither = SoftwareVersion("MyVault", "k", kV2);
  neither.sealed_private_key.clear();
  EXPECT_EQ(add(neither).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add(SoftwareVersion("MyVault", "k", "")).code(),
            StatusCode::kInvalidArgument);
  VaultKeyVersion no_public = SoftwareVersion("MyVault", "k", kV2);
  no_public.public_key.clear();
  EXPECT_EQ(add(no_public).code(), StatusCode::kInvalidArgument);
}

TEST_F(VaultRepos, PurgingAVaultRemovesEverythingInIt) {
  ASSERT_OK(CreateVault(MakeVault("Doomed")));
  ASSERT_OK(CreateVault(MakeVault("Kept", "Other")));
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    for (const char* vault : {"Doomed", "Kept"}) {
      RETURN_IF_ERROR(tx.vault_keys().Create(MakeKey(vault, "k")));
      RETURN_IF_ERROR(
          tx.vault_keys().AddVersion(SoftwareVersion(vault, "k", kV1)));
      RETURN_IF_ERROR(tx.audit().Append(Event(vault, "KeyCreate")).status());
    }
    return Status::Ok();
  }));
  ASSERT_OK(Tx([](Transaction& tx) { return tx.vaults().Delete("DOOMED"); }));

  // A new vault of the same name starts empty.
  ASSERT_OK(CreateVault(MakeVault("Doomed")));
  ASSERT_OK(store_->Read([](Transaction& tx) -> Status {
    EXPECT_TRUE(tx.vault_keys().List("Doomed")->empty());
    EXPECT_TRUE(tx.vault_keys().ListVersions("Doomed", "k")->empty());
    EXPECT_TRUE(tx.audit().List("Doomed", 0, 100)->empty());
    EXPECT_EQ(tx.vault_keys().List("Kept")->size(), 1u);
    EXPECT_EQ(tx.vault_keys().ListVersions("Kept", "k")->size(), 1u);
    EXPECT_EQ(tx.audit().List("Kept", 0, 100)->size(), 1u);
    return Status::Ok();
  }));
}

TEST_F(VaultRepos, Audit) {
  ASSERT_OK(CreateVault(MakeVault("VaultA")));
  ASSERT_OK(CreateVault(MakeVault("VaultB")));
  std::vector<AuditEvent> a_events;
  int64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    AuditEvent a = Event("vaulta", "KeyGet");  // Vault name in any case.
    a.seq = 1000;                              // Ignored.
    a.status_code = 200 + i;
    if (i == 2) {
      a.key_name.clear();
      a.key_version.clear();
      a.operation = "KeyList";
      a.result = "Forbidden";
      a.status_code = 403;
    }
    auto seq = store_->TransactResult([&](Transaction& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(int64_t b,
                       tx.audit().Append(Event("VaultB", "KeySign")));
      EXPECT_GT(b, last);
      ASSIGN_OR_RETURN(int64_t s, tx.audit().Append(a));
      EXPECT_GT(s, b);
      return s;
    });
    ASSERT_TRUE(seq.ok()) << seq.status();
    last = *seq;
    a.seq = *seq;
    a.vault = "VaultA";  // Returned as created.
    a_events.push_back(a);
  }
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    AuditRepo& audit = tx.audit();
    EXPECT_EQ(*audit.List("VAULTA", 0, 100), a_events);
    EXPECT_EQ(*audit.List("VaultA", a_events[1].seq, 2),
              (std::vector<AuditEvent>{a_events[2], a_events[3]}));
    EXPECT_EQ(*audit.List("VaultA", a_events[3].seq, 100),
              (std::vector<AuditEvent>{a_events[4]}));
    EXPECT_TRUE(audit.List("VaultA", a_events[4].seq, 100)->empty());
    EXPECT_TRUE(audit.List("VaultA", 0, 0)->empty());
    auto b = audit.List("VaultB", 0, 100);
    EXPECT_EQ(b->size(), 5u);
    for (const AuditEvent& e : *b) EXPECT_EQ(e.vault, "VaultB");
    EXPECT_TRUE(audit.List("none", 0, 100)->empty());
    return Status::Ok();
  }));

  Status s = store_
                 ->TransactResult([](Transaction& tx) {
                   return tx.audit().Append(Event("none", "KeyGet"));
                 })
                 .status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "vault 'none' not found");
  AuditEvent bad = Event("VaultA", "");
  EXPECT_EQ(store_
                ->TransactResult(
                    [&](Transaction& tx) { return tx.audit().Append(bad); })
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  // Seqs are never reused, not even those of a purged vault's events.
  ASSERT_OK(Tx([](Transaction& tx) { return tx.vaults().Delete("VaultA"); }));
  auto next = store_->TransactResult([](Transaction& tx) {
    return tx.audit().Append(Event("VaultB", "KeyGet"));
  });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_GT(*next, last);
}

TEST_F(VaultRepos, DataSurvivesReopen) {
  const Vault vault = MakeVault("Durable");
  const VaultKey key{"Durable", "Key1", "{}", 5, 6, 7};
  const VaultKeyVersion version = SoftwareVersion("Durable", "Key1", kV2);
  AuditEvent event = Event("Durable", "KeyUnwrap");
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.vaults().Create(vault));
    RETURN_IF_ERROR(tx.vault_keys().Create(key));
    RETURN_IF_ERROR(tx.vault_keys().AddVersion(version));
    ASSIGN_OR_RETURN(event.seq, tx.audit().Append(event));
    return Status::Ok();
  }));
  ASSERT_OK(Reopen());
  const VaultKeyVersion later = SoftwareVersion("Durable", "Key1", kV1);
  ASSERT_OK(
      Tx([&](Transaction& tx) { return tx.vault_keys().AddVersion(later); }));
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    EXPECT_EQ(*tx.vaults().Get("durable"), vault);
    EXPECT_EQ(*tx.vault_keys().Get("Durable", "key1"), key);
    EXPECT_EQ(*tx.vault_keys().ListVersions("Durable", "Key1"),
              (std::vector<VaultKeyVersion>{version, later}));
    EXPECT_EQ(*tx.audit().List("Durable", 0, 10),
              std::vector<AuditEvent>{event});
    return Status::Ok();
  }));
  auto seq = store_->TransactResult(
      [&](Transaction& tx) { return tx.audit().Append(event); });
  ASSERT_TRUE(seq.ok()) << seq.status();
  EXPECT_GT(*seq, event.seq);
}

// A database created by a binary that knew migrations 1 and 2 gets the vault
// tables on the next open, and keeps its rows.
TEST_F(VaultRepos, MigratesVersion2Database) {
  store_.reset();
  auto dir = env::ScopedTempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  dir_ = std::make_unique<env::ScopedTempDir>(std::move(dir).value());
  SqliteStoreOptions v2 = Options();
  v2.migrations = Migrations().first(2);
  ASSERT_OK(Reopen(v2));
  EXPECT_EQ(store_->schema_version(), 2);
  ASSERT_OK(Seed());
  Subscription aliased = MakeSubscription("s2", "t1");
  aliased.alias = "my-alias";
  ASSERT_OK(
      Tx([&](Transaction& tx) { return tx.subscriptions().Create(aliased); }));
  // Without migration 3 there is no vault table.
  EXPECT_FALSE(CreateVault(MakeVault("v")).ok());

  ASSERT_OK(Reopen());
  EXPECT_EQ(store_->schema_version(), LatestSchemaVersion());
  EXPECT_GE(store_->schema_version(), 3);
  ASSERT_OK(CreateVault(MakeVault("v")));
  ASSERT_OK(store_->Read([&](Transaction& tx) -> Status {
    EXPECT_EQ(*tx.subscriptions().GetByAlias("t1", "my-alias"), aliased);
    EXPECT_EQ(tx.resource_groups().ListBySubscription("s1")->size(), 2u);
    EXPECT_EQ(tx.vaults().Get("V")->resource_group, "MyGroup");
    return Status::Ok();
  }));
}

}  // namespace
}  // namespace atrest::store
