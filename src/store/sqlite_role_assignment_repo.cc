// SQLite repository of role assignments.
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

// ---- Role assignments ----

namespace {

constexpr char kAssignmentColumns[] =
    "SELECT id, principal_id, role_name, scope, created_at FROM "
    "role_assignments WHERE ";

RoleAssignment ReadAssignment(const Statement& s) {
  return RoleAssignment{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4)};
}

}  // namespace

Status SqliteRoleAssignmentRepo::Create(const RoleAssignment& a) {
  RETURN_IF_ERROR(Require(a.id, "role assignment id"));
  RETURN_IF_ERROR(Require(a.principal_id, "role assignment principal id"));
  RETURN_IF_ERROR(Require(a.role_name, "role assignment role name"));
  RETURN_IF_ERROR(Require(a.scope, "role assignment scope"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO role_assignments (id, principal_id, role_name, "
                 "scope, scope_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, "
                 "?6)",
                 "create role assignment"));
  s.Bind(1, a.id).Bind(2, a.principal_id).Bind(3, a.role_name);
  s.Bind(4, a.scope).Bind(5, FoldCase(a.scope)).Bind(6, a.created_at);
  Status st = s.Run();
  const bool same_id =
      c_.last_error_detail().find("role_assignments.id") != std::string::npos;
  return Explain(
      c_, std::move(st),
      AlreadyExistsError(
          same_id ? "role assignment '" + a.id + "' already exists"
                  : "principal '" + a.principal_id + "' already has role '" +
                        a.role_name + "' at scope '" + a.scope + "'"),
      NotFound("principal", a.principal_id));
}

Result<RoleAssignment> SqliteRoleAssignmentRepo::Get(const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kAssignmentColumns) + "id = ?1",
                              "get role assignment"));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("role assignment", id);
  return ReadAssignment(s);
}

Result<std::vector<RoleAssignment>> SqliteRoleAssignmentRepo::ListWhere(
    const char* column, const std::string& value) {
  ASSIGN_OR_RETURN(Statement s, c_.Prepare(std::string(kAssignmentColumns) +
                                               column + " = ?1 ORDER BY id",
                                           "list role assignments"));
  s.Bind(1, value);
  std::vector<RoleAssignment> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadAssignment(s));
  }
}

Result<std::vector<RoleAssignment>> SqliteRoleAssignmentRepo::ListForPrincipal(
    const std::string& principal_id) {
  return ListWhere("principal_id", principal_id);
}

Result<std::vector<RoleAssignment>> SqliteRoleAssignmentRepo::ListAtScope(
    const std::string& scope) {
  return ListWhere("scope_key", FoldCase(scope));
}

Status SqliteRoleAssignmentRepo::Delete(const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM role_assignments WHERE id = ?1",
                              "delete role assignment"));
  s.Bind(1, id);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "role assignment", id);
}

}  // namespace atrest::store::sqlite
