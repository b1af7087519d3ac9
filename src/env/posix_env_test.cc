// Tests of the real FileSystem (Env::Default().fs()) against a scratch
// directory on disk.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "env/env.h"
#include "env/testing.h"

namespace atrest::env {
namespace {

using ::testing::HasSubstr;

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<ScopedTempDir>(std::move(*dir));
  }

  std::string Path(const std::string& name) const { return dir_->Join(name); }

  void Write(const std::string& path, std::string_view content) {
    auto file = fs_.NewWritableFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_EQ((*file)->Append(AsBytes(content)), Status::Ok());
    ASSERT_EQ((*file)->Sync(), Status::Ok());
    ASSERT_EQ((*file)->Close(), Status::Ok());
  }

  std::string Read(const std::string& path) {
    auto bytes = ReadFile(fs_, path);
    EXPECT_TRUE(bytes.ok()) << bytes.status();
    return bytes.ok() ? std::string(AsString(*bytes)) : "<error>";
  }

  static mode_t Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  FileSystem& fs_ = Env::Default().fs();
  std::unique_ptr<ScopedTempDir> dir_;
};

TEST_F(PosixEnvTest, WriteReadRoundTrip) {
  auto file = fs_.NewWritableFile(Path("f"));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ((*file)->Append(AsBytes("hello, ")), Status::Ok());
  ASSERT_EQ((*file)->Append(AsBytes("world")), Status::Ok());
  ASSERT_EQ((*file)->Sync(), Status::Ok());
  ASSERT_EQ((*file)->Close(), Status::Ok());
  EXPECT_EQ(Read(Path("f")), "hello, world");
  EXPECT_EQ((*file)->Append(AsBytes("x")).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(PosixEnvTest, LargeFileRoundTrip) {
  std::string big(300 * 1024 + 7, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  Write(Path("big"), big);
  EXPECT_EQ(Read(Path("big")), big);
}

TEST_F(PosixEnvTest, NewWritableFileTruncates) {
  Write(Path("f"), "long old content");
  Write(Path("f"), "new");
  EXPECT_EQ(Read(Path("f")), "new");
}

TEST_F(PosixEnvTest, ReadAtOffsetsAndPastEnd) {
  Write(Path("f"), "0123456789");
  auto file = fs_.NewRandomAccessFile(Path("f"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->Size(), 10u);
  uint8_t buf[4];
  auto n = (*file)->ReadAt(3, buf);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(AsString(ByteView(buf, 4)), "3456");
  n = (*file)->ReadAt(8, buf);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(AsString(ByteView(buf, 2)), "89");
  n = (*file)->ReadAt(10, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = (*file)->ReadAt(1000, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(PosixEnvTest, SequentialReadInChunks) {
  Write(Path("f"), "abcdefg");
  auto file = fs_.NewSequentialFile(Path("f"));
  ASSERT_TRUE(file.ok()) << file.status();
  uint8_t buf[3];
  std::string got;
  for (;;) {
    auto n = (*file)->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    got.append(AsString(ByteView(buf, *n)));
  }
  EXPECT_EQ(got, "abcdefg");
}

TEST_F(PosixEnvTest, FilesAre0600AndDirs0700) {
  Write(Path("f"), "x");
  EXPECT_EQ(Mode(Path("f")), 0600u);
  ASSERT_EQ(::chmod(Path("f").c_str(), 0644), 0);
  Write(Path("f"), "y");  // Rewriting an existing file tightens its mode.
  EXPECT_EQ(Mode(Path("f")), 0600u);

  ASSERT_EQ(fs_.CreateDirs(Path("a/b/c")), Status::Ok());
  EXPECT_EQ(Mode(Path("a")), 0700u);
  EXPECT_EQ(Mode(Path("a/b")), 0700u);
  EXPECT_EQ(Mode(Path("a/b/c")), 0700u);
  EXPECT_EQ(fs_.CreateDirs(Path("a/b/c/")), Status::Ok());  // Exists: OK.
  EXPECT_EQ(fs_.CreateDirs(Path("f/g")).code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(PosixEnvTest, RenameRemoveExistsFileSize) {
  Write(Path("a"), "aaa");
  Write(Path("b"), "bb");
  ASSERT_EQ(fs_.Rename(Path("a"), Path("b")), Status::Ok());
  EXPECT_FALSE(fs_.Exists(Path("a")));
  EXPECT_TRUE(fs_.Exists(Path("b")));
  EXPECT_EQ(Read(Path("b")), "aaa");
  auto size = fs_.FileSize(Path("b"));
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 3u);
  ASSERT_EQ(fs_.Remove(Path("b")), Status::Ok());
  EXPECT_FALSE(fs_.Exists(Path("b")));
}

TEST_F(PosixEnvTest, ListDirIsSortedNames) {
  for (const char* name : {"b", "c", "a"}) Write(Path(name), name);
  ASSERT_EQ(fs_.CreateDirs(Path("d")), Status::Ok());
  auto names = fs_.ListDir(dir_->path());
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(PosixEnvTest, MissingPathsAreNotFound) {
  const std::string missing = Path("missing");
  auto file = fs_.NewRandomAccessFile(missing);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(file.status().message(),
            "open " + missing + ": No such file or directory");
  EXPECT_EQ(fs_.NewSequentialFile(missing).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(fs_.NewWritableFile(Path("no/such/dir")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(fs_.Remove(missing).code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_.Rename(missing, Path("x")).code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_.FileSize(missing).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_.ListDir(missing).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_.SyncDir(missing).code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadFile(fs_, missing).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs_.Exists(missing));
}

TEST_F(PosixEnvTest, UnwritableDirIsPermissionDenied) {
  ASSERT_EQ(fs_.CreateDirs(Path("ro")), Status::Ok());
  ASSERT_EQ(::chmod(Path("ro").c_str(), 0500), 0);
  auto attempt = [this] {
    Status s = fs_.NewWritableFile(Path("ro/f")).status();
    return s.code() == StatusCode::kPermissionDenied &&
           s.message().find("Permission denied") != std::string::npos;
  };
  bool denied = false;
  if (::geteuid() != 0) {
    denied = attempt();
  } else {
    // Root ignores directory modes: try as the unprivileged user "nobody"
    // in a child process.
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      bool ok = ::setgid(65534) == 0 && ::setuid(65534) == 0 && attempt();
      ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    denied = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ASSERT_EQ(::chmod(Path("ro").c_str(), 0700), 0);
  EXPECT_TRUE(denied) << "creating a file in a read-only directory was not "
                         "PermissionDenied";
}

TEST_F(PosixEnvTest, SyncDirSucceeds) {
  EXPECT_EQ(fs_.SyncDir(dir_->path()), Status::Ok());
}

TEST_F(PosixEnvTest, WriteFileAtomicallyReplacesAndLeavesNoTemp) {
  const std::string path = Path("state");
  ASSERT_EQ(WriteFileAtomically(fs_, path, AsBytes("first")), Status::Ok());
  EXPECT_EQ(Read(path), "first");
  ASSERT_EQ(WriteFileAtomically(fs_, path, AsBytes("second, longer")),
            Status::Ok());
  EXPECT_EQ(Read(path), "second, longer");
  EXPECT_EQ(Mode(path), 0600u);
  auto names = fs_.ListDir(dir_->path());
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, std::vector<std::string>{"state"});
}

TEST_F(PosixEnvTest, WriteFileAtomicallyFailsInMissingDir) {
  Status s = WriteFileAtomically(fs_, Path("no/dir/f"), AsBytes("x"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
}

// A full disk or quota is one distinct status whose message names neither
// the path nor the errno text: surfaces answer it as 507 and may show it.
TEST(ErrnoStatusTest, FullDiskIsInsufficientStorageWithoutDetail) {
  for (int err : {ENOSPC, EDQUOT}) {
    SCOPED_TRACE(err);
    Status s = ErrnoStatus("write", "/data/blobs/acct-uid/file-1~tmp", err);
    EXPECT_EQ(s.code(), StatusCode::kInsufficientStorage);
    EXPECT_EQ(s.message(), "write: out of disk space");
  }
  EXPECT_EQ(ErrnoStatus("open", "/x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus("open", "/x", EACCES).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("fsync", "/x", EIO).code(), StatusCode::kInternal);
  EXPECT_THAT(ErrnoStatus("fsync", "/x", EIO).message(), HasSubstr("/x"));
}

// What the kernel reports on a full device reaches callers as that status:
// /dev/full answers every write with ENOSPC.
TEST(ErrnoStatusTest, RealFullDeviceWrite) {
  int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_FAIL() << "/dev/full cannot be opened on this machine";
  const char byte = 'x';
  const ssize_t n = ::write(fd, &byte, 1);
  const int err = errno;
  ::close(fd);
  ASSERT_EQ(n, -1);
  EXPECT_EQ(ErrnoStatus("write", "/dev/full", err).code(),
            StatusCode::kInsufficientStorage);
}

TEST(EnvDefaultTest, IsOneRealEnvironment) {
  Env& env = Env::Default();
  EXPECT_EQ(&env, &Env::Default());
  const WallTime now = env.clock().Now();
  EXPECT_GT(now, FakeClock::DefaultStart() - std::chrono::hours(24 * 365));
  const MonoTime t0 = env.clock().Monotonic();
  EXPECT_LE(t0, env.clock().Monotonic());
  // 64 random bits colliding would mean the source is broken.
  EXPECT_NE(env.random().NextU64(), env.random().NextU64());
}

}  // namespace
}  // namespace atrest::env
