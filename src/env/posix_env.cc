// The real Env: system clocks, OpenSSL randomness and POSIX file calls.
//
// Every errno is turned into a Status here, at the call that produced it:
// ENOSPC/EDQUOT -> InsufficientStorage, ENOENT -> NotFound, EACCES/EPERM ->
// PermissionDenied, anything else -> Internal. Messages read
// "<call> <path>: <strerror>", e.g. "open /x/y: No such file or directory",
// except for a full disk: "<call>: out of disk space", with no path and no
// errno text, because surfaces may pass that status on (as HTTP 507) and
// every layer above may add its own context to it.
#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "env/env.h"

namespace atrest::env {
namespace {

// strerror_r is the GNU variant (returns char*) or the XSI one (returns int)
// depending on feature macros; these overloads accept either.
[[maybe_unused]] const char* StrerrorText(const char* text, const char*) {
  return text;
}
[[maybe_unused]] const char* StrerrorText(int rc, const char* buf) {
  return rc == 0 ? buf : "Unknown error";
}

}  // namespace

Status ErrnoStatus(std::string_view call, const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return InsufficientStorageError(std::string(call) + ": out of disk space");
  }
  char buf[256] = {};
  std::string msg = std::string(call) + " " + path + ": " +
                    StrerrorText(strerror_r(err, buf, sizeof(buf)), buf);
  switch (err) {
    case ENOENT:
      return NotFoundError(std::move(msg));
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(msg));
    default:
      return InternalError(std::move(msg));
  }
}

namespace {

int OpenNoIntr(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// On Linux the descriptor is released even when close() reports EINTR, so
// EINTR is success and retrying would close someone else's descriptor.
int CloseNoIntr(int fd) {
  int rc = ::close(fd);
  return (rc < 0 && errno == EINTR) ? 0 : rc;
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd)
      : path_(std::move(path)), fd_(fd) {}
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;
  ~PosixWritableFile() override {
    if (fd_ >= 0) CloseNoIntr(fd_);
  }

  Status Append(ByteView data) override {
    if (fd_ < 0) return FailedPreconditionError("write " + path_ + ": closed");
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      if (n == 0) return InternalError("write " + path_ + ": wrote 0 bytes");
      data = data.subspan(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    // Starts writing back what a large file has so far, without waiting for
    // it, so that Sync() at the end finds little left to write: a 1 GiB
    // upload otherwise spends 0.4 s in its final fdatasync. Failures only
    // lose that head start; Sync() reports real write errors.
    if (written_ - writeback_from_ >= kWritebackBytes) {
      (void)::sync_file_range(fd_, static_cast<off_t>(writeback_from_),
                              static_cast<off_t>(written_ - writeback_from_),
                              SYNC_FILE_RANGE_WRITE);
      writeback_from_ = written_;
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (fd_ < 0) return FailedPreconditionError("sync " + path_ + ": closed");
    int rc;
    do {
      rc = ::fdatasync(fd_);
    } while (rc < 0 && errno == EINTR);
    return rc == 0 ? Status::Ok() : ErrnoStatus("fdatasync", path_, errno);
  }

  Status Close() override {
    if (fd_ < 0) return FailedPreconditionError("close " + path_ + ": closed");
    int rc = CloseNoIntr(fd_);
    fd_ = -1;
    return rc == 0 ? Status::Ok() : ErrnoStatus("close", path_, errno);
  }

 private:
  static constexpr uint64_t kWritebackBytes = uint64_t{8} << 20;

  const std::string path_;
  int fd_;                       // -1 once closed.
  uint64_t written_ = 0;         // Bytes appended.
  uint64_t writeback_from_ = 0;  // Written back (started) below this.
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  PosixRandomAccessFile(const PosixRandomAccessFile&) = delete;
  PosixRandomAccessFile& operator=(const PosixRandomAccessFile&) = delete;
  ~PosixRandomAccessFile() override { CloseNoIntr(fd_); }

  Result<size_t> ReadAt(uint64_t offset, MutableByteView out) const override {
    constexpr auto kMaxOffset = std::numeric_limits<off_t>::max();
    if (offset > static_cast<uint64_t>(kMaxOffset) - out.size()) {
      return InvalidArgumentError("pread " + path_ + ": offset too large");
    }
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread", path_, errno);
      }
      if (n == 0) break;  // End of file.
      done += static_cast<size_t>(n);
    }
    return done;
  }

  // The size when the file was opened.
  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  const int fd_;
  const uint64_t size_;
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd)
      : path_(std::move(path)), fd_(fd) {}
  PosixSequentialFile(const PosixSequentialFile&) = delete;
  PosixSequentialFile& operator=(const PosixSequentialFile&) = delete;
  ~PosixSequentialFile() override { CloseNoIntr(fd_); }

