#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

#include "store/sqlite_db.h"
#include "store/sqlite_full_disk_vfs.h"
#include "store/sqlite_repos.h"

namespace atrest::store {

namespace {

// The store whose callback runs on this thread, to refuse nesting (which
// would deadlock on the writer mutex or exhaust the pool).
thread_local const SqliteStore* t_active_store = nullptr;

Status ValidateOptions(const SqliteStoreOptions& o) {
  if (o.data_dir.empty()) return InvalidArgumentError("data_dir is required");
  if (o.max_connections < 1) {
    return InvalidArgumentError("max_connections must be at least 1");
  }
  if (o.max_attempts < 1) {
    return InvalidArgumentError("max_attempts must be at least 1");
  }
  if (o.busy_timeout.count() < 0) {
    return InvalidArgumentError("busy_timeout must not be negative");
  }
  for (size_t i = 0; i < o.migrations.size(); ++i) {
    if (o.migrations[i].version != static_cast<int>(i) + 1) {
      return InvalidArgumentError("migrations must be numbered 1, 2, 3, ...");
    }
  }
  return Status::Ok();
}

// Creates the database file owner-only before SQLite first opens it (SQLite
// would use 0644), and tightens an existing file to 0600. SQLite copies the
// database file's mode to the -wal and -shm files it creates.
Status CreateOwnerOnly(const std::string& dir, const std::string& path) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFoundError("data directory " + dir + " does not exist");
  }
  int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOSPC || err == EDQUOT) {
      return InsufficientStorageError(
          "create metadata database: out of disk space");
    }
    return UnavailableError("open " + path + ": " + std::strerror(err));
  }
  const int rc = ::fchmod(fd, 0600);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return UnavailableError("chmod " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Result<int> CurrentVersion(sqlite::Connection& conn) {
  ASSIGN_OR_RETURN(sqlite::Statement s,
                   conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM "
                                "schema_version",
                                "read schema version"));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return InternalError("read schema version: no result");
  return static_cast<int>(s.Int(0));
}

Status TooNew(const std::string& path, int found, int known) {
  return FailedPreconditionError(
      "metadata database " + path + " has schema version " +
      std::to_string(found) + ", newer than version " + std::to_string(known) +
      " that this atrest binary supports; run a newer atrest or restore a "
      "backup taken before the upgrade");
}

}  // namespace

SqliteStore::SqliteStore(SqliteStoreOptions options, std::string path)
    : options_(std::move(options)), path_(std::move(path)) {}

SqliteStore::~SqliteStore() {
  // Connections go before the VFS they were opened through.
  writer_.reset();
  idle_.clear();
}

bool SqliteStore::shred_pending() const { return shred_pending_.load(); }

void SqliteStore::Shred(sqlite::Connection& conn) {
  // Bounded: the writer lock is held meanwhile, so a reader that outlasts
  // this leaves the shred owed rather than stalling every writer.
  constexpr int kAttempts = 3;
  const std::chrono::milliseconds wait =
      std::min(options_.busy_timeout, std::chrono::milliseconds(250));
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    Result<bool> done = conn.CheckpointTruncate(wait);
    if (done.ok() && *done) {
      shred_pending_ = false;
      return;
    }
    if (!done.ok()) break;  // Not a reader in the way: a later try.
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
  }
  shred_pending_ = true;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const SqliteStoreOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  std::string path = options.data_dir + "/" + kFileName;
  RETURN_IF_ERROR(CreateOwnerOnly(options.data_dir, path));
  std::unique_ptr<SqliteStore> store(new SqliteStore(options, path));
  if (options.simulate_full_disk) {
    ASSIGN_OR_RETURN(store->vfs_,
                     sqlite::FullDiskVfs::Register(options.simulate_full_disk));
  }
  RETURN_IF_ERROR(store->Migrate());
  return store;
}

