// Transactions, concurrency, durability, migrations and the database file of
// SqliteStore.
#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "store/store_test_util.h"

namespace atrest::store {
namespace {

using SqliteStoreTest = StoreTest;

Result<Tenant> GetTenant(Store& store, const std::string& id) {
  return store.ReadResult(
      [&](Transaction& tx) { return tx.tenants().Get(id); });
}

TEST_F(SqliteStoreTest, ErrorFromCallbackRollsBackEverything) {
  Status s = Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s1", "t1")));
    return InvalidArgumentError("changed my mind");
  });
  EXPECT_EQ(s, InvalidArgumentError("changed my mind"));
  EXPECT_EQ(GetTenant(*store_, "t1").status().code(), StatusCode::kNotFound);

  // A failed statement in the middle also leaves nothing behind when the
  // callback passes the error on.
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t0")); }));
  s = Tx([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t2")));
    return tx.tenants().Create(MakeTenant("t0"));
  });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(GetTenant(*store_, "t2").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, NestedTransactionIsRefused) {
  Status inner;
  ASSERT_OK(Tx([&](Transaction&) {
    inner = store_->Read([](Transaction&) { return Status::Ok(); });
    return Status::Ok();
  }));
  EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition);
}

// Four threads each add their own tag to one resource group by read-modify-
// write, and create their own tenants. Serializable transactions lose none.
void RunWriters(const std::array<Store*, 4>& stores) {
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &stores] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string n = std::to_string(t) + "-" + std::to_string(i);
        Status s = stores[t]->Transact([&](Transaction& tx) -> Status {
          ResourceGroupRepo& groups = tx.resource_groups();
          ASSIGN_OR_RETURN(ResourceGroup g, groups.Get("s1", "shared"));
          g.tags["k" + n] = n;
          RETURN_IF_ERROR(groups.SetTags("s1", "shared", g.tags));
          return tx.tenants().Create(MakeTenant("w" + n));
        });
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

void ExpectAllWritten(Store& store) {
  auto g = store.ReadResult(
      [](Transaction& tx) { return tx.resource_groups().Get("s1", "shared"); });
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->tags.size(), 100u);
  auto tenants =
      store.ReadResult([](Transaction& tx) { return tx.tenants().List(); });
  ASSERT_TRUE(tenants.ok());
  EXPECT_EQ(tenants->size(), 101u);
}

Status Seed(Store& store) {
  return store.Transact([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    RETURN_IF_ERROR(tx.subscriptions().Create(MakeSubscription("s1", "t1")));
    return tx.resource_groups().Create(MakeGroup("s1", "shared", "x"));
  });
}

TEST_F(SqliteStoreTest, ConcurrentWritersAllCommit) {
  ASSERT_OK(Seed(*store_));
  Store* s = store_.get();
  RunWriters({s, s, s, s});
  ExpectAllWritten(*store_);
}

// Separate SqliteStore objects on one file contend as separate processes
// would: through SQLite's file locks, busy timeout and retries.
TEST_F(SqliteStoreTest, WritersThroughSeparateStoresAllCommit) {
  ASSERT_OK(Seed(*store_));
  auto other = SqliteStore::Open(Options());
  ASSERT_TRUE(other.ok()) << other.status();
  Store* a = store_.get();
  Store* b = other->get();
  RunWriters({a, b, a, b});
  ExpectAllWritten(*store_);
}

TEST_F(SqliteStoreTest, BusyBeyondRetriesIsAborted) {
  SqliteStoreOptions impatient = Options();
  impatient.busy_timeout = std::chrono::milliseconds(0);
  impatient.max_attempts = 3;
  auto other = SqliteStore::Open(impatient);
  ASSERT_TRUE(other.ok()) << other.status();

  std::promise<void> holding;
  std::promise<void> release;
  std::thread holder([&] {
    Status s = Tx([&](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("held")));
      holding.set_value();
      release.get_future().wait();
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s;
  });
  holding.get_future().wait();
  int calls = 0;
  Status s = (*other)->Transact([&](Transaction& tx) {
    ++calls;
    return tx.tenants().Create(MakeTenant("blocked"));
  });
  release.set_value();
  holder.join();
  EXPECT_EQ(s.code(), StatusCode::kAborted) << s;
  EXPECT_EQ(calls, 0);  // BEGIN IMMEDIATE failed before the callback ran.
  EXPECT_TRUE(GetTenant(*store_, "held").ok());
  EXPECT_EQ(GetTenant(*store_, "blocked").status().code(),
            StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, DataSurvivesReopen) {
  const SigningKey key{"t1", "kid", 1, 2, {0, 1, 2}};
  ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.tenants().Create(MakeTenant("t1")));
    return tx.signing_keys().Add(key);
  }));
  ASSERT_OK(Reopen());
  auto got = store_->ReadResult(
      [](Transaction& tx) { return tx.signing_keys().Get("t1", "kid"); });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, key);
  EXPECT_EQ(store_->schema_version(), LatestSchemaVersion());
}

