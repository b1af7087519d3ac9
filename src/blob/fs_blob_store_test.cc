#include "blob/fs_blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "env/testing.h"

namespace atrest::blob {
namespace {

using ::atrest::env::FaultInjectionFileSystem;
using Op = FaultInjectionFileSystem::Op;

constexpr size_t kBuf = FsBlobStore::kWriteBufferSize;

template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}
const Status& StatusOf(const Status& s) { return s; }

#define ASSERT_OK(expr)                                                \
  do {                                                                 \
    const auto& ok_ = (expr);                                          \
    ASSERT_TRUE(StatusOf(ok_).ok()) << #expr << ": " << StatusOf(ok_); \
  } while (0)

#define BLOB_TEST_CONCAT_INNER_(a, b) a##b
#define BLOB_TEST_CONCAT_(a, b) BLOB_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(BLOB_TEST_CONCAT_(result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(result, lhs, expr)           \
  auto result = (expr);                                         \
  ASSERT_TRUE(result.ok()) << #expr << ": " << result.status(); \
  lhs = std::move(result).value()

// Deterministic bytes that differ between seeds and do not repeat every 256.
Bytes Pattern(size_t n, uint32_t seed = 1) {
  Bytes out(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    out[i] = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

const Status kInjected = InternalError("injected");

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = env::ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<env::ScopedTempDir>(std::move(dir).value());
    root_ = dir_->Join("blobs");
    Reopen();
  }

  // A fresh store on the same root, as after a restart.
  void Reopen() {
    store_.reset();
    ASSERT_OK_AND_ASSIGN(store_, FsBlobStore::Open(fs_, root_));
  }

  // Writes and commits `data` as `name` in appends of `chunk` bytes.
  Status Write(const std::string& name, ByteView data, size_t chunk = 4096) {
    ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, store_->Create(name));
    for (size_t at = 0; at < data.size(); at += chunk) {
      RETURN_IF_ERROR(
          writer->Append(data.subspan(at, std::min(chunk, data.size() - at))));
    }
    if (writer->size() != data.size()) return InternalError("size() is wrong");
    return writer->Commit();
  }

  Result<Bytes> Read(const std::string& name) {
    ASSIGN_OR_RETURN(std::unique_ptr<env::RandomAccessFile> file,
                     store_->Open(name));
    Bytes out(file->Size());
    ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, out));
    if (n != out.size()) return InternalError("short read");
    return out;
  }

  // Entry names in a directory on the real disk; empty when it is absent.
  std::vector<std::string> Entries(const std::string& dir) {
    auto names = real_.ListDir(dir);
    return names.ok() ? std::move(names).value() : std::vector<std::string>();
  }

  std::vector<std::string> List() {
    auto names = store_->List();
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? std::move(names).value() : std::vector<std::string>();
  }

  env::FileSystem& real_ = env::Env::Default().fs();
  FaultInjectionFileSystem fs_{real_};
  std::unique_ptr<env::ScopedTempDir> dir_;
  std::string root_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(FsBlobStoreTest, OpenMakesRootWithMode0700) {
  struct stat st;
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(store_->root_dir(), root_);

  ASSERT_OK_AND_ASSIGN(auto nested,
                       FsBlobStore::Open(fs_, dir_->Join("x/y/blobs/")));
  EXPECT_EQ(nested->root_dir(), dir_->Join("x/y/blobs"));
  EXPECT_TRUE(real_.Exists(dir_->Join("x/y/blobs")));
}

TEST_F(FsBlobStoreTest, OpenRefusesEmptyRootAndFileRoot) {
  EXPECT_EQ(FsBlobStore::Open(fs_, "").status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK(env::WriteFileAtomically(real_, dir_->Join("file"), AsBytes("x")));
  EXPECT_FALSE(FsBlobStore::Open(fs_, dir_->Join("file")).ok());
}

TEST_F(FsBlobStoreTest, RoundTripAcrossManyAppends) {
  const Bytes data = Pattern(2 * kBuf + 12345);
  // Chunk sizes that straddle the buffer boundary in different ways.
  int seed = 0;
  for (size_t chunk :
       {size_t{1} << 10, size_t{4093}, kBuf - 1, kBuf, kBuf + 1, 3 * kBuf}) {
    const std::string name = "a/chunk-" + std::to_string(seed++);
    ASSERT_OK(Write(name, data, chunk));
    ASSERT_OK_AND_ASSIGN(Bytes back, Read(name));
    EXPECT_TRUE(back == data) << name;
  }
}

TEST_F(FsBlobStoreTest, EmptyBlob) {
  ASSERT_OK(Write("a/empty", {}));
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("a/empty"));
  EXPECT_TRUE(back.empty());
  EXPECT_EQ(List(), std::vector<std::string>{"a/empty"});
}

