#include "finetune/fine_tuning.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "base/json.h"
#include "base/json_fields.h"
#include "crypto/random.h"

namespace atrest::finetune {
namespace {

using nlohmann::json;

constexpr const char* kPending = "pending";
constexpr const char* kRunning = "running";
constexpr const char* kSucceeded = "succeeded";
constexpr const char* kFailed = "failed";
constexpr const char* kCancelled = "cancelled";

bool Terminal(const std::string& status) {
  return status == kSucceeded || status == kFailed || status == kCancelled;
}

Status Payload(std::string message, const char* code = "invalidPayload") {
  return Status(StatusCode::kInvalidArgument, std::move(message), code);
}

Status JobNotFound(const std::string& id) {
  return Status(StatusCode::kNotFound, "No such fine-tuning job: " + id,
                "notFound");
}

// The 32 hex digits of a job id ("ftjob-<hex>").
std::string JobHex(const std::string& job_id) {
  return job_id.substr(job_id.find('-') + 1);
}

// A job's stored JSON. A row that does not parse (damaged, or beyond the
// limits of stored JSON) still reads as a job with its id and status, so
// that it cannot make a listing or a worker fail.
json StoredJob(const store::FineTuningJobRow& row) {
  json j = ParseJsonOrDiscarded(row.job_json, kStoredJsonLimits);
  if (j.is_object()) return j;
  return {
      {"object", "fine_tuning.job"}, {"id", row.id}, {"status", row.status}};
}

// Stored JSON of an event or an object's metadata; an empty object when
// damaged.
json StoredObjectJson(std::string_view text) {
  json j = ParseJsonOrDiscarded(text, kStoredJsonLimits);
  return j.is_object() ? j : json::object();
}

// "auto" (or absent) is -1; otherwise a number in [lo, hi].
Result<double> Hyperparameter(const json& h, const char* name, double lo,
                              double hi, bool integer) {
  auto it = h.find(name);
  if (it == h.end() || it->is_null() ||
      (it->is_string() && it->get<std::string>() == "auto")) {
    return -1.0;
  }
  if (!it->is_number() || (integer && !it->is_number_integer())) {
    return Payload(std::string("hyperparameters.") + name + " must be " +
                   (integer ? "an integer" : "a number") + " or \"auto\".");
  }
  const double v = it->get<double>();
  if (!(v >= lo && v <= hi) || (!integer && v <= 0)) {
    char range[64];
    std::snprintf(range, sizeof(range), "%g to %g", lo, hi);
    return Payload(std::string("hyperparameters.") + name + " must be " +
                   range + ".");
  }
  return v;
}

json HyperparametersJson(const training::Hyperparameters& h) {
  return {{"n_epochs", h.n_epochs},
          {"batch_size", h.batch_size},
          {"learning_rate_multiplier", h.learning_rate_multiplier}};
}

std::optional<double> Opt(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

json MetricsJson(const training::StepMetrics& m) {
  json j = {{"step", m.step},
            {"train_loss", m.train_loss},
            {"train_mean_token_accuracy", m.train_mean_token_accuracy}};
  if (m.valid_loss) j["valid_loss"] = *m.valid_loss;
  if (m.valid_mean_token_accuracy) {
    j["valid_mean_token_accuracy"] = *m.valid_mean_token_accuracy;
  }
  if (m.full_valid_loss) j["full_valid_loss"] = *m.full_valid_loss;
  if (m.full_valid_mean_token_accuracy) {
    j["full_valid_mean_token_accuracy"] = *m.full_valid_mean_token_accuracy;
  }
  return j;
}

std::string Number(std::optional<double> v) {
  if (!v) return "";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.5f", *v);
  return buf;
}

// The results file: Azure's columns (reference §1.5), one row per step.
std::string ResultsCsv(const std::vector<training::StepMetrics>& steps) {
  std::string out =
      "step,train_loss,train_mean_token_accuracy,valid_loss,"
      "validation_mean_token_accuracy,full_valid_loss,"
      "full_valid_mean_token_accuracy\n";
  for (const training::StepMetrics& m : steps) {
    out += std::to_string(m.step) + "," + Number(m.train_loss) + "," +
           Number(m.train_mean_token_accuracy) + "," + Number(m.valid_loss) +
           "," + Number(m.valid_mean_token_accuracy) + "," +
           Number(m.full_valid_loss) + "," +
           Number(m.full_valid_mean_token_accuracy) + "\n";
  }
  return out;
}

// Why a job that was running when the service stopped failed.
Status Interrupted() {
  return Status(StatusCode::kAborted,
                "The job was interrupted because the service stopped while "
                "it ran. Its checkpoints are kept; create a new job to train "
                "again.",
                "job_interrupted");
}

json ErrorJson(const Status& s) {
  std::string code = s.reason().empty() ? "internal_error" : s.reason();
  std::string message = s.code() == StatusCode::kInternal
                            ? "The trainer failed: " + s.message()
                            : s.message();
  json param = nullptr;
  if (code == "invalid_training_file" || code == "invalid_n_examples") {
    param = "training_file";
  } else if (code == "invalid_validation_file") {
    param = "validation_file";
  }
  return {{"code", code}, {"message", message}, {"param", param}};
}

}  // namespace

// ---- JobRequest ----

Result<JobRequest> JobRequest::FromJson(const json& body) {
  if (!body.is_object()) return Payload("The request body must be an object.");
  JobRequest r;
  r.model = JsonString(body, "model");
  r.training_file = JsonString(body, "training_file");
  r.validation_file = JsonString(body, "validation_file");
  if (r.model.empty()) return Payload("model is required.");
  if (r.training_file.empty()) return Payload("training_file is required.");
  json h = json::object();
  if (auto it = body.find("hyperparameters");
      it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Payload("hyperparameters must be an object.");
    h = *it;
  }
  // Newer clients send method.supervised.hyperparameters instead.
  if (auto m = body.find("method"); m != body.end() && m->is_object()) {
    const std::string type = JsonString(*m, "type", "supervised");
    if (type != "supervised") {
      return Payload("Only the \"supervised\" fine-tuning method is offered.");
    }
    auto s = m->find("supervised");
    if (s != m->end() && s->is_object()) {
      auto mh = s->find("hyperparameters");
      if (mh != s->end() && mh->is_object()) h = *mh;
    }
  }
  ASSIGN_OR_RETURN(double epochs, Hyperparameter(h, "n_epochs", 1, 50, true));
  ASSIGN_OR_RETURN(double batch, Hyperparameter(h, "batch_size", 1, 256, true));
  ASSIGN_OR_RETURN(double lr,
                   Hyperparameter(h, "learning_rate_multiplier", 0, 10, false));
  r.hyperparameters = {static_cast<int>(epochs), static_cast<int>(batch), lr};
  if (auto it = body.find("suffix"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Payload("suffix must be a string.");
    r.suffix = it->get<std::string>();
    const bool ok = r.suffix.size() <= 40 &&
                    std::all_of(r.suffix.begin(), r.suffix.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) ||
                             c == '-' || c == '_';
                    });
    if (!ok) {
      return Payload(
          "suffix must be at most 40 characters of a-z, A-Z, 0-9, - and _.");
    }
  }
  if (auto it = body.find("seed"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        it->get<int64_t>() > 2147483647) {
      return Payload("seed must be an integer from 0 to 2147483647.");
    }
    r.seed = it->get<int64_t>();
  }
  return r;
}

// ---- The sink a trainer reports to ----

class FineTuning::JobSink final : public training::TrainingSink {
 public:
  JobSink(FineTuning& ft, const store::Account& account,
          store::FineTuningJobRow& job, json& j, const Running& running,
          std::string model_id)
      : ft_(ft),
        account_(account),
        job_(job),
        j_(j),
        running_(running),
        model_id_(std::move(model_id)) {}

