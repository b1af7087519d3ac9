// FilesHarness: the services a test of the files layer and of what is built
// on it (finetune/, deploy/) needs, over real storage in one scratch data
// directory laid out as the server's: metadata.db (SqliteStore), root.key,
// blobs/ (FsBlobStore). Accounts are made by AccountService with
// service-managed keys in one tenant, subscription and resource group owned
// by one service principal; time comes from a FakeClock that tests move by
// hand.
//
// Key inaccessibility is simulated the way a revoked key looks to
// AccountKeys: BreakKey damages the account's stored wrapped AEK and
// rechecks it (so the state becomes "inaccessible" and state listeners
// run); RestoreKey undoes the damage and rechecks again.
//
// Only tests link this (CMake target atrest_files_testing).
//
// Thread safety: the services it hands out are safe for concurrent use;
// the harness's own methods (MakeAccount, BreakKey, RestoreKey) are meant
// for the test's main thread.
#ifndef ATREST_FILES_TESTING_FILES_HARNESS_H_
#define ATREST_FILES_TESTING_FILES_HARNESS_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "accounts/account_keys.h"
#include "accounts/account_service.h"
#include "base/bytes.h"
#include "base/status.h"
#include "blob/fs_blob_store.h"
#include "env/env.h"
#include "env/testing.h"
#include "files/file_service.h"
#include "identity/identity_service.h"
#include "keys/root_key.h"
#include "resources/resource_manager.h"
#include "store/sqlite_store.h"

namespace atrest::files {

struct FilesHarnessOptions {
  // The filesystem the blob store writes through (borrowed; it must outlive
  // the harness), e.g. a FaultInjectionFileSystem over the default one.
  // Null: the default filesystem.
  env::FileSystem* blob_fs = nullptr;
  FileServiceOptions files;
};

class FilesHarness {
 public:
  // The resource group every account is made in.
  static constexpr const char* kGroup = "rg";

  // Makes the data directory, the root key (from random bytes, written to
  // root.key), the store and every service. Errors name the step that
  // failed.
  static Result<std::unique_ptr<FilesHarness>> Create(
      FilesHarnessOptions options = {});
  ~FilesHarness();

  FilesHarness(const FilesHarness&) = delete;
  FilesHarness& operator=(const FilesHarness&) = delete;

  // An account `name` in kGroup (West US) with service-managed keys;
  // `properties` are echoed ARM properties (e.g.
  // {"unloadDeploymentsOnKeyRevocation": true}).
  Result<store::Account> MakeAccount(
      const std::string& name,
      const nlohmann::json& properties = nlohmann::json::object());

  // Damages the account's stored wrapped AEK and rechecks it: afterwards
  // its key state is "inaccessible" and data operations are refused with
  // PermissionDenied "CustomerManagedKeyInaccessible". FailedPrecondition
  // when the key is already broken.
  Status BreakKey(const store::Account& account);
  // Undoes BreakKey and rechecks: the key is active again.
  // FailedPrecondition when the key is not broken.
  Status RestoreKey(const store::Account& account);

  // The scratch data directory (removed with the harness).
  const env::ScopedTempDir& dir() const { return dir_; }
  std::string BlobDir() const { return dir_.Join("blobs"); }
  // The path of a stored object's blob.
  std::string BlobPath(const store::StoredObject& object) const {
    return BlobDir() + "/" + object.blob;
  }
  // The root key's raw bytes (to check they appear nowhere else).
  const Bytes& root_key_bytes() const { return root_bytes_; }

  env::FakeClock& clock() { return clock_; }
  // FakeClock, default randomness, default filesystem.
  env::Env& env() { return env_; }
  const keys::RootKey& root_key() const { return *root_key_; }
  store::SqliteStore& store() { return *store_; }
  resources::ResourceManager& resources() { return *rm_; }
  identity::IdentityService& identity() { return *identity_; }
  accounts::AccountKeys& keys() { return *keys_; }
  accounts::AccountService& accounts() { return *accounts_; }
  blob::FsBlobStore& blobs() { return *blobs_; }
  FileService& files() { return *files_; }

  const std::string& tenant_id() const { return tenant_; }
  const std::string& subscription_id() const { return sub_; }
  // The Owner of the subscription, who makes the accounts.
  const identity::Caller& owner() const { return owner_; }

 private:
  explicit FilesHarness(env::ScopedTempDir dir);
  Status Init(const FilesHarnessOptions& options);
  // Flips one bit of the stored wrapped AEK of `uid` and rechecks it.
  Status FlipKey(const std::string& uid);

  env::ScopedTempDir dir_;
  env::FakeClock clock_;
  env::Env env_;
  Bytes root_bytes_;
  std::optional<keys::RootKey> root_key_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<resources::ResourceManager> rm_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<accounts::AccountKeys> keys_;
  std::unique_ptr<accounts::AccountService> accounts_;
  std::unique_ptr<blob::FsBlobStore> blobs_;
  std::unique_ptr<FileService> files_;
  std::string tenant_;
  std::string sub_;
  identity::Caller owner_;
  std::set<std::string> broken_;  // Uids whose key BreakKey damaged.
};

// Regular files under `dir`, recursively, sorted (for scans of the data
// directory).
std::vector<std::string> FilesUnder(const std::string& dir);
// The whole content of the file at `path` ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

}  // namespace atrest::files

#endif  // ATREST_FILES_TESTING_FILES_HARNESS_H_
