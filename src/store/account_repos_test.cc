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

TEST_F(AccountReposTest, ObjectMetaRoundTrips) {
  StoredObject o = MakeObject("u1", "ftchkpt-1", "ftjob-1");
  o.kind = "checkpoint";
  o.meta_json = R"({"step":3})";
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.accounts().Create(MakeAccount("u1", "a1")));
    return tx.objects().Create(o).status();
  }));
  auto back = store_->ReadResult(
      [](Transaction& tx) { return tx.objects().Get("u1", "ftchkpt-1"); });
  ASSERT_OK(back);
  EXPECT_EQ(back->meta_json, R"({"step":3})");
  auto files = store_->ReadResult(
      [](Transaction& tx) { return tx.objects().List("u1", {.limit = 10}); });
  ASSERT_OK(files);
  EXPECT_TRUE(files->empty());  // Lists of files do not show checkpoints.
}

TEST_F(AccountReposTest, JobsQueueClaimAndEvents) {
  auto job = [](const std::string& id) {
    return FineTuningJobRow{.account_uid = "u1",
                            .id = id,
                            .status = "pending",
                            .job_json = "{}",
                            .updated_at = 1};
  };
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.accounts().Create(MakeAccount("u1", "a1")));
    for (const char* id : {"ftjob-a", "ftjob-b", "ftjob-c"}) {
      RETURN_IF_ERROR(tx.jobs().Create(job(id)).status());
    }
    return Status::Ok();
  }));
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.jobs().Create(job("ftjob-a")).status();
            }).code(),
            StatusCode::kAlreadyExists);
  FineTuningJobRow other = job("ftjob-x");
  other.account_uid = "nobody";
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.jobs().Create(other).status();
            }).code(),
            StatusCode::kNotFound);

  // Oldest pending first; a claim succeeds once.
  auto pending = store_->ReadResult(
      [](Transaction& tx) { return tx.jobs().ListByStatus("pending", 10); });
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].id, "ftjob-a");
  FineTuningJobRow claimed = (*pending)[0];
  claimed.status = "running";
  ASSERT_OK(Tx(
      [&](Transaction& tx) { return tx.jobs().Update(claimed, "pending"); }));
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.jobs().Update(claimed, "pending");
            }).code(),
            StatusCode::kAborted);
  FineTuningJobRow missing = job("ftjob-none");
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tx.jobs().Update(missing, "pending");
            }).code(),
            StatusCode::kNotFound);

  // Newest first, paged by seq.
  auto all = store_->ReadResult(
      [](Transaction& tx) { return tx.jobs().List("u1", 0, 10); });
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "ftjob-c");
  EXPECT_EQ((*all)[2].status, "running");
  auto older = store_->ReadResult(
      [&](Transaction& tx) { return tx.jobs().List("u1", (*all)[0].seq, 1); });
  ASSERT_OK(older);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].id, "ftjob-b");

  // Events, newest first; they go with their job.
  ASSERT_OK(Tx([](Transaction& tx) -> Status {
    for (int i = 0; i < 3; ++i) {
      RETURN_IF_ERROR(tx.jobs()
                          .AddEvent({.account_uid = "u1",
                                     .job_id = "ftjob-a",
                                     .event_json = std::to_string(i)})
                          .status());
    }
    return Status::Ok();
  }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.jobs()
                  .AddEvent({.account_uid = "u1",
                             .job_id = "ftjob-none",
                             .event_json = "{}"})
                  .status();
            }).code(),
            StatusCode::kNotFound);
  auto events = store_->ReadResult([](Transaction& tx) {
    return tx.jobs().ListEvents("u1", "ftjob-a", 0, 2);
  });
  ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event_json, "2");
  auto rest = store_->ReadResult([&](Transaction& tx) {
    return tx.jobs().ListEvents("u1", "ftjob-a", (*events)[1].seq, 10);
  });
  ASSERT_OK(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].event_json, "0");

  ASSERT_OK(
      Tx([](Transaction& tx) { return tx.jobs().Delete("u1", "ftjob-a"); }));
  auto gone = store_->ReadResult([](Transaction& tx) {
    return tx.jobs().ListEvents("u1", "ftjob-a", 0, 10);
  });
  ASSERT_OK(gone);
  EXPECT_TRUE(gone->empty());
  ASSERT_OK(Tx([](Transaction& tx) { return tx.accounts().Delete("a1"); }));
  auto none = store_->ReadResult(
      [](Transaction& tx) { return tx.jobs().List("u1", 0, 10); });
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(AccountReposTest, DeploymentsPutGetListDelete) {
  ASSERT_OK(Tx([](Transaction& tx) {
    return tx.accounts().Create(MakeAccount("u1", "a1"));
  }));
  DeploymentRow d{.account_uid = "u1",
                  .name = "Chat",
                  .model_id = "m1",
                  .deployment_json = "{}",
                  .created_at = 5,
                  .updated_at = 5};
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.deployments().Put(d); }));
  d.model_id = "m2";
  d.updated_at = 6;
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.deployments().Put(d); }));
  auto got = store_->ReadResult(
      [](Transaction& tx) { return tx.deployments().Get("u1", "CHAT"); });
  ASSERT_OK(got);
  EXPECT_EQ(got->model_id, "m2");
  EXPECT_EQ(got->name, "Chat");
  EXPECT_EQ(got->created_at, 5);
  EXPECT_EQ(got->updated_at, 6);
  DeploymentRow other = d;
  other.account_uid = "nobody";
  EXPECT_EQ(
      Tx([&](Transaction& tx) { return tx.deployments().Put(other); }).code(),
      StatusCode::kNotFound);
  auto all = store_->ReadResult(
      [](Transaction& tx) { return tx.deployments().ListAll(); });
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.deployments().Delete("u1", "chat"); }));
  EXPECT_EQ(Tx([](Transaction& tx) {
              return tx.deployments().Delete("u1", "chat");
            }).code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace atrest::store
