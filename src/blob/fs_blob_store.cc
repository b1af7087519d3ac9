#include "blob/fs_blob_store.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atrest::blob {
namespace {

constexpr size_t kMaxSegmentSize = 128;
// Separates a temporary file's final name from its random suffix. '~' is not
// allowed in names, so no blob name contains it.
constexpr std::string_view kTempMarker = "~tmp-";
constexpr size_t kTempSuffixBytes = 8;  // 16 hex digits.

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool IsValidSegment(std::string_view segment) {
  return !segment.empty() && segment.size() <= kMaxSegmentSize &&
         segment != "." && segment != ".." &&
         std::all_of(segment.begin(), segment.end(), IsNameChar);
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// "<valid segment>~tmp-<16 lower-case hex digits>", as TempName() makes.
bool IsTempName(std::string_view entry) {
  const size_t marker = entry.rfind(kTempMarker);
  if (marker == std::string_view::npos) return false;
  const std::string_view suffix = entry.substr(marker + kTempMarker.size());
  return IsValidSegment(entry.substr(0, marker)) &&
         suffix.size() == 2 * kTempSuffixBytes &&
         std::all_of(suffix.begin(), suffix.end(), IsLowerHex);
}

std::string TempName(const std::string& leaf) {
  // The suffix only has to keep concurrent writers of one name apart, so it
  // comes from the process-wide non-secret source, as env's temporaries do.
  uint8_t suffix[kTempSuffixBytes];
  env::Env::Default().random().Fill(suffix);
  return leaf + std::string(kTempMarker) + HexEncode(suffix);
}

std::string Join(const std::string& dir, std::string_view name) {
  std::string path = dir;
  if (path.empty() || path.back() != '/') path += '/';
  path += name;
  return path;
}

std::string ParentOf(const std::string& dir) {
  const size_t slash = dir.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return dir.substr(0, slash);
}

// FileSystem has no stat; "<path>/." resolves only when <path> is a
// directory (POSIX path resolution), so Exists() answers the question.
bool IsDirectory(env::FileSystem& fs, const std::string& path) {
  return fs.Exists(path + "/.");
}

// Where a blob lives.
struct Location {
  std::string first;  // The first segment of a two-segment name, else empty.
  std::string dir;    // The directory that holds the blob.
  std::string leaf;   // The last segment.
  std::string path;   // dir/leaf.
};

Result<Location> Locate(const std::string& root, const std::string& name) {
  const size_t slash = name.find('/');
  Location loc;
  if (slash == std::string::npos) {
    loc.dir = root;
    loc.leaf = name;
  } else {
    loc.first = name.substr(0, slash);
    loc.dir = Join(root, loc.first);
    loc.leaf = name.substr(slash + 1);
  }
  // A third segment leaves a '/' in leaf, which IsValidSegment refuses.
  if ((slash != std::string::npos && !IsValidSegment(loc.first)) ||
      !IsValidSegment(loc.leaf)) {
    return InvalidArgumentError(
        "invalid blob name: want one or two '/'-separated segments of 1 to "
        "128 characters [A-Za-z0-9._-], neither '.' nor '..'");
  }
  loc.path = Join(loc.dir, loc.leaf);
  return loc;
}

// Messages name neither the blob (an account uid and an object id: the
// internal layout) nor the path or errno text of a file call under it: they
// reach server logs and, for a full disk, API callers (blob_store.h).
constexpr std::string_view kContext = "blob store";

Status Scrub(const Status& s) {
  if (s.ok() || s.message().starts_with(kContext)) return s;
  if (s.code() == StatusCode::kInsufficientStorage) {
    return s.WithContext(kContext);
  }
  // env's messages read "<call> <path>: <text>"; keep only the call.
  const std::string& m = s.message();
  std::string call = m.substr(0, m.find_first_of(" :"));
  if (call.empty()) call = "file call";
  return Status(s.code(),
                std::string(kContext) + ": " + call + " failed (" +
                    std::string(StatusCodeName(s.code())) + ")",
                s.reason());
}

}  // namespace

class FsBlobStore::Writer final : public BlobWriter {
 public:
  Writer(FsBlobStore& store, std::string name, Location loc, std::string tmp,
         std::unique_ptr<env::WritableFile> file)
      : store_(store),
        name_(std::move(name)),
        loc_(std::move(loc)),
        tmp_(std::move(tmp)),
        file_(std::move(file)) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  ~Writer() override {
    if (state_ != State::kOpen) return;
    file_.reset();
    (void)store_.fs_.Remove(tmp_);  // Best effort; SweepTemporary is the net.
  }

