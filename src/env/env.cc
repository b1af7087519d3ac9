#include "env/env.h"

#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "env/path.h"

namespace atrest::env {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

// "<path>.tmp-<16 hex digits>". The suffix only has to avoid collisions
// between concurrent writers, so it comes from the process-wide source.
std::string TempPathFor(const std::string& path) {
  uint8_t suffix[8];
  Env::Default().random().Fill(suffix);
  return path + ".tmp-" + HexEncode(suffix);
}

Status AppendSyncClose(WritableFile& file, ByteView data) {
  RETURN_IF_ERROR(file.Append(data));
  RETURN_IF_ERROR(file.Sync());
  return file.Close();
}

}  // namespace

uint64_t Random::NextU64() {
  uint8_t buf[8];
  Fill(buf);
  uint64_t v;
  std::memcpy(&v, buf, sizeof(v));
  return v;
}

std::string Random::NewUuid() {
  uint8_t b[16];
  Fill(b);
  b[6] = (b[6] & 0x0f) | 0x40;  // Version 4.
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant.
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) +
         "-" + hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string NormalizeDir(std::string_view dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (dir.empty()) return ".";
  return std::string(dir);
}

std::string ParentDir(std::string_view path) {
  const std::string p = NormalizeDir(path);
  const size_t slash = p.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return NormalizeDir(std::string_view(p).substr(0, slash));
}

Status WriteFileAtomically(FileSystem& fs, const std::string& path,
                           ByteView data) {
  const std::string tmp = TempPathFor(path);
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.NewWritableFile(tmp));
  Status s = AppendSyncClose(*file, data);
  file.reset();  // Closes the descriptor if Close() was not reached.
  if (s.ok()) s = fs.Rename(tmp, path);
  if (!s.ok()) {
    // Best effort; the error that matters is the one that stopped us. A
    // temporary file left behind is harmless: it is never read.
    (void)fs.Remove(tmp);
    return s;
  }
  // Until this succeeds a crash may bring back the old content; that is
  // still one of the two outcomes the contract allows.
  return fs.SyncDir(ParentDir(path));
}

Result<Bytes> ReadFile(FileSystem& fs, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SequentialFile> file,
                   fs.NewSequentialFile(path));
  Bytes out;
  for (;;) {
    const size_t old_size = out.size();
    out.resize(old_size + kReadChunk);
    ASSIGN_OR_RETURN(size_t n,
                     file->Read(MutableByteView(out).subspan(old_size)));
    out.resize(old_size + n);
    if (n == 0) return out;
  }
}

}  // namespace atrest::env
