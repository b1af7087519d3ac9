// Tests of the account and stored-object repositories.
#include <gtest/gtest.h>

#include "store/store_test_util.h"

namespace atrest::store {
namespace {

class AccountReposTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(Tx([](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
      RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s1", "t1")));
      RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s2", "t1")));
      RETURN_IF_ERROR(tx.resource_groups().Create(
          MakeGroup("s1", "ML-Data", "westeurope")));
      return tx.resource_groups().Create(
          MakeGroup("s2", "other", "westeurope"));
    }));
  }

  static Account MakeAccount(const std::string& uid, const std::string& name) {
    return Account{.uid = uid,
                   .name = name,
                   .subscription_id = "s1",
                   .resource_group = "ml-data",
                   .location = "westeurope",
                   .kind = "OpenAI",
                   .sku = "S0",
                   .tags_json = "{}",
                   .properties_json = "{}",
                   .sealed_api_keys = Bytes{1, 2},
                   .encryption_json = "{}",
                   .kek_json = R"({"source":"service"})",
                   .wrapped_aek = Bytes{3, 4, 5},
                   .key_status_json = "{}",
                   .created_at = 100,
                   .updated_at = 100};
  }

  static StoredObject MakeObject(const std::string& account,
                                 const std::string& id,
                                 const std::string& purpose) {
    return StoredObject{.account_uid = account,
                        .id = id,
                        .kind = "file",
                        .purpose = purpose,
                        .filename = id + ".jsonl",
                        .bytes = 10,
                        .status = "processed",
                        .created_at = 200,
                        .wrapped_dek = Bytes{9},
                        .blob = account + "/" + id};
  }
};

TEST_F(AccountReposTest, CreateGetUpdateDelete) {
  Account a = MakeAccount("u1", "MyAcct");
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.accounts().Create(a); }));
  auto got = store_->ReadResult(
      [](Transaction& tx) { return tx.accounts().Get("myacct"); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, a);

  a.identity_principal_id = "oid";
  a.wrapped_aek = Bytes{7, 7};
  a.subscription_id = "s2";  // A move to another subscription's group.
  a.resource_group = "Other";
  a.updated_at = 300;
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.accounts().Update(a); }));
  got = store_->ReadResult(
      [](Transaction& tx) { return tx.accounts().GetByUid("u1"); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, a);

  a.resource_group = "missing";
  Status s = Tx([&](Transaction& tx) { return tx.accounts().Update(a); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;

  ASSERT_OK(Tx([](Transaction& tx) { return tx.accounts().Delete("MYACCT"); }));
  got = store_->ReadResult(
      [](Transaction& tx) { return tx.accounts().Get("myacct"); });
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
}

TEST_F(AccountReposTest, NamesAreUniqueIgnoringCaseAndNeedAGroup) {
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.accounts().Create(MakeAccount("u1", "acct"));
  }));
  Status s = Tx([](Transaction& tx) {
    return tx.accounts().Create(MakeAccount("u2", "ACCT"));
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s;
  Account orphan = MakeAccount("u3", "other");
  orphan.resource_group = "nope";
  s = Tx([&](Transaction& tx) { return tx.accounts().Create(orphan); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
}

TEST_F(AccountReposTest, ObjectsListInOrderWithFiltersAndGoWithTheAccount) {
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.accounts().Create(MakeAccount("u1", "a1")));
    for (int i = 0; i < 5; ++i) {
      auto seq = tx.objects().Create(MakeObject(
          "u1", "file-" + std::to_string(i), i % 2 ? "fine-tune" : "batch"));
      if (!seq.ok()) return seq.status();
    }
    return Status::Ok();
  }));
  auto all = store_->ReadResult(
      [](Transaction& tx) { return tx.objects().List("u1", {.limit = 10}); });
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[0].id, "file-0");
  EXPECT_LT((*all)[0].seq, (*all)[1].seq);

  auto page = store_->ReadResult([&](Transaction& tx) {
    return tx.objects().List(
        "u1", {.after_seq = (*all)[1].seq, .ascending = true, .limit = 2});
  });
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "file-2");

  auto desc = store_->ReadResult([&](Transaction& tx) {
    return tx.objects().List("u1", {.purpose = "fine-tune",
                                    .after_seq = (*all)[4].seq,
                                    .ascending = false});
  });
  ASSERT_TRUE(desc.ok());
  ASSERT_EQ(desc->size(), 2u);
  EXPECT_EQ((*desc)[0].id, "file-3");
  EXPECT_EQ((*desc)[1].id, "file-1");

  Status dup = Tx([](Transaction& tx) {
    return tx.objects().Create(MakeObject("u1", "file-0", "batch")).status();
  });
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists) << dup;

  ASSERT_OK(
      Tx([](Transaction& tx) { return tx.objects().Delete("u1", "file-0"); }));
  auto count = store_->ReadResult(
      [](Transaction& tx) { return tx.objects().Count("u1"); });
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 4);

  ASSERT_OK(Tx([](Transaction& tx) { return tx.accounts().Delete("a1"); }));
  auto blobs = store_->ReadResult(
      [](Transaction& tx) { return tx.objects().ListBlobs(); });
  ASSERT_TRUE(blobs.ok());
  EXPECT_TRUE(blobs->empty());
}

}  // namespace
}  // namespace atrest::store