TEST_F(FsBlobStoreTest, OneSegmentNameAndEmptyAppends) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("top"));
  ASSERT_OK(writer->Append({}));
  ASSERT_OK(writer->Append(AsBytes("hello ")));
  ASSERT_OK(writer->Append({}));
  ASSERT_OK(writer->Append(AsBytes("world")));
  EXPECT_EQ(writer->size(), 11u);
  ASSERT_OK(writer->Commit());
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("top"));
  EXPECT_EQ(AsString(back), "hello world");
  EXPECT_TRUE(real_.Exists(root_ + "/top"));
}

TEST_F(FsBlobStoreTest, AppendsAreBufferedAndMemoryIsBounded) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/small"));
  const Bytes piece = Pattern(100);
  for (int i = 0; i < 1000; ++i) ASSERT_OK(writer->Append(piece));
  EXPECT_EQ(fs_.calls(Op::kAppend), 0);  // All still in the buffer.
  ASSERT_OK(writer->Commit());
  EXPECT_EQ(fs_.calls(Op::kAppend), 1);

  // 3 buffers' worth in 4 KiB pieces: one write per full buffer.
  ASSERT_OK(Write("a/large", Pattern(3 * kBuf), 4096));
  EXPECT_EQ(fs_.calls(Op::kAppend), 1 + 3);

  // An append bigger than the buffer is written through in one call.
  ASSERT_OK(Write("a/huge", Pattern(5 * kBuf), 5 * kBuf));
  EXPECT_EQ(fs_.calls(Op::kAppend), 1 + 3 + 1);
}

TEST_F(FsBlobStoreTest, CommittedNameIsAlreadyExists) {
  ASSERT_OK(Write("a/b", AsBytes("first")));
  EXPECT_EQ(store_->Create("a/b").status().code(), StatusCode::kAlreadyExists);
  ASSERT_OK(Write("top", AsBytes("first")));
  EXPECT_EQ(store_->Create("top").status().code(), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("a/b"));
  EXPECT_EQ(AsString(back), "first");
}

TEST_F(FsBlobStoreTest, OfTwoWritersOfOneNameTheFirstToCommitWins) {
  ASSERT_OK_AND_ASSIGN(auto slow, store_->Create("a/b"));
  ASSERT_OK_AND_ASSIGN(auto fast, store_->Create("a/b"));
  ASSERT_OK(slow->Append(AsBytes("slow")));
  ASSERT_OK(fast->Append(AsBytes("fast")));
  ASSERT_OK(fast->Commit());
  Status s = slow->Commit();
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s;
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("a/b"));
  EXPECT_EQ(AsString(back), "fast");
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{"b"});
}

