// SQLite repository of principals and their client secrets.
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

// ---- Principals ----

namespace {

constexpr char kPrincipalColumns[] =
    "SELECT object_id, tenant_id, kind, display_name, user_principal_name, "
    "app_id, resource_id, created_at FROM principals WHERE ";

Result<Principal> ReadPrincipal(const Statement& s) {
  std::optional<PrincipalKind> kind = ParsePrincipalKind(s.Text(2));
  if (!kind) return DataLossError("principal has an unknown kind");
  return Principal{s.Text(0), s.Text(1), *kind,     s.Text(3),
                   s.Text(4), s.Text(5), s.Text(6), s.Int(7)};
}

// The one kind-specific field that must be set, by kind.
Status ValidateKindFields(const Principal& p) {
  const bool upn = !p.user_principal_name.empty();
  const bool app = !p.app_id.empty();
  const bool res = !p.resource_id.empty();
  bool ok = false;
  switch (p.kind) {
    case PrincipalKind::kUser:
      ok = upn && !app && !res;
      break;
    case PrincipalKind::kServicePrincipal:
      ok = app && !upn && !res;
      break;
    case PrincipalKind::kManagedIdentity:
      ok = res && !upn && !app;
      break;
  }
  if (ok) return Status::Ok();
  return InvalidArgumentError(
      "a user needs exactly a user principal name, a service principal "
      "exactly an app id, a managed identity exactly a resource id");
}

Status PrincipalConflict(const Connection& c, const Principal& p) {
  const std::string detail = c.last_error_detail();
  if (detail.find("upn_key") != std::string::npos) {
    return AlreadyExistsError("user '" + p.user_principal_name +
                              "' already exists in tenant '" + p.tenant_id +
                              "'");
  }
  if (detail.find("app_id") != std::string::npos) {
    return AlreadyExistsError("service principal for app id '" + p.app_id +
                              "' already exists in tenant '" + p.tenant_id +
                              "'");
  }
  if (detail.find("resource_key") != std::string::npos) {
    return AlreadyExistsError("managed identity for resource '" +
                              p.resource_id + "' already exists");
  }
  return AlreadyExistsError("principal '" + p.object_id + "' already exists");
}

}  // namespace

Status SqlitePrincipalRepo::Create(const Principal& p) {
  RETURN_IF_ERROR(Require(p.object_id, "principal object id"));
  RETURN_IF_ERROR(Require(p.tenant_id, "principal tenant id"));
  RETURN_IF_ERROR(ValidateKindFields(p));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO principals (object_id, tenant_id, kind, "
                 "display_name, user_principal_name, upn_key, app_id, "
                 "resource_id, resource_key, created_at) VALUES (?1, ?2, ?3, "
                 "?4, NULLIF(?5, ''), NULLIF(?6, ''), NULLIF(?7, ''), "
                 "NULLIF(?8, ''), NULLIF(?9, ''), ?10)",
                 "create principal"));
  s.Bind(1, p.object_id)
      .Bind(2, p.tenant_id)
      .Bind(3, PrincipalKindName(p.kind));
  s.Bind(4, p.display_name).Bind(5, p.user_principal_name);
  s.Bind(6, FoldCase(p.user_principal_name)).Bind(7, p.app_id);
  s.Bind(8, p.resource_id).Bind(9, FoldCase(p.resource_id));
  s.Bind(10, p.created_at);
  Status st = s.Run();
  if (!st.ok() && c_.last_violation() == Connection::Violation::kUnique) {
    return PrincipalConflict(c_, p);
  }
  return Explain(c_, std::move(st), Status::Ok(),
                 NotFound("tenant", p.tenant_id));
}

Result<Principal> SqlitePrincipalRepo::FindOne(
    const std::string& where, std::initializer_list<std::string> params,
    std::string_view what) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(kPrincipalColumns + where, "get principal"));
  int index = 1;
  for (const std::string& p : params) s.Bind(index++, p);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFoundError(std::string(what) + " not found");
  return ReadPrincipal(s);
}

Result<Principal> SqlitePrincipalRepo::Get(const std::string& object_id) {
  return FindOne("object_id = ?1", {object_id},
                 "principal '" + object_id + "'");
}

Result<Principal> SqlitePrincipalRepo::FindServicePrincipalByAppId(
    const std::string& tenant_id, const std::string& app_id) {
  return FindOne("tenant_id = ?1 AND app_id = ?2", {tenant_id, app_id},
                 "service principal for app id '" + app_id + "' in tenant '" +
                     tenant_id + "'");
}

Result<Principal> SqlitePrincipalRepo::FindUserByName(
    const std::string& tenant_id, const std::string& user_principal_name) {
  return FindOne(
      "tenant_id = ?1 AND upn_key = ?2",
      {tenant_id, FoldCase(user_principal_name)},
      "user '" + user_principal_name + "' in tenant '" + tenant_id + "'");
}

Result<Principal> SqlitePrincipalRepo::FindManagedIdentityByResource(
    const std::string& resource_id) {
  return FindOne("resource_key = ?1", {FoldCase(resource_id)},
                 "managed identity for resource '" + resource_id + "'");
}

Result<std::vector<Principal>> SqlitePrincipalRepo::ListByTenant(
    const std::string& tenant_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kPrincipalColumns) +
                                  "tenant_id = ?1 ORDER BY object_id",
                              "list principals"));
  s.Bind(1, tenant_id);
  std::vector<Principal> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(Principal p, ReadPrincipal(s));
    out.push_back(std::move(p));
  }
}

Status SqlitePrincipalRepo::Delete(const std::string& object_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM principals WHERE object_id = ?1",
                              "delete principal"));
  s.Bind(1, object_id);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "principal", object_id);
}

Status SqlitePrincipalRepo::AddSecret(const ClientSecret& secret) {
  RETURN_IF_ERROR(Require(secret.key_id, "client secret key id"));
  RETURN_IF_ERROR(Require(secret.secret_hash, "client secret hash"));
  ASSIGN_OR_RETURN(Principal owner, Get(secret.principal_id));
  if (owner.kind != PrincipalKind::kServicePrincipal) {
    return InvalidArgumentError("principal '" + secret.principal_id +
                                "' is not a service principal");
  }
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO client_secrets (principal_id, key_id, "
                 "secret_hash, not_before, expires_at) VALUES (?1, ?2, ?3, "
                 "?4, ?5)",
                 "add client secret"));
  s.Bind(1, secret.principal_id).Bind(2, secret.key_id);
  s.Bind(3, secret.secret_hash).Bind(4, secret.not_before);
  s.Bind(5, secret.expires_at);
  return Explain(c_, s.Run(),
                 AlreadyExistsError("client secret '" + secret.key_id +
                                    "' already exists for principal '" +
                                    secret.principal_id + "'"));
}

Result<std::vector<ClientSecret>> SqlitePrincipalRepo::ListSecrets(
    const std::string& principal_id) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT principal_id, key_id, secret_hash, not_before, "
                 "expires_at FROM client_secrets WHERE principal_id = ?1 "
                 "ORDER BY key_id",
                 "list client secrets"));
  s.Bind(1, principal_id);
  std::vector<ClientSecret> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(
        ClientSecret{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)});
  }
}

Status SqlitePrincipalRepo::DeleteSecret(const std::string& principal_id,
                                         const std::string& key_id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM client_secrets WHERE principal_id "
                              "= ?1 AND key_id = ?2",
                              "delete client secret"));
  s.Bind(1, principal_id).Bind(2, key_id);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "client secret", key_id);
}

}  // namespace atrest::store::sqlite
