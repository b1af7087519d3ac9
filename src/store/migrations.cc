#include "store/migrations.h"

#include <array>

namespace atrest::store {

namespace {

constexpr std::string_view kIdentitySchema = R"sql(
CREATE TABLE tenants (
  id TEXT NOT NULL PRIMARY KEY,
  display_name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE subscriptions (
  id TEXT NOT NULL PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  display_name TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('Enabled', 'Warned', 'PastDue', 'Disabled', 'Deleted')),
  created_at BIGINT NOT NULL
);
CREATE INDEX subscriptions_by_tenant ON subscriptions (tenant_id);

-- Resources that live in a group reference (subscription_id, name_key) with
-- ON DELETE CASCADE: deleting a group deletes its resources, as in ARM.
CREATE TABLE resource_groups (
  subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
  name_key TEXT NOT NULL,
  name TEXT NOT NULL,
  location TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (subscription_id, name_key)
);

CREATE TABLE resource_group_tags (
  subscription_id TEXT NOT NULL,
  group_key TEXT NOT NULL,
  tag_name TEXT NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (subscription_id, group_key, tag_name),
  FOREIGN KEY (subscription_id, group_key)
    REFERENCES resource_groups (subscription_id, name_key) ON DELETE CASCADE
);

CREATE TABLE principals (
  object_id TEXT NOT NULL PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  kind TEXT NOT NULL
    CHECK (kind IN ('user', 'servicePrincipal', 'managedIdentity')),
  display_name TEXT NOT NULL,
  user_principal_name TEXT,
  upn_key TEXT,
  app_id TEXT,
  resource_id TEXT,
  resource_key TEXT,
  created_at BIGINT NOT NULL,
  UNIQUE (tenant_id, upn_key),
  UNIQUE (tenant_id, app_id),
  UNIQUE (resource_key)
);

CREATE TABLE client_secrets (
  principal_id TEXT NOT NULL
    REFERENCES principals (object_id) ON DELETE CASCADE,
  key_id TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (principal_id, key_id)
);

CREATE TABLE role_assignments (
  id TEXT NOT NULL PRIMARY KEY,
  principal_id TEXT NOT NULL
    REFERENCES principals (object_id) ON DELETE CASCADE,
  role_name TEXT NOT NULL,
  scope TEXT NOT NULL,
  scope_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (principal_id, role_name, scope_key)
);
CREATE INDEX role_assignments_by_scope ON role_assignments (scope_key);

CREATE TABLE signing_keys (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  kid TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  sealed_private_key BLOB NOT NULL,
  PRIMARY KEY (tenant_id, kid)
);
)sql";

// Microsoft.Subscription aliases: the name a subscription was created under.
constexpr std::string_view kSubscriptionAliases = R"sql(
ALTER TABLE subscriptions ADD COLUMN alias TEXT;
CREATE UNIQUE INDEX subscriptions_by_alias ON subscriptions (tenant_id, alias);
)sql";

// Key vaults, their keys and key versions, and the data-plane audit log.
//
// A vault lives in a resource group but has no foreign key to it: a
// soft-deleted vault outlives its group (its name stays taken until purge),
// so VaultRepo::Create checks that the group exists instead. Purging a vault
// (deleting its row) takes its keys, their versions and its audit events.
// Version seq is assigned per key as MAX + 1 in insertion order, so the
// latest version does not depend on clocks or on the random version ids.
constexpr std::string_view kKeyVault = R"sql(
CREATE TABLE vaults (
  name_key TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
  resource_group TEXT NOT NULL,
  location TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  properties_json TEXT NOT NULL,
  sealed_master_key BLOB NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT NOT NULL,
  scheduled_purge_at BIGINT NOT NULL
);
CREATE INDEX vaults_by_subscription ON vaults (subscription_id, name_key);

CREATE TABLE vault_keys (
  vault_key TEXT NOT NULL REFERENCES vaults (name_key) ON DELETE CASCADE,
  name_key TEXT NOT NULL,
  name TEXT NOT NULL,
  rotation_policy_json TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT NOT NULL,
  scheduled_purge_at BIGINT NOT NULL,
  PRIMARY KEY (vault_key, name_key)
);

