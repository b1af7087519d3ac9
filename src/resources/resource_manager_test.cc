#include "resources/resource_manager.h"

#include <gtest/gtest.h>

#include "env/testing.h"
#include "keys/root_key.h"
#include "store/sqlite_store.h"

namespace atrest::resources {
namespace {

class ResourceManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ =
        std::move(store::SqliteStore::Open({.data_dir = dir_.path()})).value();
    tenant_ = Tenant("t1");
    rm_ = std::make_unique<ResourceManager>(*store_, env_);
    sub_ = rm_->CreateSubscription(tenant_, "Default")->id;
    owner_ = Principal("owner", tenant_);
    ASSERT_TRUE(rm_->AssignRoleUnchecked(owner_.object_id, *FindRole("Owner"),
                                         SubscriptionScope(sub_))
                    .ok());
  }

  std::string Tenant(const std::string& name) {
    std::string id = env_.random().NewUuid();
    EXPECT_TRUE(store_
                    ->Transact([&](store::Transaction& tx) {
                      return tx.tenants().Create(
                          {.id = id, .display_name = name});
                    })
                    .ok());
    return id;
  }
  identity::Caller Principal(const std::string& name,
                             const std::string& tenant) {
    identity::Caller c{.tenant_id = tenant,
                       .object_id = env_.random().NewUuid(),
                       .app_id = env_.random().NewUuid()};
    EXPECT_TRUE(store_
                    ->Transact([&](store::Transaction& tx) {
                      return tx.principals().Create(
                          {.object_id = c.object_id,
                           .tenant_id = tenant,
                           .kind = store::PrincipalKind::kServicePrincipal,
                           .display_name = name,
                           .app_id = c.app_id});
                    })
                    .ok());
    return c;
  }

  env::ScopedTempDir dir_ = std::move(env::ScopedTempDir::Create()).value();
  env::FakeClock clock_;
  env::Env env_{clock_, env::Env::Default().random(), env::Env::Default().fs()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<ResourceManager> rm_;
  std::string tenant_, sub_;
  identity::Caller owner_;
};

TEST_F(ResourceManagerTest, OwnerCreatesUpdatesListsAndDeletesGroups) {
  auto put =
      rm_->PutResourceGroup(owner_, sub_, "rg-1", "West US", {{"a", "1"}});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->created);
  EXPECT_EQ(put->group.location, "westus");
  put = rm_->PutResourceGroup(owner_, sub_, "RG-1", "westus", {{"b", "2"}});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_FALSE(put->created);
  EXPECT_EQ(put->group.tags, (std::map<std::string, std::string>{{"b", "2"}}));
  EXPECT_EQ(rm_->ListResourceGroups(owner_, sub_)->size(), 1u);
  EXPECT_TRUE(rm_->DeleteResourceGroup(owner_, sub_, "rg-1").ok());
  Status gone = rm_->GetResourceGroup(owner_, sub_, "rg-1").status();
  EXPECT_EQ(gone.code(), StatusCode::kNotFound);
  EXPECT_EQ(gone.reason(), "ResourceGroupNotFound");
}

