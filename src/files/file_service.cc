#include "files/file_service.h"

#include <algorithm>
#include <cctype>

#include "base/utf8.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace atrest::files {
namespace {

Status Payload(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message),
                "invalidPayload");
}

Bytes Aad(const std::string& uid, const std::string& id) {
  std::string s = "atrest/object/" + uid + "/" + id;
  return Bytes(s.begin(), s.end());
}

bool EndsWithIgnoreCase(const std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(
            s[s.size() - suffix.size() + i])) != suffix[i]) {
      return false;
    }
  }
  return true;
}

Status FileNotFound(const std::string& id) {
  return Status(StatusCode::kNotFound, "No such File object: " + id,
                "notFound");
}

// Encrypts an object's bytes into a new blob as they arrive; Commit makes
// the blob durable, then inserts the row.
class EncryptedObject {
 public:
  EncryptedObject(store::Store& store, blob::BlobStore& blobs,
                  store::StoredObject row,
                  std::unique_ptr<blob::BlobWriter> writer)
      : store_(store),
        blobs_(blobs),
        row_(std::move(row)),
        writer_(std::move(writer)) {}

  Status Start(const crypto::SecretBytes& dek) {
    ASSIGN_OR_RETURN(encrypter_,
                     crypto::StreamEncrypter::Create(
                         dek, Aad(row_.account_uid, row_.id),
                         [this](ByteView c) { return writer_->Append(c); }));
    return Status::Ok();
  }

  Status Write(ByteView data) {
    RETURN_IF_ERROR(error_);
    bytes_ += data.size();
    error_ = encrypter_->Update(data);
    return error_;
  }

  // Fails the object: later writes and Commit return `error`.
  Status Fail(Status error) {
    error_ = error;
    return error;
  }

  Result<store::StoredObject> Commit() {
    RETURN_IF_ERROR(error_);
    RETURN_IF_ERROR(encrypter_->Finish());
    RETURN_IF_ERROR(writer_->Commit());
    row_.bytes = static_cast<int64_t>(bytes_);
    Result<int64_t> seq = store_.TransactResult(
        [&](store::Transaction& tx) { return tx.objects().Create(row_); });
    if (!seq.ok()) {
      (void)blobs_.Delete(row_.blob);
      return seq.status();
    }
    row_.seq = *seq;
    return row_;
  }

  store::StoredObject& row() { return row_; }
  uint64_t bytes() const { return bytes_; }
  const Status& error() const { return error_; }

 private:
  store::Store& store_;
  blob::BlobStore& blobs_;
  store::StoredObject row_;
  std::unique_ptr<blob::BlobWriter> writer_;
  std::unique_ptr<crypto::StreamEncrypter> encrypter_;
  uint64_t bytes_ = 0;
  Status error_;
};

class UploadImpl final : public Upload {
 public:
  UploadImpl(std::unique_ptr<EncryptedObject> object,
             std::optional<FineTuneValidator> validator, uint64_t max_bytes)
      : object_(std::move(object)),
        validator_(std::move(validator)),
        max_bytes_(max_bytes) {}

  Status Write(ByteView data) override {
    RETURN_IF_ERROR(object_->error());
    if (object_->bytes() + data.size() > max_bytes_) {
      return object_->Fail(Status(StatusCode::kResourceExhausted,
                                  "The file is larger than the limit of " +
                                      std::to_string(max_bytes_) + " bytes.",
                                  "invalidPayload"));
    }
    if (validator_) validator_->Update(data);
    return object_->Write(data);
  }

  Result<store::StoredObject> Finish(const std::string& purpose) override {
    RETURN_IF_ERROR(object_->error());
    store::StoredObject& row = object_->row();
    if (!UploadablePurpose(purpose)) {
      return Payload("Invalid value for purpose.");
    }
    if (purpose == "fine-tune" && !EndsWithIgnoreCase(row.filename, ".jsonl")) {
      return Payload("fileName contains an invalid filename: wrong suffix.");
    }
    row.purpose = purpose;
    row.status = "processed";
    if (purpose == "fine-tune" && validator_) {
      FineTuneFileReport report = validator_->Finish();
      if (!report.valid) {
        row.status = "error";
        row.status_details = report.status_details;
      }
    }
    return object_->Commit();
  }

 private:
  std::unique_ptr<EncryptedObject> object_;
  std::optional<FineTuneValidator> validator_;
  const uint64_t max_bytes_;
};

class ObjectWriterImpl final : public ObjectWriter {
 public:
  explicit ObjectWriterImpl(std::unique_ptr<EncryptedObject> object)
      : object_(std::move(object)) {}
  Status Write(ByteView data) override { return object_->Write(data); }
  Result<store::StoredObject> Commit() override { return object_->Commit(); }

