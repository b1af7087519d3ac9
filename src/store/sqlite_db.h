// Internal to store/: a thin RAII layer over one sqlite3 connection, its
// prepared-statement cache, and the mapping of SQLite result codes to Status.
// Nothing outside store/ includes this header.
//
// Thread safety: a Connection and the Statements it hands out are used by one
// thread at a time (SqliteStore's pool guarantees it).
#ifndef ATREST_STORE_SQLITE_DB_H_
#define ATREST_STORE_SQLITE_DB_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/bytes.h"
#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace atrest::store::sqlite {

class Connection;

// A prepared statement borrowed from the connection's cache (or, when the
// cached one is already in use, a private one). Bind* calls are chained; the
// first bind error is reported by Step/Run. The statement is reset and its
// bindings cleared when this object is destroyed.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are numbered from 1, as in SQL "?1".
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, int64_t value);
  Statement& BindBlob(int index, ByteView blob);

  // Advances; true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion; for statements that return no rows.
  Status Run();

  // Columns are numbered from 0. NULL reads as "" / 0 / empty.
  std::string Text(int column) const;
  int64_t Int(int column) const;
  Bytes Blob(int column) const;

 private:
  friend class Connection;
  // `in_use` is the cache entry's flag, or nullptr for a private statement
  // that is finalized (not just reset) on destruction.
  Statement(Connection* conn, sqlite3_stmt* stmt, bool* in_use,
            std::string_view op);

  Connection* conn_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  std::string_view op_;  // Names the operation in error messages.
  Status bind_status_;
};

class Connection {
 public:
  struct Options {
    std::chrono::milliseconds busy_timeout{5000};
    // PRAGMA query_only for the connection's whole life. Set once at open,
    // never toggled: changing it expires every prepared statement.
    bool query_only = false;
    // The SQLite VFS to open through; empty for the default one.
    std::string vfs;
  };

  // Opens (creating when absent) the database at `path` and applies the
  // per-connection settings: WAL, synchronous=FULL, foreign_keys=ON,
  // secure_delete=ON, the busy timeout, and a persistent WAL
  // (SQLITE_FCNTL_PERSIST_WAL with journal_size_limit=0): the -wal and -shm
  // files stay when the last connection closes, the WAL truncated to zero
  // bytes, so that a restart finds them and needs no new disk space to read
  // (a server can start on a full disk).
  static Result<std::unique_ptr<Connection>> Open(const std::string& path,
                                                  const Options& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` (one or more statements, no parameters, no results), e.g.
  // BEGIN, COMMIT or a migration. `op` names the operation in errors.
  Status Exec(const char* sql, std::string_view op);

  // The cached statement for `sql`. `op` must outlive the Statement (use a
  // string literal).
  Result<Statement> Prepare(const std::string& sql, std::string_view op);

  // Runs one parameterless statement through the cache (BEGIN, COMMIT...):
  // unlike Exec it is parsed once per connection.
  Status Run(const std::string& sql, std::string_view op);

  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const;
  // True when not inside an explicit transaction.
  bool autocommit() const;

  // Set by a repository whose statement deleted or replaced key material
  // (a wrapped key, a sealed key), so that the store shreds the WAL once the
  // transaction commits (SqliteStore). Cleared when an attempt begins.
  void RequestShred() { shred_requested_ = true; }
  bool shred_requested() const { return shred_requested_; }
  void clear_shred_request() { shred_requested_ = false; }

  // PRAGMA wal_checkpoint(TRUNCATE): copies every WAL frame into the
  // database file and truncates the WAL to zero bytes, so that no old page
  // image (a deleted row's content) is left in it. Waits for readers up to
  // `wait` (instead of the busy timeout). Returns true when it completed,
  // false when readers or another process kept it from finishing (nothing
  // is lost; try again). REQUIRES: not inside a transaction.
  Result<bool> CheckpointTruncate(std::chrono::milliseconds wait);

  // Set when any call saw SQLITE_BUSY or SQLITE_LOCKED since the last
  // clear_conflict(); the store then retries the whole transaction.
  bool conflict() const { return conflict_; }
  void clear_conflict() { conflict_ = false; }

  // Marks the connection unfit for reuse (its state is unknown, e.g. after a
  // failed ROLLBACK); the pool closes it instead of reusing it.
  void set_broken() { broken_ = true; }
  bool broken() const { return broken_; }

  // SQLite's own description of the last error. It names tables and columns
  // (never values) and is used to tell constraints apart, never shown.
  std::string last_error_detail() const;

  // Which constraint the last Error() call reported, so that repositories
  // can replace the generic message with one naming the entity and key.
  enum class Violation { kNone, kUnique, kForeignKey };
  Violation last_violation() const { return last_violation_; }

  // Maps a SQLite result code to a Status whose message is "<op>: <generic
  // description>", and records conflicts. Codes: constraint unique/primary
  // key -> AlreadyExists; foreign key -> FailedPrecondition; busy/locked ->
  // Aborted; read-only -> FailedPrecondition; full (SQLITE_FULL, an I/O
  // error whose errno is ENOSPC or EDQUOT, a -shm file that cannot grow) ->
  // InsufficientStorage "<op>: out of disk space"; corrupt/not a database ->
  // DataLoss; others -> Internal.
  Status Error(int rc, std::string_view op);

 private:
  friend class Statement;
  Connection(sqlite3* db, std::chrono::milliseconds busy_timeout)
      : db_(db), busy_timeout_(busy_timeout) {}

  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  sqlite3* db_;
  const std::chrono::milliseconds busy_timeout_;
  bool conflict_ = false;
  bool broken_ = false;
  bool shred_requested_ = false;
  Violation last_violation_ = Violation::kNone;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace atrest::store::sqlite

#endif  // ATREST_STORE_SQLITE_DB_H_