TEST_F(ResourceManagerTest, LocationCannotChangeAndNamesAreChecked) {
  ASSERT_TRUE(rm_->PutResourceGroup(owner_, sub_, "g", "eastus", {}).ok());
  Status s = rm_->PutResourceGroup(owner_, sub_, "g", "westus", {}).status();
  EXPECT_EQ(s.reason(), "InvalidResourceGroupLocation");
  for (const char* bad : {"", "a.", "has space", "x/y"}) {
    EXPECT_EQ(
        rm_->PutResourceGroup(owner_, sub_, bad, "eastus", {}).status().code(),
        StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(rm_->PutResourceGroup(owner_, sub_, "g2", "", {}).status().reason(),
            "LocationRequired");
}

TEST_F(ResourceManagerTest, RolesDecideWhatACallerMayDo) {
  identity::Caller nobody = Principal("nobody", tenant_);
  Status s = rm_->PutResourceGroup(nobody, sub_, "g", "eastus", {}).status();
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.reason(), "AuthorizationFailed");
  EXPECT_TRUE(rm_->ListSubscriptions(nobody)->empty());

  ASSERT_TRUE(rm_->PutResourceGroup(owner_, sub_, "g", "eastus", {}).ok());
  identity::Caller reader = Principal("reader", tenant_);
  ASSERT_TRUE(rm_->CreateRoleAssignment(owner_, ResourceGroupScope(sub_, "g"),
                                        env_.random().NewUuid(),
                                        reader.object_id, "Reader")
                  .ok());
  EXPECT_TRUE(rm_->GetResourceGroup(reader, sub_, "g").ok());
  EXPECT_EQ(rm_->DeleteResourceGroup(reader, sub_, "g").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(rm_->ListResourceGroups(reader, sub_).status().code(),
            StatusCode::kPermissionDenied);  // Only the group is in scope.
  EXPECT_EQ(rm_->ListSubscriptions(reader)->size(), 1u);

  identity::Caller contributor = Principal("contributor", tenant_);
  ASSERT_TRUE(rm_->CreateRoleAssignment(owner_, SubscriptionScope(sub_),
                                        env_.random().NewUuid(),
                                        contributor.object_id, "Contributor")
                  .ok());
  EXPECT_TRUE(
      rm_->PutResourceGroup(contributor, sub_, "g3", "eastus", {}).ok());
  EXPECT_EQ(rm_->CreateRoleAssignment(contributor, SubscriptionScope(sub_),
                                      env_.random().NewUuid(), nobody.object_id,
                                      "Owner")
                .status()
                .code(),
            StatusCode::kPermissionDenied);
}

TEST_F(ResourceManagerTest, OtherTenantsCannotReachTheSubscription) {
  std::string other_tenant = Tenant("t2");
  identity::Caller stranger = Principal("stranger", other_tenant);
  Status s = rm_->ListResourceGroups(stranger, sub_).status();
  EXPECT_EQ(s.reason(), "InvalidAuthenticationTokenTenant");
  EXPECT_EQ(rm_->GetSubscription(owner_, "missing").status().reason(),
            "SubscriptionNotFound");
}

TEST_F(ResourceManagerTest, RoleAssignmentsListAndDelete) {
  identity::Caller reader = Principal("reader", tenant_);
  std::string id = env_.random().NewUuid();
  ASSERT_TRUE(rm_->CreateRoleAssignment(owner_, SubscriptionScope(sub_), id,
                                        reader.object_id, "Reader")
                  .ok());
  EXPECT_EQ(rm_->CreateRoleAssignment(owner_, SubscriptionScope(sub_), id,
                                      reader.object_id, "Reader")
                .status()
                .reason(),
            "RoleAssignmentExists");
  EXPECT_EQ(
      rm_->CreateRoleAssignment(owner_, SubscriptionScope(sub_),
                                env_.random().NewUuid(), "ghost", "Reader")
          .status()
          .reason(),
      "PrincipalNotFound");
  EXPECT_EQ(rm_->CreateRoleAssignment(owner_, SubscriptionScope(sub_),
                                      env_.random().NewUuid(), reader.object_id,
                                      "Wizard")
                .status()
                .reason(),
            "RoleDefinitionDoesNotExist");
  EXPECT_EQ(rm_->ListRoleAssignments(owner_, SubscriptionScope(sub_))->size(),
            2u);
  ASSERT_TRUE(
      rm_->DeleteRoleAssignment(owner_, SubscriptionScope(sub_), id).ok());
  EXPECT_TRUE(rm_->ListSubscriptions(reader)->empty());
}

TEST_F(ResourceManagerTest, TenantOwnerCreatesSubscriptionsThroughAliases) {
  auto put = rm_->PutSubscriptionAlias(owner_, "team-a", "Team A");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_TRUE(put->created);
  EXPECT_EQ(put->subscription.display_name, "Team A");
  EXPECT_EQ(put->subscription.tenant_id, tenant_);
  // The creator owns the new subscription and can use it at once.
  EXPECT_TRUE(
      rm_->PutResourceGroup(owner_, put->subscription.id, "rg", "westus", {})
          .ok());
  // PUT is idempotent: the same alias names the same subscription.
  auto again = rm_->PutSubscriptionAlias(owner_, "team-a", "Other");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->subscription.id, put->subscription.id);
  EXPECT_EQ(rm_->ListSubscriptionAliases(owner_)->size(), 1u);
  EXPECT_EQ(rm_->GetSubscriptionAlias(owner_, "team-a")->id,
            put->subscription.id);

  // Removing the alias keeps the subscription.
  ASSERT_TRUE(rm_->DeleteSubscriptionAlias(owner_, "team-a").ok());
  EXPECT_EQ(rm_->GetSubscriptionAlias(owner_, "team-a").status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(rm_->GetSubscription(owner_, put->subscription.id).ok());
  EXPECT_EQ(
      rm_->PutSubscriptionAlias(owner_, "bad name!", "").status().reason(),
      "InvalidAliasName");
}

TEST_F(ResourceManagerTest, OnlyTenantOwnersCreateSubscriptions) {
  identity::Caller reader = Principal("reader", tenant_);
  ASSERT_TRUE(rm_->AssignRoleUnchecked(reader.object_id, *FindRole("Reader"),
                                       SubscriptionScope(sub_))
                  .ok());
  Status refused = rm_->PutSubscriptionAlias(reader, "x", "").status();
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.reason(), "AuthorizationFailed");
  // An owner's alias is invisible to a principal that cannot read it.
  ASSERT_TRUE(rm_->PutSubscriptionAlias(owner_, "mine", "").ok());
  EXPECT_EQ(rm_->GetSubscriptionAlias(reader, "mine").status().code(),
            StatusCode::kNotFound);
}

TEST_F(ResourceManagerTest, CancelledSubscriptionIsReadOnlyUntilEnabled) {
  ASSERT_TRUE(rm_->PutResourceGroup(owner_, sub_, "rg", "westus", {}).ok());
  identity::Caller contributor = Principal("contributor", tenant_);
  ASSERT_TRUE(rm_->AssignRoleUnchecked(contributor.object_id,
                                       *FindRole("Contributor"),
                                       SubscriptionScope(sub_))
                  .ok());
  EXPECT_EQ(rm_->CancelSubscription(contributor, sub_).code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(rm_->CancelSubscription(owner_, sub_).ok());
  EXPECT_EQ(rm_->GetSubscription(owner_, sub_)->state,
            store::SubscriptionState::kDisabled);
  // Reads work, writes are refused with ARM's code, nothing was deleted.
  EXPECT_TRUE(rm_->GetResourceGroup(owner_, sub_, "rg").ok());
  Status write =
      rm_->PutResourceGroup(owner_, sub_, "rg2", "westus", {}).status();
  EXPECT_EQ(write.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(write.reason(), "ReadOnlyDisabledSubscription");
  EXPECT_EQ(rm_->DeleteResourceGroup(owner_, sub_, "rg").reason(),
            "ReadOnlyDisabledSubscription");
  ASSERT_TRUE(rm_->EnableSubscription(owner_, sub_).ok());
  EXPECT_TRUE(rm_->PutResourceGroup(owner_, sub_, "rg2", "westus", {}).ok());
  ASSERT_TRUE(rm_->RenameSubscription(owner_, sub_, "Renamed").ok());
  EXPECT_EQ(rm_->GetSubscription(owner_, sub_)->display_name, "Renamed");
}

// Names and scopes from request paths are validated before anything is
// stored: the scope's listing echoes every assignment, so one bad name
// would break it for everyone.
TEST_F(ResourceManagerTest, RoleAssignmentsWithBadNamesOrScopesCommitNothing) {
  identity::Caller reader = Principal("reader", tenant_);
  const std::string sub = SubscriptionScope(sub_);
  for (const std::string& name :
       {std::string("\xff"), std::string("not-a-guid"), std::string(""),
        env_.random().NewUuid() + "\xff"}) {
    Status s =
        rm_->CreateRoleAssignment(owner_, sub, name, reader.object_id, "Reader")
            .status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(s.reason(), "InvalidRoleAssignmentId") << name;
  }
  const std::pair<std::string, std::string> scopes[] = {
      {ResourceGroupScope(sub_, "g\xff"), "InvalidResourceGroup"},
      {ResourceGroupScope(sub_, "rg") +
           "/providers/Microsoft.KeyVault/vaults/kv\xff",
       "InvalidResourceName"},
      {ResourceGroupScope(sub_, "rg") + "/providers/Microsoft.KeyVault",
       "InvalidScope"},
      {sub + "/", "InvalidScope"},
  };
  for (const auto& [scope, reason] : scopes) {
    Status s = rm_->CreateRoleAssignment(owner_, scope, env_.random().NewUuid(),
                                         reader.object_id, "Reader")
                   .status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << scope;
    EXPECT_EQ(s.reason(), reason) << scope;
    EXPECT_EQ(
        rm_->AssignRoleUnchecked(reader.object_id, *FindRole("Reader"), scope)
            .status()
            .reason(),
        reason)
        << scope;
  }
  Result<std::vector<store::RoleAssignment>> all =
      store_->ReadResult([&](store::Transaction& tx) {
        return tx.role_assignments().ListForPrincipal(reader.object_id);
      });
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->empty());
  // A GUID at a scope of each level is accepted.
  EXPECT_TRUE(rm_->CreateRoleAssignment(owner_, sub, env_.random().NewUuid(),
                                        reader.object_id, "Reader")
                  .ok());
  EXPECT_TRUE(rm_->CreateRoleAssignment(
                     owner_,
                     ResourceGroupScope(sub_, "rg") +
                         "/providers/Microsoft.KeyVault/vaults/kv1",
                     env_.random().NewUuid(), reader.object_id, "Reader")
                  .ok());
}

}  // namespace
}  // namespace atrest::resources
