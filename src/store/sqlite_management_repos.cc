// SQLite repositories for tenants, subscriptions and resource groups, and the
// helpers shared by all repositories.
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

std::string FoldCase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

Status Require(std::string_view value, std::string_view field) {
  if (!value.empty()) return Status::Ok();
  return InvalidArgumentError(std::string(field) + " is required");
}

Status Explain(const Connection& c, Status s, Status on_unique,
               Status on_foreign_key) {
  if (s.ok()) return s;
  if (c.last_violation() == Connection::Violation::kUnique) return on_unique;
  if (c.last_violation() == Connection::Violation::kForeignKey &&
      !on_foreign_key.ok()) {
    return on_foreign_key;
  }
  return s;
}

Status NotFound(std::string_view entity, std::string_view key) {
  return NotFoundError(std::string(entity) + " '" + std::string(key) +
                       "' not found");
}

Status RequireChanged(const Connection& c, std::string_view entity,
                      std::string_view key) {
  return c.changes() > 0 ? Status::Ok() : NotFound(entity, key);
}

// ---- Tenants ----

namespace {

constexpr char kTenantColumns[] = "SELECT id, display_name, created_at";

Tenant ReadTenant(const Statement& s) {
  return Tenant{s.Text(0), s.Text(1), s.Int(2)};
}

}  // namespace

Status SqliteTenantRepo::Create(const Tenant& t) {
  RETURN_IF_ERROR(Require(t.id, "tenant id"));
  ASSIGN_OR_RETURN(Statement s, c_.Prepare("INSERT INTO tenants (id, "
                                           "display_name, created_at) VALUES "
                                           "(?1, ?2, ?3)",
                                           "create tenant"));
  s.Bind(1, t.id).Bind(2, t.display_name).Bind(3, t.created_at);
  return Explain(c_, s.Run(),
                 AlreadyExistsError("tenant '" + t.id + "' already exists"));
}

Result<Tenant> SqliteTenantRepo::Get(const std::string& id) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kTenantColumns) +
                                               " FROM tenants WHERE id = ?1",
                                           "get tenant"));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("tenant", id);
  return ReadTenant(s);
}

Result<std::vector<Tenant>> SqliteTenantRepo::List() {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kTenantColumns) +
                                               " FROM tenants ORDER BY id",
                                           "list tenants"));
  std::vector<Tenant> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadTenant(s));
  }
}

Status SqliteTenantRepo::Delete(const std::string& id) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare("DELETE FROM tenants WHERE id = ?1",
                                           "delete tenant"));
  s.Bind(1, id);
  RETURN_IF_ERROR(Explain(
      c_, s.Run(), Status::Ok(),
      FailedPreconditionError("tenant '" + id +
                              "' still has subscriptions, principals or "
                              "signing keys; delete them first")));
  return RequireChanged(c_, "tenant", id);
}

// ---- Subscriptions ----

namespace {

constexpr char kSubscriptionColumns[] =
    "SELECT id, tenant_id, display_name, state, created_at, alias";

Result<Subscription> ReadSubscription(const Statement& s) {
  std::optional<SubscriptionState> state = ParseSubscriptionState(s.Text(3));
  if (!state) return DataLossError("subscription has an unknown state");
  return Subscription{s.Text(0), s.Text(1), s.Text(2),
                      *state,    s.Int(4),  s.Text(5)};
}

}  // namespace

