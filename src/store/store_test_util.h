// Test helpers shared by the store tests: a SqliteStore in a scratch
// directory and builders of valid rows.
#ifndef ATREST_STORE_STORE_TEST_UTIL_H_
#define ATREST_STORE_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/status_testing.h"
#include "env/testing.h"
#include "store/sqlite_store.h"

namespace atrest::store {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = env::ScopedTempDir::Create();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<env::ScopedTempDir>(std::move(dir).value());
    ASSERT_TRUE(Reopen().ok());
  }

  SqliteStoreOptions Options() const {
    SqliteStoreOptions o;
    o.data_dir = dir_->path();
    return o;
  }

  // Closes the store (if open) and opens it again with `options`.
  Status Reopen() { return Reopen(Options()); }
  Status Reopen(const SqliteStoreOptions& options) {
    store_.reset();
    auto s = SqliteStore::Open(options);
    if (!s.ok()) return s.status();
    store_ = std::move(s).value();
    return Status::Ok();
  }

  // Runs `fn` in its own write transaction.
  template <typename F>
  Status Tx(F&& fn) {
    return store_->Transact(std::forward<F>(fn));
  }

  std::unique_ptr<env::ScopedTempDir> dir_;
  std::unique_ptr<SqliteStore> store_;
};

inline Tenant MakeTenant(const std::string& id) {
  return Tenant{id, "Tenant " + id, 1767225600};
}

inline Subscription MakeSubscription(const std::string& id,
                                     const std::string& tenant) {
  return Subscription{id, tenant, "Sub " + id, SubscriptionState::kEnabled,
                      1767225601};
}

inline ResourceGroup MakeGroup(const std::string& subscription,
                               const std::string& name,
                               const std::string& location) {
  return ResourceGroup{subscription, name, location, {}, 1767225602};
}

}  // namespace atrest::store

#endif  // ATREST_STORE_STORE_TEST_UTIL_H_
