#include "files/testing/files_harness.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>

#include "crypto/random.h"
#include "resources/roles.h"

namespace atrest::files {

FilesHarness::FilesHarness(env::ScopedTempDir dir)
    : dir_(std::move(dir)),
      env_(clock_, env::Env::Default().random(), env::Env::Default().fs()) {}

// The services go before the store they use, in reverse order of making.
FilesHarness::~FilesHarness() {
  files_.reset();
  blobs_.reset();
  accounts_.reset();
  keys_.reset();
  identity_.reset();
  rm_.reset();
  store_.reset();
}

Result<std::unique_ptr<FilesHarness>> FilesHarness::Create(
    FilesHarnessOptions options) {
  ASSIGN_OR_RETURN(env::ScopedTempDir dir, env::ScopedTempDir::Create());
  std::unique_ptr<FilesHarness> h(new FilesHarness(std::move(dir)));
  RETURN_IF_ERROR(h->Init(options));
  return h;
}

Status FilesHarness::Init(const FilesHarnessOptions& options) {
  // The root key from known bytes, in the data dir as the server keeps it.
  root_bytes_.resize(32);
  crypto::RandomBytes(root_bytes_);
  std::string root_file = "atrest-root-key-v1\n";
  root_file += AsString(root_bytes_);
  RETURN_IF_ERROR(env::WriteFileAtomically(env::Env::Default().fs(),
                                           dir_.Join("root.key"),
                                           AsBytes(root_file))
                      .WithContext("root key"));
  ASSIGN_OR_RETURN(keys::RootKey root,
                   keys::RootKey::LoadOrCreate(env::Env::Default().fs(),
                                               dir_.Join("root.key")));
  if (root.created()) return InternalError("root.key was not read back");
  root_key_.emplace(std::move(root));

  ASSIGN_OR_RETURN(store_, store::SqliteStore::Open({.data_dir = dir_.path()}));
  rm_ = std::make_unique<resources::ResourceManager>(*store_, env_);
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::Aead> signing_seal,
                   root_key_->DeriveAead("identity/signing-keys"));
  identity_ = std::make_unique<identity::IdentityService>(
      *store_, env_, std::move(signing_seal),
      identity::IdentityOptions{.authority = "https://login.localhost"});

  tenant_ = env_.random().NewUuid();
  RETURN_IF_ERROR(store_->Transact([&](store::Transaction& tx) {
    return tx.tenants().Create({.id = tenant_, .display_name = "t1"});
  }));
  ASSIGN_OR_RETURN(store::Subscription sub,
                   rm_->CreateSubscription(tenant_, "Default"));
  sub_ = sub.id;
  owner_ = {.tenant_id = tenant_,
            .object_id = env_.random().NewUuid(),
            .app_id = env_.random().NewUuid()};
  RETURN_IF_ERROR(store_->Transact([&](store::Transaction& tx) {
    return tx.principals().Create(
        {.object_id = owner_.object_id,
         .tenant_id = tenant_,
         .kind = store::PrincipalKind::kServicePrincipal,
         .display_name = "owner",
         .app_id = owner_.app_id});
  }));
  std::optional<resources::RoleDefinition> owner_role =
      resources::FindRole("Owner");
  if (!owner_role) return InternalError("no Owner role");
  RETURN_IF_ERROR(rm_->AssignRoleUnchecked(owner_.object_id, *owner_role,
                                           resources::SubscriptionScope(sub_))
                      .status());
  RETURN_IF_ERROR(
      rm_->PutResourceGroup(owner_, sub_, kGroup, "West US", {}).status());

  accounts::AccountKeysOptions key_options;
  key_options.vault_https.timeout = std::chrono::seconds(5);
  ASSIGN_OR_RETURN(keys_, accounts::AccountKeys::Create(
                              *store_, env_, *root_key_, *identity_, nullptr,
                              nullptr, std::move(key_options)));
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::Aead> api_key_seal,
                   root_key_->DeriveAead("accounts/api-keys"));
  accounts_ = std::make_unique<accounts::AccountService>(
      *store_, env_, std::move(api_key_seal), *identity_, *rm_, *keys_);

  env::FileSystem& blob_fs =
      options.blob_fs != nullptr ? *options.blob_fs : env::Env::Default().fs();
  ASSIGN_OR_RETURN(blobs_, blob::FsBlobStore::Open(blob_fs, BlobDir()));
  files_ = std::make_unique<FileService>(*store_, env_, *blobs_, *keys_,
                                         options.files);
  accounts_->SetOnDeleted(
      [this](const std::string& uid) { files_->DeleteAccountBlobs(uid); });
  return Status::Ok();
}

Result<store::Account> FilesHarness::MakeAccount(
    const std::string& name, const nlohmann::json& properties) {
  accounts::AccountUpdate u;
  u.location = "West US";
  u.properties = properties;
  ASSIGN_OR_RETURN(accounts::AccountService::PutResult r,
                   accounts_->PutAccount(owner_, {sub_, kGroup, name}, u));
  return r.account.row;
}

Status FilesHarness::FlipKey(const std::string& uid) {
  RETURN_IF_ERROR(store_->Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::Account row, tx.accounts().GetByUid(uid));
    if (row.wrapped_aek.empty()) return InternalError("no wrapped AEK");
    row.wrapped_aek.back() ^= 1;
    return tx.accounts().Update(row);
  }));
  keys_->Recheck(uid);
  return Status::Ok();
}

Status FilesHarness::BreakKey(const store::Account& account) {
  if (broken_.count(account.uid) > 0) {
    return FailedPreconditionError("the key of " + account.name +
                                   " is already broken");
  }
  RETURN_IF_ERROR(FlipKey(account.uid));
  broken_.insert(account.uid);
  if (keys_->StatusOf(account).state != "inaccessible") {
    return InternalError("the broken key of " + account.name + " still works");
  }
  return Status::Ok();
}

Status FilesHarness::RestoreKey(const store::Account& account) {
  if (broken_.count(account.uid) == 0) {
    return FailedPreconditionError("the key of " + account.name +
                                   " is not broken");
  }
  RETURN_IF_ERROR(FlipKey(account.uid));
  broken_.erase(account.uid);
  if (keys_->StatusOf(account).state != "active") {
    return InternalError("the restored key of " + account.name +
                         " does not work");
  }
  return Status::Ok();
}

std::vector<std::string> FilesUnder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace atrest::files