TEST_F(SqliteStoreTest, FilesAreOwnerOnly) {
  ASSERT_OK(Tx(
      [](Transaction& tx) { return tx.tenants().Create(MakeTenant("t1")); }));
  EXPECT_EQ(store_->path(), dir_->Join(SqliteStore::kFileName));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st;
    const std::string path = store_->path() + suffix;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
}

TEST_F(SqliteStoreTest, OpensEmptyFileAndMigratesIt) {
  store_.reset();
  auto empty = env::ScopedTempDir::Create();
  ASSERT_TRUE(empty.ok());
  std::ofstream(empty->Join(SqliteStore::kFileName)).close();
  SqliteStoreOptions o = Options();
  o.data_dir = empty->path();
  auto opened = SqliteStore::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->schema_version(), LatestSchemaVersion());
}

// The real migrations plus one that a newer binary might add.
std::vector<Migration> WithExtra(std::string_view sql) {
  std::vector<Migration> all(Migrations().begin(), Migrations().end());
  all.push_back({LatestSchemaVersion() + 1, "extra", sql});
  return all;
}
const std::vector<Migration> kWithExtra =
    WithExtra("CREATE TABLE extra (id TEXT NOT NULL PRIMARY KEY);");
const int kNext = LatestSchemaVersion() + 1;

TEST_F(SqliteStoreTest, MigratesForwardAndRefusesNewerSchema) {
  SqliteStoreOptions newer = Options();
  newer.migrations = kWithExtra;
  ASSERT_OK(Reopen(newer));
  EXPECT_EQ(store_->schema_version(), kNext);
  ASSERT_OK(Reopen(newer));  // Already current: nothing to do.
  EXPECT_EQ(store_->schema_version(), kNext);

  Status s = Reopen();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("has schema version " + std::to_string(kNext) +
                             ", newer than version " +
                             std::to_string(LatestSchemaVersion())),
            std::string::npos)
      << s;
}

TEST_F(SqliteStoreTest, FailedMigrationLeavesPreviousVersion) {
  const std::vector<Migration> broken_list = WithExtra(
      "CREATE TABLE extra (id TEXT NOT NULL PRIMARY KEY); "
      "INSERT INTO no_such_table VALUES (1);");
  SqliteStoreOptions broken = Options();
  broken.migrations = broken_list;
  Status s = Reopen(broken);
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s;
  EXPECT_EQ(s.message().find("no_such_table"), std::string::npos) << s;
  EXPECT_EQ(store_, nullptr);
  // The half-applied migration was rolled back: the good one creates the
  // same table without conflict.
  SqliteStoreOptions fixed = Options();
  fixed.migrations = kWithExtra;
  ASSERT_OK(Reopen(fixed));
  EXPECT_EQ(store_->schema_version(), kNext);
}

TEST_F(SqliteStoreTest, RejectsMissingDirAndForeignFiles) {
  SqliteStoreOptions o = Options();
  o.data_dir = dir_->Join("missing");
  EXPECT_EQ(SqliteStore::Open(o).status().code(), StatusCode::kNotFound);

  auto junk = env::ScopedTempDir::Create();
  ASSERT_TRUE(junk.ok());
  std::ofstream(junk->Join(SqliteStore::kFileName))
      << "this is not a database, but it is long enough to have a header";
  o.data_dir = junk->path();
  EXPECT_EQ(SqliteStore::Open(o).status().code(), StatusCode::kDataLoss);

  o = Options();
  o.max_connections = 0;
  EXPECT_EQ(SqliteStore::Open(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace atrest::store
