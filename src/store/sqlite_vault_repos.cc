// SQLite repositories of key vaults, their keys and key versions, and the
// data-plane audit log. Rows are keyed by the lower-case vault and key names;
// reads join back to the rows that hold the names as created.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

// ---- Vaults ----

namespace {

constexpr char kVaultColumns[] =
    "SELECT name, subscription_id, resource_group, location, tenant_id, "
    "properties_json, sealed_master_key, created_at, updated_at, deleted_at, "
    "scheduled_purge_at FROM vaults";

Vault ReadVault(const Statement& s) {
  return Vault{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5),
               s.Blob(6), s.Int(7),  s.Int(8),  s.Int(9),  s.Int(10)};
}

Result<std::vector<Vault>> ReadVaults(Statement& s) {
  std::vector<Vault> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadVault(s));
  }
}

}  // namespace

Status SqliteVaultRepo::Create(const Vault& v) {
  RETURN_IF_ERROR(Require(v.name, "vault name"));
  RETURN_IF_ERROR(Require(v.subscription_id, "vault subscription"));
  RETURN_IF_ERROR(Require(v.resource_group, "vault resource group"));
  RETURN_IF_ERROR(Require(v.location, "vault location"));
  RETURN_IF_ERROR(Require(v.tenant_id, "vault tenant id"));
  if (v.sealed_master_key.empty()) {
    return InvalidArgumentError("vault sealed master key is required");
  }
  // No foreign key to the group (a deleted vault outlives it), so the insert
  // happens only when the group exists.
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO vaults (name_key, name, subscription_id, "
                 "resource_group, location, tenant_id, properties_json, "
                 "sealed_master_key, created_at, updated_at, deleted_at, "
                 "scheduled_purge_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                 "?9, ?10, ?11, ?12 WHERE EXISTS (SELECT 1 FROM "
                 "resource_groups WHERE subscription_id = ?3 AND name_key = "
                 "?13)",
                 "create vault"));
  s.Bind(1, FoldCase(v.name)).Bind(2, v.name).Bind(3, v.subscription_id);
  s.Bind(4, v.resource_group).Bind(5, v.location).Bind(6, v.tenant_id);
  s.Bind(7, v.properties_json).BindBlob(8, v.sealed_master_key);
  s.Bind(9, v.created_at).Bind(10, v.updated_at).Bind(11, v.deleted_at);
  s.Bind(12, v.scheduled_purge_at).Bind(13, FoldCase(v.resource_group));
  RETURN_IF_ERROR(Explain(
      c_, s.Run(), AlreadyExistsError("vault '" + v.name + "' already exists"),
      NotFound("subscription", v.subscription_id)));
  if (c_.changes() > 0) return Status::Ok();
  ASSIGN_OR_RETURN(
      Statement sub,
      c_.Prepare("SELECT 1 FROM subscriptions WHERE id = ?1", "create vault"));
  sub.Bind(1, v.subscription_id);
  ASSIGN_OR_RETURN(bool sub_exists, sub.Step());
  if (!sub_exists) return NotFound("subscription", v.subscription_id);
  return NotFound("resource group", v.resource_group);
}

Result<Vault> SqliteVaultRepo::Get(const std::string& name) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kVaultColumns) +
                                               " WHERE name_key = ?1",
                                           "get vault"));
  s.Bind(1, FoldCase(name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("vault", name);
  return ReadVault(s);
}

Status SqliteVaultRepo::Update(const Vault& v) {
  RETURN_IF_ERROR(Require(v.location, "vault location"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE vaults SET location = ?2, properties_json = ?3, "
                 "updated_at = ?4, deleted_at = ?5, scheduled_purge_at = ?6 "
                 "WHERE name_key = ?1",
                 "update vault"));
  s.Bind(1, FoldCase(v.name)).Bind(2, v.location).Bind(3, v.properties_json);
  s.Bind(4, v.updated_at).Bind(5, v.deleted_at).Bind(6, v.scheduled_purge_at);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "vault", v.name);
}

Result<std::vector<Vault>> SqliteVaultRepo::ListBySubscription(
    const std::string& subscription_id) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kVaultColumns) +
                                               " WHERE subscription_id = ?1 "
                                               "ORDER BY name_key",
                                           "list vaults"));
  s.Bind(1, subscription_id);
  return ReadVaults(s);
}

Result<std::vector<Vault>> SqliteVaultRepo::List() {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kVaultColumns) + " ORDER BY name_key",
                              "list vaults"));
  return ReadVaults(s);
}

Status SqliteVaultRepo::Delete(const std::string& name) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("DELETE FROM vaults WHERE name_key = ?1", "delete vault"));
  s.Bind(1, FoldCase(name));
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(RequireChanged(c_, "vault", name));
  c_.RequestShred();  // Its sealed master key and its keys' sealed keys.
  return Status::Ok();
}

// ---- Vault keys ----

