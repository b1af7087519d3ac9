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

constexpr std::array<Migration, 2> kMigrations = {{
    {1, "identity and management entities", kIdentitySchema},
    {2, "subscription aliases", kSubscriptionAliases},
}};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

}  // namespace atrest::store
