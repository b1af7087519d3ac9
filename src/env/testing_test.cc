// Tests of the test doubles themselves: if a fake lies, every test built on
// it lies too.
#include "env/testing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

namespace atrest::env {
namespace {

using Op = FaultInjectionFileSystem::Op;
using ::testing::HasSubstr;
using namespace std::chrono_literals;  // NOLINT(build/namespaces)

TEST(FakeClockTest, StartsAtDefaultAndAdvancesBothClocks) {
  FakeClock clock;
  EXPECT_EQ(std::chrono::system_clock::to_time_t(clock.Now()), 1767225600);
  const MonoTime mono0 = clock.Monotonic();
  EXPECT_NE(mono0, MonoTime());
  clock.Advance(90s);
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart() + 90s);
  EXPECT_EQ(clock.Monotonic(), mono0 + 90s);
  clock.SetWallTime(FakeClock::DefaultStart() - 1h);
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStart() - 1h);
  EXPECT_EQ(clock.Monotonic(), mono0 + 90s);  // Unaffected by the step.
}

TEST(FakeClockTest, ConcurrentAdvancesAllCount) {
  FakeClock clock(WallTime() + 5s);
  const MonoTime mono0 = clock.Monotonic();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) clock.Advance(1ms);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(clock.Now(), WallTime() + 5s + 4s);
  EXPECT_EQ(clock.Monotonic(), mono0 + 4s);
}

TEST(SeededRandomTest, SameSeedSameBytes) {
  SeededRandom a(42), b(42), c(43);
  uint8_t x[13], y[13], z[13];
  a.Fill(x);
  b.Fill(y);
  c.Fill(z);
  EXPECT_EQ(HexEncode(x), HexEncode(y));
  EXPECT_NE(HexEncode(x), HexEncode(z));
  EXPECT_EQ(a.NextU64(), b.NextU64());
  EXPECT_NE(a.NextU64(), a.NextU64());
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<ScopedTempDir>(std::move(*dir));
  }

  std::string Path(const std::string& name) const { return dir_->Join(name); }

  // Content on the real disk, bypassing the wrapper; "<absent>" if missing.
  std::string OnDisk(const std::string& path) {
    if (!real_.Exists(path)) return "<absent>";
    auto bytes = ReadFile(real_, path);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? std::string(AsString(*bytes)) : "<error>";
  }

  std::unique_ptr<WritableFile> Open(const std::string& path) {
    auto file = fs_.NewWritableFile(path);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(*file) : nullptr;
  }

  FileSystem& real_ = Env::Default().fs();
  FaultInjectionFileSystem fs_{real_};
  std::unique_ptr<ScopedTempDir> dir_;
};

const Status kInjected = InternalError("injected");

TEST_F(FaultInjectionTest, FailNextFailsOnceWithoutSideEffects) {
  auto writer = Open(Path("a"));
  ASSERT_EQ(writer->Append(AsBytes("abc")), Status::Ok());

  fs_.FailNext(Op::kOpen, kInjected);
  EXPECT_EQ(fs_.NewWritableFile(Path("b")).status(), kInjected);
  EXPECT_FALSE(real_.Exists(Path("b")));
  fs_.FailNext(Op::kOpen, kInjected);
  EXPECT_EQ(fs_.NewSequentialFile(Path("a")).status(), kInjected);

  fs_.FailNext(Op::kAppend, kInjected);
  EXPECT_EQ(writer->Append(AsBytes("def")), kInjected);
  EXPECT_EQ(writer->Append(AsBytes("ghi")), Status::Ok());
  EXPECT_EQ(OnDisk(Path("a")), "abcghi");

  fs_.FailNext(Op::kSync, kInjected);
  EXPECT_EQ(writer->Sync(), kInjected);
  EXPECT_EQ(writer->Sync(), Status::Ok());
  ASSERT_EQ(writer->Close(), Status::Ok());

  fs_.FailNext(Op::kRename, kInjected);
  EXPECT_EQ(fs_.Rename(Path("a"), Path("b")), kInjected);
  EXPECT_TRUE(real_.Exists(Path("a")));
  EXPECT_FALSE(real_.Exists(Path("b")));

  fs_.FailNext(Op::kRemove, kInjected);
  EXPECT_EQ(fs_.Remove(Path("a")), kInjected);
  EXPECT_TRUE(real_.Exists(Path("a")));

  fs_.FailNext(Op::kSyncDir, kInjected);
  EXPECT_EQ(fs_.SyncDir(dir_->path()), kInjected);
  EXPECT_EQ(fs_.SyncDir(dir_->path()), Status::Ok());

  auto reader = fs_.NewRandomAccessFile(Path("a"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  uint8_t buf[3];
  fs_.FailNext(Op::kRead, kInjected);
  EXPECT_EQ((*reader)->ReadAt(0, buf).status(), kInjected);
  auto n = (*reader)->ReadAt(0, buf);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(AsString(ByteView(buf, *n)), "abc");

  EXPECT_EQ(fs_.calls(Op::kOpen), 4);
  EXPECT_EQ(fs_.calls(Op::kAppend), 3);
  EXPECT_EQ(fs_.calls(Op::kSync), 2);
  EXPECT_EQ(fs_.calls(Op::kRename), 1);
  EXPECT_EQ(fs_.calls(Op::kRemove), 1);
  EXPECT_EQ(fs_.calls(Op::kSyncDir), 2);
  EXPECT_EQ(fs_.calls(Op::kRead), 2);
}

TEST_F(FaultInjectionTest, WriteBudgetWritesWhatFitsThenFails) {
  fs_.SetWriteBudget(10);
  auto a = Open(Path("a"));
  auto b = Open(Path("b"));
  ASSERT_EQ(a->Append(AsBytes("123456")), Status::Ok());
  Status s = b->Append(AsBytes("abcdef"));
  EXPECT_EQ(s.code(), StatusCode::kInsufficientStorage);
  EXPECT_EQ(s.message(), "write: out of disk space");
  EXPECT_EQ(OnDisk(Path("b")), "abcd");  // The part that fitted.
  EXPECT_EQ(a->Append(AsBytes("7")).code(), StatusCode::kInsufficientStorage);
  EXPECT_EQ(OnDisk(Path("a")), "123456");
  fs_.ClearWriteBudget();
  EXPECT_EQ(a->Append(AsBytes("7")), Status::Ok());
  EXPECT_EQ(OnDisk(Path("a")), "1234567");
}

TEST_F(FaultInjectionTest, CrashDropsUnsyncedTail) {
  auto file = Open(Path("log"));
  ASSERT_EQ(fs_.SyncDir(dir_->path()), Status::Ok());
  ASSERT_EQ(file->Append(AsBytes("synced|")), Status::Ok());
  ASSERT_EQ(file->Sync(), Status::Ok());
  ASSERT_EQ(file->Append(AsBytes("lost")), Status::Ok());
  EXPECT_EQ(OnDisk(Path("log")), "synced|lost");
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("log")), "synced|");
  // Handles from before the crash are dead.
  EXPECT_EQ(file->Append(AsBytes("x")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(OnDisk(Path("log")), "synced|");
}

TEST_F(FaultInjectionTest, CrashDropsFileWhoseCreationWasNotDirSynced) {
  auto file = Open(Path("new"));
  ASSERT_EQ(file->Append(AsBytes("data")), Status::Ok());
  ASSERT_EQ(file->Sync(), Status::Ok());
  ASSERT_EQ(file->Close(), Status::Ok());
  ASSERT_EQ(fs_.SyncDir(Path("other")).code(), StatusCode::kNotFound);
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("new")), "<absent>");
}