 private:
  std::unique_ptr<EncryptedObject> object_;
};

class DownloadImpl final : public Download {
 public:
  DownloadImpl(std::unique_ptr<env::RandomAccessFile> file)
      : file_(std::move(file)) {}
  Status Open(const crypto::SecretBytes& dek, ByteView aad) {
    ASSIGN_OR_RETURN(decrypter_,
                     crypto::RandomAccessDecrypter::Open(dek, aad, *file_));
    return Status::Ok();
  }
  uint64_t size() const override { return decrypter_->plaintext_size(); }
  Status Read(uint64_t offset, uint64_t length,
              const crypto::Sink& sink) const override {
    return decrypter_->Read(offset, length, sink);
  }

 private:
  std::unique_ptr<env::RandomAccessFile> file_;
  std::unique_ptr<crypto::RandomAccessDecrypter> decrypter_;
};

}  // namespace

bool UploadablePurpose(const std::string& purpose) {
  static constexpr std::string_view kPurposes[] = {
      "fine-tune", "assistants", "batch", "vision", "user_data", "evals"};
  return std::find(std::begin(kPurposes), std::end(kPurposes), purpose) !=
         std::end(kPurposes);
}

FileService::FileService(store::Store& store, env::Env& env,
                         blob::BlobStore& blobs, accounts::AccountKeys& keys,
                         FileServiceOptions options)
    : store_(store), env_(env), blobs_(blobs), keys_(keys), options_(options) {}

std::string NewId(std::string_view prefix) {
  Bytes raw(16);
  crypto::RandomBytes(raw);
  return std::string(prefix) + HexEncode(raw);
}

struct FileService::Started {
  std::unique_ptr<EncryptedObject> object;
};

Result<FileService::Started> FileService::Start(const store::Account& account,
                                                store::StoredObject row) {
  ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> aek, keys_.Aek(account));
  row.account_uid = account.uid;
  row.blob = account.uid + "/" + row.id;
  row.created_at = std::chrono::duration_cast<std::chrono::seconds>(
                       env_.clock().Now().time_since_epoch())
                       .count();
  crypto::SecretBytes dek = crypto::NewAes256Key();
  ASSIGN_OR_RETURN(row.wrapped_dek,
                   crypto::WrapKey(*aek, dek, Aad(account.uid, row.id)));
  ASSIGN_OR_RETURN(std::unique_ptr<blob::BlobWriter> writer,
                   blobs_.Create(row.blob));
  auto object = std::make_unique<EncryptedObject>(
      store_, blobs_, std::move(row), std::move(writer));
  RETURN_IF_ERROR(object->Start(dek));
  return Started{std::move(object)};
}

Result<std::unique_ptr<Upload>> FileService::BeginUpload(
    const store::Account& account, const std::string& filename) {
  if (filename.empty() || filename.size() > 512) {
    return Payload("The file part needs a filename of 1 to 512 bytes.");
  }
  // Stored and echoed by every listing of the account's files.
  if (!IsValidUtf8(filename)) {
    return Payload("The file part's filename must be UTF-8.");
  }
  store::StoredObject row;
  row.id = NewId("file-");
  row.kind = "file";
  row.filename = filename;
  std::optional<FineTuneValidator> validator;
  if (EndsWithIgnoreCase(filename, ".jsonl")) {
    FineTuneValidator::Options o;
    o.max_bytes = static_cast<int64_t>(options_.max_file_bytes);
    ASSIGN_OR_RETURN(FineTuneValidator v, FineTuneValidator::Create(o));
    validator.emplace(std::move(v));
  }
  ASSIGN_OR_RETURN(Started started, Start(account, std::move(row)));
  return std::unique_ptr<Upload>(std::make_unique<UploadImpl>(
      std::move(started.object), std::move(validator),
      options_.max_file_bytes));
}

Result<std::unique_ptr<ObjectWriter>> FileService::BeginObject(
    const store::Account& account, const NewObject& object) {
  store::StoredObject row;
  row.id = object.id.empty() ? NewId("file-") : object.id;
  row.kind = object.kind;
  row.purpose = object.purpose;
  row.filename = object.filename;
  row.status = "processed";
  row.meta_json = object.meta_json;
  ASSIGN_OR_RETURN(Started started, Start(account, std::move(row)));
  return std::unique_ptr<ObjectWriter>(
      std::make_unique<ObjectWriterImpl>(std::move(started.object)));
}