  Status Started(const training::Hyperparameters& resolved,
                 int64_t total_steps) override {
    resolved_ = resolved;
    j_["hyperparameters"] = HyperparametersJson(resolved);
    if (j_.contains("method") && j_["method"].is_object()) {
      j_["method"]["supervised"]["hyperparameters"] = j_["hyperparameters"];
    }
    job_.job_json = DumpJson(j_);
    job_.updated_at = ft_.Now();
    RETURN_IF_ERROR(ft_.store_.Transact([&](store::Transaction& tx) {
      return tx.jobs().Update(job_, kRunning);
    }));
    return ft_.AddEvent(job_, "info",
                        "Training started: " + std::to_string(total_steps) +
                            " steps over " + std::to_string(resolved.n_epochs) +
                            " epochs.");
  }

  Status Event(std::string_view level, std::string_view message) override {
    return ft_.AddEvent(job_, level, message);
  }

  Status Metrics(const training::StepMetrics& m) override {
    steps_.push_back(m);
    char text[96];
    std::snprintf(text, sizeof(text), "Step %lld: training loss=%.8f",
                  static_cast<long long>(m.step), m.train_loss);
    return ft_.AddEvent(job_, "info", text, MetricsJson(m));
  }

  Result<std::unique_ptr<training::ModelWriter>> BeginModel(
      int64_t step, bool final) override {
    files::NewObject o;
    o.purpose = job_.id;
    json meta = {{"job", job_.id},
                 {"step", step},
                 {"base_model", JsonString(j_, "model")}};
    if (!steps_.empty()) meta["metrics"] = MetricsJson(steps_.back());
    if (final) {
      o.kind = "model";
      o.id = model_id_;
      o.filename = model_id_;
    } else {
      o.kind = "checkpoint";
      o.id = files::NewId("ftchkpt-");
      o.filename = model_id_ + ":ckpt-step-" + std::to_string(step);
    }
    o.meta_json = DumpJson(meta);
    // Each snapshot needs the account key: this is where a revoked key
    // stops a running job.
    ASSIGN_OR_RETURN(std::unique_ptr<files::ObjectWriter> writer,
                     ft_.files_.BeginObject(account_, o));
    return std::unique_ptr<training::ModelWriter>(
        std::make_unique<Writer>(*this, std::move(writer), final));
  }

