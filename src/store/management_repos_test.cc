// CRUD, unique keys, NotFound and delete rules of the tenant,
// subscription and resource group repositories.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store_test_util.h"

namespace atrest::store {
namespace {

using Repos = StoreTest;

TEST_F(Repos, Tenants) {
  const Tenant t = MakeTenant("t1");
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.tenants().Create(t); }));
  ASSERT_OK(Tx(
      [&](Transaction& tx) { return tx.tenants().Create(MakeTenant("t0")); }));
  Result<Tenant> got = store_->ReadResult(
      [](Transaction& tx) { return tx.tenants().Get("t1"); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, t);
  auto list =
      store_->ReadResult([](Transaction& tx) { return tx.tenants().List(); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "t0");

  Status dup = Tx([&](Transaction& tx) { return tx.tenants().Create(t); });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "tenant 't1' already exists");

  auto missing = store_->ReadResult(
      [](Transaction& tx) { return tx.tenants().Get("no"); });
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "tenant 'no' not found");

  ASSERT_OK(Tx([](Transaction& tx) { return tx.tenants().Delete("t1"); }));
  EXPECT_EQ(
      Tx([](Transaction& tx) { return tx.tenants().Delete("t1"); }).code(),
      StatusCode::kNotFound);
  EXPECT_EQ(
      Tx([](Transaction& tx) { return tx.tenants().Create(Tenant{}); }).code(),
      StatusCode::kInvalidArgument);
}

TEST_F(Repos, SubscriptionsAndRefusedDeletes) {
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.subscriptions().Create(MakeSubscription("s1", "t1"));
            }).message(),
            "tenant 't1' not found");
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s2", "t1")));
    return tx.subscriptions().Create(MakeSubscription("s1", "t1"));
  }));
  Status dup = Tx([](Transaction& tx) {
    return tx.subscriptions().Create(MakeSubscription("s1", "t1"));
  });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "subscription 's1' or alias '' already exists");

  Subscription changed = MakeSubscription("s1", "t1");
  changed.display_name = "renamed";
  changed.state = SubscriptionState::kDisabled;
  ASSERT_OK(
      Tx([&](Transaction& tx) { return tx.subscriptions().Update(changed); }));
  auto got = store_->ReadResult(
      [](Transaction& tx) { return tx.subscriptions().Get("s1"); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, changed);
  auto list = store_->ReadResult(
      [](Transaction& tx) { return tx.subscriptions().ListByTenant("t1"); });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "s1");
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.subscriptions().Update(MakeSubscription("zz", "t1"));
            }).code(),
            StatusCode::kNotFound);

  // A tenant with subscriptions, and a subscription with resource groups,
  // cannot be deleted.
  Status s = Tx([](Transaction& tx) { return tx.tenants().Delete("t1"); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.resource_groups().Create(MakeGroup("s1", "rg", "eastus"));
  }));
  s = Tx([](Transaction& tx) { return tx.subscriptions().Delete("s1"); });
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "subscription 's1' still has resource groups or vaults; delete "
            "them first");
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.resource_groups().Delete("s1", "rg"));
    RETURN_IF_ERROR(tx.subscriptions().Delete("s1"));
    RETURN_IF_ERROR(tx.subscriptions().Delete("s2"));
    return tx.tenants().Delete("t1");
  }));
}

TEST_F(Repos, ResourceGroups) {
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    return tx.subscriptions().Create(MakeSubscription("s1", "t1"));
  }));
  const ResourceGroup rg{"s1", "MyGroup", "westeurope", {{"env", "prod"}}, 7};
  ASSERT_OK(
      Tx([&](Transaction& tx) { return tx.resource_groups().Create(rg); }));
  ASSERT_OK(Tx([&](Transaction& tx) {
    return tx.resource_groups().Create(MakeGroup("s1", "alpha", "eastus"));
  }));
  // Names match ignoring case, and keep the creator's spelling.
  auto got = store_->ReadResult([](Transaction& tx) {
    return tx.resource_groups().Get("s1", "mygroup");
  });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, rg);
  Status dup = Tx([](Transaction& tx) {
    return tx.resource_groups().Create(MakeGroup("s1", "MYGROUP", "x"));
  });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(),
            "resource group 'MYGROUP' already exists in subscription 's1'");
  EXPECT_EQ(
      Tx([](Transaction& tx) {
        return tx.resource_groups().Create(MakeGroup("nosub", "g", "eastus"));
      }).code(),
      StatusCode::kNotFound);

  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.resource_groups().SetTags("s1", "MyGroup",
                                        {{"a", "1"}, {"b", "2"}});
  }));
  auto list = store_->ReadResult([](Transaction& tx) {
    return tx.resource_groups().ListBySubscription("s1");
  });
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[1].tags,
            (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.resource_groups().SetTags("s1", "none", {});
            }).code(),
            StatusCode::kNotFound);

  // Deleting a group deletes what is in it (its tags, here): a new group of
  // the same name starts empty.
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.resource_groups().Delete("s1", "MYGROUP"));
    return tx.resource_groups().Create(MakeGroup("s1", "mygroup", "x"));
  }));
  got = store_->ReadResult([](Transaction& tx) {
    return tx.resource_groups().Get("s1", "MyGroup");
  });
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->tags.empty());
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.resource_groups().Delete("s1", "gone");
            }).code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace atrest::store