Status SqliteSubscriptionRepo::Create(const Subscription& sub) {
  RETURN_IF_ERROR(Require(sub.id, "subscription id"));
  RETURN_IF_ERROR(Require(sub.tenant_id, "subscription tenant id"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO subscriptions (id, tenant_id, display_name, "
                 "state, created_at, alias) VALUES (?1, ?2, ?3, ?4, ?5, "
                 "NULLIF(?6, ''))",
                 "create subscription"));
  s.Bind(1, sub.id).Bind(2, sub.tenant_id).Bind(3, sub.display_name);
  s.Bind(4, SubscriptionStateName(sub.state)).Bind(5, sub.created_at);
  s.Bind(6, sub.alias);
  return Explain(c_, s.Run(),
                 AlreadyExistsError("subscription '" + sub.id + "' or alias '" +
                                    sub.alias + "' already exists"),
                 NotFound("tenant", sub.tenant_id));
}

Result<Subscription> SqliteSubscriptionRepo::GetByAlias(
    const std::string& tenant_id, const std::string& alias) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kSubscriptionColumns) +
                                               " FROM subscriptions WHERE "
                                               "tenant_id = ?1 AND alias = ?2",
                                           "get subscription by alias"));
  s.Bind(1, tenant_id).Bind(2, alias);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("subscription alias", alias);
  return ReadSubscription(s);
}

Result<Subscription> SqliteSubscriptionRepo::Get(const std::string& id) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kSubscriptionColumns) +
                                               " FROM subscriptions WHERE "
                                               "id = ?1",
                                           "get subscription"));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("subscription", id);
  return ReadSubscription(s);
}

Result<std::vector<Subscription>> SqliteSubscriptionRepo::ListByTenant(
    const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kSubscriptionColumns) +
                                               " FROM subscriptions WHERE "
                                               "tenant_id = ?1 ORDER BY id",
                                           "list subscriptions"));
  s.Bind(1, tenant_id);
  std::vector<Subscription> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(Subscription sub, ReadSubscription(s));
    out.push_back(std::move(sub));
  }
}

Status SqliteSubscriptionRepo::Update(const Subscription& sub) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE subscriptions SET display_name = ?2, "
                 "state = ?3, alias = NULLIF(?4, '') WHERE id = ?1",
                 "update subscription"));
  s.Bind(1, sub.id).Bind(2, sub.display_name);
  s.Bind(3, SubscriptionStateName(sub.state)).Bind(4, sub.alias);
  RETURN_IF_ERROR(Explain(c_, s.Run(),
                          AlreadyExistsError("subscription alias '" +
                                             sub.alias + "' already exists")));
  return RequireChanged(c_, "subscription", sub.id);
}

Status SqliteSubscriptionRepo::ChangeTenant(const std::string& id,
                                            const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("UPDATE subscriptions SET tenant_id = ?2, alias "
                              "= NULL WHERE id = ?1",
                              "change subscription tenant"));
  s.Bind(1, id).Bind(2, tenant_id);
  RETURN_IF_ERROR(
      Explain(c_, s.Run(), Status::Ok(), NotFound("tenant", tenant_id)));
  RETURN_IF_ERROR(RequireChanged(c_, "subscription", id));
  const std::string scope = "/subscriptions/" + FoldCase(id);
  ASSIGN_OR_RETURN(
      Statement roles,
      c_.Prepare("DELETE FROM role_assignments WHERE lower(scope) = ?1 OR "
                 "lower(scope) LIKE ?1 || '/%'",
                 "change subscription tenant"));
  roles.Bind(1, scope);
  return roles.Run();
}

Status SqliteSubscriptionRepo::Delete(const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM subscriptions WHERE id = ?1",
                              "delete subscription"));
  s.Bind(1, id);
  RETURN_IF_ERROR(
      Explain(c_, s.Run(), Status::Ok(),
              FailedPreconditionError("subscription '" + id +
                                      "' still has resource groups or vaults; "
                                      "delete them first")));
  return RequireChanged(c_, "subscription", id);
}

// ---- Resource groups ----