TEST_F(FsBlobStoreTest, InvalidNamesAreRefusedEverywhere) {
  const std::vector<std::string> bad = {
      "",
      ".",
      "..",
      "a/.",
      "a/..",
      "./a",
      "../a",
      "/a",
      "a/",
      "/",
      "a//b",
      "//a",
      "a/b/c",
      "a/b/",
      "a b",
      "a\\b",
      "a~b",
      "a~tmp-0123456789abcdef",
      "a:b",
      "a*",
      "\xc3\xa4",
      std::string("a\0b", 3),
      std::string(129, 'x'),
      "a/" + std::string(129, 'x'),
      std::string(129, 'x') + "/a",
  };
  for (const std::string& name : bad) {
    EXPECT_EQ(store_->Create(name).status().code(),
              StatusCode::kInvalidArgument)
        << name;
    EXPECT_EQ(store_->Open(name).status().code(), StatusCode::kInvalidArgument)
        << name;
    EXPECT_EQ(store_->Delete(name).code(), StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_EQ(Entries(root_), std::vector<std::string>{});
}

TEST_F(FsBlobStoreTest, EdgeOfValidNames) {
  const std::vector<std::string> good = {
      "...",
      ".a",
      "a..b",
      "-",
      "_",
      "A-Z_a.z9",
      std::string(128, 'x'),
      "x/" + std::string(128, 'y'),
  };
  for (const std::string& name : good) {
    ASSERT_OK(Write(name, AsBytes(name)));
    ASSERT_OK_AND_ASSIGN(Bytes back, Read(name));
    EXPECT_EQ(AsString(back), name);
  }
  std::vector<std::string> sorted = good;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(List(), sorted);
}

TEST_F(FsBlobStoreTest, OpenAbsentIsNotFound) {
  EXPECT_EQ(store_->Open("a/b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Open("top").status().code(), StatusCode::kNotFound);
}

TEST_F(FsBlobStoreTest, OneSegmentNamesShareANamespaceWithDirectories) {
  ASSERT_OK(Write("a/b", AsBytes("x")));
  EXPECT_EQ(store_->Create("a").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Open("a").status().code(), StatusCode::kNotFound);
  ASSERT_OK(store_->Delete("a"));
  EXPECT_TRUE(Read("a/b").ok());

  ASSERT_OK(Write("c", AsBytes("x")));
  EXPECT_FALSE(store_->Create("c/d").ok());
  EXPECT_EQ(store_->Open("c/d").status().code(), StatusCode::kNotFound);
  ASSERT_OK(store_->Delete("c/d"));
  EXPECT_EQ(List(), (std::vector<std::string>{"a/b", "c"}));
}

TEST_F(FsBlobStoreTest, DeleteIsIdempotentAndDurable) {
  ASSERT_OK(store_->Delete("never"));
  ASSERT_OK(store_->Delete("nodir/never"));
  ASSERT_OK(Write("a/b", AsBytes("x")));
  ASSERT_OK(Write("a/c", AsBytes("y")));
  ASSERT_OK(store_->Delete("a/b"));
  EXPECT_EQ(store_->Open("a/b").status().code(), StatusCode::kNotFound);
  ASSERT_OK(store_->Delete("a/b"));
  ASSERT_OK(store_->Delete("a/never"));

  ASSERT_OK(fs_.SimulateCrash());
  Reopen();
  EXPECT_EQ(List(), std::vector<std::string>{"a/c"});
  // The name is free again.
  ASSERT_OK(Write("a/b", AsBytes("z")));
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("a/b"));
  EXPECT_EQ(AsString(back), "z");
}

TEST_F(FsBlobStoreTest, FailedDeleteSurfacesAndKeepsTheBlob) {
  ASSERT_OK(Write("a/b", AsBytes("x")));
  fs_.FailNext(Op::kRemove, kInjected);
  EXPECT_EQ(store_->Delete("a/b").code(), StatusCode::kInternal);
  EXPECT_TRUE(Read("a/b").ok());
  fs_.FailNext(Op::kSyncDir, kInjected);
  EXPECT_EQ(store_->Delete("a/b").code(), StatusCode::kInternal);
  ASSERT_OK(store_->Delete("a/b"));  // The retry makes it durable.
  ASSERT_OK(fs_.SimulateCrash());
  Reopen();
  EXPECT_EQ(store_->Open("a/b").status().code(), StatusCode::kNotFound);
}

TEST_F(FsBlobStoreTest, OpenFileOutlivesDelete) {
  ASSERT_OK(Write("a/b", AsBytes("still here")));
  ASSERT_OK_AND_ASSIGN(auto file, store_->Open("a/b"));
  ASSERT_OK(store_->Delete("a/b"));
  uint8_t buf[5];
  ASSERT_OK_AND_ASSIGN(size_t n, file->ReadAt(6, buf));
  EXPECT_EQ(AsString(ByteView(buf, n)), "here");
}

TEST_F(FsBlobStoreTest, ListIsSortedAndExcludesTemporaryAndForeignFiles) {
  ASSERT_OK(Write("b/2", AsBytes("x")));
  ASSERT_OK(Write("a.b", AsBytes("x")));
  ASSERT_OK(Write("a/1", AsBytes("x")));
  ASSERT_OK(Write("z", AsBytes("x")));
  // Looks like the ".tmp-" files of other tools, but is a valid blob name.
  ASSERT_OK(Write("b/x.tmp-0123456789abcdef", AsBytes("x")));
  ASSERT_OK_AND_ASSIGN(auto open_writer, store_->Create("b/3"));
  ASSERT_OK(open_writer->Append(AsBytes("pending")));
  ASSERT_OK_AND_ASSIGN(auto open_top, store_->Create("y"));
  ASSERT_OK(real_.CreateDirs(root_ + "/lost+found"));
  ASSERT_OK(env::WriteFileAtomically(real_, root_ + "/b/notes~", {}));

  EXPECT_EQ(Entries(root_ + "/b").size(), 4u);  // 2 blobs, 1 temp, notes~.
  EXPECT_EQ(List(), (std::vector<std::string>{
                        "a.b", "a/1", "b/2", "b/x.tmp-0123456789abcdef", "z"}));
}

TEST_F(FsBlobStoreTest, UncommittedWriterDestroyedLeavesNothing) {
  {
    ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/b"));
    ASSERT_OK(writer->Append(Pattern(3 * kBuf)));  // Reaches the file.
    ASSERT_OK_AND_ASSIGN(auto top, store_->Create("top"));
    ASSERT_OK(top->Append(AsBytes("x")));
    EXPECT_EQ(Entries(root_ + "/a").size(), 1u);
  }
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{});
  EXPECT_EQ(Entries(root_), std::vector<std::string>{"a"});
  EXPECT_EQ(List(), std::vector<std::string>{});
  ASSERT_OK(Write("a/b", AsBytes("again")));
}

TEST_F(FsBlobStoreTest, CommittedBlobsSurviveACrash) {
  const Bytes data = Pattern(kBuf + 7);
  ASSERT_OK(Write("new/dir", data));
  ASSERT_OK(Write("top", data));
  ASSERT_OK(fs_.SimulateCrash());
  Reopen();
  EXPECT_EQ(List(), (std::vector<std::string>{"new/dir", "top"}));
  for (const char* name : {"new/dir", "top"}) {
    ASSERT_OK_AND_ASSIGN(Bytes back, Read(name));
    EXPECT_TRUE(back == data) << name;
  }
}

TEST_F(FsBlobStoreTest, NewDirectoryIsMadeDurableOnceBeforeFirstWriter) {
  const int before = fs_.calls(Op::kSyncDir);
  ASSERT_OK_AND_ASSIGN(auto first, store_->Create("d/1"));
  EXPECT_EQ(fs_.calls(Op::kSyncDir), before + 1);  // The root, for "d".
  ASSERT_OK_AND_ASSIGN(auto second, store_->Create("d/2"));
  EXPECT_EQ(fs_.calls(Op::kSyncDir), before + 1);
  ASSERT_OK(first->Commit());
  EXPECT_EQ(fs_.calls(Op::kSyncDir), before + 2);  // "d", for the rename.

  // A failed sync of the root fails Create and is retried next time.
  fs_.FailNext(Op::kSyncDir, kInjected);
  EXPECT_EQ(store_->Create("e/1").status().code(), StatusCode::kInternal);
  ASSERT_OK(Write("e/1", AsBytes("x")));
}

TEST_F(FsBlobStoreTest, CrashBeforeRenameLeavesNoBlobAndSweepRemovesTemp) {
  const Bytes data = Pattern(3 * kBuf);
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/x"));
  ASSERT_OK(writer->Append(data));
  // A neighbour committed meanwhile syncs the directory, which makes the
  // temporary file's entry durable: it will outlive the crash.
  ASSERT_OK(Write("a/y", AsBytes("neighbour")));
  // The process dies at the rename: the file is synced, the rename never
  // happens and the dying process cleans nothing up.
  fs_.FailNext(Op::kRename, kInjected);
  fs_.FailNext(Op::kRemove, kInjected);
  EXPECT_FALSE(writer->Commit().ok());
  ASSERT_OK(fs_.SimulateCrash());
  writer.reset();

  Reopen();
  EXPECT_EQ(List(), std::vector<std::string>{"a/y"});
  EXPECT_EQ(store_->Open("a/x").status().code(), StatusCode::kNotFound);
  std::vector<std::string> left = Entries(root_ + "/a");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].rfind("x~tmp-", 0), 0u) << left[0];
  EXPECT_EQ(real_.FileSize(root_ + "/a/" + left[0]).value(), data.size());

  ASSERT_OK_AND_ASSIGN(int swept, store_->SweepTemporary());
  EXPECT_EQ(swept, 1);
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{"y"});
  ASSERT_OK_AND_ASSIGN(int again, store_->SweepTemporary());
  EXPECT_EQ(again, 0);
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("a/y"));
  EXPECT_EQ(AsString(back), "neighbour");
  ASSERT_OK(Write("a/x", data));  // The name is free.
}