  Result<size_t> Read(MutableByteView out) override {
    for (;;) {
      ssize_t n = ::read(fd_, out.data(), out.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus("read", path_, errno);
    }
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    int fd = OpenNoIntr(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    auto file = std::make_unique<PosixWritableFile>(path, fd);
    // O_CREAT's mode applies only to new files; an existing one keeps its
    // mode unless we set it.
    if (::fchmod(fd, 0600) != 0) return ErrnoStatus("fchmod", path, errno);
    return std::unique_ptr<WritableFile>(std::move(file));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    int fd = OpenNoIntr(path, O_RDONLY);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      Status s = ErrnoStatus("fstat", path, errno);
      CloseNoIntr(fd);
      return s;
    }
    return std::unique_ptr<RandomAccessFile>(
        std::make_unique<PosixRandomAccessFile>(path, fd, st.st_size));
  }

  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    int fd = OpenNoIntr(path, O_RDONLY);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    return std::unique_ptr<SequentialFile>(
        std::make_unique<PosixSequentialFile>(path, fd));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) == 0) return Status::Ok();
    return ErrnoStatus("rename", from + " to " + to, errno);
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) == 0) return Status::Ok();
    return ErrnoStatus("unlink", path, errno);
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return InvalidArgumentError("mkdir: empty path");
    // Each prefix that ends before a '/', then the whole path.
    size_t pos = path.find('/', 1);
    for (;;) {
      RETURN_IF_ERROR(MakeDir(path.substr(0, pos)));
      if (pos == std::string::npos) return Status::Ok();
      pos = path.find('/', pos + 1);
    }
  }

  Status SyncDir(const std::string& path) override {
    int fd = OpenNoIntr(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    int rc;
    do {
      rc = ::fsync(fd);
    } while (rc < 0 && errno == EINTR);
    Status s = rc == 0 ? Status::Ok() : ErrnoStatus("fsync", path, errno);
    CloseNoIntr(fd);
    return s;
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    int fd = OpenNoIntr(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      Status s = ErrnoStatus("fdopendir", path, errno);
      CloseNoIntr(fd);
      return s;
    }
    std::vector<std::string> names;
    for (;;) {
      errno = 0;
      const struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) break;
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int err = errno;
    ::closedir(dir);  // Also closes fd.
    if (err != 0) return ErrnoStatus("readdir", path, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  static Status MakeDir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) == 0) return Status::Ok();
    const int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::Ok();
      return FailedPreconditionError("mkdir " + dir + ": not a directory");
    }
    return ErrnoStatus("mkdir", dir, err);
  }
};

}  // namespace

Result<uint64_t> FileSystem::AvailableBytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) {
    return ErrnoStatus("statvfs", path, errno);
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

namespace {

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime Monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

class OpenSslRandom final : public Random {
 public:
  // Aborts the process if OpenSSL cannot produce randomness: no caller could
  // do anything sensible with an error, and carrying on would be worse.
  void Fill(MutableByteView out) override {
    constexpr size_t kMaxChunk = 1 << 30;  // RAND_bytes takes an int.
    while (!out.empty()) {
      const size_t n = std::min(out.size(), kMaxChunk);
      if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
        char err[256];
        ERR_error_string_n(ERR_get_error(), err, sizeof(err));
        std::fprintf(stderr, "atrest: RAND_bytes failed: %s\n", err);
        std::abort();
      }
      out = out.subspan(n);
    }
  }
};

}  // namespace

Env& Env::Default() {
  // Never destroyed, so threads still running at exit can use them.
  static auto* const clock = new SystemClock;
  static auto* const random = new OpenSslRandom;
  static auto* const fs = new PosixFileSystem;
  static auto* const env = new Env(*clock, *random, *fs);
  return *env;
}

}  // namespace atrest::env