  Status Append(ByteView data) override {
    RETURN_IF_ERROR(CheckOpen());
    // Large appends (whole stream segments) go straight to the file: a
    // copy into the buffer would cost more than the system call it saves.
    if (buffer_.size() + data.size() > kWriteBufferSize ||
        data.size() >= kDirectWriteSize) {
      if (Status s = Flush(); !s.ok()) return Fail(std::move(s));
      if (data.size() >= kDirectWriteSize) {
        if (Status s = file_->Append(data); !s.ok()) return Fail(std::move(s));
        size_ += data.size();
        return Status::Ok();
      }
    }
    const size_t need = buffer_.size() + data.size();
    if (need > buffer_.capacity()) {
      // Grow geometrically but never past the bound.
      buffer_.reserve(
          std::min(kWriteBufferSize, std::max(need, 2 * buffer_.capacity())));
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    size_ += data.size();
    return Status::Ok();
  }

  Status Commit() override {
    RETURN_IF_ERROR(CheckOpen());
    if (Status s = Publish(); !s.ok()) return Fail(std::move(s));
    state_ = State::kCommitted;
    buffer_ = Bytes();
    return Status::Ok();
  }

  uint64_t size() const override { return size_; }

 private:
  enum class State { kOpen, kCommitted, kFailed };

  Status CheckOpen() const {
    switch (state_) {
      case State::kOpen:
        return Status::Ok();
      case State::kCommitted:
        return FailedPreconditionError(std::string(kContext) +
                                       ": blob already committed");
      case State::kFailed:
        return error_;
    }
    return InternalError(std::string(kContext) + ": bad writer state");
  }

  Status Flush() {
    if (buffer_.empty()) return Status::Ok();
    RETURN_IF_ERROR(file_->Append(buffer_));
    buffer_.clear();
    return Status::Ok();
  }

  Status Publish() {
    RETURN_IF_ERROR(Flush());
    RETURN_IF_ERROR(file_->Sync());
    Status closed = file_->Close();
    file_.reset();
    RETURN_IF_ERROR(closed);
    RETURN_IF_ERROR(store_.Publish(tmp_, loc_.path));
    renamed_ = true;
    return store_.fs_.SyncDir(loc_.dir);
  }

  // Kills the writer: removes what it wrote and remembers `s` for every
  // later call.
  Status Fail(Status s) {
    state_ = State::kFailed;
    error_ = Scrub(s);
    buffer_ = Bytes();
    file_.reset();
    // After a rename whose directory sync failed the blob is visible but
    // maybe not durable; the caller was told it failed, so it goes too.
    (void)store_.fs_.Remove(renamed_ ? loc_.path : tmp_);
    return error_;
  }

  FsBlobStore& store_;
  const std::string name_;
  const Location loc_;
  const std::string tmp_;
  std::unique_ptr<env::WritableFile> file_;  // Null once closed.
  Bytes buffer_;                             // At most kWriteBufferSize.
  uint64_t size_ = 0;
  bool renamed_ = false;
  State state_ = State::kOpen;
  Status error_;  // Set in kFailed.
};

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::Open(env::FileSystem& fs,
                                                       std::string root_dir) {
  if (root_dir.empty()) {
    return InvalidArgumentError("blob store: empty root directory");
  }
  while (root_dir.size() > 1 && root_dir.back() == '/') root_dir.pop_back();
  const bool existed = fs.Exists(root_dir);
  RETURN_IF_ERROR(fs.CreateDirs(root_dir).WithContext("blob store"));
  if (!existed) {
    RETURN_IF_ERROR(fs.SyncDir(ParentOf(root_dir)).WithContext("blob store"));
  }
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(fs, std::move(root_dir)));
}

Result<std::unique_ptr<BlobWriter>> FsBlobStore::Create(
    const std::string& name) {
  ASSIGN_OR_RETURN(Location loc, Locate(root_, name));
  if (loc.first.empty()) {
    if (IsDirectory(fs_, loc.path)) {
      return FailedPreconditionError(
          std::string(kContext) +
          ": the name is the directory of two-segment blobs");
    }
  } else {
    RETURN_IF_ERROR(Scrub(EnsureDir(loc.first)));
  }
  if (fs_.Exists(loc.path)) {
    return AlreadyExistsError(std::string(kContext) +
                              ": the blob already exists");
  }
  std::string tmp = Join(loc.dir, TempName(loc.leaf));
  auto file = fs_.NewWritableFile(tmp);
  if (!file.ok()) return Scrub(file.status());
  return std::unique_ptr<BlobWriter>(std::make_unique<Writer>(
      *this, name, std::move(loc), std::move(tmp), std::move(file).value()));
}

Result<std::unique_ptr<env::RandomAccessFile>> FsBlobStore::Open(
    const std::string& name) {
  ASSIGN_OR_RETURN(Location loc, Locate(root_, name));
  const Status not_found =
      NotFoundError(std::string(kContext) + ": blob not found");
  if (loc.first.empty() && IsDirectory(fs_, loc.path)) return not_found;
  auto file = fs_.NewRandomAccessFile(loc.path);
  if (file.ok()) return file;
  // Covers ENOTDIR too, when the first segment names a one-segment blob.
  if (!fs_.Exists(loc.path)) return not_found;
  return Scrub(file.status());
}

Status FsBlobStore::Delete(const std::string& name) {
  ASSIGN_OR_RETURN(Location loc, Locate(root_, name));
  Status removed = fs_.Remove(loc.path);
  if (!removed.ok()) {
    if (fs_.Exists(loc.path) && !IsDirectory(fs_, loc.path)) {
      return Scrub(removed);
    }
    // Absent. An earlier Delete may have removed it without a durable
    // directory sync, so sync anyway when there is a directory to sync.
    if (!IsDirectory(fs_, loc.dir)) return Status::Ok();
  }
  return Scrub(fs_.SyncDir(loc.dir));
}

Result<std::vector<std::string>> FsBlobStore::List() {
  ASSIGN_OR_RETURN(std::vector<std::string> entries, fs_.ListDir(root_));
  std::vector<std::string> names;
  for (const std::string& entry : entries) {
    // Temporary files contain '~' and fail this test.
    if (!IsValidSegment(entry)) continue;
    const std::string path = Join(root_, entry);
    if (!IsDirectory(fs_, path)) {
      names.push_back(entry);
      continue;
    }
    ASSIGN_OR_RETURN(std::vector<std::string> inner, fs_.ListDir(path));
    for (const std::string& leaf : inner) {
      if (IsValidSegment(leaf)) names.push_back(entry + "/" + leaf);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<int> FsBlobStore::SweepTemporary() {
  int removed = 0;
  // Not followed by a directory sync: a temporary file that a crash brings
  // back is removed by the next sweep.
  auto sweep = [&](const std::string& dir,
                   const std::vector<std::string>& entries) -> Status {
    for (const std::string& entry : entries) {
      if (!IsTempName(entry)) continue;
      Status s = fs_.Remove(Join(dir, entry));
      if (s.ok()) {
        ++removed;
      } else if (s.code() != StatusCode::kNotFound) {
        return s.WithContext("sweeping temporary blobs");
      }
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(std::vector<std::string> entries, fs_.ListDir(root_));
  RETURN_IF_ERROR(sweep(root_, entries));
  for (const std::string& entry : entries) {
    const std::string path = Join(root_, entry);
    if (!IsValidSegment(entry) || !IsDirectory(fs_, path)) continue;
    ASSIGN_OR_RETURN(std::vector<std::string> inner, fs_.ListDir(path));
    RETURN_IF_ERROR(sweep(path, inner));
  }
  return removed;
}

Status FsBlobStore::EnsureDir(const std::string& first) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (durable_dirs_.contains(first)) return Status::Ok();
  }
  // Two writers racing here both create and sync; each returns only after
  // the directory entry is durable, which is the point.
  RETURN_IF_ERROR(fs_.CreateDirs(Join(root_, first)));
  RETURN_IF_ERROR(fs_.SyncDir(root_));
  std::lock_guard<std::mutex> lock(mu_);
  durable_dirs_.insert(first);
  return Status::Ok();
}

Status FsBlobStore::Publish(const std::string& tmp,
                            const std::string& final_path) {
  // Rename replaces its target, so the check and the rename are one step
  // under the lock: of two writers of one name, the second gets
  // AlreadyExists instead of overwriting an immutable blob.
  std::lock_guard<std::mutex> lock(mu_);
  if (fs_.Exists(final_path)) {
    return AlreadyExistsError(std::string(kContext) +
                              ": another writer committed the blob first");
  }
  return fs_.Rename(tmp, final_path);
}

}  // namespace atrest::blob
