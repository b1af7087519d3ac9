// Tests of FineTuning through its public interface, over the real storage
// and services of FilesHarness (files/testing/files_harness.h) and a
// scriptable fake trainer: how many steps, which metrics, a checkpoint per
// epoch, the model's bytes, a failure, and a hold point where a job waits
// until the test releases it (or cancels it), so that tests can act while
// a job runs.
#include "finetune/fine_tuning.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/status_testing.h"
#include "crypto/random.h"
#include "files/testing/files_harness.h"
#include "training/trainer.h"

namespace atrest::finetune {
namespace {

using ::atrest::files::FilesHarness;
using ::atrest::files::FilesUnder;
using ::atrest::files::ReadWholeFile;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace fs = std::filesystem;

constexpr char kBase[] = "fake-base-1";
constexpr auto kDeadline = seconds(30);

// ---- The fake trainer ----

// What the fake trainer does in the next Train calls.
struct Script {
  int steps_per_epoch = 3;
  int epochs = 2;           // When the request leaves n_epochs to the trainer.
  bool checkpoints = true;  // One after each epoch.
  bool write_model = true;
  std::string model_bytes = "fake model bytes";
  int64_t trained_tokens = 1234;
  // Before this step (1-based) the job waits until Release() or until it
  // is cancelled. 0: never.
  int hold_at_step = 0;
  milliseconds step_delay{0};
  // Before this step Train returns `failure`. 0: never.
  int fail_at_step = 0;
  // After the final model is stored, Train returns `failure`.
  bool fail_after_model = false;
  Status failure = InternalError("scripted failure");
};

// Step `step`'s figures; validation figures only with a validation file,
// full_valid_* only at the end of an epoch. Exact in binary, so the results
// file's "%.5f" shows them exactly.
training::StepMetrics FakeMetrics(int64_t step, int64_t epoch, bool validation,
                                  bool end_of_epoch) {
  training::StepMetrics m;
  m.step = step;
  m.epoch = epoch;
  m.train_loss = 2.0 - 0.125 * static_cast<double>(step);
  m.train_mean_token_accuracy = 0.0625 * static_cast<double>(step);
  if (validation) {
    m.valid_loss = 3.0 - 0.25 * static_cast<double>(step);
    m.valid_mean_token_accuracy = 0.03125 * static_cast<double>(step);
    if (end_of_epoch) {
      m.full_valid_loss = 2.5 - 0.125 * static_cast<double>(step);
      m.full_valid_mean_token_accuracy = 0.5;
    }
  }
  return m;
}

std::string CheckpointBytes(int64_t step, const std::string& model) {
  return "checkpoint " + std::to_string(step) + ": " + model;
}

// What one Train call was given.
struct Seen {
  std::string base_model;
  training::Hyperparameters hyperparameters;
  int64_t seed = 0;
  std::string training;
  uint64_t training_bytes = 0;
  std::optional<std::string> validation;
  uint64_t validation_bytes = 0;
};

class FakeTrainer final : public training::Trainer {
 public:
  void set_script(Script script) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(script);
  }

  Result<training::TrainingSummary> Train(
      const training::TrainingRequest& request,
      training::TrainingSink& sink) override {
    Script script;
    {
      std::lock_guard<std::mutex> lock(mu_);
      script = script_;
      ++active_;
      max_active_ = std::max(max_active_, active_);
      log_.push_back("start " + std::to_string(request.seed));
    }
    Result<training::TrainingSummary> r = Run(script, request, sink);
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
    log_.push_back("end " + std::to_string(request.seed));
    return r;
  }

  // Lets every job waiting at the hold point (and every later one) go on.
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // True once `n` Train calls in all reached the hold point.
  bool WaitUntilHeld(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return arrived_ >= n; });
  }
  int arrived() const {
    std::lock_guard<std::mutex> lock(mu_);
    return arrived_;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(seen_.size());
  }
  int max_active() const {
    std::lock_guard<std::mutex> lock(mu_);
    return max_active_;
  }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // "start <seed>" and "end <seed>" in the order Train began and ended.
  std::vector<std::string> log() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  static Result<std::string> ReadAll(const training::DataSource& source) {
    std::string out;
    RETURN_IF_ERROR(source([&](ByteView b) {
      out.append(AsString(b));
      return Status::Ok();
    }));
    return out;
  }

  static Status Store(training::TrainingSink& sink, int64_t step, bool final,
                      const std::string& bytes) {
    ASSIGN_OR_RETURN(std::unique_ptr<training::ModelWriter> w,
                     sink.BeginModel(step, final));
    // In pieces, as a trainer streams a model.
    const size_t third = bytes.size() / 3;
    RETURN_IF_ERROR(
        w->Write(AsBytes(std::string_view(bytes).substr(0, third))));
    RETURN_IF_ERROR(w->Write({}));
    RETURN_IF_ERROR(w->Write(AsBytes(std::string_view(bytes).substr(third))));
    return w->Finish();
  }

  Result<training::TrainingSummary> Run(
      const Script& script, const training::TrainingRequest& request,
      training::TrainingSink& sink) {
    Seen seen;
    seen.base_model = request.base_model;
    seen.hyperparameters = request.hyperparameters;
    seen.seed = request.seed;
    seen.training_bytes = request.training_bytes;
    seen.validation_bytes = request.validation_bytes;
    ASSIGN_OR_RETURN(seen.training, ReadAll(request.training));
    if (request.validation) {
      ASSIGN_OR_RETURN(seen.validation, ReadAll(request.validation));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(seen);
    }
    const bool validation = seen.validation.has_value();

    training::Hyperparameters resolved = request.hyperparameters;
    if (resolved.n_epochs < 0) resolved.n_epochs = script.epochs;
    if (resolved.batch_size < 0) resolved.batch_size = 1;
    if (resolved.learning_rate_multiplier < 0) {
      resolved.learning_rate_multiplier = 1.0;
    }
    const int64_t total = int64_t{script.steps_per_epoch} * resolved.n_epochs;
    RETURN_IF_ERROR(sink.Started(resolved, total));
    RETURN_IF_ERROR(sink.Event("info", "Fake trainer ready."));
    for (int64_t step = 1; step <= total; ++step) {
      if (sink.Cancelled()) return Status(StatusCode::kCancelled, "cancelled");
      if (step == script.hold_at_step) {
        std::unique_lock<std::mutex> lock(mu_);
        ++arrived_;
        cv_.notify_all();
        while (!released_ && !sink.Cancelled()) {
          cv_.wait_for(lock, milliseconds(5));
        }
      }
      if (sink.Cancelled()) return Status(StatusCode::kCancelled, "cancelled");
      if (step == script.fail_at_step) return script.failure;
      std::this_thread::sleep_for(script.step_delay);
      const int64_t epoch = (step - 1) / script.steps_per_epoch + 1;
      const bool end_of_epoch = step % script.steps_per_epoch == 0;
      RETURN_IF_ERROR(
          sink.Metrics(FakeMetrics(step, epoch, validation, end_of_epoch)));
      if (end_of_epoch && script.checkpoints) {
        RETURN_IF_ERROR(Store(sink, step, /*final=*/false,
                              CheckpointBytes(step, script.model_bytes)));
      }
    }
    if (script.write_model) {
      RETURN_IF_ERROR(Store(sink, total, /*final=*/true, script.model_bytes));
    }
    if (script.fail_after_model) return script.failure;
    return training::TrainingSummary{.resolved = resolved,
                                     .trained_tokens = script.trained_tokens};
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Script script_;                 // Guarded by mu_.
  bool released_ = false;         // Guarded by mu_.
  int arrived_ = 0;               // Guarded by mu_.
  int active_ = 0;                // Guarded by mu_.
  int max_active_ = 0;            // Guarded by mu_.
  std::vector<Seen> seen_;        // Guarded by mu_.
  std::vector<std::string> log_;  // Guarded by mu_.
};

// ---- Helpers ----

// A chat fine-tuning example.
std::string Example(int i, const std::string& secret = "") {
  return R"({"messages":[{"role":"user","content":"question )" +
         std::to_string(i) + secret +
         R"("},{"role":"assistant","content":"answer )" + secret + R"("}]})";
}