  bool Cancelled() const override { return running_.cancelled.load(); }

  const std::vector<training::StepMetrics>& steps() const { return steps_; }
  bool has_model() const { return has_model_; }

 private:
  class Writer final : public training::ModelWriter {
   public:
    Writer(JobSink& sink, std::unique_ptr<files::ObjectWriter> writer,
           bool final)
        : sink_(sink), writer_(std::move(writer)), final_(final) {}
    Status Write(ByteView data) override { return writer_->Write(data); }
    Status Finish() override {
      ASSIGN_OR_RETURN(store::StoredObject o, writer_->Commit());
      if (final_) {
        sink_.has_model_ = true;
      } else {
        RETURN_IF_ERROR(sink_.ft_.AddEvent(
            sink_.job_, "info", "Checkpoint created: " + o.filename));
      }
      return Status::Ok();
    }

   private:
    JobSink& sink_;
    std::unique_ptr<files::ObjectWriter> writer_;
    const bool final_;
  };

  FineTuning& ft_;
  const store::Account& account_;
  store::FineTuningJobRow& job_;
  json& j_;
  const Running& running_;
  const std::string model_id_;
  training::Hyperparameters resolved_;
  std::vector<training::StepMetrics> steps_;
  bool has_model_ = false;
};

// ---- FineTuning ----

FineTuning::FineTuning(store::Store& store, env::Env& env,
                       files::FileService& files, accounts::AccountKeys& keys,
                       std::vector<BaseModel> catalog,
                       FineTuningOptions options)
    : store_(store),
      env_(env),
      files_(files),
      keys_(keys),
      catalog_(std::move(catalog)),
      options_(options) {}

FineTuning::~FineTuning() { Stop(); }

int64_t FineTuning::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             env_.clock().Now().time_since_epoch())
      .count();
}