Status SqliteResourceGroupRepo::Create(const ResourceGroup& g) {
  RETURN_IF_ERROR(Require(g.subscription_id, "resource group subscription"));
  RETURN_IF_ERROR(Require(g.name, "resource group name"));
  RETURN_IF_ERROR(Require(g.location, "resource group location"));
  const std::string key = FoldCase(g.name);
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO resource_groups (subscription_id, name_key, "
                 "name, location, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                 "create resource group"));
  s.Bind(1, g.subscription_id).Bind(2, key).Bind(3, g.name);
  s.Bind(4, g.location).Bind(5, g.created_at);
  RETURN_IF_ERROR(
      Explain(c_, s.Run(),
              AlreadyExistsError("resource group '" + g.name +
                                 "' already exists in subscription '" +
                                 g.subscription_id + "'"),
              NotFound("subscription", g.subscription_id)));
  return WriteTags(g.subscription_id, key, g.tags);
}

Result<ResourceGroup> SqliteResourceGroupRepo::Get(
    const std::string& subscription_id, const std::string& name) {
  const std::string key = FoldCase(name);
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT name, location, created_at FROM resource_groups "
                 "WHERE subscription_id = ?1 AND name_key = ?2",
                 "get resource group"));
  s.Bind(1, subscription_id).Bind(2, key);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("resource group", name);
  ResourceGroup g{subscription_id, s.Text(0), s.Text(1), {}, s.Int(2)};
  ASSIGN_OR_RETURN(g.tags, ReadTags(subscription_id, key));
  return g;
}

Result<std::vector<ResourceGroup>> SqliteResourceGroupRepo::ListBySubscription(
    const std::string& subscription_id) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT name_key, name, location, created_at FROM "
                 "resource_groups WHERE subscription_id = ?1 ORDER BY "
                 "name_key",
                 "list resource groups"));
  s.Bind(1, subscription_id);
  std::vector<ResourceGroup> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    ResourceGroup g{subscription_id, s.Text(1), s.Text(2), {}, s.Int(3)};
    ASSIGN_OR_RETURN(g.tags, ReadTags(subscription_id, s.Text(0)));
    out.push_back(std::move(g));
  }
}

Status SqliteResourceGroupRepo::SetTags(
    const std::string& subscription_id, const std::string& name,
    const std::map<std::string, std::string>& tags) {
  const std::string key = FoldCase(name);
  {
    ASSIGN_OR_RETURN(Statement s,
                     c_.Prepare("SELECT 1 FROM resource_groups WHERE "
                                "subscription_id = ?1 AND name_key = ?2",
                                "set resource group tags"));
    s.Bind(1, subscription_id).Bind(2, key);
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return NotFound("resource group", name);
  }
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("DELETE FROM resource_group_tags WHERE subscription_id = ?1 "
                 "AND group_key = ?2",
                 "set resource group tags"));
  s.Bind(1, subscription_id).Bind(2, key);
  RETURN_IF_ERROR(s.Run());
  return WriteTags(subscription_id, key, tags);
}

Status SqliteResourceGroupRepo::Delete(const std::string& subscription_id,
                                       const std::string& name) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM resource_groups WHERE "
                              "subscription_id = ?1 AND name_key = ?2",
                              "delete resource group"));
  s.Bind(1, subscription_id).Bind(2, FoldCase(name));
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "resource group", name);
}

Status SqliteResourceGroupRepo::WriteTags(
    const std::string& subscription_id, const std::string& key,
    const std::map<std::string, std::string>& tags) {
  for (const auto& [tag, value] : tags) {
    ASSIGN_OR_RETURN(
        Statement s,
        c_.Prepare("INSERT INTO resource_group_tags (subscription_id, "
                   "group_key, tag_name, tag_value) VALUES (?1, ?2, ?3, ?4)",
                   "write resource group tags"));
    s.Bind(1, subscription_id).Bind(2, key).Bind(3, tag).Bind(4, value);
    RETURN_IF_ERROR(s.Run());
  }
  return Status::Ok();
}

Result<std::map<std::string, std::string>> SqliteResourceGroupRepo::ReadTags(
    const std::string& subscription_id, const std::string& key) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT tag_name, tag_value FROM resource_group_tags WHERE "
                 "subscription_id = ?1 AND group_key = ?2",
                 "read resource group tags"));
  s.Bind(1, subscription_id).Bind(2, key);
  std::map<std::string, std::string> tags;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return tags;
    tags.emplace(s.Text(0), s.Text(1));
  }
}

}  // namespace atrest::store::sqlite