Result<store::StoredObject> FileService::GetObject(
    const store::Account& account, const std::string& kind,
    const std::string& id) {
  Result<store::StoredObject> row =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.objects().Get(account.uid, id);
      });
  if ((!row.ok() && row.status().code() == StatusCode::kNotFound) ||
      (row.ok() && row->kind != kind)) {
    return Status(StatusCode::kNotFound, "No such object: " + id, "notFound");
  }
  return row;
}

Result<store::StoredObject> FileService::Get(const store::Account& account,
                                             const std::string& id) {
  Result<store::StoredObject> row = GetObject(account, "file", id);
  if (!row.ok() && row.status().code() == StatusCode::kNotFound) {
    return FileNotFound(id);
  }
  return row;
}

Result<FileService::Page> FileService::List(const store::Account& account,
                                            const ListQuery& query) {
  store::ObjectRepo::ListQuery q;
  q.purpose = query.purpose;
  q.ascending = query.ascending;
  q.limit = query.limit + 1;
  if (!query.after.empty()) {
    ASSIGN_OR_RETURN(store::StoredObject after, Get(account, query.after));
    q.after_seq = after.seq;
  }
  ASSIGN_OR_RETURN(std::vector<store::StoredObject> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.objects().List(account.uid, q);
                   }));
  Page page;
  page.has_more = rows.size() > query.limit;
  if (page.has_more) rows.resize(query.limit);
  page.items = std::move(rows);
  return page;
}

Result<std::unique_ptr<Download>> FileService::Open(
    const store::Account& account, const std::string& id) {
  RETURN_IF_ERROR(Get(account, id).status());
  return OpenObject(account, "file", id);
}

Result<std::unique_ptr<Download>> FileService::OpenObject(
    const store::Account& account, const std::string& kind,
    const std::string& id) {
  ASSIGN_OR_RETURN(store::StoredObject row, GetObject(account, kind, id));
  ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> aek, keys_.Aek(account));
  ASSIGN_OR_RETURN(
      crypto::SecretBytes dek,
      crypto::UnwrapKey(*aek, row.wrapped_dek, Aad(account.uid, row.id)));
  Result<std::unique_ptr<env::RandomAccessFile>> file = blobs_.Open(row.blob);
  if (!file.ok() && file.status().code() == StatusCode::kNotFound) {
    // The row is there but its content is not: lost to the service, which
    // is not the caller's doing, so not a 404 either.
    return Status(StatusCode::kDataLoss,
                  "The stored content of this object is missing.",
                  "internalFailure");
  }
  if (!file.ok()) return file.status();
  auto download = std::make_unique<DownloadImpl>(std::move(file).value());
  RETURN_IF_ERROR(download->Open(dek, Aad(account.uid, row.id)));
  return std::unique_ptr<Download>(std::move(download));
}

Status FileService::Delete(const store::Account& account,
                           const std::string& id) {
  RETURN_IF_ERROR(Get(account, id).status());
  return DeleteObject(account, "file", id);
}

Status FileService::DeleteObject(const store::Account& account,
                                 const std::string& kind,
                                 const std::string& id) {
  ASSIGN_OR_RETURN(store::StoredObject row, GetObject(account, kind, id));
  RETURN_IF_ERROR(store_.Transact([&](store::Transaction& tx) {
    return tx.objects().Delete(account.uid, id);
  }));
  // The row held the only wrapped copy of the data key: the blob is
  // unreadable already. A blob that fails to go is swept at the next start.
  (void)blobs_.Delete(row.blob);
  return Status::Ok();
}

void FileService::DeleteAccountBlobs(const std::string& uid) {
  Result<std::vector<std::string>> all = blobs_.List();
  if (!all.ok()) return;
  const std::string prefix = uid + "/";
  for (const std::string& name : *all) {
    if (name.compare(0, prefix.size(), prefix) == 0) (void)blobs_.Delete(name);
  }
}

Result<int> FileService::SweepOrphans() {
  ASSIGN_OR_RETURN(int swept, blobs_.SweepTemporary());
  ASSIGN_OR_RETURN(std::vector<std::string> referenced,
                   store_.ReadResult([](store::Transaction& tx) {
                     return tx.objects().ListBlobs();
                   }));
  ASSIGN_OR_RETURN(std::vector<std::string> all, blobs_.List());
  std::sort(referenced.begin(), referenced.end());
  for (const std::string& name : all) {
    if (!std::binary_search(referenced.begin(), referenced.end(), name)) {
      RETURN_IF_ERROR(blobs_.Delete(name));
      ++swept;
    }
  }
  return swept;
}

}  // namespace atrest::files