const BaseModel* FineTuning::FindBase(const std::string& id) const {
  for (const BaseModel& m : catalog_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

Status FineTuning::Start() {
  ASSIGN_OR_RETURN(std::vector<store::FineTuningJobRow> interrupted,
                   store_.ReadResult([](store::Transaction& tx) {
                     return tx.jobs().ListByStatus(kRunning, 100000);
                   }));
  for (store::FineTuningJobRow& job : interrupted) {
    json j = StoredJob(job);
    Fail(job, j, Interrupted());
  }
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  for (int i = 0; i < std::max(1, options_.max_concurrent_jobs); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  return Status::Ok();
}

void FineTuning::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [id, r] : running_) {
      // A job its user cancelled already stays cancelled.
      if (!r->cancelled.exchange(true)) r->interrupted = true;
    }
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

store::JobEventRow FineTuning::EventRow(const store::FineTuningJobRow& job,
                                        std::string_view level,
                                        std::string_view message,
                                        const json& data) const {
  json e = {{"object", "fine_tuning.job.event"},
            {"created_at", Now()},
            {"level", level},
            {"message", message},
            {"type", data.is_null() ? "message" : "metrics"}};
  if (!data.is_null()) e["data"] = data;
  return store::JobEventRow{.account_uid = job.account_uid,
                            .job_id = job.id,
                            .event_json = DumpJson(e)};
}

Status FineTuning::AddEvent(const store::FineTuningJobRow& job,
                            std::string_view level, std::string_view message,
                            const json& data) {
  const store::JobEventRow row = EventRow(job, level, message, data);
  return store_.Transact(
      [&](store::Transaction& tx) { return tx.jobs().AddEvent(row).status(); });
}

Result<store::FineTuningJobRow> FineTuning::GetRow(
    const store::Account& account, const std::string& id) {
  Result<store::FineTuningJobRow> row = store_.ReadResult(
      [&](store::Transaction& tx) { return tx.jobs().Get(account.uid, id); });
  if (!row.ok() && row.status().code() == StatusCode::kNotFound) {
    return JobNotFound(id);
  }
  return row;
}

Status FineTuning::RequireTrainingFile(const store::Account& account,
                                       const std::string& id,
                                       const char* param) {
  Result<store::StoredObject> f = files_.Get(account, id);
  if (!f.ok()) {
    if (f.status().code() == StatusCode::kNotFound) {
      return Payload(std::string("The ") + param + " " + id +
                     " does not exist.");
    }
    return f.status();
  }
  if (f->purpose != "fine-tune") {
    return Payload(std::string("The ") + param + " " + id + " has purpose \"" +
                   f->purpose + "\"; upload it with purpose \"fine-tune\".");
  }
  if (f->status != "processed") {
    return Payload(std::string("The ") + param + " " + id +
                       " failed validation (status \"" + f->status +
                       "\"): " + f->status_details,
                   "jsonlValidationFailed");
  }
  return Status::Ok();
}

Result<json> FineTuning::Create(const store::Account& account,
                                const JobRequest& request) {
  if (FindBase(request.model) == nullptr) {
    std::string names;
    for (const BaseModel& m : catalog_) {
      names += (names.empty() ? "" : ", ") + m.id;
    }
    return Payload("The model " + request.model +
                   " cannot be fine-tuned. Models that can: " + names + ".");
  }
  RETURN_IF_ERROR(
      RequireTrainingFile(account, request.training_file, "training_file"));
  if (!request.validation_file.empty()) {
    RETURN_IF_ERROR(RequireTrainingFile(account, request.validation_file,
                                        "validation_file"));
  }
  // A job needs the account key for everything it will write.
  RETURN_IF_ERROR(keys_.Aek(account).status());

  store::FineTuningJobRow row;
  row.account_uid = account.uid;
  row.id = files::NewId("ftjob-");
  row.status = kPending;
  row.updated_at = Now();
  int64_t seed = 0;
  if (request.seed) {
    seed = *request.seed;
  } else {
    Bytes raw(4);
    crypto::RandomBytes(raw);
    seed = LoadBigEndian32(raw.data()) & 0x7fffffff;
  }
  json j = {{"object", "fine_tuning.job"},
            {"id", row.id},
            {"created_at", row.updated_at},
            {"status", kPending},
            {"model", request.model},
            {"fine_tuned_model", nullptr},
            {"training_file", request.training_file},
            {"validation_file", request.validation_file.empty()
                                    ? json()
                                    : json(request.validation_file)},
            {"result_files", json::array()},
            {"finished_at", nullptr},
            {"organization_id", nullptr},
            {"trained_tokens", nullptr},
            {"error", nullptr},
            {"estimated_finish", nullptr},
            {"hyperparameters", HyperparametersJson(request.hyperparameters)},
            {"suffix", request.suffix.empty() ? json() : json(request.suffix)},
            {"seed", seed},
            {"integrations", nullptr},
            {"method",
             {{"type", "supervised"},
              {"supervised",
               {{"hyperparameters",
                 HyperparametersJson(request.hyperparameters)}}}}}};
  row.job_json = DumpJson(j);
  RETURN_IF_ERROR(store_.Transact(
      [&](store::Transaction& tx) { return tx.jobs().Create(row).status(); }));
  RETURN_IF_ERROR(AddEvent(row, "info",
                           "Job enqueued. Waiting for jobs ahead "
                           "to complete."));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  cv_.notify_one();
  return j;
}

Result<json> FineTuning::Get(const store::Account& account,
                             const std::string& id) {
  ASSIGN_OR_RETURN(store::FineTuningJobRow row, GetRow(account, id));
  return StoredJob(row);
}

Result<Page> FineTuning::List(const store::Account& account,
                              const std::string& after, size_t limit) {
  int64_t before = 0;
  if (!after.empty()) {
    ASSIGN_OR_RETURN(store::FineTuningJobRow a, GetRow(account, after));
    before = a.seq;
  }
  ASSIGN_OR_RETURN(std::vector<store::FineTuningJobRow> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.jobs().List(account.uid, before, limit + 1);
                   }));
  Page page;
  page.has_more = rows.size() > limit;
  if (page.has_more) rows.resize(limit);
  for (const auto& r : rows) {
    page.data.push_back(StoredJob(r));
  }
  return page;
}