Status SqliteStore::Migrate() {
  std::lock_guard<std::mutex> writer(write_mu_);
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Connection> conn, Acquire(true));
  const int known = static_cast<int>(options_.migrations.size());
  auto migrate = [&]() -> Status {
    RETURN_IF_ERROR(conn->Exec(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL "
        "PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        "create schema_version"));
    ASSIGN_OR_RETURN(int current, CurrentVersion(*conn));
    if (current > known) return TooNew(path_, current, known);
    for (const Migration& m : options_.migrations) {
      if (m.version <= current) continue;
      // Each migration commits alone with its schema_version row. Another
      // process may have migrated meanwhile, so look again under the lock.
      RETURN_IF_ERROR(conn->Exec("BEGIN IMMEDIATE", "begin migration"));
      Status s = [&]() -> Status {
        ASSIGN_OR_RETURN(current, CurrentVersion(*conn));
        if (current > known) return TooNew(path_, current, known);
        if (current >= m.version) return Status::Ok();
        const std::string op = "migration " + std::to_string(m.version);
        RETURN_IF_ERROR(conn->Exec(std::string(m.sql).c_str(), op));
        ASSIGN_OR_RETURN(sqlite::Statement ins,
                         conn->Prepare("INSERT INTO schema_version (version, "
                                       "name, applied_at) VALUES (?1, ?2, "
                                       "CAST(strftime('%s', 'now') AS "
                                       "INTEGER))",
                                       "record migration"));
        ins.Bind(1, int64_t{m.version}).Bind(2, m.name);
        return ins.Run();
      }();
      if (s.ok()) s = conn->Exec("COMMIT", "commit migration");
      if (!conn->autocommit()) (void)conn->Exec("ROLLBACK", "roll back");
      RETURN_IF_ERROR(s);
      current = std::max(current, m.version);
    }
    schema_version_ = current;
    return Status::Ok();
  };
  Status s = migrate();
  Release(std::move(conn), true);
  return s;
}

Result<std::unique_ptr<sqlite::Connection>> SqliteStore::Acquire(bool write) {
  const std::string vfs = vfs_ ? vfs_->name() : std::string();
  if (write) {
    if (writer_) return std::move(writer_);
    return sqlite::Connection::Open(
        path_, sqlite::Connection::Options{
                   .busy_timeout = options_.busy_timeout, .vfs = vfs});
  }
  std::unique_lock<std::mutex> lock(pool_mu_);
  pool_cv_.wait(lock, [&] {
    return !idle_.empty() || open_connections_ < options_.max_connections;
  });
  if (!idle_.empty()) {
    std::unique_ptr<sqlite::Connection> conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  ++open_connections_;
  lock.unlock();
  auto conn = sqlite::Connection::Open(
      path_, sqlite::Connection::Options{.busy_timeout = options_.busy_timeout,
                                         .query_only = true,
                                         .vfs = vfs});
  if (!conn.ok()) {
    lock.lock();
    --open_connections_;
    pool_cv_.notify_one();
  }
  return conn;
}

void SqliteStore::Release(std::unique_ptr<sqlite::Connection> conn,
                          bool write) {
  // A connection stuck inside a transaction (a failed ROLLBACK) is closed,
  // which rolls it back, rather than handed on.
  if (!conn->autocommit() || conn->broken()) conn.reset();
  if (write) {
    writer_ = std::move(conn);
    return;
  }
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (conn) {
    idle_.push_back(std::move(conn));
  } else {
    --open_connections_;
  }
  pool_cv_.notify_one();
}

Status SqliteStore::Transact(const TransactionFn& fn) {
  return Run(fn, /*write=*/true);
}

Status SqliteStore::Read(const TransactionFn& fn) {
  return Run(fn, /*write=*/false);
}

Status SqliteStore::Run(const TransactionFn& fn, bool write) {
  if (t_active_store == this) {
    return FailedPreconditionError(
        "store: Transact or Read called inside a transaction callback");
  }
  std::unique_lock<std::mutex> writer(write_mu_, std::defer_lock);
  if (write) writer.lock();
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Connection> conn, Acquire(write));
  const SqliteStore* outer = std::exchange(t_active_store, this);
  Status result;
  for (int attempt = 1;; ++attempt) {
    conn->clear_conflict();
    result = Attempt(*conn, fn, write);
    if (!conn->conflict()) break;
    if (attempt >= options_.max_attempts) {
      result =
          Status(StatusCode::kAborted,
                 "store: transaction gave up after " + std::to_string(attempt) +
                     " attempts that conflicted with other writers");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
  }
  t_active_store = outer;
  // After the commit (or a failed attempt that still owes an earlier one):
  // no old image of a deleted key is left in the WAL once this returns.
  if (write && conn->autocommit() && !conn->broken() &&
      ((result.ok() && conn->shred_requested()) || shred_pending_)) {
    Shred(*conn);
  }
  Release(std::move(conn), write);
  return result;
}

Status SqliteStore::Attempt(sqlite::Connection& conn, const TransactionFn& fn,
                            bool write) {
  conn.clear_shred_request();
  Status s = conn.Run(write ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
  if (s.ok()) {
    sqlite::SqliteTransaction tx(conn);
    s = fn(tx);
    // A conflict the callback swallowed still invalidates the attempt.
    if (s.ok() && conn.conflict()) {
      s = Status(StatusCode::kAborted, "store: conflict inside transaction");
    }
    if (s.ok()) s = conn.Run("COMMIT", "commit transaction");
  }
  if (!conn.autocommit() && !conn.Run("ROLLBACK", "roll back").ok()) {
    conn.set_broken();
  }
  return s;
}

}  // namespace atrest::store
