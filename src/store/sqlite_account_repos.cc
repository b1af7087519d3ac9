// SQLite repositories of AI accounts and their stored objects.
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

// ---- Accounts ----

namespace {

constexpr char kAccountColumns[] =
    "SELECT uid, name, subscription_id, resource_group, location, kind, sku, "
    "tags_json, properties_json, identity_principal_id, sealed_api_keys, "
    "encryption_json, kek_json, wrapped_aek, key_status_json, created_at, "
    "updated_at FROM accounts";

Account ReadAccount(const Statement& s) {
  return Account{.uid = s.Text(0),
                 .name = s.Text(1),
                 .subscription_id = s.Text(2),
                 .resource_group = s.Text(3),
                 .location = s.Text(4),
                 .kind = s.Text(5),
                 .sku = s.Text(6),
                 .tags_json = s.Text(7),
                 .properties_json = s.Text(8),
                 .identity_principal_id = s.Text(9),
                 .sealed_api_keys = s.Blob(10),
                 .encryption_json = s.Text(11),
                 .kek_json = s.Text(12),
                 .wrapped_aek = s.Blob(13),
                 .key_status_json = s.Text(14),
                 .created_at = s.Int(15),
                 .updated_at = s.Int(16)};
}

Result<std::vector<Account>> ReadAccounts(Statement& s) {
  std::vector<Account> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadAccount(s));
  }
}

}  // namespace

Status SqliteAccountRepo::RequireGroup(const std::string& subscription_id,
                                       const std::string& group) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT 1 FROM resource_groups WHERE subscription_id = ?1 "
                 "AND name_key = ?2",
                 "find resource group"));
  s.Bind(1, subscription_id).Bind(2, FoldCase(group));
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (found) return Status::Ok();
  ASSIGN_OR_RETURN(
      Statement sub,
      c_.Prepare("SELECT 1 FROM subscriptions WHERE id = ?1", "find sub"));
  sub.Bind(1, subscription_id);
  ASSIGN_OR_RETURN(bool sub_exists, sub.Step());
  if (!sub_exists) return NotFound("subscription", subscription_id);
  return NotFound("resource group", group);
}

Status SqliteAccountRepo::Create(const Account& a) {
  RETURN_IF_ERROR(Require(a.uid, "account uid"));
  RETURN_IF_ERROR(Require(a.name, "account name"));
  RETURN_IF_ERROR(Require(a.location, "account location"));
  if (a.wrapped_aek.empty()) {
    return InvalidArgumentError("account wrapped key is required");
  }
  RETURN_IF_ERROR(RequireGroup(a.subscription_id, a.resource_group));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO accounts (uid, name_key, name, subscription_id, "
                 "resource_group, location, kind, sku, tags_json, "
                 "properties_json, identity_principal_id, sealed_api_keys, "
                 "encryption_json, kek_json, wrapped_aek, key_status_json, "
                 "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                 "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                 "create account"));
  s.Bind(1, a.uid).Bind(2, FoldCase(a.name)).Bind(3, a.name);
  s.Bind(4, a.subscription_id).Bind(5, a.resource_group).Bind(6, a.location);
  s.Bind(7, a.kind).Bind(8, a.sku).Bind(9, a.tags_json);
  s.Bind(10, a.properties_json).Bind(11, a.identity_principal_id);
  s.BindBlob(12, a.sealed_api_keys).Bind(13, a.encryption_json);
  s.Bind(14, a.kek_json).BindBlob(15, a.wrapped_aek);
  s.Bind(16, a.key_status_json).Bind(17, a.created_at).Bind(18, a.updated_at);
  return Explain(c_, s.Run(),
                 AlreadyExistsError("account '" + a.name + "' already exists"),
                 NotFound("subscription", a.subscription_id));
}

Result<Account> SqliteAccountRepo::Get(const std::string& name) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kAccountColumns) +
                                               " WHERE name_key = ?1",
                                           "get account"));
  s.Bind(1, FoldCase(name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("account", name);
  return ReadAccount(s);
}

Result<Account> SqliteAccountRepo::GetByUid(const std::string& uid) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kAccountColumns) + " WHERE uid = ?1",
                              "get account"));
  s.Bind(1, uid);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("account", uid);
  return ReadAccount(s);
}