TEST_F(FsBlobStoreTest, CrashMidWriteLeavesNoBlob) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/x"));
  ASSERT_OK(writer->Append(Pattern(2 * kBuf)));
  ASSERT_OK_AND_ASSIGN(auto top, store_->Create("top"));
  ASSERT_OK(top->Append(Pattern(2 * kBuf)));
  ASSERT_OK(fs_.SimulateCrash());
  // Files opened before the crash are dead.
  EXPECT_FALSE(writer->Commit().ok());
  EXPECT_FALSE(top->Commit().ok());

  Reopen();
  EXPECT_EQ(List(), std::vector<std::string>{});
  EXPECT_EQ(store_->Open("a/x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Open("top").status().code(), StatusCode::kNotFound);
  ASSERT_OK(store_->SweepTemporary());
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{});
  EXPECT_EQ(Entries(root_), std::vector<std::string>{"a"});
}

TEST_F(FsBlobStoreTest, SweepRemovesTemporariesAtBothLevelsOnly) {
  ASSERT_OK(Write("a/keep", AsBytes("x")));
  ASSERT_OK(Write("keep", AsBytes("x")));
  ASSERT_OK(Write("b/x.tmp-0123456789abcdef", AsBytes("x")));
  for (const char* temp :
       {"/top~tmp-0123456789abcdef", "/a/keep~tmp-fedcba9876543210",
        "/b/x~tmp-00000000000000aa"}) {
    ASSERT_OK(env::WriteFileAtomically(real_, root_ + temp, AsBytes("t")));
  }
  // Not ours: left alone.
  for (const char* foreign :
       {"/notes~", "/a/x~tmp-0123", "/a/~tmp-0123456789abcdef",
        "/a/x~tmp-0123456789ABCDEF"}) {
    ASSERT_OK(env::WriteFileAtomically(real_, root_ + foreign, AsBytes("f")));
  }
  ASSERT_OK_AND_ASSIGN(int swept, store_->SweepTemporary());
  EXPECT_EQ(swept, 3);
  EXPECT_EQ(
      Entries(root_ + "/a"),
      (std::vector<std::string>{"keep", "x~tmp-0123", "x~tmp-0123456789ABCDEF",
                                "~tmp-0123456789abcdef"}));
  EXPECT_EQ(Entries(root_ + "/b"),
            std::vector<std::string>{"x.tmp-0123456789abcdef"});
  EXPECT_EQ(List(), (std::vector<std::string>{
                        "a/keep", "b/x.tmp-0123456789abcdef", "keep"}));
}

