// The database's files on disk: deleted key material is shredded from the
// WAL, and a full disk refuses writes but not reads, also across a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/store_test_util.h"

namespace atrest::store {
namespace {

// Regular files under `dir` that contain `needle`.
std::vector<std::string> FilesHolding(const std::string& dir,
                                      const Bytes& needle) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string content((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    const std::string n(needle.begin(), needle.end());
    if (content.find(n) != std::string::npos) {
      out.push_back(entry.path().filename().string());
    }
  }
  return out;
}

uint64_t SizeOf(const std::string& path) {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

Bytes Random(size_t n) {
  Bytes b(n);
  env::Env::Default().random().Fill(b);
  return b;
}

class SqliteDiskTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK(Reopen(DiskOptions()));
    ASSERT_OK(Tx([](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
      RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s1", "t1")));
      return tx.resource_groups().Create(MakeGroup("s1", "rg", "westeurope"));
    }));
  }

  SqliteStoreOptions DiskOptions() {
    SqliteStoreOptions o = Options();
    // Shared: the store may ask while it closes, after this fixture is gone.
    o.simulate_full_disk = [full = full_] { return full->load(); };
    // Readers in the way are waited for briefly in these tests.
    o.busy_timeout = std::chrono::milliseconds(50);
    o.max_attempts = 2;
    return o;
  }

  Account MakeAccount(const std::string& uid, Bytes wrapped_aek) {
    return Account{.uid = uid,
                   .name = "acct-" + uid,
                   .subscription_id = "s1",
                   .resource_group = "rg",
                   .location = "westeurope",
                   .kind = "OpenAI",
                   .sku = "S0",
                   .tags_json = "{}",
                   .properties_json = "{}",
                   .sealed_api_keys = Bytes{1, 2},
                   .encryption_json = "{}",
                   .kek_json = R"({"source":"service"})",
                   .wrapped_aek = std::move(wrapped_aek),
                   .key_status_json = "{}",
                   .created_at = 100,
                   .updated_at = 100};
  }

  StoredObject MakeObject(const std::string& account, const std::string& id,
                          Bytes wrapped_dek) {
    return StoredObject{.account_uid = account,
                        .id = id,
                        .kind = "file",
                        .purpose = "assistants",
                        .filename = id + ".txt",
                        .bytes = 10,
                        .status = "processed",
                        .created_at = 200,
                        .wrapped_dek = std::move(wrapped_dek),
                        .blob = account + "/" + id};
  }

  std::string Wal() const { return store_->path() + "-wal"; }
  std::string Shm() const { return store_->path() + "-shm"; }

  std::shared_ptr<std::atomic<bool>> full_ =
      std::make_shared<std::atomic<bool>>(false);
};

TEST_F(SqliteDiskTest, DeletingAnObjectShredsItsWrappedKeyFromTheWal) {
  const Bytes dek = Random(60);
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.accounts().Create(MakeAccount("u1", Random(48))));
    return tx.objects().Create(MakeObject("u1", "file-1", dek)).status();
  }));
  // The scan can see the key while the row exists (in the WAL).
  ASSERT_FALSE(FilesHolding(dir_->path(), dek).empty());
  ASSERT_OK(
      Tx([](Transaction& tx) { return tx.objects().Delete("u1", "file-1"); }));
  EXPECT_EQ(FilesHolding(dir_->path(), dek), std::vector<std::string>{});
  EXPECT_FALSE(store_->shred_pending());
  EXPECT_EQ(SizeOf(Wal()), 0u);
}

TEST_F(SqliteDiskTest, DeletingAnAccountShredsItsKeyAndItsObjectsKeys) {
  const Bytes aek = Random(48);
  const Bytes dek1 = Random(60), dek2 = Random(60);
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.accounts().Create(MakeAccount("u1", aek)));
    RETURN_IF_ERROR(tx.objects().Create(MakeObject("u1", "f1", dek1)).status());
    return tx.objects().Create(MakeObject("u1", "f2", dek2)).status();
  }));
  // Some checkpoints in between: the keys are in the database file too.
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t2")); }));
  ASSERT_OK(
      Tx([](Transaction& tx) { return tx.accounts().Delete("acct-u1"); }));
  for (const Bytes* key : {&aek, &dek1, &dek2}) {
    EXPECT_EQ(FilesHolding(dir_->path(), *key), std::vector<std::string>{});
  }
}

