#include "files/file_service.h"

#include <algorithm>
#include <cctype>

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

std::string NewFileId() {
  Bytes raw(16);
  crypto::RandomBytes(raw);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "file-";
  for (uint8_t b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Status FileNotFound(const std::string& id) {
  return Status(StatusCode::kNotFound, "No such File object: " + id,
                "notFound");
}

class UploadImpl final : public Upload {
 public:
  UploadImpl(store::Store& store, blob::BlobStore& blobs, int64_t now,
             store::StoredObject row, std::unique_ptr<blob::BlobWriter> writer,
             std::optional<FineTuneValidator> validator, uint64_t max_bytes)
      : store_(store),
        blobs_(blobs),
        now_(now),
        row_(std::move(row)),
        writer_(std::move(writer)),
        validator_(std::move(validator)),
        max_bytes_(max_bytes) {}

  Status Start(const crypto::SecretBytes& dek) {
    ASSIGN_OR_RETURN(encrypter_,
                     crypto::StreamEncrypter::Create(
                         dek, Aad(row_.account_uid, row_.id),
                         [this](ByteView c) { return writer_->Append(c); }));
    return Status::Ok();
  }

  Status Write(ByteView data) override {
    RETURN_IF_ERROR(error_);
    bytes_ += data.size();
    if (bytes_ > max_bytes_) {
      error_ = Status(StatusCode::kResourceExhausted,
                      "The file is larger than the limit of " +
                          std::to_string(max_bytes_) + " bytes.",
                      "invalidPayload");
      return error_;
    }
    if (validator_) validator_->Update(data);
    error_ = encrypter_->Update(data);
    return error_;
  }

  Result<store::StoredObject> Finish(const std::string& purpose) override {
    RETURN_IF_ERROR(error_);
    if (!UploadablePurpose(purpose)) {
      return Payload("Invalid value for purpose.");
    }
    if (purpose == "fine-tune" &&
        !EndsWithIgnoreCase(row_.filename, ".jsonl")) {
      return Payload("fileName contains an invalid filename: wrong suffix.");
    }
    RETURN_IF_ERROR(encrypter_->Finish());
    RETURN_IF_ERROR(writer_->Commit());
    row_.purpose = purpose;
    row_.bytes = static_cast<int64_t>(bytes_);
    row_.status = "processed";
    if (purpose == "fine-tune" && validator_) {
      FineTuneFileReport report = validator_->Finish();
      if (!report.valid) {
        row_.status = "error";
        row_.status_details = report.status_details;
      }
    }
    row_.created_at = now_;
    Result<int64_t> seq = store_.TransactResult(
        [&](store::Transaction& tx) { return tx.objects().Create(row_); });
    if (!seq.ok()) {
      (void)blobs_.Delete(row_.blob);
      return seq.status();
    }
    row_.seq = *seq;
    return row_;
  }

 private:
  store::Store& store_;
  blob::BlobStore& blobs_;
  const int64_t now_;
  store::StoredObject row_;
  std::unique_ptr<blob::BlobWriter> writer_;
  std::unique_ptr<crypto::StreamEncrypter> encrypter_;
  std::optional<FineTuneValidator> validator_;
  const uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  Status error_;
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

Result<std::unique_ptr<Upload>> FileService::BeginUpload(
    const store::Account& account, const std::string& filename) {
  if (filename.empty() || filename.size() > 512) {
    return Payload("The file part needs a filename of 1 to 512 bytes.");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> aek, keys_.Aek(account));
  store::StoredObject row;
  row.account_uid = account.uid;
  row.id = NewFileId();
  row.kind = "file";
  row.filename = filename;
  row.blob = account.uid + "/" + row.id;
  crypto::SecretBytes dek = crypto::NewAes256Key();
  ASSIGN_OR_RETURN(row.wrapped_dek,
                   crypto::WrapKey(*aek, dek, Aad(account.uid, row.id)));
  ASSIGN_OR_RETURN(std::unique_ptr<blob::BlobWriter> writer,
                   blobs_.Create(row.blob));
  std::optional<FineTuneValidator> validator;
  if (EndsWithIgnoreCase(filename, ".jsonl")) {
    FineTuneValidator::Options o;
    o.max_bytes = static_cast<int64_t>(options_.max_file_bytes);
    ASSIGN_OR_RETURN(FineTuneValidator v, FineTuneValidator::Create(o));
    validator.emplace(std::move(v));
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          env_.clock().Now().time_since_epoch())
                          .count();
  auto upload = std::make_unique<UploadImpl>(
      store_, blobs_, now, std::move(row), std::move(writer),
      std::move(validator), options_.max_file_bytes);
  RETURN_IF_ERROR(upload->Start(dek));
  return std::unique_ptr<Upload>(std::move(upload));
}

Result<store::StoredObject> FileService::Get(const store::Account& account,
                                             const std::string& id) {
  Result<store::StoredObject> row =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.objects().Get(account.uid, id);
      });
  if (!row.ok() && row.status().code() == StatusCode::kNotFound) {
    return FileNotFound(id);
  }
  if (row.ok() && row->kind != "file") return FileNotFound(id);
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
  ASSIGN_OR_RETURN(store::StoredObject row, Get(account, id));
  ASSIGN_OR_RETURN(std::shared_ptr<const crypto::Aead> aek, keys_.Aek(account));
  ASSIGN_OR_RETURN(
      crypto::SecretBytes dek,
      crypto::UnwrapKey(*aek, row.wrapped_dek, Aad(account.uid, row.id)));
  ASSIGN_OR_RETURN(std::unique_ptr<env::RandomAccessFile> file,
                   blobs_.Open(row.blob));
  auto download = std::make_unique<DownloadImpl>(std::move(file));
  RETURN_IF_ERROR(download->Open(dek, Aad(account.uid, row.id)));
  return std::unique_ptr<Download>(std::move(download));
}

Status FileService::Delete(const store::Account& account,
                           const std::string& id) {
  ASSIGN_OR_RETURN(store::StoredObject row, Get(account, id));
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