TEST_F(FsBlobStoreTest, FailedFsyncFailsCommitAndNoBlobIsVisible) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/b"));
  ASSERT_OK(writer->Append(Pattern(kBuf + 1)));
  fs_.FailNext(Op::kSync, InternalError("fdatasync: Input/output error"));
  Status s = writer->Commit();
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  // Neither the blob's name nor the file call's text is in the message.
  EXPECT_EQ(s.message(), "blob store: fdatasync failed (INTERNAL)") << s;
  EXPECT_EQ(store_->Open("a/b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(List(), std::vector<std::string>{});
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{});
  // The error is permanent.
  EXPECT_EQ(writer->Commit(), s);
  EXPECT_EQ(writer->Append(AsBytes("x")), s);
  ASSERT_OK(Write("a/b", AsBytes("retry")));
}

TEST_F(FsBlobStoreTest, FailedDirectorySyncFailsCommitAndNoBlobIsVisible) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/b"));
  ASSERT_OK(writer->Append(AsBytes("x")));
  fs_.FailNext(Op::kSyncDir, kInjected);
  EXPECT_EQ(writer->Commit().code(), StatusCode::kInternal);
  EXPECT_EQ(store_->Open("a/b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{});
  ASSERT_OK(fs_.SimulateCrash());
  Reopen();
  EXPECT_EQ(List(), std::vector<std::string>{});
}

TEST_F(FsBlobStoreTest, FailedRenameFailsCommitAndCleansUp) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("top"));
  ASSERT_OK(writer->Append(AsBytes("x")));
  fs_.FailNext(Op::kRename, kInjected);
  EXPECT_EQ(writer->Commit().code(), StatusCode::kInternal);
  EXPECT_EQ(Entries(root_), std::vector<std::string>{});
}