namespace {

constexpr char kVaultKeyColumns[] =
    "SELECT v.name, k.name, k.rotation_policy_json, k.created_at, "
    "k.deleted_at, k.scheduled_purge_at FROM vault_keys k JOIN vaults v ON "
    "v.name_key = k.vault_key WHERE k.vault_key = ?1";

VaultKey ReadVaultKey(const Statement& s) {
  return VaultKey{s.Text(0), s.Text(1), s.Text(2),
                  s.Int(3),  s.Int(4),  s.Int(5)};
}

// The versions of key ?2 in vault ?1 (both lower case).
constexpr char kVersionColumns[] =
    "SELECT v.name, k.name, x.version, x.kty, x.attributes_json, "
    "x.public_key, x.sealed_private_key, x.hsm_handle, x.created_at, "
    "x.updated_at FROM vault_key_versions x JOIN vault_keys k ON k.vault_key "
    "= x.vault_key AND k.name_key = x.key_name_key JOIN vaults v ON "
    "v.name_key = x.vault_key WHERE x.vault_key = ?1 AND x.key_name_key = ?2";

VaultKeyVersion ReadVersion(const Statement& s) {
  return VaultKeyVersion{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4),
                         s.Blob(5), s.Blob(6), s.Text(7), s.Int(8),  s.Int(9)};
}

}  // namespace

Status SqliteVaultKeyRepo::Create(const VaultKey& k) {
  RETURN_IF_ERROR(Require(k.vault, "key vault"));
  RETURN_IF_ERROR(Require(k.name, "key name"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO vault_keys (vault_key, name_key, name, "
                 "rotation_policy_json, created_at, deleted_at, "
                 "scheduled_purge_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 "create key"));
  s.Bind(1, FoldCase(k.vault)).Bind(2, FoldCase(k.name)).Bind(3, k.name);
  s.Bind(4, k.rotation_policy_json).Bind(5, k.created_at);
  s.Bind(6, k.deleted_at).Bind(7, k.scheduled_purge_at);
  return Explain(
      c_, s.Run(),
      AlreadyExistsError("key '" + k.name + "' already exists in vault '" +
                         k.vault + "'"),
      NotFound("vault", k.vault));
}

Result<VaultKey> SqliteVaultKeyRepo::Get(const std::string& vault,
                                         const std::string& name) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kVaultKeyColumns) +
                                               " AND k.name_key = ?2",
                                           "get key"));
  s.Bind(1, FoldCase(vault)).Bind(2, FoldCase(name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("key", name);
  return ReadVaultKey(s);
}

Status SqliteVaultKeyRepo::Update(const VaultKey& k) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE vault_keys SET rotation_policy_json = ?3, "
                 "deleted_at = ?4, scheduled_purge_at = ?5 WHERE vault_key = "
                 "?1 AND name_key = ?2",
                 "update key"));
  s.Bind(1, FoldCase(k.vault)).Bind(2, FoldCase(k.name));
  s.Bind(3, k.rotation_policy_json).Bind(4, k.deleted_at);
  s.Bind(5, k.scheduled_purge_at);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "key", k.name);
}

Result<std::vector<VaultKey>> SqliteVaultKeyRepo::List(
    const std::string& vault) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kVaultKeyColumns) +
                                               " ORDER BY k.name_key",
                                           "list keys"));
  s.Bind(1, FoldCase(vault));
  std::vector<VaultKey> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadVaultKey(s));
  }
}

Status SqliteVaultKeyRepo::Delete(const std::string& vault,
                                  const std::string& name) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM vault_keys WHERE vault_key = ?1 "
                              "AND name_key = ?2",
                              "delete key"));
  s.Bind(1, FoldCase(vault)).Bind(2, FoldCase(name));
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(RequireChanged(c_, "key", name));
  c_.RequestShred();  // Its versions' sealed private keys.
  return Status::Ok();
}

Status SqliteVaultKeyRepo::AddVersion(const VaultKeyVersion& v) {
  RETURN_IF_ERROR(Require(v.vault, "key version vault"));
  RETURN_IF_ERROR(Require(v.name, "key version key name"));
  RETURN_IF_ERROR(Require(v.version, "key version"));
  RETURN_IF_ERROR(Require(v.kty, "key version kty"));
  if (v.public_key.empty()) {
    return InvalidArgumentError("key version public key is required");
  }
  if (v.sealed_private_key.empty() == v.hsm_handle.empty()) {
    return InvalidArgumentError(
        "a key version needs exactly one of a sealed private key and an HSM "
        "handle");
  }
  // seq: one more than the key's newest, so versions keep the order in
  // which they were added whatever their ids and timestamps.
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO vault_key_versions (vault_key, key_name_key, "
                 "version, seq, kty, attributes_json, public_key, "
                 "sealed_private_key, hsm_handle, created_at, updated_at) "
                 "SELECT ?1, ?2, ?3, COALESCE(MAX(seq), 0) + 1, ?4, ?5, ?6, "
                 "?7, ?8, ?9, ?10 FROM vault_key_versions WHERE vault_key = "
                 "?1 AND key_name_key = ?2",
                 "add key version"));
  s.Bind(1, FoldCase(v.vault)).Bind(2, FoldCase(v.name)).Bind(3, v.version);
  s.Bind(4, v.kty).Bind(5, v.attributes_json).BindBlob(6, v.public_key);
  s.BindBlob(7, v.sealed_private_key).Bind(8, v.hsm_handle);
  s.Bind(9, v.created_at).Bind(10, v.updated_at);
  return Explain(c_, s.Run(),
                 AlreadyExistsError("version '" + v.version + "' of key '" +
                                    v.name + "' already exists"),
                 NotFound("key", v.name));
}