TEST_F(SqliteDiskTest, ARewrappedAccountKeyLeavesNoOldCopy) {
  const Bytes old_aek = Random(48);
  Account a = MakeAccount("u1", old_aek);
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.accounts().Create(a); }));
  ASSERT_FALSE(FilesHolding(dir_->path(), old_aek).empty());
  a.wrapped_aek = Random(48);
  ASSERT_OK(Tx([&](Transaction& tx) { return tx.accounts().Update(a); }));
  EXPECT_EQ(FilesHolding(dir_->path(), old_aek), std::vector<std::string>{});
  EXPECT_FALSE(FilesHolding(dir_->path(), a.wrapped_aek).empty());
}

// A reader holding an old snapshot keeps the WAL from being truncated; the
// shred stays owed and the next write transaction after it ends pays it.
TEST_F(SqliteDiskTest, AShredHeldOffByAReaderIsRetried) {
  const Bytes dek = Random(60);
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.accounts().Create(MakeAccount("u1", Random(48))));
    return tx.objects().Create(MakeObject("u1", "file-1", dek)).status();
  }));
  std::promise<void> reading, release;
  std::future<void> released = release.get_future();
  std::thread reader([&] {
    Status s = store_->Read([&](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.tenants().List().status());  // Takes a snapshot.
      reading.set_value();
      released.wait();
      return Status::Ok();
    });
    EXPECT_OK(s);
  });
  reading.get_future().wait();
  ASSERT_OK(
      Tx([](Transaction& tx) { return tx.objects().Delete("u1", "file-1"); }));
  EXPECT_TRUE(store_->shred_pending());
  release.set_value();
  reader.join();
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t2")); }));
  EXPECT_FALSE(store_->shred_pending());
  EXPECT_EQ(FilesHolding(dir_->path(), dek), std::vector<std::string>{});
}

TEST_F(SqliteDiskTest, AFullDiskRefusesWritesWithInsufficientStorage) {
  ASSERT_OK(Tx([&](Transaction& tx) {
    return tx.accounts().Create(MakeAccount("u1", Random(48)));
  }));
  *full_ = true;
  // Enough rows to need new pages in the WAL.
  Status s = Tx([&](Transaction& tx) -> Status {
    for (int i = 0; i < 200; ++i) {
      RETURN_IF_ERROR(
          tx.objects()
              .Create(MakeObject("u1", "f" + std::to_string(i), Random(60)))
              .status());
    }
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInsufficientStorage) << s;
  EXPECT_EQ(s.message().find(dir_->path()), std::string::npos) << s;
  EXPECT_NE(s.message().find("out of disk space"), std::string::npos) << s;
  // Nothing of it persists; reads go on.
  auto listed = store_->ReadResult(
      [](Transaction& tx) { return tx.objects().List("u1", {}); });
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty());
  *full_ = false;
  ASSERT_OK(Tx([&](Transaction& tx) {
    return tx.objects().Create(MakeObject("u1", "f0", Random(60))).status();
  }));
}

// The -wal and -shm files outlive the store, so that opening it again on a
// full disk needs no new space: it opens, reads and refuses writes.
TEST_F(SqliteDiskTest, OpensOnAFullDiskAndServesReads) {
  ASSERT_OK(Tx([&](Transaction& tx) {
    return tx.accounts().Create(MakeAccount("u1", Random(48)));
  }));
  const std::string wal = Wal(), shm = Shm();
  store_.reset();
  EXPECT_TRUE(std::filesystem::exists(shm));
  EXPECT_TRUE(std::filesystem::exists(wal));
  EXPECT_EQ(SizeOf(wal), 0u);  // Checkpointed and truncated at close.
  *full_ = true;
  ASSERT_OK(Reopen(DiskOptions()));
  auto got = store_->ReadResult(
      [](Transaction& tx) { return tx.accounts().GetByUid("u1"); });
  ASSERT_TRUE(got.ok()) << got.status();
  Status s =
      Tx([](Transaction& tx) { return tx.tenants().Create(MakeTenant("t2")); });
  EXPECT_EQ(s.code(), StatusCode::kInsufficientStorage) << s;
  *full_ = false;
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t2")); }));
}

// On a full disk a store that was never opened before cannot be made; the
// error says so in the distinct status.
TEST_F(SqliteDiskTest, ANewDatabaseOnAFullDiskIsInsufficientStorage) {
  auto other = env::ScopedTempDir::Create();
  ASSERT_TRUE(other.ok());
  SqliteStoreOptions o = DiskOptions();
  o.data_dir = other->path();
  *full_ = true;
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(o);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInsufficientStorage)
      << opened.status();
}

}  // namespace
}  // namespace atrest::store
