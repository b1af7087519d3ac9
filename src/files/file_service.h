// FileService: an account's stored files (reference/azure-openai-api.md
// §1.4), encrypted under the account's key hierarchy (DESIGN.md §3).
//
// Each file has its own data key (DEK, random AES-256), wrapped by the
// account's AEK (AES-256-GCM, associated data = account uid and file id)
// and kept only in the file's metadata row. The file's bytes are encrypted
// as they arrive into the segmented stream format (crypto/streaming_aead.h,
// associated data = account uid and file id) and written to a blob; the row
// is committed only after the blob is durable. Deleting removes the row
// first, then the blob. Downloads decrypt as they leave, any byte range.
//
// Uploads with purpose "fine-tune" are validated as chat JSON Lines while
// they stream (files/jsonl_validator.h); a file that fails is kept with
// status "error" and status_details naming the failing lines, as Azure does.
//
// While the account's key is inaccessible, uploads and downloads fail with
// PermissionDenied "CustomerManagedKeyInaccessible"; metadata still answers.
//
// Errors carry the OpenAI API's codes in Status::reason() ("invalidPayload",
// "notFound", ...). A row whose blob is missing (content lost to the
// service) is DataLoss "internalFailure", as is content that fails
// authentication; a full disk is InsufficientStorage. No message names a
// blob, an account uid or a path. Thread safety: safe for concurrent use.
#ifndef ATREST_FILES_FILE_SERVICE_H_
#define ATREST_FILES_FILE_SERVICE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accounts/account_keys.h"
#include "blob/blob_store.h"
#include "crypto/streaming_aead.h"
#include "env/env.h"
#include "files/jsonl_validator.h"
#include "store/store.h"

namespace atrest::files {

struct FileServiceOptions {
  uint64_t max_file_bytes = uint64_t{512} << 20;  // Azure's limit.
};

// A file being uploaded: bytes in, then Finish with the purpose.
class Upload {
 public:
  virtual ~Upload() = default;
  virtual Status Write(ByteView data) = 0;
  // Validates the purpose (and, for fine-tune, the content), commits the
  // blob and then the row. Nothing is stored when it fails.
  virtual Result<store::StoredObject> Finish(const std::string& purpose) = 0;
};

// An open, authenticated file for reading plaintext ranges.
class Download {
 public:
  virtual ~Download() = default;
  virtual uint64_t size() const = 0;
  virtual Status Read(uint64_t offset, uint64_t length,
                      const crypto::Sink& sink) const = 0;
};

// An object other than an uploaded file being stored (a results file,
// checkpoint or model): bytes in, then Commit. Nothing is visible until
// Commit succeeds.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(ByteView data) = 0;
  // Commits the blob and then the row.
  virtual Result<store::StoredObject> Commit() = 0;
};

// What describes a new object of another service.
struct NewObject {
  std::string kind;  // "file", "checkpoint", "model".
  std::string id;    // Empty: a new "file-<32 hex>".
  std::string purpose;
  std::string filename;
  std::string meta_json = "{}";
};

class FileService {
 public:
  FileService(store::Store& store, env::Env& env, blob::BlobStore& blobs,
              accounts::AccountKeys& keys, FileServiceOptions options = {});

  // Starts an upload of `filename` to `account`. InvalidArgument unless the
  // filename is 1-512 bytes of UTF-8.
  Result<std::unique_ptr<Upload>> BeginUpload(const store::Account& account,
                                              const std::string& filename);
  Result<store::StoredObject> Get(const store::Account& account,
                                  const std::string& id);
  struct ListQuery {
    std::string purpose;
    std::string after;  // A file id.
    size_t limit = 10000;
    bool ascending = false;
  };
  struct Page {
    std::vector<store::StoredObject> items;
    bool has_more = false;
  };
  Result<Page> List(const store::Account& account, const ListQuery& query);
  Result<std::unique_ptr<Download>> Open(const store::Account& account,
                                         const std::string& id);
  // Row first, then blob.
  Status Delete(const store::Account& account, const std::string& id);

  // Objects of other services (finetune/, deploy/), under the same key
  // hierarchy and write order as files.
  Result<std::unique_ptr<ObjectWriter>> BeginObject(
      const store::Account& account, const NewObject& object);
  Result<store::StoredObject> GetObject(const store::Account& account,
                                        const std::string& kind,
                                        const std::string& id);
  Result<std::unique_ptr<Download>> OpenObject(const store::Account& account,
                                               const std::string& kind,
                                               const std::string& id);
  // Row first, then blob.
  Status DeleteObject(const store::Account& account, const std::string& kind,
                      const std::string& id);

  // Removes every blob of the account `uid` (after its rows are gone).
  void DeleteAccountBlobs(const std::string& uid);
  // At start: removes temporary blobs and blobs no row points at.
  Result<int> SweepOrphans();

  const FileServiceOptions& options() const { return options_; }

 private:
  // The row of a new object with its DEK wrapped, and an encrypting writer.
  struct Started;
  Result<Started> Start(const store::Account& account, store::StoredObject row);

  store::Store& store_;
  env::Env& env_;
  blob::BlobStore& blobs_;
  accounts::AccountKeys& keys_;
  const FileServiceOptions options_;
};

// The purposes a client may upload with.
bool UploadablePurpose(const std::string& purpose);

// A new id: `prefix` and 32 lower-case hex digits ("file-", "ftjob-").
std::string NewId(std::string_view prefix);

}  // namespace atrest::files

#endif  // ATREST_FILES_FILE_SERVICE_H_