Result<VaultKeyVersion> SqliteVaultKeyRepo::GetVersion(
    const std::string& vault, const std::string& name,
    const std::string& version) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kVersionColumns) +
                                               " AND x.version = ?3",
                                           "get key version"));
  s.Bind(1, FoldCase(vault)).Bind(2, FoldCase(name)).Bind(3, version);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("key version", version);
  return ReadVersion(s);
}

Result<VaultKeyVersion> SqliteVaultKeyRepo::LatestVersion(
    const std::string& vault, const std::string& name) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kVersionColumns) +
                                               " ORDER BY x.seq DESC LIMIT 1",
                                           "get latest key version"));
  s.Bind(1, FoldCase(vault)).Bind(2, FoldCase(name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("version of key", name);
  return ReadVersion(s);
}

Result<std::vector<VaultKeyVersion>> SqliteVaultKeyRepo::ListVersions(
    const std::string& vault, const std::string& name) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kVersionColumns) + " ORDER BY x.seq",
                              "list key versions"));
  s.Bind(1, FoldCase(vault)).Bind(2, FoldCase(name));
  std::vector<VaultKeyVersion> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadVersion(s));
  }
}

Status SqliteVaultKeyRepo::UpdateVersion(const VaultKeyVersion& v) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE vault_key_versions SET attributes_json = ?4, "
                 "updated_at = ?5 WHERE vault_key = ?1 AND key_name_key = ?2 "
                 "AND version = ?3",
                 "update key version"));
  s.Bind(1, FoldCase(v.vault)).Bind(2, FoldCase(v.name)).Bind(3, v.version);
  s.Bind(4, v.attributes_json).Bind(5, v.updated_at);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "key version", v.version);
}

// ---- Audit events ----

Result<int64_t> SqliteAuditRepo::Append(const AuditEvent& e) {
  RETURN_IF_ERROR(Require(e.vault, "audit event vault"));
  RETURN_IF_ERROR(Require(e.operation, "audit event operation"));
  RETURN_IF_ERROR(Require(e.result, "audit event result"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO audit_events (time, vault_key, "
                 "caller_tenant_id, caller_object_id, caller_app_id, "
                 "client_ip, key_name, key_version, operation, result, "
                 "status_code, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                 "?9, ?10, ?11, ?12) RETURNING seq",
                 "append audit event"));
  s.Bind(1, e.time).Bind(2, FoldCase(e.vault)).Bind(3, e.caller_tenant_id);
  s.Bind(4, e.caller_object_id).Bind(5, e.caller_app_id).Bind(6, e.client_ip);
  s.Bind(7, e.key_name).Bind(8, e.key_version).Bind(9, e.operation);
  s.Bind(10, e.result).Bind(11, int64_t{e.status_code});
  s.Bind(12, std::max<int64_t>(e.count, 1));
  int64_t seq = 0;
  Status run = [&]() -> Status {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return InternalError("append audit event: no seq returned");
    seq = s.Int(0);
    return s.Run();
  }();
  RETURN_IF_ERROR(Explain(c_, run, run, NotFound("vault", e.vault)));
  return seq;
}

Result<std::vector<AuditEvent>> SqliteAuditRepo::List(const std::string& vault,
                                                      int64_t after_seq,
                                                      size_t limit) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT e.seq, e.time, v.name, e.caller_tenant_id, "
                 "e.caller_object_id, e.caller_app_id, e.client_ip, "
                 "e.key_name, e.key_version, e.operation, e.result, "
                 "e.status_code, e.count FROM audit_events e JOIN vaults v ON "
                 "v.name_key = e.vault_key WHERE e.vault_key = ?1 AND e.seq > "
                 "?2 ORDER BY e.seq LIMIT ?3",
                 "list audit events"));
  const size_t max_limit = std::numeric_limits<int64_t>::max();
  s.Bind(1, FoldCase(vault)).Bind(2, after_seq);
  s.Bind(3, static_cast<int64_t>(std::min(limit, max_limit)));
  std::vector<AuditEvent> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(AuditEvent{s.Int(0), s.Int(1), s.Text(2), s.Text(3),
                             s.Text(4), s.Text(5), s.Text(6), s.Text(7),
                             s.Text(8), s.Text(9), s.Text(10),
                             static_cast<int>(s.Int(11)), s.Int(12)});
  }
}

}  // namespace atrest::store::sqlite