TEST_F(FaultInjectionTest, CrashKeepsSyncedAndDirSyncedFile) {
  auto file = Open(Path("kept"));
  ASSERT_EQ(file->Append(AsBytes("all of it")), Status::Ok());
  ASSERT_EQ(file->Sync(), Status::Ok());
  ASSERT_EQ(file->Close(), Status::Ok());
  ASSERT_EQ(fs_.SyncDir(dir_->path() + "/"), Status::Ok());
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("kept")), "all of it");
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());  // Nothing left to undo.
  EXPECT_EQ(OnDisk(Path("kept")), "all of it");
}

TEST_F(FaultInjectionTest, CrashUndoesUnsyncedRenameAndRemove) {
  ASSERT_EQ(WriteFileAtomically(fs_, Path("a"), AsBytes("A")), Status::Ok());
  ASSERT_EQ(WriteFileAtomically(fs_, Path("b"), AsBytes("B")), Status::Ok());
  ASSERT_EQ(WriteFileAtomically(fs_, Path("c"), AsBytes("C")), Status::Ok());
  ASSERT_EQ(fs_.Rename(Path("a"), Path("b")), Status::Ok());
  ASSERT_EQ(fs_.Remove(Path("c")), Status::Ok());
  EXPECT_EQ(OnDisk(Path("a")), "<absent>");
  EXPECT_EQ(OnDisk(Path("b")), "A");
  EXPECT_EQ(OnDisk(Path("c")), "<absent>");
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("a")), "A");
  EXPECT_EQ(OnDisk(Path("b")), "B");
  EXPECT_EQ(OnDisk(Path("c")), "C");

  // The same changes followed by SyncDir survive.
  ASSERT_EQ(fs_.Rename(Path("a"), Path("b")), Status::Ok());
  ASSERT_EQ(fs_.Remove(Path("c")), Status::Ok());
  ASSERT_EQ(fs_.SyncDir(dir_->path()), Status::Ok());
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("a")), "<absent>");
  EXPECT_EQ(OnDisk(Path("b")), "A");
  EXPECT_EQ(OnDisk(Path("c")), "<absent>");
}

TEST_F(FaultInjectionTest, CrossDirectoryRenameNeedsBothDirsSynced) {
  ASSERT_EQ(fs_.CreateDirs(Path("x")), Status::Ok());
  ASSERT_EQ(fs_.CreateDirs(Path("y")), Status::Ok());
  auto file = Open(Path("x/f"));
  ASSERT_EQ(file->Append(AsBytes("F")), Status::Ok());
  ASSERT_EQ(file->Sync(), Status::Ok());
  ASSERT_EQ(fs_.SyncDir(Path("x")), Status::Ok());  // Creation durable.
  ASSERT_EQ(fs_.Rename(Path("x/f"), Path("y/f")), Status::Ok());
  ASSERT_EQ(fs_.SyncDir(Path("y")), Status::Ok());  // Only one side.
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("x/f")), "F");
  EXPECT_EQ(OnDisk(Path("y/f")), "<absent>");
}

TEST_F(FaultInjectionTest, TruncatingRewriteWithoutSyncLosesOldContent) {
  ASSERT_EQ(WriteFileAtomically(fs_, Path("f"), AsBytes("old")), Status::Ok());
  auto file = Open(Path("f"));  // In place: the classic mistake.
  ASSERT_EQ(file->Append(AsBytes("new")), Status::Ok());
  ASSERT_EQ(file->Close(), Status::Ok());
  ASSERT_EQ(fs_.SimulateCrash(), Status::Ok());
  EXPECT_EQ(OnDisk(Path("f")), "");
}

}  // namespace
}  // namespace atrest::env