std::string Examples(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += Example(i) + "\n";
  return out;
}

std::string RandomHex(size_t bytes) {
  Bytes raw(bytes);
  crypto::RandomBytes(raw);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::vector<std::string> Messages(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const json& e : events) out.push_back(e.value("message", ""));
  return out;
}

bool Terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

// ---- JobRequest::FromJson ----

json Body(json extra = json::object()) {
  json body = {{"model", kBase}, {"training_file", "file-abc"}};
  for (const auto& [k, v] : extra.items()) body[k] = v;
  return body;
}

#define EXPECT_BAD_REQUEST(body, field)                                   \
  do {                                                                    \
    Result<JobRequest> bad_ = JobRequest::FromJson(body);                 \
    EXPECT_REFUSED(bad_, StatusCode::kInvalidArgument, "invalidPayload"); \
    if (!bad_.ok()) {                                                     \
      EXPECT_NE(bad_.status().message().find(field), std::string::npos)   \
          << bad_.status();                                               \
    }                                                                     \
  } while (0)

TEST(JobRequestTest, MinimalRequest) {
  ASSERT_OK_AND_ASSIGN(JobRequest r, JobRequest::FromJson(Body()));
  EXPECT_EQ(r.model, kBase);
  EXPECT_EQ(r.training_file, "file-abc");
  EXPECT_EQ(r.validation_file, "");
  EXPECT_EQ(r.hyperparameters.n_epochs, -1);
  EXPECT_EQ(r.hyperparameters.batch_size, -1);
  EXPECT_EQ(r.hyperparameters.learning_rate_multiplier, -1);
  EXPECT_EQ(r.suffix, "");
  EXPECT_FALSE(r.seed.has_value());
}

TEST(JobRequestTest, RequiredFields) {
  EXPECT_BAD_REQUEST(json::array(), "object");
  EXPECT_BAD_REQUEST(json("model"), "object");
  EXPECT_BAD_REQUEST(json({{"training_file", "file-abc"}}), "model");
  EXPECT_BAD_REQUEST(json({{"model", kBase}}), "training_file");
  EXPECT_BAD_REQUEST(Body({{"model", ""}}), "model");
  EXPECT_BAD_REQUEST(Body({{"model", 5}}), "model");
  EXPECT_BAD_REQUEST(Body({{"training_file", nullptr}}), "training_file");
  ASSERT_OK_AND_ASSIGN(
      JobRequest r, JobRequest::FromJson(Body(
                        {{"validation_file", "file-v"}, {"seed", nullptr}})));
  EXPECT_EQ(r.validation_file, "file-v");
}