Status SqliteAccountRepo::Update(const Account& a) {
  RETURN_IF_ERROR(Require(a.location, "account location"));
  if (a.wrapped_aek.empty()) {
    return InvalidArgumentError("account wrapped key is required");
  }
  RETURN_IF_ERROR(RequireGroup(a.subscription_id, a.resource_group));
  {
    // A new wrapped key (a rewrap under another key) or new sealed API keys
    // leave the old ones in the WAL's page images: shred after commit.
    ASSIGN_OR_RETURN(Statement old,
                     c_.Prepare("SELECT wrapped_aek, sealed_api_keys FROM "
                                "accounts WHERE uid = ?1",
                                "update account"));
    old.Bind(1, a.uid);
    ASSIGN_OR_RETURN(bool row, old.Step());
    if (row &&
        (old.Blob(0) != a.wrapped_aek || old.Blob(1) != a.sealed_api_keys)) {
      c_.RequestShred();
    }
  }
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE accounts SET subscription_id = ?2, resource_group = "
                 "?3, location = ?4, kind = ?5, sku = ?6, tags_json = ?7, "
                 "properties_json = ?8, identity_principal_id = ?9, "
                 "sealed_api_keys = ?10, encryption_json = ?11, kek_json = "
                 "?12, wrapped_aek = ?13, key_status_json = ?14, updated_at = "
                 "?15 WHERE uid = ?1",
                 "update account"));
  s.Bind(1, a.uid).Bind(2, a.subscription_id).Bind(3, a.resource_group);
  s.Bind(4, a.location).Bind(5, a.kind).Bind(6, a.sku).Bind(7, a.tags_json);
  s.Bind(8, a.properties_json).Bind(9, a.identity_principal_id);
  s.BindBlob(10, a.sealed_api_keys).Bind(11, a.encryption_json);
  s.Bind(12, a.kek_json).BindBlob(13, a.wrapped_aek);
  s.Bind(14, a.key_status_json).Bind(15, a.updated_at);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "account", a.name);
}

Result<std::vector<Account>> SqliteAccountRepo::ListBySubscription(
    const std::string& subscription_id, const std::string& resource_group) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare(std::string(kAccountColumns) +
                     " WHERE subscription_id = ?1 AND (?2 = '' OR "
                     "lower(resource_group) = ?2) ORDER BY name_key",
                 "list accounts"));
  s.Bind(1, subscription_id).Bind(2, FoldCase(resource_group));
  return ReadAccounts(s);
}

Result<std::vector<Account>> SqliteAccountRepo::List() {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kAccountColumns) +
                                               " ORDER BY name_key",
                                           "list accounts"));
  return ReadAccounts(s);
}

Status SqliteAccountRepo::Delete(const std::string& name) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("DELETE FROM accounts WHERE name_key = ?1", "delete account"));
  s.Bind(1, FoldCase(name));
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(RequireChanged(c_, "account", name));
  // The row held the wrapped account key; its objects' rows, with their
  // wrapped data keys, went with it.
  c_.RequestShred();
  return Status::Ok();
}

// ---- Stored objects ----

namespace {

constexpr char kObjectColumns[] =
    "SELECT account_uid, id, kind, purpose, filename, bytes, status, "
    "status_details, created_at, wrapped_dek, blob, seq, meta_json FROM "
    "objects";

StoredObject ReadObject(const Statement& s) {
  return StoredObject{.account_uid = s.Text(0),
                      .id = s.Text(1),
                      .kind = s.Text(2),
                      .purpose = s.Text(3),
                      .filename = s.Text(4),
                      .bytes = s.Int(5),
                      .status = s.Text(6),
                      .status_details = s.Text(7),
                      .created_at = s.Int(8),
                      .wrapped_dek = s.Blob(9),
                      .blob = s.Text(10),
                      .seq = s.Int(11),
                      .meta_json = s.Text(12)};
}

}  // namespace

