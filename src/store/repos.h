// Per-entity repositories of the metadata store. Callers reach them only
// through a Transaction (store/store.h), so every call runs inside exactly one
// transaction, and nothing here speaks SQL.
//
// Errors common to every method:
//  * NotFound: the row named by the key does not exist (Get, Update, Delete),
//    or a row it must refer to does not exist (Create).
//  * AlreadyExists: a unique key is taken; the message names the entity and
//    the key.
//  * FailedPrecondition: a delete that other rows still depend on, or a
//    write inside a read-only transaction.
//  * InvalidArgument: a required field is empty or the fields contradict.
//  * Aborted: a concurrency conflict that outlived the store's retries.
//  * Internal: anything else. Messages never carry secrets or SQL.
// A failed method leaves the transaction usable; whether the whole
// transaction still commits is up to the callback's return value.
//
// Lists are ordered as documented per method and are not paginated.
//
// Thread safety: a repository belongs to its Transaction and is used only on
// the thread running that transaction's callback.
#ifndef ATREST_STORE_REPOS_H_
#define ATREST_STORE_REPOS_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/model.h"

namespace atrest::store {

class TenantRepo {
 public:
  virtual ~TenantRepo() = default;
  virtual Status Create(const Tenant& tenant) = 0;
  virtual Result<Tenant> Get(const std::string& id) = 0;
  // Ordered by id.
  virtual Result<std::vector<Tenant>> List() = 0;
  // FailedPrecondition while subscriptions, principals or signing keys of
  // the tenant exist.
  virtual Status Delete(const std::string& id) = 0;
};

class SubscriptionRepo {
 public:
  virtual ~SubscriptionRepo() = default;
  // NotFound when the tenant does not exist.
  virtual Status Create(const Subscription& sub) = 0;
  virtual Result<Subscription> Get(const std::string& id) = 0;
  // Ordered by id.
  virtual Result<std::vector<Subscription>> ListByTenant(
      const std::string& tenant_id) = 0;
  // NotFound when no subscription of the tenant carries `alias`.
  virtual Result<Subscription> GetByAlias(const std::string& tenant_id,
                                          const std::string& alias) = 0;
  // Replaces display_name, state and alias; id, tenant and created_at never
  // change. AlreadyExists when another subscription of the tenant holds the
  // alias.
  virtual Status Update(const Subscription& sub) = 0;
  // A directory transfer: the subscription now belongs to `tenant_id`
  // (NotFound when that tenant does not exist). As in Azure, every role
  // assignment at or under the subscription is removed, and its alias too
  // (aliases are per tenant). Resources in it stay as they are.
  virtual Status ChangeTenant(const std::string& id,
                              const std::string& tenant_id) = 0;
  // Deleting a subscription is not an ARM operation (ARM cancels them, which
  // is a state change); the store refuses with FailedPrecondition while the
  // subscription has resource groups or vaults (live or deleted), so nothing
  // is destroyed by accident.
  virtual Status Delete(const std::string& id) = 0;
};

class ResourceGroupRepo {
 public:
  virtual ~ResourceGroupRepo() = default;
  // NotFound when the subscription does not exist; AlreadyExists when a group
  // of the same name, ignoring case, exists in it.
  virtual Status Create(const ResourceGroup& group) = 0;
  // `name` matches ignoring ASCII case.
  virtual Result<ResourceGroup> Get(const std::string& subscription_id,
                                    const std::string& name) = 0;
  // Ordered by name ignoring case.
  virtual Result<std::vector<ResourceGroup>> ListBySubscription(
      const std::string& subscription_id) = 0;
  // Replaces all tags.
  virtual Status SetTags(const std::string& subscription_id,
                         const std::string& name,
                         const std::map<std::string, std::string>& tags) = 0;
  // As in ARM, deleting a group deletes everything in it: rows of resources
  // that live in a group (added by later migrations) go with it. Vaults are
  // the exception: a deleted vault outlives its group until it is purged,
  // so the store leaves vault rows alone and the caller soft-deletes the
  // group's vaults (VaultRepo::Update) before deleting the group.
  virtual Status Delete(const std::string& subscription_id,
                        const std::string& name) = 0;
};

class PrincipalRepo {
 public:
  virtual ~PrincipalRepo() = default;
  // NotFound when the tenant does not exist; AlreadyExists for a taken
  // object_id, user principal name, app id or managed identity resource.
  virtual Status Create(const Principal& principal) = 0;
  virtual Result<Principal> Get(const std::string& object_id) = 0;
  virtual Result<Principal> FindServicePrincipalByAppId(
      const std::string& tenant_id, const std::string& app_id) = 0;
  virtual Result<Principal> FindUserByName(
      const std::string& tenant_id, const std::string& user_principal_name) = 0;
  virtual Result<Principal> FindManagedIdentityByResource(
      const std::string& resource_id) = 0;
  // Ordered by object_id.
  virtual Result<std::vector<Principal>> ListByTenant(
      const std::string& tenant_id) = 0;
  // Also deletes the principal's client secrets and role assignments, so a
  // later principal (always with a fresh objectId) inherits nothing.
  virtual Status Delete(const std::string& object_id) = 0;

