#include "env/full_disk.h"

#include <sys/stat.h>

#include <utility>

namespace atrest::env {
namespace {

Status OutOfSpace(const char* call) {
  return InsufficientStorageError(std::string(call) + ": out of disk space");
}

class FullDiskWritableFile final : public WritableFile {
 public:
  FullDiskWritableFile(std::unique_ptr<WritableFile> base,
                       const FullDiskSwitch& full)
      : base_(std::move(base)), switch_(full) {}
  Status Append(ByteView data) override {
    if (!data.empty() && switch_.full()) return OutOfSpace("write");
    return base_->Append(data);
  }
  Status Sync() override { return base_->Sync(); }
  Status Close() override { return base_->Close(); }

 private:
  const std::unique_ptr<WritableFile> base_;
  const FullDiskSwitch& switch_;
};

}  // namespace

bool FullDiskSwitch::full() const {
  struct stat st;
  return !flag_path_.empty() && ::stat(flag_path_.c_str(), &st) == 0;
}

Result<std::unique_ptr<WritableFile>> FullDiskFileSystem::NewWritableFile(
    const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                   base_.NewWritableFile(path));
  return std::unique_ptr<WritableFile>(
      std::make_unique<FullDiskWritableFile>(std::move(file), switch_));
}

Result<uint64_t> FullDiskFileSystem::AvailableBytes(const std::string& path) {
  if (switch_.full()) return uint64_t{0};
  return base_.AvailableBytes(path);
}

Status FullDiskFileSystem::CreateDirs(const std::string& path) {
  if (switch_.full() && !base_.Exists(path + "/.")) return OutOfSpace("mkdir");
  return base_.CreateDirs(path);
}

}  // namespace atrest::env
