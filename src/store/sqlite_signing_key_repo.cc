// SQLite repository of tenants' token-signing keys.
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

// ---- Signing keys ----

namespace {

constexpr char kSigningKeyColumns[] =
    "SELECT tenant_id, kid, created_at, not_after, sealed_private_key FROM "
    "signing_keys WHERE tenant_id = ?1";

SigningKey ReadSigningKey(const Statement& s) {
  return SigningKey{s.Text(0), s.Text(1), s.Int(2), s.Int(3), s.Blob(4)};
}

}  // namespace

Status SqliteSigningKeyRepo::Add(const SigningKey& k) {
  RETURN_IF_ERROR(Require(k.tenant_id, "signing key tenant id"));
  RETURN_IF_ERROR(Require(k.kid, "signing key kid"));
  if (k.sealed_private_key.empty()) {
    return InvalidArgumentError("signing key sealed private key is required");
  }
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO signing_keys (tenant_id, kid, created_at, "
                 "not_after, sealed_private_key) VALUES (?1, ?2, ?3, ?4, ?5)",
                 "add signing key"));
  s.Bind(1, k.tenant_id).Bind(2, k.kid).Bind(3, k.created_at);
  s.Bind(4, k.not_after).BindBlob(5, k.sealed_private_key);
  return Explain(
      c_, s.Run(),
      AlreadyExistsError("signing key '" + k.kid +
                         "' already exists in tenant '" + k.tenant_id + "'"),
      NotFound("tenant", k.tenant_id));
}

Result<SigningKey> SqliteSigningKeyRepo::Get(const std::string& tenant_id,
                                             const std::string& kid) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kSigningKeyColumns) + " AND kid = ?2",
                              "get signing key"));
  s.Bind(1, tenant_id).Bind(2, kid);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("signing key", kid);
  return ReadSigningKey(s);
}

Result<std::vector<SigningKey>> SqliteSigningKeyRepo::ListByTenant(
    const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kSigningKeyColumns) +
                                               " ORDER BY created_at DESC, kid",
                                           "list signing keys"));
  s.Bind(1, tenant_id);
  std::vector<SigningKey> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadSigningKey(s));
  }
}

Status SqliteSigningKeyRepo::Delete(const std::string& tenant_id,
                                    const std::string& kid) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM signing_keys WHERE tenant_id = ?1 "
                              "AND kid = ?2",
                              "delete signing key"));
  s.Bind(1, tenant_id).Bind(2, kid);
  RETURN_IF_ERROR(s.Run());
  RETURN_IF_ERROR(RequireChanged(c_, "signing key", kid));
  c_.RequestShred();  // The sealed private key.
  return Status::Ok();
}

}  // namespace atrest::store::sqlite
