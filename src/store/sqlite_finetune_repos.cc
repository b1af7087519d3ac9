// SQLite repositories of fine-tuning jobs, their events, and deployments.
#include <string>
#include <utility>

#include "store/sqlite_repos.h"

namespace atrest::store::sqlite {

// ---- Jobs ----

namespace {

constexpr char kJobColumns[] =
    "SELECT account_uid, id, status, job_json, updated_at, seq FROM ft_jobs";

FineTuningJobRow ReadJob(const Statement& s) {
  return FineTuningJobRow{.account_uid = s.Text(0),
                          .id = s.Text(1),
                          .status = s.Text(2),
                          .job_json = s.Text(3),
                          .updated_at = s.Int(4),
                          .seq = s.Int(5)};
}

Result<std::vector<FineTuningJobRow>> ReadJobs(Statement& s) {
  std::vector<FineTuningJobRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(ReadJob(s));
  }
}

}  // namespace

Result<int64_t> SqliteJobRepo::Create(const FineTuningJobRow& job) {
  RETURN_IF_ERROR(Require(job.account_uid, "job account"));
  RETURN_IF_ERROR(Require(job.id, "job id"));
  RETURN_IF_ERROR(Require(job.status, "job status"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO ft_jobs (account_uid, id, status, job_json, "
                 "updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                 "create job"));
  s.Bind(1, job.account_uid).Bind(2, job.id).Bind(3, job.status);
  s.Bind(4, job.job_json).Bind(5, job.updated_at);
  RETURN_IF_ERROR(Explain(
      c_, s.Run(), AlreadyExistsError("job '" + job.id + "' already exists"),
      NotFound("account", job.account_uid)));
  ASSIGN_OR_RETURN(Statement seq, c_.Prepare("SELECT seq FROM ft_jobs WHERE "
                                             "account_uid = ?1 AND id = ?2",
                                             "create job"));
  seq.Bind(1, job.account_uid).Bind(2, job.id);
  ASSIGN_OR_RETURN(bool row, seq.Step());
  if (!row) return InternalError("created job has no row");
  return seq.Int(0);
}

Result<FineTuningJobRow> SqliteJobRepo::Get(const std::string& account_uid,
                                            const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kJobColumns) +
                                  " WHERE account_uid = ?1 AND id = ?2",
                              "get job"));
  s.Bind(1, account_uid).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound("job", id);
  return ReadJob(s);
}

Status SqliteJobRepo::Update(const FineTuningJobRow& job,
                             const std::string& expected_status) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("UPDATE ft_jobs SET status = ?3, job_json = ?4, updated_at "
                 "= ?5 WHERE account_uid = ?1 AND id = ?2 AND (?6 = '' OR "
                 "status = ?6)",
                 "update job"));
  s.Bind(1, job.account_uid).Bind(2, job.id).Bind(3, job.status);
  s.Bind(4, job.job_json).Bind(5, job.updated_at).Bind(6, expected_status);
  RETURN_IF_ERROR(s.Run());
  if (c_.changes() > 0) return Status::Ok();
  RETURN_IF_ERROR(Get(job.account_uid, job.id).status());
  return Status(StatusCode::kAborted,
                "job '" + job.id + "' is no longer " + expected_status);
}

Result<std::vector<FineTuningJobRow>> SqliteJobRepo::List(
    const std::string& account_uid, int64_t before_seq, size_t limit) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kJobColumns) +
                                  " WHERE account_uid = ?1 AND (?2 = 0 OR "
                                  "seq < ?2) ORDER BY seq DESC LIMIT ?3",
                              "list jobs"));
  s.Bind(1, account_uid).Bind(2, before_seq);
  s.Bind(3, static_cast<int64_t>(limit));
  return ReadJobs(s);
}

Result<std::vector<FineTuningJobRow>> SqliteJobRepo::ListByStatus(
    const std::string& status, size_t limit) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare(std::string(kJobColumns) +
                     " WHERE status = ?1 ORDER BY seq ASC LIMIT ?2",
                 "list jobs by status"));
  s.Bind(1, status).Bind(2, static_cast<int64_t>(limit));
  return ReadJobs(s);
}

Status SqliteJobRepo::Delete(const std::string& account_uid,
                             const std::string& id) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM ft_jobs WHERE account_uid = ?1 AND "
                              "id = ?2",
                              "delete job"));
  s.Bind(1, account_uid).Bind(2, id);
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "job", id);
}