  // InvalidArgument unless the principal is a service principal.
  virtual Status AddSecret(const ClientSecret& secret) = 0;
  // Ordered by key_id.
  virtual Result<std::vector<ClientSecret>> ListSecrets(
      const std::string& principal_id) = 0;
  virtual Status DeleteSecret(const std::string& principal_id,
                              const std::string& key_id) = 0;
};

class RoleAssignmentRepo {
 public:
  virtual ~RoleAssignmentRepo() = default;
  // NotFound when the principal does not exist; AlreadyExists for a taken id
  // or when the principal already holds the role at the same scope
  // (ignoring case), as ARM's RoleAssignmentExists.
  virtual Status Create(const RoleAssignment& assignment) = 0;
  virtual Result<RoleAssignment> Get(const std::string& id) = 0;
  // Ordered by id.
  virtual Result<std::vector<RoleAssignment>> ListForPrincipal(
      const std::string& principal_id) = 0;
  // Assignments whose scope equals `scope` ignoring case; ordered by id.
  virtual Result<std::vector<RoleAssignment>> ListAtScope(
      const std::string& scope) = 0;
  virtual Status Delete(const std::string& id) = 0;
};

class SigningKeyRepo {
 public:
  virtual ~SigningKeyRepo() = default;
  // NotFound when the tenant does not exist.
  virtual Status Add(const SigningKey& key) = 0;
  virtual Result<SigningKey> Get(const std::string& tenant_id,
                                 const std::string& kid) = 0;
  // Newest first (created_at descending, then kid).
  virtual Result<std::vector<SigningKey>> ListByTenant(
      const std::string& tenant_id) = 0;
  virtual Status Delete(const std::string& tenant_id,
                        const std::string& kid) = 0;
};

class VaultRepo {
 public:
  virtual ~VaultRepo() = default;
  // NotFound when the subscription or resource group does not exist;
  // AlreadyExists when the name is taken (ignoring case), live or deleted.
  virtual Status Create(const Vault& vault) = 0;
  // `name` matches ignoring ASCII case; live or deleted.
  virtual Result<Vault> Get(const std::string& name) = 0;
  // Replaces location, properties_json, updated_at, deleted_at and
  // scheduled_purge_at; the rest never changes.
  virtual Status Update(const Vault& vault) = 0;
  // Live and deleted vaults of a subscription, ordered by name ignoring case.
  virtual Result<std::vector<Vault>> ListBySubscription(
      const std::string& subscription_id) = 0;
  // Every vault, live or deleted, ordered by name ignoring case.
  virtual Result<std::vector<Vault>> List() = 0;
  // Purge: removes the vault with all its keys, versions and audit events.
  virtual Status Delete(const std::string& name) = 0;
};

class VaultKeyRepo {
 public:
  virtual ~VaultKeyRepo() = default;
  // NotFound when the vault does not exist; AlreadyExists when the vault has
  // a key of that name (ignoring case), live or deleted.
  virtual Status Create(const VaultKey& key) = 0;
  // Names match ignoring ASCII case.
  virtual Result<VaultKey> Get(const std::string& vault,
                               const std::string& name) = 0;
  // Replaces rotation_policy_json, deleted_at and scheduled_purge_at.
  virtual Status Update(const VaultKey& key) = 0;
  // Live and deleted keys of the vault, ordered by name ignoring case.
  virtual Result<std::vector<VaultKey>> List(const std::string& vault) = 0;
  // Purge: removes the key and all its versions.
  virtual Status Delete(const std::string& vault, const std::string& name) = 0;

