// Test doubles for the env seams: a clock moved by hand, deterministic
// randomness, a scratch directory, and a FileSystem wrapper that injects
// faults and simulates power loss.
//
// Only tests and test tools link these (CMake target atrest_env_testing);
// production binaries cannot, so a fake can never reach a real deployment.
//
// Thread safety: FakeClock, SeededRandom and FaultInjectionFileSystem are
// safe to use from several threads at once, like the interfaces they
// implement. File objects obey the rules in env.h.
#ifndef ATREST_ENV_TESTING_H_
#define ATREST_ENV_TESTING_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "env/env.h"

namespace atrest::env {

// A Clock that moves only when told to. Wall time starts at `start`;
// monotonic time starts at a fixed, non-zero point (1000 s after the
// steady_clock epoch) so that no reading equals a default-constructed
// MonoTime.
class FakeClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z.
  static WallTime DefaultStart();

  explicit FakeClock(WallTime start = DefaultStart());

  WallTime Now() const override;
  MonoTime Monotonic() const override;

  // Moves wall and monotonic time forward by `d`. REQUIRES: d >= 0.
  void Advance(std::chrono::nanoseconds d);
  // Sets wall time (forward or back, like an NTP step); monotonic time is
  // unchanged.
  void SetWallTime(WallTime t);

 private:
  mutable std::mutex mu_;
  WallTime wall_;  // Guarded by mu_.
  MonoTime mono_;  // Guarded by mu_.
};

// A Random whose output is a pure function of the seed and the sequence of
// Fill() sizes, for reproducible ids in tests. Never use it for secrets.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  void Fill(MutableByteView out) override;

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;  // Guarded by mu_.
};

// A fresh directory (mode 0700) under $TEST_TMPDIR, $TMPDIR or /tmp, removed
// with everything in it when the object is destroyed. Movable; a moved-from
// object owns nothing.
class ScopedTempDir {
 public:
  static Result<ScopedTempDir> Create();

  ScopedTempDir(ScopedTempDir&& other) noexcept;
  ScopedTempDir& operator=(ScopedTempDir&& other) noexcept;
  ~ScopedTempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(const std::string& name) const;

 private:
  explicit ScopedTempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;  // Empty when moved from.
};

// A FileSystem that forwards to `base` (borrowed; it must outlive this
// object and every file opened through it) and can inject faults and
// simulate a crash. Modelled on leveldb's FaultInjectionTestEnv.
//
// Faults:
//  * FailNext(op, s): the next call of `op` returns `s` without touching
//    `base`. kOpen covers the three New*File calls; kAppend, kSync are
//    WritableFile calls; kRead covers RandomAccessFile::ReadAt and
//    SequentialFile::Read. Close, CreateDirs, ListDir, Exists and FileSize
//    never fail by injection.
//  * SetWriteBudget(n): from now on at most n more bytes may be appended,
//    over all files. An Append that does not fit writes the bytes that do,
//    then returns InsufficientStorage "write: out of disk space", as the
//    real filesystem does on a full disk (ENOSPC).
//
// Crash model (SimulateCrash), for changes made through this wrapper only;
// files and directories written to `base` directly count as durable:
//  * File data: a file opened by NewWritableFile keeps, after a crash, the
//    bytes it had at its last successful Sync() and no others. Never synced
//    means empty, even when NewWritableFile truncated an older file (the
//    pessimistic outcome of a truncate that was not followed by a sync).
//  * Directory entries: creating a file (NewWritableFile on a new path),
//    Rename and Remove are undone by a crash unless SyncDir() of the parent
//    directory succeeded after them. A Rename needs SyncDir of the parents
//    of both `from` and `to`. Undoing a Rename moves the file back to `from`
//    and restores what `to` held before (its durable content, if it
//    existed); undoing a Remove restores the file's durable content.
//    Undoing a creation deletes the file. Undo runs newest first, so an
//    un-synced rename of a file whose creation was synced brings the file
//    back under its old name.
//  * Paths are compared lexically ("d" and "d/" are the same directory;
//    "./d" and "d" are not), so tests should spell paths consistently.
//  * Not modelled: CreateDirs (directories are durable at once), metadata
//    such as modes, and exotic interleavings of partial syncs across
//    directories, which are undone in reverse order as above.
// After SimulateCrash the wrapper forgets its tracking state (as if the
// process restarted); faults armed with FailNext or SetWriteBudget stay.
// Writable files opened before the crash return FailedPrecondition from
// Append and Sync.
class FaultInjectionFileSystem final : public FileSystem {
 public:
  enum class Op { kOpen, kAppend, kSync, kRename, kRemove, kSyncDir, kRead };
  static constexpr size_t kNumOps = 7;

  explicit FaultInjectionFileSystem(FileSystem& base) : base_(base) {}
  FaultInjectionFileSystem(const FaultInjectionFileSystem&) = delete;
  FaultInjectionFileSystem& operator=(const FaultInjectionFileSystem&) = delete;

  // REQUIRES: !s.ok(). Replaces any fault already armed for `op`.
  void FailNext(Op op, Status s);
  void SetWriteBudget(uint64_t bytes);
  void ClearWriteBudget();
  // Calls of `op` so far, including ones that failed.
  int calls(Op op) const;

  // Brings the files under this wrapper to what a power loss now would
  // leave, as described above. Errors come from `base` while rewriting
  // files; the tracking state is dropped either way.
  Status SimulateCrash();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override;
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status CreateDirs(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;

 private:
  class FaultWritableFile;
  class FaultRandomAccessFile;
  class FaultSequentialFile;

  // A file opened for writing through this wrapper.
  struct TrackedFile {
    std::string path;     // Follows renames.
    uint64_t synced = 0;  // Size at the last successful Sync().
  };
  // A directory entry change not yet made durable by SyncDir.
  struct DirChange {
    enum Kind { kCreate, kRename, kRemove } kind;
    std::string path;            // The created, renamed-to or removed path.
    std::string from;            // kRename only.
    std::optional<Bytes> prior;  // Durable content `path` had before.
    std::set<std::string> unsynced_dirs;
  };

  // The methods below REQUIRE mu_ held.
  Status TakeFault(Op op);
  void Untrack(const std::string& path);
  Result<Bytes> DurableContent(const std::string& path);
  Status Rewrite(const std::string& path, ByteView content);
  Status Undo(const DirChange& change);

  // Called by the file wrappers.
  Status Append(uint64_t epoch, const std::string& path, WritableFile& file,
                ByteView data);
  Status Sync(uint64_t id, uint64_t epoch, WritableFile& file);
  Status BeforeRead();

  FileSystem& base_;
  mutable std::mutex mu_;
  // Guarded by mu_:
  std::array<std::optional<Status>, kNumOps> fail_next_;
  std::array<int, kNumOps> calls_{};
  std::optional<uint64_t> write_budget_;
  uint64_t epoch_ = 0;  // Bumped by SimulateCrash.
  uint64_t next_id_ = 0;
  std::map<uint64_t, TrackedFile> files_;
  std::vector<DirChange> pending_;  // Oldest first.
};

}  // namespace atrest::env

#endif  // ATREST_ENV_TESTING_H_
