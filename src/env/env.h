// Env: the one seam between atrest and the outside world (DESIGN.md §2).
//
// Every module that reads the time, draws non-secret randomness or touches
// the filesystem does so through an Env it is given, never directly. The
// real implementation (Env::Default()) talks to the OS; tests substitute a
// FakeClock, a SeededRandom or a FaultInjectionFileSystem (env/testing.h) to
// move time by hand and to inject disk-full, failed fsync and crashes.
//
// Secret key material is NOT drawn from Env::random(): keys and nonces come
// from the crypto module's DRBG so that FIPS mode covers them. Env::random()
// is for identifiers, jitter and other values that are not secrets.
//
// Thread safety: all interfaces here are safe to call from several threads
// at once; a single file object (WritableFile etc.) is not, and belongs to one
// caller at a time.
#ifndef ATREST_ENV_ENV_H_
#define ATREST_ENV_ENV_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::env {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, for timestamps that leave the process.
  virtual WallTime Now() const = 0;
  // Monotonic time, for deadlines and intervals.
  virtual MonoTime Monotonic() const = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with unpredictable bytes (not for key material; see above).
  virtual void Fill(MutableByteView out) = 0;
  uint64_t NextU64();
  // A random (version 4) UUID in lower case, e.g. for object ids.
  std::string NewUuid();
};

// A file being written. Data reaches the disk durably only after Sync().
// Destroying an unclosed file closes it without syncing.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(ByteView data) = 0;
  // Flushes written data to stable storage (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

// A file read at arbitrary offsets. Safe for concurrent ReadAt calls.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to out.size() bytes at `offset`; returns the count read, which is
  // smaller than requested only at end of file.
  virtual Result<size_t> ReadAt(uint64_t offset, MutableByteView out) const = 0;
  virtual uint64_t Size() const = 0;
};

// A file read front to back.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to out.size() bytes; returns 0 at end of file.
  virtual Result<size_t> Read(MutableByteView out) = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates `path` for writing, with mode 0600.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) = 0;

  // Atomically replaces `to` with `from` (rename(2)). Durable only after
  // SyncDir() of the parent directory.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file; NotFound when absent.
  virtual Status Remove(const std::string& path) = 0;
  // Creates `path` and missing parents with mode 0700; OK when it exists.
  virtual Status CreateDirs(const std::string& path) = 0;
  // Makes directory entry changes (create, rename, remove) durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names (not paths) of the entries in a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Bytes a writer may still take on the filesystem that holds `path`
  // (statvfs: f_bavail * f_frsize). This default asks the OS, so wrappers
  // need not forward it.
  virtual Result<uint64_t> AvailableBytes(const std::string& path);
};

// The one mapping of an errno from a file call to a Status, for every module
// that calls the OS itself: ENOSPC and EDQUOT -> InsufficientStorage
// "<call>: out of disk space" (no path, no errno text: the status may reach
// an API caller as HTTP 507); ENOENT -> NotFound, EACCES/EPERM ->
// PermissionDenied, others -> Internal, each "<call> <path>: <strerror>".
Status ErrnoStatus(std::string_view call, const std::string& path, int err);

// Writes `data` to `path` so that after a crash the file holds either its old
// content or all of `data`: write a temporary file, sync, rename, sync dir.
Status WriteFileAtomically(FileSystem& fs, const std::string& path,
                           ByteView data);
// Reads a whole (small) file.
Result<Bytes> ReadFile(FileSystem& fs, const std::string& path);

// The bundle of seams a service is constructed with. Borrowed references; the
// owner keeps them alive for as long as the Env is used.
class Env {
 public:
  Env(Clock& clock, Random& random, FileSystem& fs)
      : clock_(clock), random_(random), fs_(fs) {}

  // The process-wide real environment.
  static Env& Default();

  Clock& clock() const { return clock_; }
  Random& random() const { return random_; }
  FileSystem& fs() const { return fs_; }

 private:
  Clock& clock_;
  Random& random_;
  FileSystem& fs_;
};

}  // namespace atrest::env

#endif  // ATREST_ENV_ENV_H_
