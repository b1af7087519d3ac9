// AuditWriter: compact records, rate-limited refusals with summaries, the
// bounded queue, and writes retried when the store refuses them.
#include "vault/audit_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status_testing.h"
#include "env/testing.h"
#include "store/sqlite_store.h"

namespace atrest::vault {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AuditWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = env::ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<env::ScopedTempDir>(std::move(*dir));
    store::SqliteStoreOptions o{.data_dir = dir_->path()};
    // Shared: the store may ask while it closes, after this fixture is gone.
    o.simulate_full_disk = [full = full_] { return full->load(); };
    ASSERT_OK_AND_ASSIGN(store_, store::SqliteStore::Open(o));
    ASSERT_OK(store_->Transact([](store::Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.tenants().Create({"t1", "T", 1}));
      RETURN_IF_ERROR(tx.subscriptions().Create(
          {"s1", "t1", "S", store::SubscriptionState::kEnabled, 1}));
      RETURN_IF_ERROR(
          tx.resource_groups().Create({"s1", "rg", "westus", {}, 1}));
      for (const char* name : {"kv1", "kv2"}) {
        RETURN_IF_ERROR(tx.vaults().Create({.name = name,
                                            .subscription_id = "s1",
                                            .resource_group = "rg",
                                            .location = "westus",
                                            .tenant_id = "t1",
                                            .properties_json = "{}",
                                            .sealed_master_key = Bytes{1}}));
      }
      return Status::Ok();
    }));
  }

  std::unique_ptr<AuditWriter> Writer(AuditWriterOptions o = {}) {
    return std::make_unique<AuditWriter>(*store_, clock_, o);
  }

  static store::AuditEvent Call(
      const std::string& vault, const std::string& key,
      const std::string& oid = "attacker", const std::string& ip = "10.0.0.9",
      int status = 403, const std::string& result = "ForbiddenByPolicy") {
    return {.time = 1,
            .vault = vault,
            .caller_tenant_id = "t2",
            .caller_object_id = oid,
            .caller_app_id = "app",
            .client_ip = ip,
            .key_name = key,
            .operation = "KeyGet",
            .result = result,
            .status_code = status};
  }

  std::vector<store::AuditEvent> Events(const std::string& vault) {
    auto events = store_->ReadResult([&](store::Transaction& tx) {
      return tx.audit().List(vault, 0, 1000000);
    });
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<store::AuditEvent>{};
  }

  // Database and WAL bytes.
  uint64_t StoreBytes() {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_->path())) {
      if (e.is_regular_file()) total += e.file_size();
    }
    return total;
  }

  std::unique_ptr<env::ScopedTempDir> dir_;
  std::unique_ptr<store::SqliteStore> store_;
  env::FakeClock clock_;
  std::shared_ptr<std::atomic<bool>> full_ =
      std::make_shared<std::atomic<bool>>(false);
};

TEST_F(AuditWriterTest, CompactFormOfOverlongOrOddNames) {
  EXPECT_EQ(AuditWriter::Compact("key-1", true), "key-1");
  const std::string huge(30000, 'a');
  const std::string c = AuditWriter::Compact(huge, false);
  EXPECT_EQ(c.substr(0, 23), std::string(16, 'a') + "~30000~");
  EXPECT_EQ(c.size(), 23u + 16u);
  EXPECT_NE(c, AuditWriter::Compact(huge + "b", false));
  EXPECT_EQ(AuditWriter::Compact("a/b\n", false).substr(0, 5), "a_b_~");
}

// The review's case: hundreds of refused calls with 30 KB key names add a
// bounded number of bytes, and every call is still accounted for.
TEST_F(AuditWriterTest, RefusedOutsiderCallsAreCompactRateLimitedAndCounted) {
  const uint64_t before = StoreBytes();
  {
    auto writer = Writer({.refused_burst = 10,
                          .vault_refused_burst = 50,
                          .summary_interval = seconds(60)});
    for (int i = 0; i < 300; ++i) {
      writer->Add(Call("kv1", std::string(30000, 'a' + i % 26)), true);
    }
    writer->Flush();
  }
  std::vector<store::AuditEvent> events = Events("kv1");
  ASSERT_EQ(events.size(), 11u);  // 10 admitted + 1 summary.
  int64_t calls = 0;
  for (const store::AuditEvent& e : events) {
    EXPECT_LE(e.key_name.size(), 64u) << e.key_name.substr(0, 80);
    calls += e.count;
  }
  EXPECT_EQ(calls, 300);
  const store::AuditEvent& summary = events.back();
  EXPECT_EQ(summary.operation, AuditWriter::kSummaryOperation);
  EXPECT_EQ(summary.count, 290);
  EXPECT_EQ(summary.result, "ForbiddenByPolicy");
  EXPECT_EQ(summary.status_code, 403);
  EXPECT_EQ(summary.caller_object_id, "attacker");
  EXPECT_TRUE(summary.key_name.empty());
  // Far below the 9 MB the names alone would take.
  EXPECT_LT(StoreBytes() - before, uint64_t{256} << 10)
      << "store grew by " << StoreBytes() - before;
}

