// BlobStore: where the ciphertext of uploaded files and models lives
// (DESIGN.md §5).
//
// A blob is an immutable, named sequence of bytes. It is written once through
// a BlobWriter, becomes visible under its name only when Commit() succeeds,
// and is from then on complete and durable: a crash at any point leaves
// either no blob of that name or all of it, never part of it. That is what
// lets a caller commit the metadata row that points at a blob only after the
// blob's Commit() returned OK. Blobs are read through env::RandomAccessFile,
// so neither writing nor reading holds a whole blob in memory.
//
// The store knows nothing about encryption: callers give it ciphertext.
//
// Names are one or two segments, "seg" or "seg1/seg2". Each segment is 1 to
// 128 characters of [A-Za-z0-9._-] and is neither "." nor "..". Anything else
// (empty names, a leading, trailing or doubled '/', three segments, any other
// byte) is InvalidArgument in every method that takes a name.
//
// Errors keep the code of the failure under them (a full disk is
// InsufficientStorage) but their messages name no blob, path or errno text:
// blob names hold account uids, and messages reach server logs.
//
// Thread safety: a BlobStore is safe to use from several threads at once. A
// BlobWriter belongs to one caller at a time. Files returned by Open() follow
// the rules in env/env.h.
#ifndef ATREST_BLOB_BLOB_STORE_H_
#define ATREST_BLOB_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "env/env.h"

namespace atrest::blob {

// A blob being written. Bytes go to a temporary file; Commit() makes the
// blob durable and visible under its name (fsync file, rename, fsync dir).
// Destroying a writer that was not committed removes its temporary file.
//
// Any error from Append or Commit is permanent: the writer is dead, its
// temporary file is removed and every later call returns that same error.
// A writer borrows its store, which must outlive it.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;

  // Adds `data` at the end of the blob. The bytes may be held in a bounded
  // buffer and reach the disk only at a later Append or at Commit, so a full
  // disk may surface in either (InsufficientStorage).
  virtual Status Append(ByteView data) = 0;

  // Makes the blob durable and visible under its name. On success the blob
  // survives a crash from the moment Commit returns. On failure no blob of
  // that name is visible from this writer: AlreadyExists when another writer
  // committed the same name first, otherwise the filesystem's error.
  // FailedPrecondition when called again after a successful Commit.
  virtual Status Commit() = 0;

  // Bytes accepted by Append so far.
  virtual uint64_t size() const = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Starts writing the blob `name`. AlreadyExists if a committed blob of that
  // name exists (blobs are immutable; Delete it first to replace it). Two
  // writers may be open for one name; the first to commit wins.
  virtual Result<std::unique_ptr<BlobWriter>> Create(
      const std::string& name) = 0;

  // Opens a committed blob for reading. NotFound when absent. The file stays
  // readable after a Delete of the blob until it is destroyed.
  virtual Result<std::unique_ptr<env::RandomAccessFile>> Open(
      const std::string& name) = 0;

  // Removes a committed blob, durably (the directory is synced) before
  // returning OK. OK when absent, so a failed Delete may simply be retried.
  virtual Status Delete(const std::string& name) = 0;

  // Names of all committed blobs, sorted bytewise. Temporary files of
  // uncommitted writers are never listed. Memory is proportional to the
  // number of blobs; meant for start-up orphan sweeps, not for serving.
  virtual Result<std::vector<std::string>> List() = 0;

  // Removes temporary files left by writes that never committed (a crash);
  // returns how many. Call at start before serving: it also removes the
  // temporary files of writers that are open at the time.
  virtual Result<int> SweepTemporary() = 0;
};

}  // namespace atrest::blob

#endif  // ATREST_BLOB_BLOB_STORE_H_
