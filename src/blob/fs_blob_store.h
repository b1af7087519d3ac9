// FsBlobStore: the BlobStore on a local filesystem, the single-node default
// (DESIGN.md §5).
//
// Layout under the root directory (mode 0700):
//   <root>/<seg>                one-segment blob "seg"
//   <root>/<seg1>/<seg2>        two-segment blob "seg1/seg2"
//   <dir>/<seg>~tmp-<16 hex>    temporary file of a writer of <dir>/<seg>
// '~' cannot occur in a blob name, so temporary files and blobs can never be
// mistaken for each other. Directories are made on demand (mode 0700) and
// never removed. A one-segment name and the first segment of two-segment
// names share one namespace: while blobs "a/..." exist, Create("a") is
// FailedPrecondition and Open("a") NotFound, and while blob "a" exists,
// Create("a/b") fails.
//
// Every file operation goes through the given env::FileSystem. Commit is:
// flush buffer, fdatasync, close, rename to the final name, fsync the
// directory. A new directory is made durable (its parent synced) before the
// first writer in it is returned, so a committed blob never hangs off a
// directory entry that a crash could lose.
//
// Writers buffer small appends, up to kWriteBufferSize bytes each; appends
// of kDirectWriteSize bytes or more (whole stream segments) are written
// through. Entries in the tree that are not valid names (such as
// lost+found) are ignored by List and SweepTemporary.
//
// One FsBlobStore per root directory: immutability is enforced by a lock in
// the object, so two stores (or processes) on one root could both commit a
// name. Thread safety: as BlobStore.
#ifndef ATREST_BLOB_FS_BLOB_STORE_H_
#define ATREST_BLOB_FS_BLOB_STORE_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "blob/blob_store.h"
#include "env/env.h"

namespace atrest::blob {

class FsBlobStore final : public BlobStore {
 public:
  // Bytes a writer holds before it writes them to its file.
  static constexpr size_t kWriteBufferSize = size_t{1} << 20;
  static constexpr size_t kDirectWriteSize = size_t{64} << 10;

  // Opens the store rooted at `root_dir`, creating the directory (and missing
  // parents, mode 0700) when absent and syncing its parent after creating
  // it. `fs` is borrowed and must outlive the store and everything it
  // returns. InvalidArgument when `root_dir` is empty.
  static Result<std::unique_ptr<FsBlobStore>> Open(env::FileSystem& fs,
                                                   std::string root_dir);

  FsBlobStore(const FsBlobStore&) = delete;
  FsBlobStore& operator=(const FsBlobStore&) = delete;

  Result<std::unique_ptr<BlobWriter>> Create(const std::string& name) override;
  Result<std::unique_ptr<env::RandomAccessFile>> Open(
      const std::string& name) override;
  Status Delete(const std::string& name) override;
  Result<std::vector<std::string>> List() override;
  Result<int> SweepTemporary() override;

  const std::string& root_dir() const { return root_; }

 private:
  class Writer;

  FsBlobStore(env::FileSystem& fs, std::string root)
      : fs_(fs), root_(std::move(root)) {}

  // Makes <root>/<first> exist and its directory entry durable.
  Status EnsureDir(const std::string& first);
  // Renames `tmp` to `final_path` unless a blob is there (AlreadyExists).
  Status Publish(const std::string& tmp, const std::string& final_path);

  env::FileSystem& fs_;
  const std::string root_;  // No trailing '/'.
  std::mutex mu_;
  // Guarded by mu_: first segments whose directory is known durable.
  std::set<std::string> durable_dirs_;
};

}  // namespace atrest::blob

#endif  // ATREST_BLOB_FS_BLOB_STORE_H_