Result<json> FineTuning::Cancel(const store::Account& account,
                                const std::string& id) {
  ASSIGN_OR_RETURN(store::FineTuningJobRow row, GetRow(account, id));
  if (row.status == kPending) {
    json j = StoredJob(row);
    store::FineTuningJobRow cancelled = row;
    j["status"] = kCancelled;
    j["finished_at"] = Now();
    cancelled.status = kCancelled;
    cancelled.job_json = DumpJson(j);
    cancelled.updated_at = Now();
    const store::JobEventRow event = EventRow(row, "info", "Job cancelled.");
    Status s = store_.Transact([&](store::Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.jobs().Update(cancelled, kPending));
      return tx.jobs().AddEvent(event).status();
    });
    if (s.ok()) return j;
    if (s.code() != StatusCode::kAborted) return s;
    // A worker claimed it meanwhile: cancel it as a running job.
  } else if (row.status != kRunning) {
    return Status(StatusCode::kFailedPrecondition,
                  "The job " + id + " has already " + row.status +
                      "; only pending or running jobs can be cancelled.",
                  "unexpectedEntityState");
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) it->second->cancelled = true;
    done_cv_.wait_for(lock, options_.cancel_wait,
                      [&] { return running_.count(id) == 0; });
  }
  return Get(account, id);
}

void FineTuning::CancelAccount(const std::string& uid) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, r] : running_) {
    if (r->account_uid == uid) r->cancelled = true;
  }
}

Status FineTuning::Delete(const store::Account& account, const std::string& id,
                          const DeployedCheck& deployed) {
  ASSIGN_OR_RETURN(store::FineTuningJobRow row, GetRow(account, id));
  if (!Terminal(row.status)) {
    return Status(StatusCode::kFailedPrecondition,
                  "The job " + id + " is " + row.status +
                      "; cancel it before deleting it.",
                  "unexpectedEntityState");
  }
  ASSIGN_OR_RETURN(std::vector<store::StoredObject> checkpoints,
                   Objects(account, "checkpoint", id));
  for (const store::StoredObject& c : checkpoints) {
    if (deployed == nullptr) break;
    for (const std::string& name : {c.filename, c.id}) {
      ASSIGN_OR_RETURN(bool in_use, deployed(name));
      if (in_use) {
        return Status(StatusCode::kAborted,
                      "The checkpoint " + name + " of job " + id +
                          " is deployed; delete its deployment first.",
                      "conflict");
      }
    }
  }
  for (const store::StoredObject& c : checkpoints) {
    RETURN_IF_ERROR(files_.DeleteObject(account, "checkpoint", c.id));
  }
  return store_.Transact([&](store::Transaction& tx) {
    return tx.jobs().Delete(account.uid, id);
  });
}

Result<Page> FineTuning::Events(const store::Account& account,
                                const std::string& id, const std::string& after,
                                size_t limit) {
  ASSIGN_OR_RETURN(store::FineTuningJobRow row, GetRow(account, id));
  // Event ids carry their sequence number: "ftevent-" + 16 hex digits of
  // the job + 16 of the sequence.
  const std::string prefix = "ftevent-" + JobHex(id).substr(0, 16);
  int64_t before = 0;
  if (!after.empty()) {
    if (after.size() != prefix.size() + 16 ||
        after.compare(0, prefix.size(), prefix) != 0 ||
        !std::all_of(after.begin() + static_cast<std::ptrdiff_t>(prefix.size()),
                     after.end(), [](char c) {
                       return std::isxdigit(static_cast<unsigned char>(c));
                     })) {
      return Payload("after must be an event id of this job.");
    }
    before = static_cast<int64_t>(
        std::stoull(after.substr(prefix.size()), nullptr, 16));
  }
  ASSIGN_OR_RETURN(std::vector<store::JobEventRow> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.jobs().ListEvents(account.uid, row.id, before,
                                                 limit + 1);
                   }));
  Page page;
  page.has_more = rows.size() > limit;
  if (page.has_more) rows.resize(limit);
  for (const store::JobEventRow& r : rows) {
    json e = StoredObjectJson(r.event_json);
    char seq[17];
    std::snprintf(seq, sizeof(seq), "%016llx",
                  static_cast<unsigned long long>(r.seq));
    e["id"] = prefix + seq;
    page.data.push_back(std::move(e));
  }
  return page;
}

