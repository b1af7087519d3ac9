// Tests of WriteFileAtomically and ReadFile, chiefly the crash guarantee:
// whatever step fails, a crash afterwards leaves the old or the new content.
#include "env/env.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "env/testing.h"

namespace atrest::env {
namespace {

using Op = FaultInjectionFileSystem::Op;

const Status kInjected = InternalError("injected");

class AtomicWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<ScopedTempDir>(std::move(*dir));
    path_ = dir_->Join("state");
  }

  // Content on the real disk, bypassing the wrapper; "<absent>" if missing.
  std::string OnDisk() {
    if (!real_.Exists(path_)) return "<absent>";
    auto bytes = ReadFile(real_, path_);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? std::string(AsString(*bytes)) : "<error>";
  }

  std::vector<std::string> Entries() {
    auto names = real_.ListDir(dir_->path());
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>{"<error>"};
  }

  Status Write(std::string_view content) {
    return WriteFileAtomically(fs_, path_, AsBytes(content));
  }

  FileSystem& real_ = Env::Default().fs();
  FaultInjectionFileSystem fs_{real_};
  std::unique_ptr<ScopedTempDir> dir_;
  std::string path_;
};

const std::string kOld = "old content";
const std::string kNew = "the new content, longer than the old";

TEST_F(AtomicWriteTest, SuccessSurvivesCrash) {
  ASSERT_EQ(Write(kOld), Status::Ok());
  ASSERT_EQ(Write(kNew), Status::Ok());
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(), kNew);
  EXPECT_EQ(Entries(), std::vector<std::string>{"state"});
  EXPECT_EQ(fs_.calls(Op::kOpen), 2);
  EXPECT_EQ(fs_.calls(Op::kAppend), 2);
  EXPECT_EQ(fs_.calls(Op::kSync), 2);
  EXPECT_EQ(fs_.calls(Op::kRename), 2);
  EXPECT_EQ(fs_.calls(Op::kSyncDir), 2);
  EXPECT_EQ(fs_.calls(Op::kRemove), 0);
}

struct FailurePoint {
  const char* name;
  Op op;
};

void PrintTo(const FailurePoint& point, std::ostream* os) { *os << point.name; }

class AtomicWriteFailureTest
    : public AtomicWriteTest,
      public ::testing::WithParamInterface<FailurePoint> {};

// The step fails, the writer gives up, the machine loses power.
TEST_P(AtomicWriteFailureTest, CrashAfterFailureLeavesOldContent) {
  ASSERT_EQ(Write(kOld), Status::Ok());
  fs_.FailNext(GetParam().op, kInjected);
  EXPECT_EQ(Write(kNew), kInjected);
  // Before the rename the old file is untouched on disk as well.
  if (GetParam().op != Op::kSyncDir) {
    EXPECT_EQ(OnDisk(), kOld);
  }
  EXPECT_EQ(Entries(), std::vector<std::string>{"state"});  // Temp cleaned.
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(), kOld);
  EXPECT_EQ(Entries(), std::vector<std::string>{"state"});
  // And the next attempt, without a fault, wins for good.
  ASSERT_EQ(Write(kNew), Status::Ok());
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(), kNew);
}

// Same, with no earlier version: the file is absent or complete.
TEST_P(AtomicWriteFailureTest, CrashAfterFailureOnFirstWriteLeavesNoFile) {
  fs_.FailNext(GetParam().op, kInjected);
  EXPECT_EQ(Write(kNew), kInjected);
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(), "<absent>");
  EXPECT_EQ(Entries(), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(
    EachStep, AtomicWriteFailureTest,
    ::testing::Values(FailurePoint{"Open", Op::kOpen},
                      FailurePoint{"Append", Op::kAppend},
                      FailurePoint{"Sync", Op::kSync},
                      FailurePoint{"Rename", Op::kRename},
                      FailurePoint{"SyncDir", Op::kSyncDir}),
    [](const auto& point) { return std::string(point.param.name); });

TEST_F(AtomicWriteTest, FailedCleanupLeavesTempThatCrashRemoves) {
  ASSERT_EQ(Write(kOld), Status::Ok());
  fs_.FailNext(Op::kRename, kInjected);
  fs_.FailNext(Op::kRemove, kInjected);
  EXPECT_EQ(Write(kNew), kInjected);
  EXPECT_EQ(Entries().size(), 2u);  // "state" and the temporary file.
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(), kOld);
  EXPECT_EQ(Entries(), std::vector<std::string>{"state"});
}

TEST_F(AtomicWriteTest, DiskFullAtEveryByteLeavesOldContent) {
  for (uint64_t budget = 0; budget < kNew.size(); ++budget) {
    SCOPED_TRACE("budget " + std::to_string(budget));
    fs_.ClearWriteBudget();
    ASSERT_EQ(Write(kOld), Status::Ok());
    fs_.SetWriteBudget(budget);
    EXPECT_EQ(Write(kNew).code(), StatusCode::kInsufficientStorage);
    EXPECT_EQ(OnDisk(), kOld);
    ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
    EXPECT_EQ(OnDisk(), kOld);
    EXPECT_EQ(Entries(), std::vector<std::string>{"state"});
  }
}

TEST_F(AtomicWriteTest, CrashWithoutSyncDirBringsBackOldContent) {
  // The rename has happened but is not yet durable: the model must not
  // pretend it is, or the SyncDir step would be untested.
  ASSERT_EQ(Write(kOld), Status::Ok());
  fs_.FailNext(Op::kSyncDir, kInjected);
  EXPECT_EQ(Write(kNew), kInjected);
  EXPECT_EQ(OnDisk(), kNew);
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(), kOld);
}

TEST_F(AtomicWriteTest, ReadFileReadsWholeFileAndPropagatesErrors) {
  ASSERT_EQ(Write(""), Status::Ok());
  auto empty = ReadFile(fs_, path_);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());

  std::string big(200 * 1024 + 3, 'z');
  ASSERT_EQ(Write(big), Status::Ok());
  auto read = ReadFile(fs_, path_);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(AsString(*read), big);

  fs_.FailNext(Op::kRead, kInjected);
  EXPECT_EQ(ReadFile(fs_, path_).status(), kInjected);
  fs_.FailNext(Op::kOpen, kInjected);
  EXPECT_EQ(ReadFile(fs_, path_).status(), kInjected);
}

TEST(RandomTest, NextU64UsesFill) {
  SeededRandom a(7), b(7);
  uint8_t bytes[8];
  a.Fill(bytes);
  uint64_t expected;
  std::memcpy(&expected, bytes, sizeof(expected));
  EXPECT_EQ(b.NextU64(), expected);
}

}  // namespace
}  // namespace atrest::env

namespace atrest::env {
namespace {

TEST(RandomTest, NewUuidIsVersion4AndUnique) {
  std::string a = Env::Default().random().NewUuid();
  std::string b = Env::Default().random().NewUuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef-"), std::string::npos);
}

}  // namespace
}  // namespace atrest::env
