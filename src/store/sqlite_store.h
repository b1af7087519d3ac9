// SqliteStore: the embedded Store (store/store.h) over SQLite in WAL mode,
// the default for a single atrest node (DESIGN.md §5).
//
// The database is one file, `<data_dir>/metadata.db` (plus SQLite's -wal and
// -shm files beside it), created with mode 0600; SQLite gives the -wal and
// -shm files the same mode. Open() brings the schema up to date with the
// numbered migrations (store/migrations.h) and refuses a database written by
// a newer binary.
//
// Durability: synchronous=FULL, so Transact returns OK only after the commit
// is fsynced; a committed row survives power loss.
//
// Shredding: secure_delete=ON zeroes a deleted row in the database file,
// but SQLite's WAL keeps older images of its page until a checkpoint. So a
// write transaction that deleted or replaced key material (a file's wrapped
// data key, an account's wrapped key, a vault's or a key's sealed key: the
// repositories say so) is followed, before Transact returns, by a
// checkpoint that truncates the WAL to zero bytes. Readers in progress hold
// it off, for at most 250 ms (or `busy_timeout` when shorter) three times;
// when they outlast that, Transact still returns the commit's OK, the shred
// stays pending, and every later write transaction tries it again until it
// succeeds (shred_pending() says whether one is owed).
//
// Full disk: a write that needs space the disk lacks fails with
// InsufficientStorage and nothing of it persists; reads go on working. The
// -wal and -shm files are kept between runs, so a restart on a full disk
// can read the database (see sqlite_db.h).
//
// Concurrency and thread safety: SqliteStore is safe to use from any number
// of threads. Write transactions of this process run one at a time (SQLite
// allows only one writer per file) on one writer connection and begin with
// BEGIN IMMEDIATE, so they never fail on a lock upgrade. Read transactions
// borrow one of at most `max_connections` query-only connections (waiting
// when all are busy) and run beside the writer on WAL snapshots. Each
// connection keeps its prepared statements for its whole life.
// Another process writing the same file is waited for up to `busy_timeout`
// per attempt, and a transaction is retried up to `max_attempts` times before
// Transact returns Aborted.
#ifndef ATREST_STORE_SQLITE_STORE_H_
#define ATREST_STORE_SQLITE_STORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/migrations.h"
#include "store/store.h"

namespace atrest::store {

namespace sqlite {
class Connection;
class FullDiskVfs;
}  // namespace sqlite

struct SqliteStoreOptions {
  // Directory that holds the database file; it must exist.
  std::string data_dir;
  // Upper bound on open read connections (>= 1); there is one writer besides.
  int max_connections = 4;
  // How long one attempt waits for another process's lock.
  std::chrono::milliseconds busy_timeout{5000};
  // Attempts per transaction before Transact gives up with Aborted (>= 1).
  int max_attempts = 5;
  // The migrations to apply; tests substitute their own lists.
  std::span<const Migration> migrations = Migrations();
  // Test-only: while this returns true, SQLite's file calls behave as on a
  // full disk (store/sqlite_full_disk_vfs.h). Null in production.
  std::function<bool()> simulate_full_disk;
};

class SqliteStore final : public Store {
 public:
  static constexpr char kFileName[] = "metadata.db";

  // Opens or creates the database and migrates it.
  //  * InvalidArgument: bad options.
  //  * NotFound: data_dir does not exist.
  //  * FailedPrecondition: the database's schema version is newer than the
  //    newest migration in options.migrations.
  //  * DataLoss: the file is not a SQLite database or is corrupt.
  //  * InsufficientStorage: the disk is full and the database (or a
  //    migration) needs space; an existing, migrated database opens.
  //  * Internal / Unavailable: a migration or the file system failed; the
  //    database stays at the last migration that committed.
  static Result<std::unique_ptr<SqliteStore>> Open(
      const SqliteStoreOptions& options);

  // REQUIRES: no Transact or Read is running.
  ~SqliteStore() override;

  Status Transact(const TransactionFn& fn) override;
  Status Read(const TransactionFn& fn) override;

  const std::string& path() const { return path_; }
  // Whether a WAL shred (see above) is still owed.
  bool shred_pending() const;
  // The schema version after Open's migrations.
  int schema_version() const { return schema_version_; }

 private:
  SqliteStore(SqliteStoreOptions options, std::string path);

  // A read connection from the pool, or (write, with write_mu_ held) the
  // writer connection.
  Result<std::unique_ptr<sqlite::Connection>> Acquire(bool write);
  void Release(std::unique_ptr<sqlite::Connection> conn, bool write);
  Status Run(const TransactionFn& fn, bool write);
  Status Attempt(sqlite::Connection& conn, const TransactionFn& fn, bool write);
  Status Migrate();
  // Truncates the WAL on the writer connection. REQUIRES: write_mu_ held.
  void Shred(sqlite::Connection& conn);

  const SqliteStoreOptions options_;
  const std::string path_;
  std::unique_ptr<sqlite::FullDiskVfs> vfs_;  // Test-only; else null.
  int schema_version_ = 0;
  std::atomic<bool> shred_pending_{false};

  std::mutex write_mu_;  // Held for the whole of a write transaction.
  // The writer connection between write transactions; guarded by write_mu_.
  std::unique_ptr<sqlite::Connection> writer_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  // Read connections; guarded by pool_mu_:
  std::vector<std::unique_ptr<sqlite::Connection>> idle_;
  int open_connections_ = 0;
};

}  // namespace atrest::store

#endif  // ATREST_STORE_SQLITE_STORE_H_