CREATE TABLE vault_key_versions (
  vault_key TEXT NOT NULL,
  key_name_key TEXT NOT NULL,
  version TEXT NOT NULL,
  seq BIGINT NOT NULL,
  kty TEXT NOT NULL,
  attributes_json TEXT NOT NULL,
  public_key BLOB NOT NULL,
  sealed_private_key BLOB NOT NULL,
  hsm_handle TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (vault_key, key_name_key, version),
  UNIQUE (vault_key, key_name_key, seq),
  FOREIGN KEY (vault_key, key_name_key)
    REFERENCES vault_keys (vault_key, name_key) ON DELETE CASCADE
);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time BIGINT NOT NULL,
  vault_key TEXT NOT NULL REFERENCES vaults (name_key) ON DELETE CASCADE,
  caller_tenant_id TEXT NOT NULL,
  caller_object_id TEXT NOT NULL,
  caller_app_id TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  key_name TEXT NOT NULL,
  key_version TEXT NOT NULL,
  operation TEXT NOT NULL,
  result TEXT NOT NULL,
  status_code BIGINT NOT NULL
);
CREATE INDEX audit_events_by_vault ON audit_events (vault_key, seq);
)sql";

// AI accounts and their stored objects. Like a vault, an account has no
// foreign key to its group (it can move between groups and subscriptions);
// AccountRepo checks that the group exists. Deleting an account takes its
// object rows; blobs are the caller's to delete.
constexpr std::string_view kAccounts = R"sql(
CREATE TABLE accounts (
  uid TEXT NOT NULL PRIMARY KEY,
  name_key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
  resource_group TEXT NOT NULL,
  location TEXT NOT NULL,
  kind TEXT NOT NULL,
  sku TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  properties_json TEXT NOT NULL,
  identity_principal_id TEXT NOT NULL,
  sealed_api_keys BLOB NOT NULL,
  encryption_json TEXT NOT NULL,
  kek_json TEXT NOT NULL,
  wrapped_aek BLOB NOT NULL,
  key_status_json TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX accounts_by_subscription ON accounts (subscription_id, name_key);

CREATE TABLE objects (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_uid TEXT NOT NULL REFERENCES accounts (uid) ON DELETE CASCADE,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  purpose TEXT NOT NULL,
  filename TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  status TEXT NOT NULL,
  status_details TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  wrapped_dek BLOB NOT NULL,
  blob TEXT NOT NULL,
  UNIQUE (account_uid, id)
);
CREATE INDEX objects_by_account ON objects (account_uid, kind, seq);
)sql";

// Fine-tuning jobs with their events, and deployments. Checkpoints and
// models are rows of `objects` (kinds "checkpoint" and "model") with their
// facts in meta_json.
constexpr std::string_view kFineTuning = R"sql(
ALTER TABLE objects ADD COLUMN meta_json TEXT NOT NULL DEFAULT '{}';

CREATE TABLE ft_jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_uid TEXT NOT NULL REFERENCES accounts (uid) ON DELETE CASCADE,
  id TEXT NOT NULL,
  status TEXT NOT NULL,
  job_json TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (account_uid, id)
);
CREATE INDEX ft_jobs_by_status ON ft_jobs (status, seq);

CREATE TABLE ft_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  account_uid TEXT NOT NULL,
  job_id TEXT NOT NULL,
  event_json TEXT NOT NULL,
  FOREIGN KEY (account_uid, job_id) REFERENCES ft_jobs (account_uid, id)
    ON DELETE CASCADE
);
CREATE INDEX ft_events_by_job ON ft_events (account_uid, job_id, seq);

CREATE TABLE deployments (
  account_uid TEXT NOT NULL REFERENCES accounts (uid) ON DELETE CASCADE,
  name_key TEXT NOT NULL,
  name TEXT NOT NULL,
  model_id TEXT NOT NULL,
  deployment_json TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_uid, name_key)
);
)sql";

// Audit records that stand for several calls: summaries of refused calls
// that the audit writer coalesced (vault/audit_writer.h).
constexpr std::string_view kAuditCounts = R"sql(
ALTER TABLE audit_events ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
)sql";

constexpr std::array<Migration, 6> kMigrations = {{
    {1, "identity and management entities", kIdentitySchema},
    {2, "subscription aliases", kSubscriptionAliases},
    {3, "key vault", kKeyVault},
    {4, "AI accounts and stored objects", kAccounts},
    {5, "fine-tuning jobs and deployments", kFineTuning},
    {6, "audit record counts", kAuditCounts},
}};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

}  // namespace atrest::store