Result<Page> FineTuning::Checkpoints(const store::Account& account,
                                     const std::string& id,
                                     const std::string& after, size_t limit) {
  RETURN_IF_ERROR(GetRow(account, id).status());
  store::ObjectRepo::ListQuery q{.kind = "checkpoint",
                                 .purpose = id,
                                 .ascending = false,
                                 .limit = limit + 1};
  if (!after.empty()) {
    ASSIGN_OR_RETURN(store::StoredObject a,
                     files_.GetObject(account, "checkpoint", after));
    q.after_seq = a.seq;
  }
  ASSIGN_OR_RETURN(std::vector<store::StoredObject> rows,
                   store_.ReadResult([&](store::Transaction& tx) {
                     return tx.objects().List(account.uid, q);
                   }));
  Page page;
  page.has_more = rows.size() > limit;
  if (page.has_more) rows.resize(limit);
  for (const store::StoredObject& o : rows) {
    json meta = StoredObjectJson(o.meta_json);
    json metrics = meta.is_object() && meta.contains("metrics")
                       ? meta["metrics"]
                       : json::object();
    page.data.push_back({{"object", "fine_tuning.job.checkpoint"},
                         {"id", o.id},
                         {"created_at", o.created_at},
                         {"fine_tuned_model_checkpoint", o.filename},
                         {"step_number", JsonInt(meta, "step")},
                         {"metrics", metrics},
                         {"fine_tuning_job_id", id}});
  }
  return page;
}

// ---- Models ----

namespace {

json ModelJson(const std::string& id, int64_t created, const std::string& base,
               const std::string& job, bool fine_tunable) {
  return {{"object", "model"},
          {"id", id},
          {"created_at", created},
          {"created", created},
          {"owned_by", job.empty() ? "system" : "user"},
          {"status", "succeeded"},
          {"model", base.empty() ? json() : json(base)},
          {"fine_tune", job.empty() ? json() : json(job)},
          {"capabilities",
           {{"fine_tune", fine_tunable},
            {"inference", !fine_tunable},
            {"completion", false},
            {"chat_completion", !fine_tunable},
            {"embeddings", false}}},
          {"lifecycle_status", "generally-available"},
          {"deprecation",
           {{"fine_tune", fine_tunable ? json(4102444800) : json()},
            {"inference", 4102444800}}}};
}

// When the catalog's models appeared: this release's date (2025-12-01).
constexpr int64_t kCatalogCreated = 1764547200;

// Base models also carry the catalog's description of what they are.
json BaseModelJson(const BaseModel& m) {
  json j = ModelJson(m.id, kCatalogCreated, "", "", true);
  j["description"] = m.description;
  return j;
}

json FineTunedJson(const store::StoredObject& o) {
  json meta = StoredObjectJson(o.meta_json);
  return ModelJson(o.id, o.created_at, JsonString(meta, "base_model"),
                   o.purpose, false);
}

}  // namespace

Result<std::vector<store::StoredObject>> FineTuning::Objects(
    const store::Account& account, const std::string& kind,
    const std::string& job) {
  store::ObjectRepo::ListQuery q;
  q.kind = kind;
  q.purpose = job;
  q.limit = 100000;
  return store_.ReadResult([&](store::Transaction& tx) {
    return tx.objects().List(account.uid, q);
  });
}

Result<Page> FineTuning::ListModels(const store::Account& account) {
  Page page;
  for (const BaseModel& m : catalog_) page.data.push_back(BaseModelJson(m));
  ASSIGN_OR_RETURN(std::vector<store::StoredObject> rows,
                   Objects(account, "model"));
  for (const store::StoredObject& o : rows) {
    page.data.push_back(FineTunedJson(o));
  }
  return page;
}

Result<json> FineTuning::GetModel(const store::Account& account,
                                  const std::string& id) {
  if (const BaseModel* base = FindBase(id)) return BaseModelJson(*base);
  Result<store::StoredObject> o = files_.GetObject(account, "model", id);
  if (!o.ok()) {
    if (o.status().code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound,
                    "The model " + id + " does not exist.", "model_not_found");
    }
    return o.status();
  }
  return FineTunedJson(*o);
}

