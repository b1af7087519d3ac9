// A test-only switch that makes the data disk look full, for checking from
// outside the process (the client tests) what atrest does on a full disk
// without mounting a small filesystem: `atrest serve
// --testing-full-disk-flag-file PATH` (docs/storage.md). Off unless that
// setting is given; production deployments leave it empty.
//
// FullDiskSwitch says whether the disk is "full": exactly while a file
// exists at the flag path (one stat per question). FullDiskFileSystem wraps
// a FileSystem and, while the switch is on, refuses what takes space on a
// real full disk, with the status the real one gives (InsufficientStorage
// "<call>: out of disk space"): Append, and CreateDirs of a directory that
// does not exist yet. Opening, reading, syncing, renaming and removing go
// on working, as they do on a real full disk. The store takes the same
// switch for SQLite's files (store/sqlite_store.h).
//
// Thread safety: both are safe to use from several threads at once; file
// objects follow env.h.
#ifndef ATREST_ENV_FULL_DISK_H_
#define ATREST_ENV_FULL_DISK_H_

#include <memory>
#include <string>
#include <vector>

#include "env/env.h"

namespace atrest::env {

class FullDiskSwitch {
 public:
  explicit FullDiskSwitch(std::string flag_path)
      : flag_path_(std::move(flag_path)) {}
  // True while the flag file exists.
  bool full() const;
  const std::string& flag_path() const { return flag_path_; }

 private:
  const std::string flag_path_;
};

class FullDiskFileSystem final : public FileSystem {
 public:
  // Both borrowed; they must outlive this object and its files.
  FullDiskFileSystem(FileSystem& base, const FullDiskSwitch& full)
      : base_(base), switch_(full) {}

  Result<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) override {
    return base_.NewRandomAccessFile(path);
  }
  Result<std::unique_ptr<SequentialFile>> NewSequentialFile(
      const std::string& path) override {
    return base_.NewSequentialFile(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_.Rename(from, to);
  }
  Status Remove(const std::string& path) override { return base_.Remove(path); }
  Status CreateDirs(const std::string& path) override;
  Status SyncDir(const std::string& path) override {
    return base_.SyncDir(path);
  }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_.ListDir(path);
  }
  bool Exists(const std::string& path) override { return base_.Exists(path); }
  Result<uint64_t> FileSize(const std::string& path) override {
    return base_.FileSize(path);
  }
  // 0 while the switch is on.
  Result<uint64_t> AvailableBytes(const std::string& path) override;

 private:
  FileSystem& base_;
  const FullDiskSwitch& switch_;
};

}  // namespace atrest::env

#endif  // ATREST_ENV_FULL_DISK_H_
