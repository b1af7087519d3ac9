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

}  // namespace
}  // namespace atrest::resources