TEST_F(FsBlobStoreTest, FailedOpenOfTemporaryFailsCreate) {
  fs_.FailNext(Op::kOpen, kInjected);
  EXPECT_EQ(store_->Create("a/b").status().code(), StatusCode::kInternal);
  ASSERT_OK(Write("a/b", AsBytes("x")));
}

TEST_F(FsBlobStoreTest, DiskFullOnAppendSurfacesAndIsPermanent) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/b"));
  fs_.SetWriteBudget(1000);
  Status s = writer->Append(Pattern(kBuf + 1));
  EXPECT_EQ(s.code(), StatusCode::kInsufficientStorage) << s;
  EXPECT_EQ(s.message(), "blob store: write: out of disk space");
  EXPECT_EQ(writer->size(), 0u);
  fs_.ClearWriteBudget();
  EXPECT_EQ(writer->Append(AsBytes("x")).code(),
            StatusCode::kInsufficientStorage);
  EXPECT_EQ(writer->Commit().code(), StatusCode::kInsufficientStorage);
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{});
  EXPECT_EQ(store_->Open("a/b").status().code(), StatusCode::kNotFound);
  ASSERT_OK(Write("a/b", AsBytes("x")));
}

// Blob names are "<account uid>/<object id>": internal layout that no
// error message may carry.
TEST_F(FsBlobStoreTest, ErrorsNameNoBlob) {
  const std::string name = "acct-0f1e2d3c/file-0123456789abcdef";
  Result<std::unique_ptr<env::RandomAccessFile>> missing = store_->Open(name);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "blob store: blob not found");
  ASSERT_OK(Write(name, AsBytes("x")));
  Result<std::unique_ptr<BlobWriter>> again = store_->Create(name);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  fs_.FailNext(Op::kOpen, InternalError("open " + root_ + "/" + name +
                                        ": Input/output error"));
  Result<std::unique_ptr<env::RandomAccessFile>> failed = store_->Open(name);
  EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
  for (const Status* st :
       {&missing.status(), &again.status(), &failed.status()}) {
    EXPECT_EQ(st->message().find("acct-0f1e2d3c"), std::string::npos) << *st;
    EXPECT_EQ(st->message().find("file-0123"), std::string::npos) << *st;
    EXPECT_EQ(st->message().find(root_), std::string::npos) << *st;
    EXPECT_EQ(st->message().find("Input/output"), std::string::npos) << *st;
  }
}

TEST_F(FsBlobStoreTest, DiskFullWhileFlushingBufferedBytesFailsCommit) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/b"));
  fs_.SetWriteBudget(10);
  ASSERT_OK(writer->Append(Pattern(100)));  // Held in the buffer.
  EXPECT_EQ(writer->Commit().code(), StatusCode::kInsufficientStorage);
  EXPECT_EQ(Entries(root_ + "/a"), std::vector<std::string>{});
  EXPECT_EQ(List(), std::vector<std::string>{});
}

TEST_F(FsBlobStoreTest, CommittedWriterRefusesMore) {
  ASSERT_OK_AND_ASSIGN(auto writer, store_->Create("a/b"));
  ASSERT_OK(writer->Commit());
  EXPECT_EQ(writer->Append(AsBytes("x")).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(writer->Commit().code(), StatusCode::kFailedPrecondition);
  writer.reset();  // Must not remove the committed blob.
  EXPECT_TRUE(Read("a/b").ok());
}

TEST_F(FsBlobStoreTest, ConcurrentWritersOfDistinctNames) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread && results[t].ok(); ++i) {
        // Half share one directory, half race to make their own.
        const std::string dir = i % 2 == 0 ? "shared" : "d" + std::to_string(i);
        const std::string name =
            dir + "/" + std::to_string(t) + "-" + std::to_string(i);
        results[t] = Write(name, Pattern(1000 + i, t * 100 + i), 300);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(List().size(), size_t{kThreads * kPerThread});
  ASSERT_OK_AND_ASSIGN(Bytes back, Read("d3/5-3"));
  EXPECT_TRUE(back == Pattern(1003, 503));
}

}  // namespace
}  // namespace atrest::blob
