#include "store/sqlite_full_disk_vfs.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <string>
#include <utility>

namespace atrest::store::sqlite {
namespace {

// A file opened through the VFS: ours first, the default VFS's right after.
struct ShimFile {
  sqlite3_file base;  // pMethods: kMethods once open.
  const FullDiskVfs* vfs;
  sqlite3_file* real;
  std::string shm_path;  // "<db>-shm" for a main database file, else "".
  // The size of the -shm file when the database was opened: the unix VFS
  // truncates it when the first connection maps it and then grows it back
  // into the space it just freed, which a full disk allows.
  off_t shm_held;
};

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real; }
const sqlite3_io_methods* RealMethods(sqlite3_file* f) {
  return Real(f)->pMethods;
}

// True when writing up to `end` would take space the file does not have.
bool Grows(sqlite3_file* f, sqlite3_int64 end) {
  sqlite3_int64 size = 0;
  if (RealMethods(f)->xFileSize(Real(f), &size) != SQLITE_OK) return true;
  return end > size;
}

int Close(sqlite3_file* f) {
  int rc = RealMethods(f)->xClose(Real(f));
  Shim(f)->shm_path.~basic_string();
  f->pMethods = nullptr;
  return rc;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return RealMethods(f)->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (Shim(f)->vfs->full() && Grows(f, off + n)) return SQLITE_FULL;
  return RealMethods(f)->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (Shim(f)->vfs->full() && Grows(f, size)) return SQLITE_FULL;
  return RealMethods(f)->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  return RealMethods(f)->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return RealMethods(f)->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) {
  return RealMethods(f)->xLock(Real(f), level);
}
int Unlock(sqlite3_file* f, int level) {
  return RealMethods(f)->xUnlock(Real(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return RealMethods(f)->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  if (op == SQLITE_FCNTL_SIZE_HINT && Shim(f)->vfs->full() &&
      Grows(f, *static_cast<sqlite3_int64*>(arg))) {
    return SQLITE_FULL;
  }
  return RealMethods(f)->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return RealMethods(f)->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return RealMethods(f)->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int region, int region_size, int extend,
           void volatile** out) {
  if (extend && Shim(f)->vfs->full()) {
    // The unix VFS extends the -shm file by writing to it, which a full
    // disk refuses.
    struct stat st;
    const auto need = static_cast<off_t>(region + 1) * region_size;
    const ShimFile* shim = Shim(f);
    if (shim->shm_path.empty() || ::stat(shim->shm_path.c_str(), &st) != 0 ||
        std::max(st.st_size, shim->shm_held) < need) {
      return SQLITE_IOERR_SHMSIZE;
    }
  }
  return RealMethods(f)->xShmMap(Real(f), region, region_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return RealMethods(f)->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { RealMethods(f)->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  return RealMethods(f)->xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return RealMethods(f)->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return RealMethods(f)->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

const FullDiskVfs& Self(sqlite3_vfs* vfs) {
  return *static_cast<const FullDiskVfs*>(vfs->pAppData);
}
sqlite3_vfs* Base(sqlite3_vfs* vfs) { return Self(vfs).base(); }

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
         int* out_flags) {
  ShimFile* f = Shim(file);
  f->base.pMethods = nullptr;
  f->vfs = &Self(vfs);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->real->pMethods = nullptr;
  sqlite3_vfs* base = Base(vfs);
  int rc = base->xOpen(base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (f->real->pMethods != nullptr) f->real->pMethods->xClose(f->real);
    return rc;
  }
  if (f->real->pMethods->iVersion < 3) {
    f->real->pMethods->xClose(f->real);
    return SQLITE_CANTOPEN;
  }
  new (&f->shm_path)
      std::string(name != nullptr && (flags & SQLITE_OPEN_MAIN_DB)
                      ? std::string(name) + "-shm"
                      : std::string());
  struct stat st;
  f->shm_held = !f->shm_path.empty() && ::stat(f->shm_path.c_str(), &st) == 0
                    ? st.st_size
                    : 0;
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}
int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Base(vfs)->xDelete(Base(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Base(vfs)->xAccess(Base(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Base(vfs)->xFullPathname(Base(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Base(vfs)->xDlOpen(Base(vfs), name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) {
  Base(vfs)->xDlError(Base(vfs), n, out);
}
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* sym))(void) {
  return Base(vfs)->xDlSym(Base(vfs), handle, sym);
}
void DlClose(sqlite3_vfs* vfs, void* handle) {
  Base(vfs)->xDlClose(Base(vfs), handle);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xRandomness(Base(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) {
  return Base(vfs)->xSleep(Base(vfs), micros);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Base(vfs)->xCurrentTime(Base(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Base(vfs)->xGetLastError(Base(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Base(vfs)->xCurrentTimeInt64(Base(vfs), out);
}

}  // namespace

FullDiskVfs::FullDiskVfs(std::function<bool()> full, sqlite3_vfs* base,
                         std::string name)
    : full_(std::move(full)), base_(base), name_(std::move(name)) {}

Result<std::unique_ptr<FullDiskVfs>> FullDiskVfs::Register(
    std::function<bool()> full) {
  if (!full) return InvalidArgumentError("full-disk VFS: no predicate");
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr || base->iVersion < 2) {
    return InternalError("full-disk VFS: no usable default SQLite VFS");
  }
  static std::atomic<int> counter{0};
  std::unique_ptr<FullDiskVfs> self(new FullDiskVfs(
      std::move(full), base, "atrest-full-disk-" + std::to_string(++counter)));
  auto vfs = std::make_unique<sqlite3_vfs>();
  *vfs = sqlite3_vfs{};
  vfs->iVersion = 2;
  vfs->szOsFile = static_cast<int>(sizeof(ShimFile)) + base->szOsFile;
  vfs->mxPathname = base->mxPathname;
  vfs->zName = self->name_.c_str();
  vfs->pAppData = self.get();
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = DlOpen;
  vfs->xDlError = DlError;
  vfs->xDlSym = DlSym;
  vfs->xDlClose = DlClose;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  if (int rc = sqlite3_vfs_register(vfs.get(), /*makeDflt=*/0);
      rc != SQLITE_OK) {
    return InternalError(std::string("full-disk VFS: ") + sqlite3_errstr(rc));
  }
  self->vfs_ = std::move(vfs);
  return self;
}

FullDiskVfs::~FullDiskVfs() {
  if (vfs_) sqlite3_vfs_unregister(vfs_.get());
}

}  // namespace atrest::store::sqlite