TEST(JobRequestTest, Hyperparameters) {
  ASSERT_OK_AND_ASSIGN(
      JobRequest r,
      JobRequest::FromJson(Body({{"hyperparameters",
                                  {{"n_epochs", 50},
                                   {"batch_size", 256},
                                   {"learning_rate_multiplier", 10}}}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, 50);
  EXPECT_EQ(r.hyperparameters.batch_size, 256);
  EXPECT_EQ(r.hyperparameters.learning_rate_multiplier, 10);
  ASSERT_OK_AND_ASSIGN(
      r, JobRequest::FromJson(Body({{"hyperparameters",
                                     {{"n_epochs", 1},
                                      {"batch_size", 1},
                                      {"learning_rate_multiplier", 0.02}}}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, 1);
  EXPECT_EQ(r.hyperparameters.batch_size, 1);
  EXPECT_DOUBLE_EQ(r.hyperparameters.learning_rate_multiplier, 0.02);

  // "auto", null and absent leave the choice to the trainer (-1).
  ASSERT_OK_AND_ASSIGN(
      r,
      JobRequest::FromJson(Body({{"hyperparameters",
                                  {{"n_epochs", "auto"},
                                   {"batch_size", nullptr},
                                   {"learning_rate_multiplier", "auto"}}}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, -1);
  EXPECT_EQ(r.hyperparameters.batch_size, -1);
  EXPECT_EQ(r.hyperparameters.learning_rate_multiplier, -1);
  ASSERT_OK_AND_ASSIGN(
      r, JobRequest::FromJson(Body({{"hyperparameters", json::object()}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, -1);
  ASSERT_OK_AND_ASSIGN(
      r, JobRequest::FromJson(Body({{"hyperparameters", nullptr}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, -1);

  EXPECT_BAD_REQUEST(Body({{"hyperparameters", 3}}), "hyperparameters");
  EXPECT_BAD_REQUEST(Body({{"hyperparameters", json::array()}}),
                     "hyperparameters");
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"n_epochs", 0}}, "n_epochs"},
      {{{"n_epochs", 51}}, "n_epochs"},
      {{{"n_epochs", -1}}, "n_epochs"},
      {{{"n_epochs", 2.5}}, "n_epochs"},
      {{{"n_epochs", "3"}}, "n_epochs"},
      {{{"n_epochs", true}}, "n_epochs"},
      {{{"n_epochs", "Auto"}}, "n_epochs"},
      {{{"batch_size", 0}}, "batch_size"},
      {{{"batch_size", 257}}, "batch_size"},
      {{{"batch_size", 1.5}}, "batch_size"},
      {{{"learning_rate_multiplier", 0}}, "learning_rate_multiplier"},
      {{{"learning_rate_multiplier", -0.5}}, "learning_rate_multiplier"},
      {{{"learning_rate_multiplier", 10.5}}, "learning_rate_multiplier"},
      {{{"learning_rate_multiplier", "x"}}, "learning_rate_multiplier"},
  };
  for (const auto& [h, field] : bad) {
    SCOPED_TRACE(h.dump());
    EXPECT_BAD_REQUEST(Body({{"hyperparameters", h}}),
                       "hyperparameters." + field);
  }
}

TEST(JobRequestTest, MethodSupervisedHyperparameters) {
  ASSERT_OK_AND_ASSIGN(
      JobRequest r,
      JobRequest::FromJson(Body(
          {{"method",
            {{"type", "supervised"},
             {"supervised",
              {{"hyperparameters",
                {{"n_epochs", 4}, {"learning_rate_multiplier", 0.5}}}}}}}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, 4);
  EXPECT_EQ(r.hyperparameters.batch_size, -1);
  EXPECT_DOUBLE_EQ(r.hyperparameters.learning_rate_multiplier, 0.5);
  // The method's hyperparameters win over the older top-level field.
  ASSERT_OK_AND_ASSIGN(
      r, JobRequest::FromJson(Body(
             {{"hyperparameters", {{"n_epochs", 9}}},
              {"method",
               {{"supervised", {{"hyperparameters", {{"n_epochs", 2}}}}}}}})));
  EXPECT_EQ(r.hyperparameters.n_epochs, 2);
  // Checked like the top-level ones.
  EXPECT_BAD_REQUEST(
      Body({{"method",
             {{"type", "supervised"},
              {"supervised", {{"hyperparameters", {{"batch_size", 0}}}}}}}}),
      "hyperparameters.batch_size");
  // Only supervised fine-tuning.
  EXPECT_BAD_REQUEST(Body({{"method", {{"type", "dpo"}}}}), "supervised");
  EXPECT_BAD_REQUEST(Body({{"method", {{"type", "reinforcement"}}}}),
                     "supervised");
}

TEST(JobRequestTest, Suffix) {
  for (const std::string& ok : {std::string("my-model_2"), std::string(40, 'a'),
                                std::string("ABC-xyz_09"), std::string("")}) {
    SCOPED_TRACE(ok);
    ASSERT_OK_AND_ASSIGN(JobRequest r,
                         JobRequest::FromJson(Body({{"suffix", ok}})));
    EXPECT_EQ(r.suffix, ok);
  }
  ASSERT_OK_AND_ASSIGN(JobRequest r,
                       JobRequest::FromJson(Body({{"suffix", nullptr}})));
  EXPECT_EQ(r.suffix, "");
  for (const std::string& bad :
       {std::string(41, 'a'), std::string("a b"), std::string("x.y"),
        std::string("a/b"), std::string("caf\xc3\xa9"), std::string("a:b")}) {
    SCOPED_TRACE(bad);
    EXPECT_BAD_REQUEST(Body({{"suffix", bad}}), "suffix");
  }
  EXPECT_BAD_REQUEST(Body({{"suffix", 5}}), "suffix");
}

TEST(JobRequestTest, Seed) {
  for (int64_t ok : {int64_t{0}, int64_t{42}, int64_t{2147483647}}) {
    ASSERT_OK_AND_ASSIGN(JobRequest r,
                         JobRequest::FromJson(Body({{"seed", ok}})));
    ASSERT_TRUE(r.seed.has_value());
    EXPECT_EQ(*r.seed, ok);
  }
  for (const json& bad : {json(-1), json(int64_t{2147483648}), json(1.5),
                          json("7"), json(true)}) {
    SCOPED_TRACE(bad.dump());
    EXPECT_BAD_REQUEST(Body({{"seed", bad}}), "seed");
  }
}

// ---- The fixture ----

class FineTuningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(h_, FilesHarness::Create());
    ASSERT_OK_AND_ASSIGN(account_, h_->MakeAccount("acct1"));
    ASSERT_OK_AND_ASSIGN(other_, h_->MakeAccount("acct2"));
    ASSERT_OK_AND_ASSIGN(
        training_, Upload(account_, "train.jsonl", Examples(12), "fine-tune"));
    ASSERT_EQ(training_.status, "processed");
    ft_ = NewFineTuning(1);
  }

  void TearDown() override {
    trainer_->Release();
    ft_.reset();
  }

  std::unique_ptr<FineTuning> NewFineTuning(int workers) {
    std::vector<BaseModel> catalog = {
        {.id = kBase, .description = "a fake", .trainer = trainer_}};
    return std::make_unique<FineTuning>(
        h_->store(), h_->env(), h_->files(), h_->keys(), std::move(catalog),
        FineTuningOptions{.max_concurrent_jobs = workers,
                          .poll = milliseconds(20),
                          .cancel_wait = kDeadline});
  }

  // Replaces the (unstarted) FineTuning with one of `workers` workers and
  // starts it.
  void Restart(int workers) {
    ft_ = NewFineTuning(workers);
    ASSERT_OK(ft_->Start());
  }

  Result<store::StoredObject> Upload(const store::Account& account,
                                     const std::string& filename,
                                     std::string_view text,
                                     const std::string& purpose) {
    ASSIGN_OR_RETURN(std::unique_ptr<files::Upload> up,
                     h_->files().BeginUpload(account, filename));
    RETURN_IF_ERROR(up->Write(AsBytes(text)));
    return up->Finish(purpose);
  }

  Result<json> Create(json extra = json::object(),
                      const store::Account* account = nullptr) {
    json body = {{"model", kBase}, {"training_file", training_.id}};
    for (const auto& [k, v] : extra.items()) body[k] = v;
    ASSIGN_OR_RETURN(JobRequest request, JobRequest::FromJson(body));
    return ft_->Create(account != nullptr ? *account : account_, request);
  }

  // The job once it reached `want` (or a terminal status); a failure when
  // that takes longer than kDeadline.
  json WaitFor(const std::string& id, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    json j;
    while (std::chrono::steady_clock::now() < deadline) {
      Result<json> r = ft_->Get(account_, id);
      EXPECT_OK(r);
      if (!r.ok()) return json();
      j = *r;
      const std::string status = j.value("status", "");
      if (status == want || Terminal(status)) return j;
      std::this_thread::sleep_for(milliseconds(5));
    }
    ADD_FAILURE() << "job " << id << " is still " << j.value("status", "");
    return j;
  }
  json WaitUntilFinished(const std::string& id) {
    return WaitFor(id, "finished");  // Never a status: any terminal one.
  }

  // Every event of the job, newest first.
  std::vector<json> Events(const std::string& id) {
    Result<Page> page = ft_->Events(account_, id, "", 100000);
    EXPECT_OK(page);
    if (!page.ok()) return {};
    EXPECT_FALSE(page->has_more);
    return page->data;
  }

  Result<std::string> ReadFile(const std::string& id) {
    ASSIGN_OR_RETURN(std::unique_ptr<files::Download> d,
                     h_->files().Open(account_, id));
    return Collect(*d);
  }
  Result<std::string> ReadObject(const std::string& kind,
                                 const std::string& id) {
    ASSIGN_OR_RETURN(std::unique_ptr<files::Download> d,
                     h_->files().OpenObject(account_, kind, id));
    return Collect(*d);
  }
  static Result<std::string> Collect(const files::Download& d) {
    std::string out;
    RETURN_IF_ERROR(d.Read(0, d.size(), [&](ByteView b) {
      out.append(AsString(b));
      return Status::Ok();
    }));
    return out;
  }

  // Sets the job's row to "running", as a service that stopped while it
  // ran leaves it.
  Status MarkRunning(const std::string& id) {
    return h_->store().Transact([&](store::Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(store::FineTuningJobRow row,
                       tx.jobs().Get(account_.uid, id));
      json j = json::parse(row.job_json);
      j["status"] = "running";
      row.status = "running";
      row.job_json = j.dump();
      return tx.jobs().Update(row);
    });
  }

  std::unique_ptr<FilesHarness> h_;
  std::shared_ptr<FakeTrainer> trainer_ = std::make_shared<FakeTrainer>();
  std::unique_ptr<FineTuning> ft_;  // Not started unless a test starts it.
  store::Account account_, other_;
  store::StoredObject training_;  // 12 examples, processed.
};

// ======================= Create =======================

TEST_F(FineTuningTest, CreateQueuesAPendingJob) {
  ASSERT_OK_AND_ASSIGN(json job, Create({{"suffix", "mine"}, {"seed", 7}}));
  const std::string id = job["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("ftjob-[0-9a-f]{32}"))) << id;
  EXPECT_EQ(job["object"], "fine_tuning.job");
  EXPECT_EQ(job["status"], "pending");
  EXPECT_EQ(job["model"], kBase);
  EXPECT_EQ(job["training_file"], training_.id);
  EXPECT_TRUE(job["validation_file"].is_null());
  EXPECT_TRUE(job["fine_tuned_model"].is_null());
  EXPECT_TRUE(job["finished_at"].is_null());
  EXPECT_TRUE(job["error"].is_null());
  EXPECT_EQ(job["result_files"], json::array());
  EXPECT_EQ(job["suffix"], "mine");
  EXPECT_EQ(job["seed"], 7);
  EXPECT_EQ(job["hyperparameters"], json({{"n_epochs", -1},
                                          {"batch_size", -1},
                                          {"learning_rate_multiplier", -1}}));
  EXPECT_EQ(job["method"]["type"], "supervised");
  ASSERT_OK_AND_ASSIGN(json got, ft_->Get(account_, id));
  EXPECT_EQ(got, job);
  EXPECT_EQ(Messages(Events(id)),
            std::vector<std::string>{
                "Job enqueued. Waiting for jobs ahead to complete."});

  // Without a seed the service picks one in the int32 range.
  ASSERT_OK_AND_ASSIGN(json unseeded, Create());
  ASSERT_TRUE(unseeded["seed"].is_number_integer());
  EXPECT_GE(unseeded["seed"].get<int64_t>(), 0);
  EXPECT_LE(unseeded["seed"].get<int64_t>(), 2147483647);
  EXPECT_EQ(trainer_->calls(), 0);  // Nothing runs before Start.
}

TEST_F(FineTuningTest, CreateRefusesAnUnknownBaseModel) {
  Result<json> r = Create({{"model", "gpt-4o"}});
  EXPECT_REFUSED(r, StatusCode::kInvalidArgument, "invalidPayload");
  EXPECT_NE(r.status().message().find(kBase), std::string::npos)
      << r.status();  // Names the models that can be fine-tuned.
  ASSERT_OK_AND_ASSIGN(Page page, ft_->List(account_, "", 100));
  EXPECT_TRUE(page.data.empty());
}

TEST_F(FineTuningTest, CreateRefusesUnusableTrainingFiles) {
  ASSERT_OK_AND_ASSIGN(store::StoredObject assistants,
                       Upload(account_, "a.jsonl", Examples(12), "assistants"));
  ASSERT_OK_AND_ASSIGN(
      store::StoredObject nine,
      Upload(account_, "nine.jsonl", Examples(9), "fine-tune"));
  ASSERT_EQ(nine.status, "error");
  ASSERT_OK_AND_ASSIGN(store::StoredObject theirs,
                       Upload(other_, "t.jsonl", Examples(12), "fine-tune"));
  for (const char* field : {"training_file", "validation_file"}) {
    SCOPED_TRACE(field);
    EXPECT_REFUSED(Create({{field, "file-0123456789abcdef0123456789abcdef"}}),
                   StatusCode::kInvalidArgument, "invalidPayload");
    EXPECT_REFUSED(Create({{field, theirs.id}}), StatusCode::kInvalidArgument,
                   "invalidPayload");
    Result<json> purpose = Create({{field, assistants.id}});
    EXPECT_REFUSED(purpose, StatusCode::kInvalidArgument, "invalidPayload");
    EXPECT_NE(purpose.status().message().find("assistants"), std::string::npos)
        << purpose.status();
    EXPECT_REFUSED(Create({{field, nine.id}}), StatusCode::kInvalidArgument,
                   "jsonlValidationFailed");
  }
  ASSERT_OK_AND_ASSIGN(Page page, ft_->List(account_, "", 100));
  EXPECT_TRUE(page.data.empty());
  // The other account's own file is fine for it.
  EXPECT_OK(Create({{"training_file", theirs.id}}, &other_));
}

TEST_F(FineTuningTest, CreateRefusedWhileTheKeyIsInaccessible) {
  ASSERT_OK(h_->BreakKey(account_));
  EXPECT_REFUSED(Create(), StatusCode::kPermissionDenied,
                 "CustomerManagedKeyInaccessible");
  ASSERT_OK_AND_ASSIGN(Page page, ft_->List(account_, "", 100));
  EXPECT_TRUE(page.data.empty());
  // Another account is not affected.
  ASSERT_OK_AND_ASSIGN(store::StoredObject theirs,
                       Upload(other_, "t.jsonl", Examples(12), "fine-tune"));
  EXPECT_OK(Create({{"training_file", theirs.id}}, &other_));
  ASSERT_OK(h_->RestoreKey(account_));
  EXPECT_OK(Create());
}

TEST_F(FineTuningTest, ListPagesNewestFirst) {
  std::vector<std::string> ids;  // Oldest first.
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(json job, Create());
    ids.push_back(job["id"]);
  }
  auto ids_of = [](const Page& p) {
    std::vector<std::string> out;
    for (const json& j : p.data) out.push_back(j["id"]);
    return out;
  };
  using V = std::vector<std::string>;
  ASSERT_OK_AND_ASSIGN(Page all, ft_->List(account_, "", 100));
  EXPECT_EQ(ids_of(all), (V{ids[2], ids[1], ids[0]}));
  EXPECT_FALSE(all.has_more);
  ASSERT_OK_AND_ASSIGN(Page p1, ft_->List(account_, "", 2));
  EXPECT_EQ(ids_of(p1), (V{ids[2], ids[1]}));
  EXPECT_TRUE(p1.has_more);
  ASSERT_OK_AND_ASSIGN(Page p2, ft_->List(account_, ids[1], 2));
  EXPECT_EQ(ids_of(p2), (V{ids[0]}));
  EXPECT_FALSE(p2.has_more);
  EXPECT_REFUSED(ft_->List(account_, "ftjob-nosuch", 2), StatusCode::kNotFound,
                 "notFound");
  ASSERT_OK_AND_ASSIGN(Page theirs, ft_->List(other_, "", 100));
  EXPECT_TRUE(theirs.data.empty());
}

// Stored rows go through the JSON entry point too: a row nested beyond any
// bound (damaged, or written by something else) still reads as its job, and
// cannot make a listing, a read or a cancel fail.
TEST_F(FineTuningTest, ADamagedJobRowStillReadsListsAndCancels) {
  ASSERT_OK_AND_ASSIGN(json job, Create());
  const std::string id = job["id"];
  ASSERT_OK(h_->store().Transact([&](store::Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(store::FineTuningJobRow row,
                     tx.jobs().Get(account_.uid, id));
    row.job_json = std::string(200000, '[') + std::string(200000, ']');
    return tx.jobs().Update(row);
  }));
  ASSERT_OK_AND_ASSIGN(json got, ft_->Get(account_, id));
  ASSERT_TRUE(got.is_object());
  EXPECT_EQ(got["id"], id);
  EXPECT_EQ(got["status"], "pending");
  ASSERT_OK_AND_ASSIGN(Page all, ft_->List(account_, "", 100));
  ASSERT_EQ(all.data.size(), 1u);
  EXPECT_EQ(all.data[0]["id"], id);
  ASSERT_OK_AND_ASSIGN(json cancelled, ft_->Cancel(account_, id));
  EXPECT_EQ(cancelled["status"], "cancelled");
}

TEST_F(FineTuningTest, AnotherAccountsJobIsNotFound) {
  ASSERT_OK_AND_ASSIGN(json job, Create());
  const std::string id = job["id"];
  EXPECT_REFUSED(ft_->Get(other_, id), StatusCode::kNotFound, "notFound");
  EXPECT_REFUSED(ft_->Cancel(other_, id), StatusCode::kNotFound, "notFound");
  EXPECT_REFUSED(ft_->Delete(other_, id), StatusCode::kNotFound, "notFound");
  EXPECT_REFUSED(ft_->Events(other_, id, "", 10), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(ft_->Checkpoints(other_, id, "", 10), StatusCode::kNotFound,
                 "notFound");
  ASSERT_OK_AND_ASSIGN(json mine, ft_->Get(account_, id));
  EXPECT_EQ(mine["status"], "pending");
}

// ======================= A job that succeeds =======================

TEST_F(FineTuningTest, JobRunsToSucceeded) {
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create({{"seed", 11}}));
  const std::string id = created["id"];
  const json job = WaitUntilFinished(id);
  ASSERT_EQ(job["status"], "succeeded") << job.dump(2);
  const std::string model = std::string(kBase) + ".ft-" + id.substr(6);
  EXPECT_EQ(job["fine_tuned_model"], model);
  EXPECT_TRUE(
      std::regex_match(job["fine_tuned_model"].get<std::string>(),
                       std::regex(std::string(kBase) + "\\.ft-[0-9a-f]{32}")));
  EXPECT_EQ(job["trained_tokens"], 1234);
  EXPECT_TRUE(job["error"].is_null());
  EXPECT_TRUE(job["finished_at"].is_number_integer());
  // The hyperparameters the trainer resolved, in both places they show.
  const json resolved = {
      {"n_epochs", 2}, {"batch_size", 1}, {"learning_rate_multiplier", 1.0}};
  EXPECT_EQ(job["hyperparameters"], resolved);
  EXPECT_EQ(job["method"]["supervised"]["hyperparameters"], resolved);
  ASSERT_EQ(job["result_files"].size(), 1u);

  ASSERT_EQ(trainer_->calls(), 1);
  const Seen seen = trainer_->seen()[0];
  EXPECT_EQ(seen.base_model, kBase);
  EXPECT_EQ(seen.seed, 11);
  EXPECT_EQ(seen.hyperparameters.n_epochs, -1);

  // Events: newest first, metrics events carrying the figures.
  const std::string ckpt3 = model + ":ckpt-step-3";
  const std::string ckpt6 = model + ":ckpt-step-6";
  const std::string results = job["result_files"][0];
  const std::vector<std::string> oldest_first = {
      "Job enqueued. Waiting for jobs ahead to complete.",
      "Job started.",
      "Training started: 6 steps over 2 epochs.",
      "Fake trainer ready.",
      "Step 1: training loss=1.87500000",
      "Step 2: training loss=1.75000000",
      "Step 3: training loss=1.62500000",
      "Checkpoint created: " + ckpt3,
      "Step 4: training loss=1.50000000",
      "Step 5: training loss=1.37500000",
      "Step 6: training loss=1.25000000",
      "Checkpoint created: " + ckpt6,
      "Postprocessing started.",
      "Completed results file: " + results,
      "Job succeeded."};
  const std::vector<json> events = Events(id);
  std::vector<std::string> want(oldest_first.rbegin(), oldest_first.rend());
  EXPECT_EQ(Messages(events), want);
  for (const json& e : events) {
    EXPECT_EQ(e["object"], "fine_tuning.job.event");
    EXPECT_EQ(e["level"], "info");
    EXPECT_TRUE(e["created_at"].is_number_integer());
    EXPECT_TRUE(std::regex_match(e["id"].get<std::string>(),
                                 std::regex("ftevent-[0-9a-f]{32}")))
        << e["id"];
    const bool metrics = e["message"].get<std::string>().rfind("Step ", 0) == 0;
    EXPECT_EQ(e["type"], metrics ? "metrics" : "message") << e.dump();
    EXPECT_EQ(e.contains("data"), metrics) << e.dump();
  }
  const json& step2 = events[events.size() - 6];
  ASSERT_EQ(step2["message"], "Step 2: training loss=1.75000000");
  EXPECT_EQ(step2["data"], json({{"step", 2},
                                 {"train_loss", 1.75},
                                 {"train_mean_token_accuracy", 0.125}}));
}

TEST_F(FineTuningTest, EventsPageByAfter) {
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  ASSERT_EQ(WaitUntilFinished(id)["status"], "succeeded");
  const std::vector<json> all = Events(id);
  ASSERT_EQ(all.size(), 15u);
  std::vector<json> paged;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    ASSERT_OK_AND_ASSIGN(Page page, ft_->Events(account_, id, after, 4));
    EXPECT_LE(page.data.size(), 4u);
    paged.insert(paged.end(), page.data.begin(), page.data.end());
    if (!page.has_more) break;
    after = page.data.back()["id"];
  }
  EXPECT_EQ(paged, all);
  // A page that ends exactly at the oldest event has no more.
  ASSERT_OK_AND_ASSIGN(Page last,
                       ft_->Events(account_, id, all[all.size() - 3]["id"], 2));
  EXPECT_EQ(last.data.size(), 2u);
  EXPECT_FALSE(last.has_more);

  // `after` must be an event id of this job.
  const std::string first_id = all[0]["id"];
  for (const std::string& bad :
       {std::string("nonsense"), first_id.substr(0, first_id.size() - 1),
        first_id.substr(0, first_id.size() - 16) + "zzzzzzzzzzzzzzzz",
        first_id.substr(0, first_id.size() - 16) + "-000000000000001",
        std::string("ftevent-") + std::string(32, '0')}) {
    SCOPED_TRACE(bad);
    EXPECT_REFUSED(ft_->Events(account_, id, bad, 4),
                   StatusCode::kInvalidArgument, "invalidPayload");
  }
}

TEST_F(FineTuningTest, CheckpointsListedWithStepsAndMetrics) {
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  const json job = WaitUntilFinished(id);
  ASSERT_EQ(job["status"], "succeeded");
  const std::string model = job["fine_tuned_model"];

  ASSERT_OK_AND_ASSIGN(Page page, ft_->Checkpoints(account_, id, "", 10));
  EXPECT_FALSE(page.has_more);
  ASSERT_EQ(page.data.size(), 2u);
  const int64_t steps[] = {6, 3};  // Newest first.
  for (size_t i = 0; i < 2; ++i) {
    const json& c = page.data[i];
    SCOPED_TRACE(c.dump());
    EXPECT_EQ(c["object"], "fine_tuning.job.checkpoint");
    EXPECT_TRUE(std::regex_match(c["id"].get<std::string>(),
                                 std::regex("ftchkpt-[0-9a-f]{32}")));
    EXPECT_EQ(c["fine_tuning_job_id"], id);
    EXPECT_EQ(c["step_number"], steps[i]);
    EXPECT_EQ(c["fine_tuned_model_checkpoint"],
              model + ":ckpt-step-" + std::to_string(steps[i]));
    const training::StepMetrics m = FakeMetrics(steps[i], 0, false, true);
    EXPECT_EQ(
        c["metrics"],
        json({{"step", steps[i]},
              {"train_loss", m.train_loss},
              {"train_mean_token_accuracy", m.train_mean_token_accuracy}}));
    EXPECT_TRUE(c["created_at"].is_number_integer());
    // What the trainer wrote, decrypted.
    ASSERT_OK_AND_ASSIGN(std::string bytes, ReadObject("checkpoint", c["id"]));
    EXPECT_EQ(bytes, CheckpointBytes(steps[i], "fake model bytes"));
  }

  ASSERT_OK_AND_ASSIGN(Page p1, ft_->Checkpoints(account_, id, "", 1));
  ASSERT_EQ(p1.data.size(), 1u);
  EXPECT_TRUE(p1.has_more);
  EXPECT_EQ(p1.data[0]["step_number"], 6);
  ASSERT_OK_AND_ASSIGN(Page p2,
                       ft_->Checkpoints(account_, id, p1.data[0]["id"], 1));
  ASSERT_EQ(p2.data.size(), 1u);
  EXPECT_FALSE(p2.has_more);
  EXPECT_EQ(p2.data[0]["step_number"], 3);
  EXPECT_REFUSED(ft_->Checkpoints(account_, id, "ftchkpt-nosuch", 1),
                 StatusCode::kNotFound, "notFound");
}

TEST_F(FineTuningTest, ResultsFileHasOneRowPerStep) {
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const json job = WaitUntilFinished(created["id"]);
  ASSERT_EQ(job["status"], "succeeded");
  ASSERT_EQ(job["result_files"].size(), 1u);
  const std::string id = job["result_files"][0];
  ASSERT_OK_AND_ASSIGN(store::StoredObject file, h_->files().Get(account_, id));
  EXPECT_EQ(file.kind, "file");
  EXPECT_EQ(file.purpose, "fine-tune-results");
  EXPECT_EQ(file.filename, "results.csv");
  EXPECT_EQ(file.status, "processed");
  ASSERT_OK_AND_ASSIGN(std::string csv, ReadFile(id));
  EXPECT_EQ(file.bytes, static_cast<int64_t>(csv.size()));
  EXPECT_EQ(csv,
            "step,train_loss,train_mean_token_accuracy,valid_loss,"
            "validation_mean_token_accuracy,full_valid_loss,"
            "full_valid_mean_token_accuracy\n"
            "1,1.87500,0.06250,,,,\n"
            "2,1.75000,0.12500,,,,\n"
            "3,1.62500,0.18750,,,,\n"
            "4,1.50000,0.25000,,,,\n"
            "5,1.37500,0.31250,,,,\n"
            "6,1.25000,0.37500,,,,\n");
  // Listed among the account's files with its purpose.
  ASSERT_OK_AND_ASSIGN(
      files::FileService::Page results,
      h_->files().List(account_, {.purpose = "fine-tune-results"}));
  ASSERT_EQ(results.items.size(), 1u);
  EXPECT_EQ(results.items[0].id, id);
}

TEST_F(FineTuningTest, TrainerSeesTheDecryptedTrainingAndValidationData) {
  const std::string validation_text = Examples(11);
  ASSERT_OK_AND_ASSIGN(
      store::StoredObject validation,
      Upload(account_, "valid.jsonl", validation_text, "fine-tune"));
  trainer_->set_script({.steps_per_epoch = 2, .epochs = 1});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(
      json created,
      Create({{"validation_file", validation.id},
              {"hyperparameters",
               {{"batch_size", 4}, {"learning_rate_multiplier", 0.5}}}}));
  EXPECT_EQ(created["validation_file"], validation.id);
  const json job = WaitUntilFinished(created["id"]);
  ASSERT_EQ(job["status"], "succeeded") << job.dump(2);

  ASSERT_EQ(trainer_->calls(), 1);
  const Seen seen = trainer_->seen()[0];
  EXPECT_EQ(seen.training, Examples(12));
  EXPECT_EQ(seen.training_bytes, Examples(12).size());
  ASSERT_TRUE(seen.validation.has_value());
  EXPECT_EQ(*seen.validation, validation_text);
  EXPECT_EQ(seen.validation_bytes, validation_text.size());
  EXPECT_EQ(seen.hyperparameters.n_epochs, -1);
  EXPECT_EQ(seen.hyperparameters.batch_size, 4);
  EXPECT_EQ(seen.hyperparameters.learning_rate_multiplier, 0.5);
  EXPECT_EQ(job["hyperparameters"], json({{"n_epochs", 1},
                                          {"batch_size", 4},
                                          {"learning_rate_multiplier", 0.5}}));

  // Validation figures reach the results file and the metrics events.
  ASSERT_OK_AND_ASSIGN(std::string csv, ReadFile(job["result_files"][0]));
  EXPECT_EQ(csv,
            "step,train_loss,train_mean_token_accuracy,valid_loss,"
            "validation_mean_token_accuracy,full_valid_loss,"
            "full_valid_mean_token_accuracy\n"
            "1,1.87500,0.06250,2.75000,0.03125,,\n"
            "2,1.75000,0.12500,2.50000,0.06250,2.25000,0.50000\n");
  bool saw = false;
  for (const json& e : Events(created["id"])) {
    if (e.value("message", "") != "Step 2: training loss=1.75000000") continue;
    saw = true;
    EXPECT_EQ(e["data"], json({{"step", 2},
                               {"train_loss", 1.75},
                               {"train_mean_token_accuracy", 0.125},
                               {"valid_loss", 2.5},
                               {"valid_mean_token_accuracy", 0.0625},
                               {"full_valid_loss", 2.25},
                               {"full_valid_mean_token_accuracy", 0.5}}));
  }
  EXPECT_TRUE(saw);
}

TEST_F(FineTuningTest, SuffixAndEpochsShapeTheModel) {
  trainer_->set_script({.steps_per_epoch = 1, .epochs = 2});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created,
                       Create({{"suffix", "my_model-2"},
                               {"hyperparameters", {{"n_epochs", 3}}}}));
  const std::string id = created["id"];
  const json job = WaitUntilFinished(id);
  ASSERT_EQ(job["status"], "succeeded");
  EXPECT_EQ(job["fine_tuned_model"],
            std::string(kBase) + ".ft-" + id.substr(6) + "-my_model-2");
  EXPECT_EQ(job["hyperparameters"]["n_epochs"], 3);
  ASSERT_OK_AND_ASSIGN(Page checkpoints,
                       ft_->Checkpoints(account_, id, "", 10));
  EXPECT_EQ(checkpoints.data.size(), 3u);
  EXPECT_EQ(trainer_->seen()[0].hyperparameters.n_epochs, 3);
}

// ======================= Models =======================

TEST_F(FineTuningTest, FineTunedModelIsListedFoundAndDeleted) {
  trainer_->set_script({.model_bytes = "the model's own bytes"});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string job_id = created["id"];
  const json job = WaitUntilFinished(job_id);
  ASSERT_EQ(job["status"], "succeeded");
  const std::string model = job["fine_tuned_model"];

  ASSERT_OK_AND_ASSIGN(Page models, ft_->ListModels(account_));
  ASSERT_EQ(models.data.size(), 2u);
  EXPECT_EQ(models.data[0]["id"], kBase);
  EXPECT_EQ(models.data[0]["capabilities"]["fine_tune"], true);
  EXPECT_EQ(models.data[0]["capabilities"]["chat_completion"], false);
  EXPECT_TRUE(models.data[0]["fine_tune"].is_null());
  const json& ft = models.data[1];
  EXPECT_EQ(ft["object"], "model");
  EXPECT_EQ(ft["id"], model);
  EXPECT_EQ(ft["model"], kBase);
  EXPECT_EQ(ft["fine_tune"], job_id);
  EXPECT_EQ(ft["owned_by"], "user");
  EXPECT_EQ(ft["capabilities"]["fine_tune"], false);
  EXPECT_EQ(ft["capabilities"]["chat_completion"], true);
  ASSERT_OK_AND_ASSIGN(json got, ft_->GetModel(account_, model));
  EXPECT_EQ(got, ft);
  ASSERT_OK_AND_ASSIGN(json base, ft_->GetModel(account_, kBase));
  EXPECT_EQ(base, models.data[0]);
  ASSERT_OK_AND_ASSIGN(Page theirs, ft_->ListModels(other_));
  EXPECT_EQ(theirs.data.size(), 1u);
  EXPECT_REFUSED(ft_->GetModel(other_, model), StatusCode::kNotFound,
                 "model_not_found");

  // Deployable by model id and by checkpoint name.
  ASSERT_OK_AND_ASSIGN(store::StoredObject m,
                       ft_->FindDeployable(account_, model));
  EXPECT_EQ(m.kind, "model");
  EXPECT_EQ(m.id, model);
  ASSERT_OK_AND_ASSIGN(std::string bytes, ReadObject("model", model));
  EXPECT_EQ(bytes, "the model's own bytes");
  ASSERT_OK_AND_ASSIGN(store::StoredObject c,
                       ft_->FindDeployable(account_, model + ":ckpt-step-3"));
  EXPECT_EQ(c.kind, "checkpoint");
  EXPECT_EQ(c.filename, model + ":ckpt-step-3");
  ASSERT_OK_AND_ASSIGN(bytes, ReadObject("checkpoint", c.id));
  EXPECT_EQ(bytes, CheckpointBytes(3, "the model's own bytes"));
  for (const std::string& missing : {model + ":ckpt-step-4", std::string(kBase),
                                     std::string("nosuch"), model + "x"}) {
    SCOPED_TRACE(missing);
    EXPECT_REFUSED(ft_->FindDeployable(account_, missing),
                   StatusCode::kNotFound, "model_not_found");
  }
  EXPECT_REFUSED(ft_->FindDeployable(other_, model), StatusCode::kNotFound,
                 "model_not_found");

  // Deleting: the base model cannot be; the fine-tuned one goes with its blob.
  EXPECT_REFUSED(ft_->DeleteModel(account_, kBase),
                 StatusCode::kPermissionDenied, "forbidden");
  EXPECT_REFUSED(ft_->DeleteModel(other_, model), StatusCode::kNotFound,
                 "model_not_found");
  const std::string blob = h_->BlobPath(m);
  ASSERT_TRUE(fs::exists(blob));
  ASSERT_OK(ft_->DeleteModel(account_, model));
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_REFUSED(ft_->GetModel(account_, model), StatusCode::kNotFound,
                 "model_not_found");
  EXPECT_REFUSED(ft_->FindDeployable(account_, model), StatusCode::kNotFound,
                 "model_not_found");
  EXPECT_REFUSED(ft_->DeleteModel(account_, model), StatusCode::kNotFound,
                 "model_not_found");
  ASSERT_OK_AND_ASSIGN(models, ft_->ListModels(account_));
  EXPECT_EQ(models.data.size(), 1u);
  // Its checkpoints stay deployable.
  EXPECT_OK(ft_->FindDeployable(account_, model + ":ckpt-step-6"));
}

// ======================= Cancel and delete =======================

TEST_F(FineTuningTest, CancelAPendingJob) {
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  ASSERT_OK_AND_ASSIGN(json cancelled, ft_->Cancel(account_, id));
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_TRUE(cancelled["finished_at"].is_number_integer());
  ASSERT_OK_AND_ASSIGN(json got, ft_->Get(account_, id));
  EXPECT_EQ(got, cancelled);
  const std::vector<json> events = Events(id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["message"], "Job cancelled.");
  EXPECT_REFUSED(ft_->Cancel(account_, id), StatusCode::kFailedPrecondition,
                 "unexpectedEntityState");

  // Workers never run it.
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json second, Create());
  ASSERT_EQ(WaitUntilFinished(second["id"])["status"], "succeeded");
  EXPECT_EQ(trainer_->calls(), 1);
  ASSERT_OK_AND_ASSIGN(got, ft_->Get(account_, id));
  EXPECT_EQ(got["status"], "cancelled");
}

TEST_F(FineTuningTest, CancelARunningJob) {
  trainer_->set_script({.hold_at_step = 2});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  ASSERT_TRUE(trainer_->WaitUntilHeld(1));
  ASSERT_OK_AND_ASSIGN(json running, ft_->Get(account_, id));
  EXPECT_EQ(running["status"], "running");

  ASSERT_OK_AND_ASSIGN(json cancelled, ft_->Cancel(account_, id));
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_TRUE(cancelled["fine_tuned_model"].is_null());
  EXPECT_TRUE(cancelled["error"].is_null());
  EXPECT_TRUE(cancelled["finished_at"].is_number_integer());
  const std::vector<json> events = Events(id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["message"], "Job cancelled.");
  ASSERT_OK_AND_ASSIGN(Page models, ft_->ListModels(account_));
  EXPECT_EQ(models.data.size(), 1u);
  EXPECT_REFUSED(ft_->Cancel(account_, id), StatusCode::kFailedPrecondition,
                 "unexpectedEntityState");
  // The trainer ended; the worker takes the next job.
  trainer_->Release();
  ASSERT_OK_AND_ASSIGN(json next, Create());
  EXPECT_EQ(WaitUntilFinished(next["id"])["status"], "succeeded");
}

// A trainer busy with its steps notices the cancel between two of them.
TEST_F(FineTuningTest, CancelStopsATrainerBetweenSteps) {
  trainer_->set_script(
      {.steps_per_epoch = 1000, .epochs = 1, .step_delay = milliseconds(5)});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  // Wait until it has reported a step.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (Events(id).front()["type"] != "metrics" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(Events(id).front()["type"], "metrics");
  const auto before = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(json cancelled, ft_->Cancel(account_, id));
  EXPECT_EQ(cancelled["status"], "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(4));
  const std::vector<json> events = Events(id);
  EXPECT_EQ(events[0]["message"], "Job cancelled.");
  // Far fewer than the 1000 steps planned were made.
  size_t steps = 0;
  for (const json& e : events) steps += e["type"] == "metrics";
  EXPECT_GE(steps, 1u);
  EXPECT_LT(steps, 900u);
}

TEST_F(FineTuningTest, DeleteOnlyFinishedJobsAndTheirCheckpoints) {
  trainer_->set_script({.hold_at_step = 1});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json a, Create());
  ASSERT_OK_AND_ASSIGN(json b, Create());
  const std::string id = a["id"];
  ASSERT_TRUE(trainer_->WaitUntilHeld(1));
  // Running and pending jobs cannot be deleted.
  EXPECT_REFUSED(ft_->Delete(account_, id), StatusCode::kFailedPrecondition,
                 "unexpectedEntityState");
  EXPECT_REFUSED(ft_->Delete(account_, b["id"]),
                 StatusCode::kFailedPrecondition, "unexpectedEntityState");
  trainer_->Release();
  const json job = WaitUntilFinished(id);
  ASSERT_EQ(job["status"], "succeeded");
  ASSERT_EQ(WaitUntilFinished(b["id"])["status"], "succeeded");
  const std::string model = job["fine_tuned_model"];

  ASSERT_OK_AND_ASSIGN(Page checkpoints,
                       ft_->Checkpoints(account_, id, "", 10));
  ASSERT_EQ(checkpoints.data.size(), 2u);
  std::vector<std::string> blobs;
  for (const json& c : checkpoints.data) {
    ASSERT_OK_AND_ASSIGN(
        store::StoredObject o,
        h_->files().GetObject(account_, "checkpoint", c["id"]));
    blobs.push_back(h_->BlobPath(o));
    ASSERT_TRUE(fs::exists(blobs.back()));
  }

  ASSERT_OK(ft_->Delete(account_, id));
  EXPECT_REFUSED(ft_->Get(account_, id), StatusCode::kNotFound, "notFound");
  EXPECT_REFUSED(ft_->Events(account_, id, "", 10), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(ft_->Checkpoints(account_, id, "", 10), StatusCode::kNotFound,
                 "notFound");
  EXPECT_REFUSED(ft_->Delete(account_, id), StatusCode::kNotFound, "notFound");
  for (const json& c : checkpoints.data) {
    EXPECT_REFUSED(h_->files().GetObject(account_, "checkpoint", c["id"]),
                   StatusCode::kNotFound, "notFound");
  }
  for (const std::string& blob : blobs) EXPECT_FALSE(fs::exists(blob)) << blob;
  EXPECT_REFUSED(ft_->FindDeployable(account_, model + ":ckpt-step-3"),
                 StatusCode::kNotFound, "model_not_found");
  // The model and the results file stay.
  EXPECT_OK(ft_->GetModel(account_, model));
  EXPECT_OK(ReadFile(job["result_files"][0]));
  // The other job is untouched.
  ASSERT_OK_AND_ASSIGN(Page others,
                       ft_->Checkpoints(account_, b["id"], "", 10));
  EXPECT_EQ(others.data.size(), 2u);
  ASSERT_OK_AND_ASSIGN(Page jobs, ft_->List(account_, "", 10));
  ASSERT_EQ(jobs.data.size(), 1u);
  EXPECT_EQ(jobs.data[0]["id"], b["id"]);
}

// ======================= Failures =======================

TEST_F(FineTuningTest, TrainerErrorsFailTheJob) {
  struct Case {
    Status error;
    json want;
  };
  const std::vector<Case> cases = {
      {Status(StatusCode::kInvalidArgument, "Too few examples.",
              "invalid_n_examples"),
       {{"code", "invalid_n_examples"},
        {"message", "Too few examples."},
        {"param", "training_file"}}},
      {Status(StatusCode::kInvalidArgument, "Line 3 has no assistant turn.",
              "invalid_training_file"),
       {{"code", "invalid_training_file"},
        {"message", "Line 3 has no assistant turn."},
        {"param", "training_file"}}},
      {Status(StatusCode::kInvalidArgument, "Bad validation data.",
              "invalid_validation_file"),
       {{"code", "invalid_validation_file"},
        {"message", "Bad validation data."},
        {"param", "validation_file"}}},
      {InternalError("out of memory"),
       {{"code", "internal_error"},
        {"message", "The trainer failed: out of memory"},
        {"param", nullptr}}},
  };
  Restart(1);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.error.ToString());
    trainer_->set_script({.fail_at_step = 2, .failure = c.error});
    ASSERT_OK_AND_ASSIGN(json created, Create());
    const std::string id = created["id"];
    const json job = WaitUntilFinished(id);
    ASSERT_EQ(job["status"], "failed");
    EXPECT_EQ(job["error"], c.want);
    EXPECT_TRUE(job["fine_tuned_model"].is_null());
    EXPECT_TRUE(job["finished_at"].is_number_integer());
    EXPECT_EQ(job["result_files"], json::array());
    const std::vector<json> events = Events(id);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events[0]["level"], "error");
    EXPECT_EQ(events[0]["message"],
              "Job failed: " + c.want["message"].get<std::string>());
  }
  ASSERT_OK_AND_ASSIGN(Page models, ft_->ListModels(account_));
  EXPECT_EQ(models.data.size(), 1u);
}

TEST_F(FineTuningTest, NoModelMeansNoSuccess) {
  Restart(1);
  // A trainer that ends without a model.
  trainer_->set_script({.write_model = false});
  ASSERT_OK_AND_ASSIGN(json a, Create());
  json job = WaitUntilFinished(a["id"]);
  ASSERT_EQ(job["status"], "failed");
  EXPECT_EQ(job["error"]["code"], "internal_error");
  // A trainer that fails after storing the model: the model is removed.
  trainer_->set_script(
      {.fail_after_model = true, .failure = InternalError("late failure")});
  ASSERT_OK_AND_ASSIGN(json b, Create());
  job = WaitUntilFinished(b["id"]);
  ASSERT_EQ(job["status"], "failed");
  EXPECT_EQ(job["error"]["message"], "The trainer failed: late failure");
  const std::string model =
      std::string(kBase) + ".ft-" + b["id"].get<std::string>().substr(6);
  EXPECT_REFUSED(ft_->GetModel(account_, model), StatusCode::kNotFound,
                 "model_not_found");
  ASSERT_OK_AND_ASSIGN(Page models, ft_->ListModels(account_));
  EXPECT_EQ(models.data.size(), 1u);
  // Checkpoints made before the failure are kept.
  ASSERT_OK_AND_ASSIGN(Page checkpoints,
                       ft_->Checkpoints(account_, b["id"], "", 10));
  EXPECT_EQ(checkpoints.data.size(), 2u);
}

// The key becomes inaccessible after the first checkpoint: the job fails at
// its next encrypted write (the second checkpoint) and keeps the first.
TEST_F(FineTuningTest, KeyRevokedWhileRunningFailsAtTheNextWrite) {
  trainer_->set_script({.hold_at_step = 4});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  ASSERT_TRUE(trainer_->WaitUntilHeld(1));
  ASSERT_OK(h_->BreakKey(account_));
  trainer_->Release();
  const json job = WaitUntilFinished(id);
  ASSERT_EQ(job["status"], "failed") << job.dump(2);
  EXPECT_EQ(job["error"]["code"], "CustomerManagedKeyInaccessible");
  EXPECT_FALSE(job["error"]["message"].get<std::string>().empty());
  EXPECT_TRUE(job["error"]["param"].is_null());
  EXPECT_TRUE(job["fine_tuned_model"].is_null());
  const std::vector<json> events = Events(id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["level"], "error");
  // Metrics of steps 4 to 6 were recorded; only the first checkpoint exists.
  EXPECT_EQ(events[1]["message"], "Step 6: training loss=1.25000000");
  ASSERT_OK_AND_ASSIGN(Page checkpoints,
                       ft_->Checkpoints(account_, id, "", 10));
  ASSERT_EQ(checkpoints.data.size(), 1u);
  EXPECT_EQ(checkpoints.data[0]["step_number"], 3);
  ASSERT_OK_AND_ASSIGN(Page models, ft_->ListModels(account_));
  EXPECT_EQ(models.data.size(), 1u);

  // Restored: jobs run again.
  ASSERT_OK(h_->RestoreKey(account_));
  ASSERT_OK_AND_ASSIGN(json again, Create());
  EXPECT_EQ(WaitUntilFinished(again["id"])["status"], "succeeded");
}

TEST_F(FineTuningTest, QueuedJobFailsWhenItsKeyIsInaccessibleAtStart) {
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  ASSERT_OK(h_->BreakKey(account_));
  Restart(1);
  const json job = WaitUntilFinished(id);
  ASSERT_EQ(job["status"], "failed");
  EXPECT_EQ(job["error"]["code"], "CustomerManagedKeyInaccessible");
  EXPECT_EQ(trainer_->calls(), 0);
  const std::vector<json> events = Events(id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["level"], "error");
}

// ======================= Restart =======================

TEST_F(FineTuningTest, RestartFailsJobsLeftRunning) {
  ASSERT_OK_AND_ASSIGN(json a, Create({{"seed", 1}}));
  ASSERT_OK_AND_ASSIGN(json b, Create({{"seed", 2}}));
  const std::string interrupted = a["id"];
  ASSERT_OK(MarkRunning(interrupted));

  // A new FineTuning over the same store: Start fails the interrupted job
  // before it returns, and the pending one runs.
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json job, ft_->Get(account_, interrupted));
  EXPECT_EQ(job["status"], "failed");
  EXPECT_EQ(job["error"]["code"], "job_interrupted");
  EXPECT_FALSE(job["error"]["message"].get<std::string>().empty());
  EXPECT_TRUE(job["finished_at"].is_number_integer());
  const std::vector<json> events = Events(interrupted);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["level"], "error");
  EXPECT_NE(events[0]["message"].get<std::string>().find("interrupted"),
            std::string::npos)
      << events[0].dump();

  EXPECT_EQ(WaitUntilFinished(b["id"])["status"], "succeeded");
  ASSERT_EQ(trainer_->calls(), 1);
  EXPECT_EQ(trainer_->seen()[0].seed, 2);
}

// Stopping the service while a job runs: the job is failed as interrupted,
// as it would be by the next start, not cancelled.
TEST_F(FineTuningTest, StopWhileRunningInterruptsTheJob) {
  trainer_->set_script({.hold_at_step = 2});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create());
  const std::string id = created["id"];
  ASSERT_TRUE(trainer_->WaitUntilHeld(1));
  ft_->Stop();
  ASSERT_OK_AND_ASSIGN(json job, ft_->Get(account_, id));
  EXPECT_EQ(job["status"], "failed");
  EXPECT_EQ(job["error"]["code"], "job_interrupted");
}

// ======================= Concurrency =======================

TEST_F(FineTuningTest, OneWorkerRunsJobsOneAfterAnother) {
  trainer_->set_script({.hold_at_step = 1});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json a, Create({{"seed", 1}}));
  ASSERT_OK_AND_ASSIGN(json b, Create({{"seed", 2}}));
  ASSERT_TRUE(trainer_->WaitUntilHeld(1));
  // While the first waits, the second stays queued.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(trainer_->arrived(), 1);
  ASSERT_OK_AND_ASSIGN(json queued, ft_->Get(account_, b["id"]));
  EXPECT_EQ(queued["status"], "pending");
  trainer_->Release();
  EXPECT_EQ(WaitUntilFinished(a["id"])["status"], "succeeded");
  EXPECT_EQ(WaitUntilFinished(b["id"])["status"], "succeeded");
  EXPECT_EQ(trainer_->max_active(), 1);
  EXPECT_EQ(trainer_->log(),
            (std::vector<std::string>{"start 1", "end 1", "start 2", "end 2"}));
}

TEST_F(FineTuningTest, TwoWorkersRunTwoJobsAtOnce) {
  trainer_->set_script({.hold_at_step = 1});
  Restart(2);
  ASSERT_OK_AND_ASSIGN(json a, Create({{"seed", 1}}));
  ASSERT_OK_AND_ASSIGN(json b, Create({{"seed", 2}}));
  ASSERT_OK_AND_ASSIGN(json c, Create({{"seed", 3}}));
  ASSERT_TRUE(trainer_->WaitUntilHeld(2));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(trainer_->arrived(), 2);
  ASSERT_OK_AND_ASSIGN(json queued, ft_->Get(account_, c["id"]));
  EXPECT_EQ(queued["status"], "pending");
  trainer_->Release();
  for (const json* j : {&a, &b, &c}) {
    EXPECT_EQ(WaitUntilFinished((*j)["id"])["status"], "succeeded");
  }
  EXPECT_EQ(trainer_->max_active(), 2);
}

// ======================= At rest =======================

// After a job, no training or validation example, no secret in them, and
// neither the model's nor a checkpoint's bytes are in any file of the data
// directory.
TEST_F(FineTuningTest, NoPlaintextOnDisk) {
  std::vector<std::string> secrets;
  std::string training_text, validation_text;
  for (int i = 0; i < 12; ++i) {
    secrets.push_back(RandomHex(16));
    training_text += Example(i, " " + secrets.back()) + "\n";
  }
  for (int i = 0; i < 10; ++i) {
    secrets.push_back(RandomHex(16));
    validation_text += Example(i, " " + secrets.back()) + "\n";
  }
  const std::string model_secret = "MODEL-" + RandomHex(16);
  ASSERT_OK_AND_ASSIGN(store::StoredObject t,
                       Upload(account_, "s.jsonl", training_text, "fine-tune"));
  ASSERT_OK_AND_ASSIGN(
      store::StoredObject v,
      Upload(account_, "v.jsonl", validation_text, "fine-tune"));
  ASSERT_EQ(t.status, "processed");
  ASSERT_EQ(v.status, "processed");
  trainer_->set_script({.model_bytes = model_secret});
  Restart(1);
  ASSERT_OK_AND_ASSIGN(json created, Create({{"training_file", t.id},
                                             {"validation_file", v.id}}));
  const json job = WaitUntilFinished(created["id"]);
  ASSERT_EQ(job["status"], "succeeded");
  ASSERT_EQ(trainer_->seen()[0].training, training_text);

  std::vector<std::string> needles = secrets;
  needles.push_back(model_secret);
  needles.push_back(CheckpointBytes(3, model_secret));
  needles.push_back(Example(5, " " + secrets[5]));
  needles.push_back("step,train_loss");
  const std::vector<std::string> files = FilesUnder(h_->dir().path());
  // metadata.db, root.key, 2 uploads, 2 checkpoints, model, results file.
  ASSERT_GE(files.size(), 8u);
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const std::string content = ReadWholeFile(path);
    for (const std::string& needle : needles) {
      EXPECT_EQ(content.find(needle), std::string::npos) << needle;
    }
  }
}

}  // namespace
}  // namespace atrest::finetune
