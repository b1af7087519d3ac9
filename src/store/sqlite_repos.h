// Internal to store/: the SQLite implementations of the repositories
// (store/repos.h) and the Transaction that hands them out. All of atrest's
// SQL lives in these sqlite_*.cc files and migrations.cc.
//
// Thread safety: as for Transaction; all of these borrow one Connection.
#ifndef ATREST_STORE_SQLITE_REPOS_H_
#define ATREST_STORE_SQLITE_REPOS_H_

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/repos.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace atrest::store::sqlite {

// ASCII lower case: the key of names ARM compares ignoring case.
std::string FoldCase(std::string_view s);

// InvalidArgument "<field> is required" when `value` is empty.
Status Require(std::string_view value, std::string_view field);

// Returns `s`, except that a unique-key violation becomes `on_unique` and a
// foreign-key violation becomes `on_foreign_key` (when that is not OK).
Status Explain(const Connection& c, Status s, Status on_unique,
               Status on_foreign_key = Status::Ok());

// "<entity> '<key>' not found".
Status NotFound(std::string_view entity, std::string_view key);

// NotFound(entity, key) when the last statement changed no row.
Status RequireChanged(const Connection& c, std::string_view entity,
                      std::string_view key);

class SqliteTenantRepo final : public TenantRepo {
 public:
  explicit SqliteTenantRepo(Connection& c) : c_(c) {}
  Status Create(const Tenant& tenant) override;
  Result<Tenant> Get(const std::string& id) override;
  Result<std::vector<Tenant>> List() override;
  Status Delete(const std::string& id) override;

 private:
  Connection& c_;
};

class SqliteSubscriptionRepo final : public SubscriptionRepo {
 public:
  explicit SqliteSubscriptionRepo(Connection& c) : c_(c) {}
  Status Create(const Subscription& sub) override;
  Result<Subscription> Get(const std::string& id) override;
  Result<std::vector<Subscription>> ListByTenant(
      const std::string& tenant_id) override;
  Result<Subscription> GetByAlias(const std::string& tenant_id,
                                  const std::string& alias) override;
  Status Update(const Subscription& sub) override;
  Status ChangeTenant(const std::string& id,
                      const std::string& tenant_id) override;
  Status Delete(const std::string& id) override;

 private:
  Connection& c_;
};

class SqliteResourceGroupRepo final : public ResourceGroupRepo {
 public:
  explicit SqliteResourceGroupRepo(Connection& c) : c_(c) {}
  Status Create(const ResourceGroup& group) override;
  Result<ResourceGroup> Get(const std::string& subscription_id,
                            const std::string& name) override;
  Result<std::vector<ResourceGroup>> ListBySubscription(
      const std::string& subscription_id) override;
  Status SetTags(const std::string& subscription_id, const std::string& name,
                 const std::map<std::string, std::string>& tags) override;
  Status Delete(const std::string& subscription_id,
                const std::string& name) override;

 private:
  Status WriteTags(const std::string& subscription_id, const std::string& key,
                   const std::map<std::string, std::string>& tags);
  Result<std::map<std::string, std::string>> ReadTags(
      const std::string& subscription_id, const std::string& key);
  Connection& c_;
};

class SqlitePrincipalRepo final : public PrincipalRepo {
 public:
  explicit SqlitePrincipalRepo(Connection& c) : c_(c) {}
  Status Create(const Principal& principal) override;
  Result<Principal> Get(const std::string& object_id) override;
  Result<Principal> FindServicePrincipalByAppId(
      const std::string& tenant_id, const std::string& app_id) override;
  Result<Principal> FindUserByName(
      const std::string& tenant_id,
      const std::string& user_principal_name) override;
  Result<Principal> FindManagedIdentityByResource(
      const std::string& resource_id) override;
  Result<std::vector<Principal>> ListByTenant(
      const std::string& tenant_id) override;
  Status Delete(const std::string& object_id) override;
  Status AddSecret(const ClientSecret& secret) override;
  Result<std::vector<ClientSecret>> ListSecrets(
      const std::string& principal_id) override;
  Status DeleteSecret(const std::string& principal_id,
                      const std::string& key_id) override;

 private:
  // The principal matching `where`, whose ?1, ?2, ... are `params`.
  Result<Principal> FindOne(const std::string& where,
                            std::initializer_list<std::string> params,
                            std::string_view what);
  Connection& c_;
};

class SqliteRoleAssignmentRepo final : public RoleAssignmentRepo {
 public:
  explicit SqliteRoleAssignmentRepo(Connection& c) : c_(c) {}
  Status Create(const RoleAssignment& assignment) override;
  Result<RoleAssignment> Get(const std::string& id) override;
  Result<std::vector<RoleAssignment>> ListForPrincipal(
      const std::string& principal_id) override;
  Result<std::vector<RoleAssignment>> ListAtScope(
      const std::string& scope) override;
  Status Delete(const std::string& id) override;

 private:
  Result<std::vector<RoleAssignment>> ListWhere(const char* column,
                                                const std::string& value);
  Connection& c_;
};

class SqliteSigningKeyRepo final : public SigningKeyRepo {
 public:
  explicit SqliteSigningKeyRepo(Connection& c) : c_(c) {}
  Status Add(const SigningKey& key) override;
  Result<SigningKey> Get(const std::string& tenant_id,
                         const std::string& kid) override;
  Result<std::vector<SigningKey>> ListByTenant(
      const std::string& tenant_id) override;
  Status Delete(const std::string& tenant_id, const std::string& kid) override;

 private:
  Connection& c_;
};

class SqliteVaultRepo final : public VaultRepo {
 public:
  explicit SqliteVaultRepo(Connection& c) : c_(c) {}
  Status Create(const Vault& vault) override;
  Result<Vault> Get(const std::string& name) override;
  Status Update(const Vault& vault) override;
  Result<std::vector<Vault>> ListBySubscription(
      const std::string& subscription_id) override;
  Result<std::vector<Vault>> List() override;
  Status Delete(const std::string& name) override;

 private:
  Connection& c_;
};

class SqliteVaultKeyRepo final : public VaultKeyRepo {
 public:
  explicit SqliteVaultKeyRepo(Connection& c) : c_(c) {}
  Status Create(const VaultKey& key) override;
  Result<VaultKey> Get(const std::string& vault,
                       const std::string& name) override;
  Status Update(const VaultKey& key) override;
  Result<std::vector<VaultKey>> List(const std::string& vault) override;
  Status Delete(const std::string& vault, const std::string& name) override;
  Status AddVersion(const VaultKeyVersion& version) override;
  Result<VaultKeyVersion> GetVersion(const std::string& vault,
                                     const std::string& name,
                                     const std::string& version) override;
  Result<VaultKeyVersion> LatestVersion(const std::string& vault,
                                        const std::string& name) override;
  Result<std::vector<VaultKeyVersion>> ListVersions(
      const std::string& vault, const std::string& name) override;
  Status UpdateVersion(const VaultKeyVersion& version) override;

 private:
  Connection& c_;
};

class SqliteAuditRepo final : public AuditRepo {
 public:
  explicit SqliteAuditRepo(Connection& c) : c_(c) {}
  Result<int64_t> Append(const AuditEvent& event) override;
  Result<std::vector<AuditEvent>> List(const std::string& vault,
                                       int64_t after_seq,
                                       size_t limit) override;

 private:
  Connection& c_;
};

class SqliteAccountRepo final : public AccountRepo {
 public:
  explicit SqliteAccountRepo(Connection& c) : c_(c) {}
  Status Create(const Account& account) override;
  Result<Account> Get(const std::string& name) override;
  Result<Account> GetByUid(const std::string& uid) override;
  Status Update(const Account& account) override;
  Result<std::vector<Account>> ListBySubscription(
      const std::string& subscription_id,
      const std::string& resource_group) override;
  Result<std::vector<Account>> List() override;
  Status Delete(const std::string& name) override;

 private:
  Status RequireGroup(const std::string& subscription_id,
                      const std::string& group);
  Connection& c_;
};

class SqliteObjectRepo final : public ObjectRepo {
 public:
  explicit SqliteObjectRepo(Connection& c) : c_(c) {}
  Result<int64_t> Create(const StoredObject& object) override;
  Result<StoredObject> Get(const std::string& account_uid,
                           const std::string& id) override;
  Status Update(const StoredObject& object) override;
  Result<std::vector<StoredObject>> List(const std::string& account_uid,
                                         const ListQuery& query) override;
  Result<int64_t> Count(const std::string& account_uid) override;
  Result<std::vector<std::string>> ListBlobs() override;
  Status Delete(const std::string& account_uid, const std::string& id) override;

 private:
  Connection& c_;
};

class SqliteJobRepo final : public JobRepo {
 public:
  explicit SqliteJobRepo(Connection& c) : c_(c) {}
  Result<int64_t> Create(const FineTuningJobRow& job) override;
  Result<FineTuningJobRow> Get(const std::string& account_uid,
                               const std::string& id) override;
  Status Update(const FineTuningJobRow& job,
                const std::string& expected_status) override;
  Result<std::vector<FineTuningJobRow>> List(const std::string& account_uid,
                                             int64_t before_seq,
                                             size_t limit) override;
  Result<std::vector<FineTuningJobRow>> ListByStatus(const std::string& status,
                                                     size_t limit) override;
  Status Delete(const std::string& account_uid, const std::string& id) override;
  Result<int64_t> AddEvent(const JobEventRow& event) override;
  Result<std::vector<JobEventRow>> ListEvents(const std::string& account_uid,
                                              const std::string& job_id,
                                              int64_t before_seq,
                                              size_t limit) override;

 private:
  Connection& c_;
};

class SqliteDeploymentRepo final : public DeploymentRepo {
 public:
  explicit SqliteDeploymentRepo(Connection& c) : c_(c) {}
  Status Put(const DeploymentRow& deployment) override;
  Result<DeploymentRow> Get(const std::string& account_uid,
                            const std::string& name) override;
  Result<std::vector<DeploymentRow>> List(
      const std::string& account_uid) override;
  Result<std::vector<DeploymentRow>> ListAll() override;
  Status Delete(const std::string& account_uid,
                const std::string& name) override;

 private:
  Connection& c_;
};

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(Connection& c)
      : tenants_(c),
        subscriptions_(c),
        resource_groups_(c),
        principals_(c),
        role_assignments_(c),
        signing_keys_(c),
        vaults_(c),
        vault_keys_(c),
        audit_(c),
        accounts_(c),
        objects_(c),
        jobs_(c),
        deployments_(c) {}

  TenantRepo& tenants() override { return tenants_; }
  SubscriptionRepo& subscriptions() override { return subscriptions_; }
  ResourceGroupRepo& resource_groups() override { return resource_groups_; }
  PrincipalRepo& principals() override { return principals_; }
  RoleAssignmentRepo& role_assignments() override { return role_assignments_; }
  SigningKeyRepo& signing_keys() override { return signing_keys_; }
  VaultRepo& vaults() override { return vaults_; }
  VaultKeyRepo& vault_keys() override { return vault_keys_; }
  AuditRepo& audit() override { return audit_; }
  AccountRepo& accounts() override { return accounts_; }
  ObjectRepo& objects() override { return objects_; }
  JobRepo& jobs() override { return jobs_; }
  DeploymentRepo& deployments() override { return deployments_; }

 private:
  SqliteTenantRepo tenants_;
  SqliteSubscriptionRepo subscriptions_;
  SqliteResourceGroupRepo resource_groups_;
  SqlitePrincipalRepo principals_;
  SqliteRoleAssignmentRepo role_assignments_;
  SqliteSigningKeyRepo signing_keys_;
  SqliteVaultRepo vaults_;
  SqliteVaultKeyRepo vault_keys_;
  SqliteAuditRepo audit_;
  SqliteAccountRepo accounts_;
  SqliteObjectRepo objects_;
  SqliteJobRepo jobs_;
  SqliteDeploymentRepo deployments_;
};

}  // namespace atrest::store::sqlite

#endif  // ATREST_STORE_SQLITE_REPOS_H_