  // NotFound when the key does not exist; AlreadyExists for a taken version.
  virtual Status AddVersion(const VaultKeyVersion& version) = 0;
  virtual Result<VaultKeyVersion> GetVersion(const std::string& vault,
                                             const std::string& name,
                                             const std::string& version) = 0;
  // The most recently added version; NotFound when the key has none.
  virtual Result<VaultKeyVersion> LatestVersion(const std::string& vault,
                                                const std::string& name) = 0;
  // Oldest first (the order AddVersion saw them).
  virtual Result<std::vector<VaultKeyVersion>> ListVersions(
      const std::string& vault, const std::string& name) = 0;
  // Replaces attributes_json and updated_at.
  virtual Status UpdateVersion(const VaultKeyVersion& version) = 0;
};

class AuditRepo {
 public:
  virtual ~AuditRepo() = default;
  // Stores `event` with the next seq (its own seq is ignored) and returns
  // that seq.
  virtual Result<int64_t> Append(const AuditEvent& event) = 0;
  // Events of the vault with seq > after_seq, oldest first, at most `limit`.
  virtual Result<std::vector<AuditEvent>> List(const std::string& vault,
                                               int64_t after_seq,
                                               size_t limit) = 0;
};

class AccountRepo {
 public:
  virtual ~AccountRepo() = default;
  // NotFound when the subscription or resource group does not exist;
  // AlreadyExists when the name (ignoring case) or uid is taken.
  virtual Status Create(const Account& account) = 0;
  // `name` matches ignoring ASCII case.
  virtual Result<Account> Get(const std::string& name) = 0;
  virtual Result<Account> GetByUid(const std::string& uid) = 0;
  // Replaces everything but uid, name and created_at. Moving the account
  // (subscription_id, resource_group) needs the target group to exist.
  virtual Status Update(const Account& account) = 0;
  // Ordered by name ignoring case; `resource_group` empty for all groups.
  virtual Result<std::vector<Account>> ListBySubscription(
      const std::string& subscription_id,
      const std::string& resource_group) = 0;
  // Every account, ordered by name ignoring case.
  virtual Result<std::vector<Account>> List() = 0;
  // Also deletes the account's object rows.
  virtual Status Delete(const std::string& name) = 0;
};

class ObjectRepo {
 public:
  virtual ~ObjectRepo() = default;
  // Assigns seq. NotFound when the account does not exist; AlreadyExists
  // for a taken id.
  virtual Result<int64_t> Create(const StoredObject& object) = 0;
  virtual Result<StoredObject> Get(const std::string& account_uid,
                                   const std::string& id) = 0;
  // Replaces status, status_details and bytes.
  virtual Status Update(const StoredObject& object) = 0;
  struct ListQuery {
    std::string kind = "file";
    std::string purpose;    // Empty: any.
    int64_t after_seq = 0;  // Objects past this seq in `ascending` order;
                            // 0 = from the start.
    bool ascending = true;  // By seq.
    size_t limit = 100;
  };
  virtual Result<std::vector<StoredObject>> List(const std::string& account_uid,
                                                 const ListQuery& query) = 0;
  virtual Result<int64_t> Count(const std::string& account_uid) = 0;
  // Blob names of every object of every account (for the orphan sweep).
  virtual Result<std::vector<std::string>> ListBlobs() = 0;
  virtual Status Delete(const std::string& account_uid,
                        const std::string& id) = 0;
};

class JobRepo {
 public:
  virtual ~JobRepo() = default;
  // Assigns seq. NotFound when the account does not exist; AlreadyExists
  // for a taken id.
  virtual Result<int64_t> Create(const FineTuningJobRow& job) = 0;
  virtual Result<FineTuningJobRow> Get(const std::string& account_uid,
                                       const std::string& id) = 0;
  // Replaces status, job_json and updated_at. With `expected_status` set,
  // only when the stored status is that one (Aborted otherwise): how a
  // worker claims a pending job or a cancel races a finishing run.
  virtual Status Update(const FineTuningJobRow& job,
                        const std::string& expected_status = "") = 0;
  // Newest first; jobs with seq below `before_seq` (0: from the newest).
  virtual Result<std::vector<FineTuningJobRow>> List(
      const std::string& account_uid, int64_t before_seq, size_t limit) = 0;
  // Every account's jobs in `status`, oldest first (the runner's queue).
  virtual Result<std::vector<FineTuningJobRow>> ListByStatus(
      const std::string& status, size_t limit) = 0;
  // Takes the job's events with it.
  virtual Status Delete(const std::string& account_uid,
                        const std::string& id) = 0;

  virtual Result<int64_t> AddEvent(const JobEventRow& event) = 0;
  // Newest first; events with seq below `before_seq` (0: from the newest).
  virtual Result<std::vector<JobEventRow>> ListEvents(
      const std::string& account_uid, const std::string& job_id,
      int64_t before_seq, size_t limit) = 0;
};

class DeploymentRepo {
 public:
  virtual ~DeploymentRepo() = default;
  // Creates or replaces by (account, name ignoring case). NotFound when the
  // account does not exist.
  virtual Status Put(const DeploymentRow& deployment) = 0;
  virtual Result<DeploymentRow> Get(const std::string& account_uid,
                                    const std::string& name) = 0;
  // By name.
  virtual Result<std::vector<DeploymentRow>> List(
      const std::string& account_uid) = 0;
  // Every account's deployments (loading them at start).
  virtual Result<std::vector<DeploymentRow>> ListAll() = 0;
  virtual Status Delete(const std::string& account_uid,
                        const std::string& name) = 0;
};

}  // namespace atrest::store

#endif  // ATREST_STORE_REPOS_H_