Result<store::StoredObject> FineTuning::FindDeployable(
    const store::Account& account, const std::string& name) {
  Result<store::StoredObject> model = files_.GetObject(account, "model", name);
  if (model.ok() || model.status().code() != StatusCode::kNotFound) {
    return model;
  }
  // A checkpoint by its id ("ftchkpt-..."), as Azure deploys them too.
  Result<store::StoredObject> checkpoint =
      files_.GetObject(account, "checkpoint", name);
  if (checkpoint.ok() || checkpoint.status().code() != StatusCode::kNotFound) {
    return checkpoint;
  }
  const size_t colon = name.find(":ckpt-step-");
  if (colon != std::string::npos) {
    ASSIGN_OR_RETURN(std::vector<store::StoredObject> rows,
                     Objects(account, "checkpoint"));
    for (store::StoredObject& o : rows) {
      if (o.filename == name) return std::move(o);
    }
  }
  return Status(StatusCode::kNotFound,
                "The model " + name +
                    " does not exist in this account. Deploy a fine-tuned "
                    "model or one of its checkpoints.",
                "model_not_found");
}

Status FineTuning::DeleteModel(const store::Account& account,
                               const std::string& id) {
  if (FindBase(id) != nullptr) {
    return Status(StatusCode::kPermissionDenied,
                  "The base model " + id + " cannot be deleted.", "forbidden");
  }
  RETURN_IF_ERROR(GetModel(account, id).status());
  return files_.DeleteObject(account, "model", id);
}

// ---- The runner ----

void FineTuning::WorkerLoop() {
  uint64_t seen = 0;
  while (true) {
    // Drain the queue (jobs queued before the start too), then wait.
    while (true) {
      Result<std::optional<store::FineTuningJobRow>> job = Claim();
      if (!job.ok() || !job->has_value()) break;
      Run(std::move(**job));
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.poll,
                 [&] { return stopping_ || wakeups_ != seen; });
    if (stopping_) return;
    seen = wakeups_;
  }
}

Result<std::optional<store::FineTuningJobRow>> FineTuning::Claim() {
  ASSIGN_OR_RETURN(std::vector<store::FineTuningJobRow> pending,
                   store_.ReadResult([](store::Transaction& tx) {
                     return tx.jobs().ListByStatus(kPending, 16);
                   }));
  for (store::FineTuningJobRow& job : pending) {
    json j = StoredJob(job);
    j["status"] = kRunning;
    job.status = kRunning;
    job.job_json = DumpJson(j);
    job.updated_at = Now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Stop() cancels what is in running_; a job claimed after it would
      // run to its end.
      if (stopping_) return std::optional<store::FineTuningJobRow>();
      auto r = std::make_shared<Running>();
      r->account_uid = job.account_uid;
      running_[job.id] = std::move(r);
    }
    Status s = store_.Transact([&](store::Transaction& tx) {
      return tx.jobs().Update(job, kPending);
    });
    if (s.ok()) return std::optional<store::FineTuningJobRow>(std::move(job));
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(job.id);
      done_cv_.notify_all();
    }
    if (s.code() != StatusCode::kAborted) return s;
  }
  return std::optional<store::FineTuningJobRow>();
}

void FineTuning::Finish(store::FineTuningJobRow& job, json& j,
                        const std::string& status, std::string_view level,
                        std::string_view message) {
  j["status"] = status;
  j["finished_at"] = Now();
  job.status = status;
  job.job_json = DumpJson(j);
  job.updated_at = Now();
  const store::JobEventRow event = EventRow(job, level, message);
  // A job must not stay "running" because one write failed: a few tries
  // (Transact already retries conflicts; this covers a busy disk).
  Status written;
  for (int attempt = 0; attempt < 3; ++attempt) {
    written = store_.Transact([&](store::Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.jobs().Update(job));
      return tx.jobs().AddEvent(event).status();
    });
    if (written.ok() || written.code() == StatusCode::kNotFound) break;
  }
}

void FineTuning::Fail(store::FineTuningJobRow& job, json& j,
                      const Status& error) {
  json e = ErrorJson(error);
  j["error"] = e;
  Finish(job, j, kFailed, "error",
         "Job failed: " + e["message"].get<std::string>());
}

