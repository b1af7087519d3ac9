#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <cerrno>
#include <string>
#include <utility>

namespace atrest::store::sqlite {

namespace {

std::string Describe(std::string_view op, std::string_view what) {
  std::string m(op);
  m += ": ";
  m += what;
  return m;
}

}  // namespace

// ---- Statement ----

Statement::Statement(Connection* conn, sqlite3_stmt* stmt, bool* in_use,
                     std::string_view op)
    : conn_(conn), stmt_(stmt), in_use_(in_use), op_(op) {}

Statement::Statement(Statement&& other) noexcept
    : conn_(other.conn_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(other.in_use_),
      op_(other.op_),
      bind_status_(std::move(other.bind_status_)) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  }
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (!bind_status_.ok()) return *this;
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) bind_status_ = conn_->Error(rc, op_);
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  if (!bind_status_.ok()) return *this;
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) bind_status_ = conn_->Error(rc, op_);
  return *this;
}

Statement& Statement::BindBlob(int index, ByteView blob) {
  if (!bind_status_.ok()) return *this;
  // A zero-length blob must still bind as a blob, not NULL.
  static const uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  int rc =
      sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) bind_status_ = conn_->Error(rc, op_);
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(rc, op_);
}

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

std::string Statement::Text(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

Bytes Statement::Blob(int column) const {
  const auto* p =
      static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, column));
  if (p == nullptr) return Bytes();
  return Bytes(p, p + sqlite3_column_bytes(stmt_, column));
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const Options& options) {
  sqlite3* db = nullptr;
  // NOMUTEX: the pool hands a connection to one thread at a time.
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      options.vfs.empty() ? nullptr : options.vfs.c_str());
  if (rc != SQLITE_OK) {
    sqlite3_close(db);  // Harmless on nullptr; frees a half-open handle.
    return UnavailableError("open metadata database " + path + ": " +
                            sqlite3_errstr(rc));
  }
  std::unique_ptr<Connection> conn(new Connection(db, options.busy_timeout));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  // Keeps -wal and -shm when the last connection closes (see the header):
  // a restart then needs no space to read. journal_size_limit=0 truncates
  // the kept WAL to zero bytes at that close, and after each checkpoint
  // that restarts it, so old page images do not linger in its tail.
  int persist = 1;
  if (int frc =
          sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
      frc != SQLITE_OK) {
    return conn->Error(frc, "open metadata database");
  }
  RETURN_IF_ERROR(
      conn->Exec("PRAGMA journal_size_limit=0", "configure metadata database"));

  // WAL lets readers run beside the single writer. The mode is persistent in
  // the file; asking again on every connection is cheap and confirms it.
  ASSIGN_OR_RETURN(Statement wal,
                   conn->Prepare("PRAGMA journal_mode=WAL", "enable WAL"));
  ASSIGN_OR_RETURN(bool row, wal.Step());
  if (!row || wal.Text(0) != "wal") {
    return InternalError("open metadata database: WAL mode unavailable");
  }
  RETURN_IF_ERROR(wal.Run());
  // synchronous=FULL: in WAL mode the WAL is fsynced at every commit, so a
  // transaction reported committed survives power loss, not only a process
  // crash (NORMAL may lose the last commits on power loss). DESIGN.md §5
  // acknowledges writes only once durable, and a lost row here can be a
  // lost wrapped key, so one fsync per commit is the price.
  // secure_delete=ON zeroes the content of deleted rows in the database
  // file, so a deleted wrapped key does not linger in free pages.
  RETURN_IF_ERROR(
      conn->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                 "PRAGMA secure_delete=ON;",
                 "configure metadata database"));
  if (options.query_only) {
    RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=1", "open for reading"));
  }
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Status Connection::Exec(const char* sql, std::string_view op) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, op);
  return Status::Ok();
}

Result<Statement> Connection::Prepare(const std::string& sql,
                                      std::string_view op) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Statement(this, it->second.stmt, &it->second.in_use, op);
  }
  const bool cache = it == cache_.end();
  sqlite3_stmt* stmt = nullptr;
  int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                         cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, op);
  if (!cache) return Statement(this, stmt, nullptr, op);
  // Node-based map: the entry's address stays valid as the cache grows.
  Cached& entry = cache_[sql] = Cached{stmt, /*in_use=*/true};
  return Statement(this, stmt, &entry.in_use, op);
}

Status Connection::Run(const std::string& sql, std::string_view op) {
  ASSIGN_OR_RETURN(Statement s, Prepare(sql, op));
  return s.Run();
}

Result<bool> Connection::CheckpointTruncate(std::chrono::milliseconds wait) {
  ASSIGN_OR_RETURN(Statement s, Prepare("PRAGMA wal_checkpoint(TRUNCATE)",
                                        "truncate the write-ahead log"));
  sqlite3_busy_timeout(db_, static_cast<int>(wait.count()));
  Result<bool> row = s.Step();
  sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout_.count()));
  if (!row.ok()) {
    // Busy: readers or another process; the caller tries again.
    if (row.status().code() == StatusCode::kAborted) {
      conflict_ = false;
      return false;
    }
    return row.status();
  }
  if (!*row) return InternalError("truncate the write-ahead log: no result");
  // (busy, frames in the log, frames checkpointed); busy = 1 when it could
  // not finish.
  const bool done = s.Int(0) == 0;
  RETURN_IF_ERROR(s.Run());
  return done;
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

bool Connection::autocommit() const { return sqlite3_get_autocommit(db_); }

std::string Connection::last_error_detail() const {
  return sqlite3_errmsg(db_);
}

Status Connection::Error(int rc, std::string_view op) {
  last_violation_ = Violation::kNone;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE ||
          rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        last_violation_ = Violation::kUnique;
        return AlreadyExistsError(Describe(op, "unique key already taken"));
      }
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        last_violation_ = Violation::kForeignKey;
        return FailedPreconditionError(
            Describe(op,
                     "rows that depend on each other are missing or "
                     "still present"));
      }
      if (rc == SQLITE_CONSTRAINT_CHECK || rc == SQLITE_CONSTRAINT_NOTNULL) {
        return InvalidArgumentError(Describe(op, "a field is out of range"));
      }
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      conflict_ = true;
      return Status(StatusCode::kAborted,
                    Describe(op, "database busy; retry the operation"));
    case SQLITE_READONLY:
      return FailedPreconditionError(
          Describe(op, "write attempted in a read-only transaction"));
    case SQLITE_FULL:
      return InsufficientStorageError(Describe(op, "out of disk space"));
    case SQLITE_IOERR: {
      // The unix VFS reports ENOSPC on a write as SQLITE_FULL, but EDQUOT,
      // and ENOSPC while growing the -shm file or syncing, as I/O errors.
      const int err = sqlite3_system_errno(db_);
      if (err == ENOSPC || err == EDQUOT || rc == SQLITE_IOERR_SHMSIZE) {
        return InsufficientStorageError(Describe(op, "out of disk space"));
      }
      break;
    }
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(Describe(op, "metadata database is corrupt"));
    default:
      break;
  }
  return InternalError(Describe(op, sqlite3_errstr(rc)));
}

}  // namespace atrest::store::sqlite
