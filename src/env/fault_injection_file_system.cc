// FaultInjectionFileSystem (declared in env/testing.h).
#include <cassert>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "env/path.h"
#include "env/testing.h"

namespace atrest::env {

using Op = FaultInjectionFileSystem::Op;

class FaultInjectionFileSystem::FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionFileSystem& fs, uint64_t id, uint64_t epoch,
                    std::string path, std::unique_ptr<WritableFile> base)
      : fs_(fs),
        id_(id),
        epoch_(epoch),
        path_(std::move(path)),
        base_(std::move(base)) {}

  Status Append(ByteView data) override {
    return fs_.Append(epoch_, path_, *base_, data);
  }
  Status Sync() override { return fs_.Sync(id_, epoch_, *base_); }
  Status Close() override { return base_->Close(); }

 private:
  FaultInjectionFileSystem& fs_;
  const uint64_t id_;
  const uint64_t epoch_;
  const std::string path_;  // As opened, for messages.
  const std::unique_ptr<WritableFile> base_;
};

class FaultInjectionFileSystem::FaultRandomAccessFile final
    : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultInjectionFileSystem& fs,
                        std::unique_ptr<RandomAccessFile> base)
      : fs_(fs), base_(std::move(base)) {}

  Result<size_t> ReadAt(uint64_t offset, MutableByteView out) const override {
    RETURN_IF_ERROR(fs_.BeforeRead());
    return base_->ReadAt(offset, out);
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionFileSystem& fs_;
  const std::unique_ptr<RandomAccessFile> base_;
};

class FaultInjectionFileSystem::FaultSequentialFile final
    : public SequentialFile {
 public:
  FaultSequentialFile(FaultInjectionFileSystem& fs,
                      std::unique_ptr<SequentialFile> base)
      : fs_(fs), base_(std::move(base)) {}

  Result<size_t> Read(MutableByteView out) override {
    RETURN_IF_ERROR(fs_.BeforeRead());
    return base_->Read(out);
  }

 private:
  FaultInjectionFileSystem& fs_;
  const std::unique_ptr<SequentialFile> base_;
};

void FaultInjectionFileSystem::FailNext(Op op, Status s) {
  assert(!s.ok());
  std::lock_guard<std::mutex> lock(mu_);
  fail_next_[static_cast<size_t>(op)] = std::move(s);
}

void FaultInjectionFileSystem::SetWriteBudget(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  write_budget_ = bytes;
}

void FaultInjectionFileSystem::ClearWriteBudget() {
  std::lock_guard<std::mutex> lock(mu_);
  write_budget_.reset();
}

int FaultInjectionFileSystem::calls(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_[static_cast<size_t>(op)];
}

Status FaultInjectionFileSystem::TakeFault(Op op) {
  const auto i = static_cast<size_t>(op);
  ++calls_[i];
  if (!fail_next_[i].has_value()) return Status::Ok();
  Status s = std::move(*fail_next_[i]);
  fail_next_[i].reset();
  return s;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(TakeFault(Op::kOpen));
  const bool existed = base_.Exists(path);
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                   base_.NewWritableFile(path));
  Untrack(path);  // The old content is gone.
  const uint64_t id = next_id_++;
  files_[id] = TrackedFile{path, 0};
  if (!existed) {
    pending_.push_back(DirChange{
        DirChange::kCreate, path, "", std::nullopt, {ParentDir(path)}});
  }
  return std::unique_ptr<WritableFile>(std::make_unique<FaultWritableFile>(
      *this, id, epoch_, path, std::move(file)));
}

Result<std::unique_ptr<RandomAccessFile>>
FaultInjectionFileSystem::NewRandomAccessFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(TakeFault(Op::kOpen));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> file,
                   base_.NewRandomAccessFile(path));
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<FaultRandomAccessFile>(*this, std::move(file)));
}

Result<std::unique_ptr<SequentialFile>>
FaultInjectionFileSystem::NewSequentialFile(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(TakeFault(Op::kOpen));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file,
                   base_.NewSequentialFile(path));
  return std::unique_ptr<SequentialFile>(
      std::make_unique<FaultSequentialFile>(*this, std::move(file)));
}

Status FaultInjectionFileSystem::Rename(const std::string& from,
                                        const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(TakeFault(Op::kRename));
  if (from == to) return base_.Rename(from, to);
  std::optional<Bytes> prior;
  if (base_.Exists(to)) {
    ASSIGN_OR_RETURN(prior, DurableContent(to));
  }
  RETURN_IF_ERROR(base_.Rename(from, to));
  Untrack(to);
  for (auto& [id, file] : files_) {
    if (file.path == from) file.path = to;
  }
  pending_.push_back(DirChange{DirChange::kRename,
                               to,
                               from,
                               std::move(prior),
                               {ParentDir(from), ParentDir(to)}});
  return Status::Ok();
}