void FineTuning::Run(store::FineTuningJobRow job) {
  std::shared_ptr<Running> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Running>& slot = running_[job.id];  // Made by Claim.
    if (slot == nullptr) slot = std::make_shared<Running>();
    running = slot;
  }
  json j = StoredJob(job);
  auto finished = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(job.id);
    done_cv_.notify_all();
  };
  Result<store::Account> account =
      store_.ReadResult([&](store::Transaction& tx) {
        return tx.accounts().GetByUid(job.account_uid);
      });
  if (!account.ok()) {
    // An account deleted while the job waited took the job's row with it;
    // anything else fails the job rather than leaving it running.
    if (account.status().code() != StatusCode::kNotFound) {
      Fail(job, j, account.status());
    }
    finished();
    return;
  }
  (void)AddEvent(job, "info", "Job started.");
  const BaseModel* base = FindBase(JsonString(j, "model"));
  Status outcome = Status::Ok();
  std::optional<training::TrainingSummary> summary;
  std::unique_ptr<JobSink> sink;
  const std::string model_id =
      JsonString(j, "model") + ".ft-" + JobHex(job.id) +
      (JsonString(j, "suffix").empty() ? "" : "-" + JsonString(j, "suffix"));
  if (base == nullptr) {
    outcome =
        Payload("The base model is no longer offered.", "model_not_available");
  } else {
    outcome = keys_.Aek(*account).status();
  }
  // The data sources decrypt the files as the trainer reads them.
  auto source = [&](const std::string& id,
                    uint64_t* size) -> Result<training::DataSource> {
    ASSIGN_OR_RETURN(std::shared_ptr<files::Download> d,
                     files_.Open(*account, id));
    *size = d->size();
    return training::DataSource([d](const training::ByteSink& out) {
      return d->Read(0, d->size(), out);
    });
  };
  training::TrainingRequest request;
  if (outcome.ok()) {
    request.base_model = base->id;
    const json& h = j["hyperparameters"];
    request.hyperparameters = {static_cast<int>(JsonInt(h, "n_epochs", -1)),
                               static_cast<int>(JsonInt(h, "batch_size", -1)),
                               Opt(h, "learning_rate_multiplier").value_or(-1)};
    request.seed = JsonInt(j, "seed");
    Result<training::DataSource> t =
        source(JsonString(j, "training_file"), &request.training_bytes);
    outcome = t.status();
    if (t.ok()) request.training = std::move(*t);
    const std::string validation = JsonString(j, "validation_file");
    if (outcome.ok() && !validation.empty()) {
      Result<training::DataSource> v =
          source(validation, &request.validation_bytes);
      outcome = v.status();
      if (v.ok()) request.validation = std::move(*v);
    }
  }
  if (outcome.ok()) {
    sink =
        std::make_unique<JobSink>(*this, *account, job, j, *running, model_id);
    Result<training::TrainingSummary> r = base->trainer->Train(request, *sink);
    outcome = r.status();
    if (r.ok()) summary = *r;
    if (outcome.ok() && !sink->has_model()) {
      outcome = InternalError("the trainer ended without a model");
    }
  }
  if (outcome.ok()) {
    (void)AddEvent(job, "info", "Postprocessing started.");
    const std::string csv = ResultsCsv(sink->steps());
    Result<store::StoredObject> results = [&]() -> Result<store::StoredObject> {
      ASSIGN_OR_RETURN(
          std::unique_ptr<files::ObjectWriter> w,
          files_.BeginObject(*account, {.kind = "file",
                                        .id = "",
                                        .purpose = "fine-tune-results",
                                        .filename = "results.csv"}));
      RETURN_IF_ERROR(w->Write(AsBytes(csv)));
      return w->Commit();
    }();
    outcome = results.status();
    if (results.ok()) {
      j["result_files"] = json::array({results->id});
      (void)AddEvent(job, "info", "Completed results file: " + results->id);
    }
  }
  if (outcome.ok()) {
    j["fine_tuned_model"] = model_id;
    j["trained_tokens"] = summary->trained_tokens;
    j["error"] = nullptr;
    Finish(job, j, kSucceeded, "info", "Job succeeded.");
  } else {
    if (sink != nullptr && sink->has_model()) {
      (void)files_.DeleteObject(*account, "model", model_id);
    }
    if (outcome.code() == StatusCode::kCancelled && running->interrupted) {
      Fail(job, j, Interrupted());
    } else if (outcome.code() == StatusCode::kCancelled) {
      Finish(job, j, kCancelled, "info", "Job cancelled.");
    } else {
      Fail(job, j, outcome);
    }
  }
  finished();
}

}  // namespace atrest::finetune
