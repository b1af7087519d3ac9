// Store: the metadata database of atrest (DESIGN.md §5).
//
// All access goes through a transaction callback, which receives a
// Transaction whose repositories (store/repos.h) read and write typed rows:
//
//   Status s = store.Transact([&](store::Transaction& tx) -> Status {
//     RETURN_IF_ERROR(tx.tenants().Create(tenant));
//     return tx.subscriptions().Create(sub);
//   });
//
// Callers never see SQL, connections or driver errors, so the embedded
// SQLite implementation (store/sqlite_store.h) and a later PostgreSQL one are
// interchangeable behind this interface.
//
// Thread safety: a Store is safe to use from many threads at once; each call
// of Transact or Read runs on the calling thread. A Transaction and the
// repositories it hands out belong to that one callback invocation: do not
// keep them after it returns or pass them to other threads. Calling Transact
// or Read from inside a callback (nesting) returns FailedPrecondition.
#ifndef ATREST_STORE_STORE_H_
#define ATREST_STORE_STORE_H_

#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "base/status.h"
#include "store/repos.h"

namespace atrest::store {

// The repositories visible inside one transaction. New entities add an
// accessor here; existing callers are unaffected.
class Transaction {
 public:
  virtual TenantRepo& tenants() = 0;
  virtual SubscriptionRepo& subscriptions() = 0;
  virtual ResourceGroupRepo& resource_groups() = 0;
  virtual PrincipalRepo& principals() = 0;
  virtual RoleAssignmentRepo& role_assignments() = 0;
  virtual SigningKeyRepo& signing_keys() = 0;
  virtual VaultRepo& vaults() = 0;
  virtual VaultKeyRepo& vault_keys() = 0;
  virtual AuditRepo& audit() = 0;
  virtual AccountRepo& accounts() = 0;
  virtual ObjectRepo& objects() = 0;
  virtual JobRepo& jobs() = 0;
  virtual DeploymentRepo& deployments() = 0;

 protected:
  ~Transaction() = default;  // Owned by the Store, never by callers.
};

using TransactionFn = std::function<Status(Transaction&)>;

class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in a serializable read-write transaction.
  //  * `fn` returns OK: everything it wrote commits atomically and durably;
  //    Transact returns OK once the commit is on stable storage and, when
  //    it deleted or replaced key material (a wrapped or sealed key), once
  //    the store's files keep no old copy of it, as far as readers in
  //    progress allow (store/sqlite_store.h, "Shredding").
  //  * `fn` returns an error: nothing it wrote persists, and Transact returns
  //    that error unchanged.
  //  * A conflict with another writer (busy or locked database, in this
  //    process or another) rolls back and runs `fn` again, a bounded number
  //    of times; then Transact returns Aborted. `fn` may therefore run more
  //    than once and must not have effects outside the transaction that
  //    cannot be repeated.
  //  * Any other failure to begin or commit returns Internal (DataLoss for
  //    a corrupt database, InsufficientStorage for a full disk) and nothing
  //    persists.
  [[nodiscard]] virtual Status Transact(const TransactionFn& fn) = 0;

  // Runs `fn` in a read-only transaction that sees one consistent snapshot
  // and does not block writers. Writes inside it fail with
  // FailedPrecondition. Returns what `fn` returns.
  [[nodiscard]] virtual Status Read(const TransactionFn& fn) = 0;

  // Convenience: runs `fn` (returning Result<T>) under Read / Transact and
  // returns its result, e.g.
  //   Result<Tenant> t = store.ReadResult(
  //       [&](Transaction& tx) { return tx.tenants().Get(id); });
  template <typename F>
  auto ReadResult(F&& fn) -> std::invoke_result_t<F&, Transaction&> {
    return RunForResult(&Store::Read, fn);
  }
  template <typename F>
  auto TransactResult(F&& fn) -> std::invoke_result_t<F&, Transaction&> {
    return RunForResult(&Store::Transact, fn);
  }

 private:
  template <typename F>
  auto RunForResult(Status (Store::*run)(const TransactionFn&), F& fn)
      -> std::invoke_result_t<F&, Transaction&> {
    using R = std::invoke_result_t<F&, Transaction&>;
    std::optional<R> out;
    Status s = (this->*run)([&](Transaction& tx) -> Status {
      out.emplace(fn(tx));
      return out->status();
    });
    if (!s.ok()) return s;
    return std::move(*out);
  }
};

}  // namespace atrest::store

#endif  // ATREST_STORE_STORE_H_