Result<int64_t> SqliteJobRepo::AddEvent(const JobEventRow& event) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO ft_events (account_uid, job_id, event_json) "
                 "VALUES (?1, ?2, ?3) RETURNING seq",
                 "add job event"));
  s.Bind(1, event.account_uid).Bind(2, event.job_id).Bind(3, event.event_json);
  Result<bool> row = s.Step();
  RETURN_IF_ERROR(
      Explain(c_, row.status(), Status::Ok(), NotFound("job", event.job_id)));
  if (!*row) return InternalError("added event has no row");
  return s.Int(0);
}

Result<std::vector<JobEventRow>> SqliteJobRepo::ListEvents(
    const std::string& account_uid, const std::string& job_id,
    int64_t before_seq, size_t limit) {
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("SELECT account_uid, job_id, event_json, seq FROM ft_events "
                 "WHERE account_uid = ?1 AND job_id = ?2 AND (?3 = 0 OR seq "
                 "< ?3) ORDER BY seq DESC LIMIT ?4",
                 "list job events"));
  s.Bind(1, account_uid).Bind(2, job_id).Bind(3, before_seq);
  s.Bind(4, static_cast<int64_t>(limit));
  std::vector<JobEventRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(JobEventRow{.account_uid = s.Text(0),
                              .job_id = s.Text(1),
                              .event_json = s.Text(2),
                              .seq = s.Int(3)});
  }
}

// ---- Deployments ----

namespace {

constexpr char kDeploymentColumns[] =
    "SELECT account_uid, name, model_id, deployment_json, created_at, "
    "updated_at FROM deployments";

Result<std::vector<DeploymentRow>> ReadDeployments(Statement& s) {
  std::vector<DeploymentRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return out;
    out.push_back(DeploymentRow{.account_uid = s.Text(0),
                                .name = s.Text(1),
                                .model_id = s.Text(2),
                                .deployment_json = s.Text(3),
                                .created_at = s.Int(4),
                                .updated_at = s.Int(5)});
  }
}

}  // namespace

Status SqliteDeploymentRepo::Put(const DeploymentRow& d) {
  RETURN_IF_ERROR(Require(d.account_uid, "deployment account"));
  RETURN_IF_ERROR(Require(d.name, "deployment name"));
  ASSIGN_OR_RETURN(
      Statement s,
      c_.Prepare("INSERT INTO deployments (account_uid, name_key, name, "
                 "model_id, deployment_json, created_at, updated_at) VALUES "
                 "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account_uid, "
                 "name_key) DO UPDATE SET model_id = ?4, deployment_json = ?5, "
                 "updated_at = ?7",
                 "put deployment"));
  s.Bind(1, d.account_uid).Bind(2, FoldCase(d.name)).Bind(3, d.name);
  s.Bind(4, d.model_id).Bind(5, d.deployment_json).Bind(6, d.created_at);
  s.Bind(7, d.updated_at);
  return Explain(c_, s.Run(), Status::Ok(), NotFound("account", d.account_uid));
}

Result<DeploymentRow> SqliteDeploymentRepo::Get(const std::string& account_uid,
                                                const std::string& name) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kDeploymentColumns) +
                                  " WHERE account_uid = ?1 AND name_key = ?2",
                              "get deployment"));
  s.Bind(1, account_uid).Bind(2, FoldCase(name));
  ASSIGN_OR_RETURN(std::vector<DeploymentRow> rows, ReadDeployments(s));
  if (rows.empty()) return NotFound("deployment", name);
  return std::move(rows.front());
}

Result<std::vector<DeploymentRow>> SqliteDeploymentRepo::List(
    const std::string& account_uid) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kDeploymentColumns) +
                                  " WHERE account_uid = ?1 ORDER BY name_key",
                              "list deployments"));
  s.Bind(1, account_uid);
  return ReadDeployments(s);
}

Result<std::vector<DeploymentRow>> SqliteDeploymentRepo::ListAll() {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare(std::string(kDeploymentColumns) +
                                  " ORDER BY account_uid, name_key",
                              "list all deployments"));
  return ReadDeployments(s);
}

Status SqliteDeploymentRepo::Delete(const std::string& account_uid,
                                    const std::string& name) {
  ASSIGN_OR_RETURN(Statement s,
                   c_.Prepare("DELETE FROM deployments WHERE account_uid = ?1 "
                              "AND name_key = ?2",
                              "delete deployment"));
  s.Bind(1, account_uid).Bind(2, FoldCase(name));
  RETURN_IF_ERROR(s.Run());
  return RequireChanged(c_, "deployment", name);
}

}  // namespace atrest::store::sqlite