Result<int64_t> SqliteObjectRepo::Create(const StoredObject& o) {
  RETURN_IF_ERROR(Require(o.account_uid, "object account"));
  RETURN_IF_ERROR(Require(o.id, "object id"));
  RETURN_IF_ERROR(Require(o.kind, "object kind"));
  RETURN_IF_ERROR(Require(o.blob, "object blob"));
  if (o.wrapped_dek.empty()) {
    return InvalidArgumentError("object wrapped key is required");
  }
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO objects (account_uid, id, kind, purpose, "
                 "filename, bytes, status, status_details, created_at, "
                 "wrapped_dek, blob, meta_json) VALUES (?1, ?2, ?3, ?4, ?5, "
                 "?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                 "create object"));
  s.Bind(1, o.account_uid).Bind(2, o.id).Bind(3, o.kind).Bind(4, o.purpose);
  s.Bind(5, o.filename).Bind(6, o.bytes).Bind(7, o.status);
  s.Bind(8, o.status_details).Bind(9, o.created_at);
  s.BindBlob(10, o.wrapped_dek).Bind(11, o.blob).Bind(12, o.meta_json);
  RETURN_IF_ERROR(Explain(
      c_, s.Run(), AlreadyExistsError("object '" + o.id + "' already exists"),
      NotFound("account", o.account_uid)));
  ASSIGN_OR_RETURN(Statement seq,
                   c_.Prepare("SELECT seq FROM objects WHERE account_uid = ?1 "
                              "AND id = ?2",
                              "create object"));
  seq.Bind(1, o.account_uid).Bind(2, o.id);
  ASSIGN_OR_RETURN(bool row, seq.Step());
  if (!row) return InternalError("created object has no row");
  return seq.Int(0);
}

Result<StoredObject> SqliteObjectRepo::Get(const std::string& account_uid,
                                           const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kObjectColumns) +
                                  " WHERE account_uid = ?1 AND id = ?2",
                              "get object"));
  s.Bind(1, account_uid).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("object", id);
  return ReadObject(s);
}

Status SqliteObjectRepo::Update(const StoredObject& o) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE objects SET status = ?3, status_details = ?4, bytes "
                 "= ?5 WHERE account_uid = ?1 AND id = ?2",
                 "update object"));
  s.Bind(1, o.account_uid).Bind(2, o.id).Bind(3, o.status);
  s.Bind(4, o.status_details).Bind(5, o.bytes);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "object", o.id);
}

Result<std::vector<StoredObject>> SqliteObjectRepo::List(
    const std::string& account_uid, const ListQuery& q) {
  const std::string order = q.ascending ? "ASC" : "DESC";
  const std::string after = q.ascending ? "seq > ?4" : "seq < ?4";
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare(std::string(kObjectColumns) +
                     " WHERE account_uid = ?1 AND kind = ?2 AND (?3 = '' OR "
                     "purpose = ?3) AND (?4 = 0 OR " +
                     after + ") ORDER BY seq " + order + " LIMIT ?5",
                 "list objects"));
  s.Bind(1, account_uid).Bind(2, q.kind).Bind(3, q.purpose);
  s.Bind(4, q.after_seq).Bind(5, static_cast<int64_t>(q.limit));
  std::vector<StoredObject> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadObject(s));
  }
}

Result<int64_t> SqliteObjectRepo::Count(const std::string& account_uid) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT COUNT(*) FROM objects WHERE account_uid = ?1",
                 "count objects"));
  s.Bind(1, account_uid);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return InternalError("count returned no row");
  return s.Int(0);
}

Result<std::vector<std::string>> SqliteObjectRepo::ListBlobs() {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("SELECT blob FROM objects ORDER BY blob",
                              "list object blobs"));
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(s.Text(0));
  }
}

Status SqliteObjectRepo::Delete(const std::string& account_uid,
                                const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM objects WHERE account_uid = ?1 AND "
                              "id = ?2",
                              "delete object"));
  s.Bind(1, account_uid).Bind(2, id);
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(RequireChanged(c_, "object", id));
  c_.RequestShred();  // The row held the object's wrapped data key.
  return Status::Ok();
}

}  // namespace atrest::store::sqlite