Status FaultInjectionFileSystem::Remove(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(TakeFault(Op::kRemove));
  Result<Bytes> content = DurableContent(path);
  RETURN_IF_ERROR(base_.Remove(path));
  Untrack(path);
  std::optional<Bytes> prior;
  if (content.ok()) prior = std::move(*content);
  pending_.push_back(DirChange{
      DirChange::kRemove, path, "", std::move(prior), {ParentDir(path)}});
  return Status::Ok();
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& path) {
  return base_.CreateDirs(path);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(TakeFault(Op::kSyncDir));
  RETURN_IF_ERROR(base_.SyncDir(path));
  const std::string dir = NormalizeDir(path);
  for (DirChange& change : pending_) change.unsynced_dirs.erase(dir);
  std::erase_if(pending_, [](const DirChange& change) {
    return change.unsynced_dirs.empty();
  });
  return Status::Ok();
}

Result<std::vector<std::string>> FaultInjectionFileSystem::ListDir(
    const std::string& path) {
  return base_.ListDir(path);
}

bool FaultInjectionFileSystem::Exists(const std::string& path) {
  return base_.Exists(path);
}

Result<uint64_t> FaultInjectionFileSystem::FileSize(const std::string& path) {
  return base_.FileSize(path);
}

Status FaultInjectionFileSystem::Append(uint64_t epoch, const std::string& path,
                                        WritableFile& file, ByteView data) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) {
    return FailedPreconditionError("write " + path + ": opened before crash");
  }
  RETURN_IF_ERROR(TakeFault(Op::kAppend));
  ByteView fits = data;
  if (write_budget_.has_value() && data.size() > *write_budget_) {
    fits = data.first(*write_budget_);
  }
  if (!fits.empty()) RETURN_IF_ERROR(file.Append(fits));
  if (write_budget_.has_value()) *write_budget_ -= fits.size();
  if (fits.size() < data.size()) {
    return InsufficientStorageError("write: out of disk space");
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::Sync(uint64_t id, uint64_t epoch,
                                      WritableFile& file) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch != epoch_) {
    return FailedPreconditionError("sync: file opened before crash");
  }
  RETURN_IF_ERROR(TakeFault(Op::kSync));
  RETURN_IF_ERROR(file.Sync());
  auto it = files_.find(id);
  if (it != files_.end()) {
    // The size on `base` after a successful sync is exactly what is durable,
    // including any partial write of a failed Append.
    ASSIGN_OR_RETURN(it->second.synced, base_.FileSize(it->second.path));
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::BeforeRead() {
  std::lock_guard<std::mutex> lock(mu_);
  return TakeFault(Op::kRead);
}

void FaultInjectionFileSystem::Untrack(const std::string& path) {
  std::erase_if(files_,
                [&](const auto& entry) { return entry.second.path == path; });
}

Result<Bytes> FaultInjectionFileSystem::DurableContent(
    const std::string& path) {
  ASSIGN_OR_RETURN(Bytes content, ReadFile(base_, path));
  for (const auto& [id, file] : files_) {
    if (file.path == path && content.size() > file.synced) {
      content.resize(file.synced);
    }
  }
  return content;
}

Status FaultInjectionFileSystem::Rewrite(const std::string& path,
                                         ByteView content) {
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                   base_.NewWritableFile(path));
  RETURN_IF_ERROR(file->Append(content));
  RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

Status FaultInjectionFileSystem::Undo(const DirChange& change) {
  switch (change.kind) {
    case DirChange::kCreate:
      if (!base_.Exists(change.path)) return Status::Ok();
      return base_.Remove(change.path);
    case DirChange::kRename:
      if (base_.Exists(change.path) && !base_.Exists(change.from)) {
        RETURN_IF_ERROR(base_.Rename(change.path, change.from));
      }
      if (!change.prior.has_value()) return Status::Ok();
      return Rewrite(change.path, *change.prior);
    case DirChange::kRemove:
      if (!change.prior.has_value() || base_.Exists(change.path)) {
        return Status::Ok();
      }
      return Rewrite(change.path, *change.prior);
  }
  return InternalError("unknown directory change");
}

Status FaultInjectionFileSystem::SimulateCrash() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first_error;
  auto note = [&first_error](Status s) {
    if (first_error.ok() && !s.ok()) first_error = std::move(s);
  };
  // Un-synced tails first, while the tracked paths are still current.
  for (const auto& [id, file] : files_) {
    if (!base_.Exists(file.path)) continue;
    Result<Bytes> durable = DurableContent(file.path);
    if (!durable.ok()) {
      note(durable.status());
      continue;
    }
    Result<uint64_t> size = base_.FileSize(file.path);
    if (!size.ok() || *size != durable->size()) {
      note(Rewrite(file.path, *durable));
    }
  }
  // Then directory changes, newest first.
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    note(Undo(*it));
  }
  files_.clear();
  pending_.clear();
  ++epoch_;
  return first_error;
}

}  // namespace atrest::env
