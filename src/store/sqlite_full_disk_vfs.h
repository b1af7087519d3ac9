// Internal to store/: a SQLite VFS that behaves as a full disk on demand,
// for `atrest serve`'s test-only full-disk switch (docs/storage.md) and
// for the store's own tests.
//
// It forwards every call to SQLite's default VFS. While `full()` returns
// true, every call that would take more space on the disk fails as SQLite's
// unix VFS fails on ENOSPC: a write past a file's end returns SQLITE_FULL, a
// size hint that grows a file returns SQLITE_FULL, and mapping a region of
// the -shm file that does not exist yet returns SQLITE_IOERR_SHMSIZE.
// Writes inside a file's current size, reads, truncation and deletion go on
// working, as they do on a real full disk.
//
// Thread safety: `full` is called from any thread that uses a connection
// opened through the VFS and must be safe for that. Construction and
// destruction register and unregister the VFS; no connection may use it
// when it is destroyed.
#ifndef ATREST_STORE_SQLITE_FULL_DISK_VFS_H_
#define ATREST_STORE_SQLITE_FULL_DISK_VFS_H_

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"

struct sqlite3_vfs;

namespace atrest::store::sqlite {

class FullDiskVfs {
 public:
  // Registers a VFS with a name of its own (not as the default).
  static Result<std::unique_ptr<FullDiskVfs>> Register(
      std::function<bool()> full);
  ~FullDiskVfs();
  FullDiskVfs(const FullDiskVfs&) = delete;
  FullDiskVfs& operator=(const FullDiskVfs&) = delete;

  // The name to pass to sqlite3_open_v2.
  const std::string& name() const { return name_; }
  bool full() const { return full_(); }
  sqlite3_vfs* base() const { return base_; }

 private:
  FullDiskVfs(std::function<bool()> full, sqlite3_vfs* base, std::string name);

  const std::function<bool()> full_;
  sqlite3_vfs* const base_;
  const std::string name_;
  std::unique_ptr<sqlite3_vfs> vfs_;
};

}  // namespace atrest::store::sqlite

#endif  // ATREST_STORE_SQLITE_FULL_DISK_VFS_H_