TEST_F(AuditWriterTest, BucketsRefillWithTimeAndAreKeptApart) {
  auto writer = Writer({.refused_burst = 2,
                        .refused_refill = milliseconds(1000),
                        .vault_refused_burst = 100,
                        .summary_interval = seconds(60)});
  for (int i = 0; i < 5; ++i) writer->Add(Call("kv1", "k"), true);
  // Another caller from another address has buckets of its own.
  writer->Add(Call("kv1", "k", "other", "10.0.0.10"), true);
  // The same caller from a new address still spends its caller bucket.
  writer->Add(Call("kv1", "k", "attacker", "10.0.0.11"), true);
  clock_.Advance(seconds(1));
  writer->Add(Call("kv1", "k"), true);  // One token back.
  writer->Add(Call("kv1", "k"), true);
  // Authorized calls are never limited.
  for (int i = 0; i < 5; ++i) {
    writer->Add(Call("kv1", "k", "owner", "10.0.0.1", 200, "Success"), false);
  }
  writer->Flush();
  std::vector<store::AuditEvent> events = Events("kv1");
  int individual_refused = 0, success = 0;
  int64_t coalesced = 0;
  for (const store::AuditEvent& e : events) {
    if (e.operation == AuditWriter::kSummaryOperation) {
      coalesced += e.count;
    } else if (e.status_code == 403) {
      ++individual_refused;
    } else {
      ++success;
    }
  }
  EXPECT_EQ(individual_refused, 2 + 1 + 1);  // Burst, other, refill.
  EXPECT_EQ(coalesced, 3 + 1 + 1);
  EXPECT_EQ(success, 5);
}

TEST_F(AuditWriterTest, SummariesWaitForTheirIntervalUnlessFlushed) {
  auto writer = Writer({.flush_interval = milliseconds(10),
                        .refused_burst = 1,
                        .summary_interval = seconds(60)});
  writer->Add(Call("kv1", "k"), true);
  writer->Add(Call("kv1", "k"), true);  // Coalesced.
  // Written in the background, without the summary.
  for (int i = 0; i < 200 && Events("kv1").empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(Events("kv1").size(), 1u);
  clock_.Advance(seconds(61));
  for (int i = 0; i < 200 && Events("kv1").size() < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::vector<store::AuditEvent> events = Events("kv1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].operation, AuditWriter::kSummaryOperation);
  EXPECT_EQ(events[1].count, 1);
}

// While the store refuses writes (a full disk) records stay queued; once
// the queue is full, calls are refused before they run and counted; when
// the disk has room again everything is written, nothing silently lost.
TEST_F(AuditWriterTest, AFullQueueRefusesCallsAndNothingIsLost) {
  *full_ = true;
  auto writer = Writer({.max_queued = 20, .flush_interval = milliseconds(10)});
  int admitted = 0, refused = 0;
  for (int i = 0; i < 50; ++i) {
    store::AuditEvent call = Call("kv1", "k" + std::to_string(i), "owner",
                                  "10.0.0.1", 200, "Success");
    Status s = writer->Admit("kv1", call);
    if (s.ok()) {
      ++admitted;
      writer->Add(call, false);
    } else {
      ++refused;
      EXPECT_EQ(s.code(), StatusCode::kUnavailable);
      EXPECT_EQ(s.reason(), "ServiceUnavailable");
    }
  }
  EXPECT_EQ(admitted, 20);
  EXPECT_EQ(refused, 30);
  writer->Flush();  // Returns although the write failed.
  EXPECT_TRUE(Events("kv1").empty());
  *full_ = false;
  writer->Flush();
  std::vector<store::AuditEvent> events = Events("kv1");
  ASSERT_EQ(events.size(), 21u);
  EXPECT_EQ(events.back().operation, AuditWriter::kSummaryOperation);
  EXPECT_EQ(events.back().result, "AuditQueueFull");
  EXPECT_EQ(events.back().status_code, 503);
  EXPECT_EQ(events.back().count, 30);
  EXPECT_TRUE(writer->Admit("kv1", Call("kv1", "k")).ok());
}

TEST_F(AuditWriterTest, RecordsOfVaultsThatDoNotExistAreSkipped) {
  auto writer = Writer();
  writer->Add(Call("no-such-vault", "k", "o", "1.2.3.4", 200, "Success"),
              false);
  writer->Add(Call(std::string(5000, 'v'), "k", "o", "1.2.3.4", 200, "Success"),
              false);
  writer->Add(Call("kv2", "k", "o", "1.2.3.4", 200, "Success"), false);
  writer->Flush();
  EXPECT_EQ(Events("kv2").size(), 1u);
}

}  // namespace
}  // namespace atrest::vault
