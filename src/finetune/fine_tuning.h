// FineTuning: fine-tuning jobs, their events and checkpoints, and the
// fine-tuned models they make (reference/azure-openai-api.md §1.5-1.6).
//
// Jobs queue in the store (status "pending") and run on a bounded pool of
// worker threads, oldest first. A worker claims a job by moving it to
// "running" only if it is still pending, streams the decrypted training
// data to the base model's trainer (training/trainer.h) and stores what
// the trainer makes as encrypted objects under the account's key hierarchy
// (DESIGN.md §3): a checkpoint per epoch, the model, and the results file
// (a CSV file object with purpose "fine-tune-results").
//
// Key state (the seed's revocation semantics): while the account's key is
// inaccessible, Create is refused (403 CustomerManagedKeyInaccessible); a
// queued job fails with that error when a worker would start it; a running
// job fails at its next encrypted write (its next checkpoint or model).
//
// Restart: a job that was running when the service stopped is failed with
// the error "job_interrupted" and an event saying so, when the service
// starts again (docs/fine-tuning.md explains why it is not resumed). Jobs
// still pending simply run.
//
// Errors carry the OpenAI API's codes in Status::reason(). Thread safety:
// safe for concurrent use.
#ifndef ATREST_FINETUNE_FINE_TUNING_H_
#define ATREST_FINETUNE_FINE_TUNING_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "accounts/account_keys.h"
#include "env/env.h"
#include "files/file_service.h"
#include "store/store.h"
#include "training/trainer.h"

namespace atrest::finetune {

// A base model a job may name, and the trainer that fine-tunes it.
struct BaseModel {
  std::string id;
  std::string description;
  std::shared_ptr<training::Trainer> trainer;
};

struct FineTuningOptions {
  int max_concurrent_jobs = 1;  // Worker threads.
  // How often idle workers look for jobs queued by another node.
  std::chrono::milliseconds poll{2000};
  // How long Cancel waits for a running job to stop before answering.
  std::chrono::milliseconds cancel_wait{5000};
};

// What a client asks for (POST /fine_tuning/jobs).
struct JobRequest {
  std::string model;
  std::string training_file;
  std::string validation_file;
  training::Hyperparameters hyperparameters;
  std::string suffix;
  std::optional<int64_t> seed;

  // Parses the request body; InvalidArgument naming the bad field.
  static Result<JobRequest> FromJson(const nlohmann::json& body);
};

// A page of API objects.
struct Page {
  std::vector<nlohmann::json> data;
  bool has_more = false;
};

class FineTuning {
 public:
  FineTuning(store::Store& store, env::Env& env, files::FileService& files,
             accounts::AccountKeys& keys, std::vector<BaseModel> catalog,
             FineTuningOptions options = {});
  ~FineTuning();

  // Fails jobs a previous run left running and starts the workers.
  Status Start();
  // Cancels running jobs' trainers and joins the workers.
  void Stop();

  // ---- Jobs (objects as the API shows them) ----
  Result<nlohmann::json> Create(const store::Account& account,
                                const JobRequest& request);
  Result<nlohmann::json> Get(const store::Account& account,
                             const std::string& id);
  // Newest first, after the job `after` (a job id).
  Result<Page> List(const store::Account& account, const std::string& after,
                    size_t limit);
  // A pending job is cancelled at once; a running one is asked to stop and
  // waited for (FineTuningOptions::cancel_wait). FailedPrecondition for a
  // finished job.
  Result<nlohmann::json> Cancel(const store::Account& account,
                                const std::string& id);
  // Finished jobs only; takes its events and checkpoints, not its model.
  // `deployed` says whether a checkpoint (by its id or model name) is
  // deployed; a job with a deployed checkpoint is not deleted (Conflict).
  using DeployedCheck = std::function<Result<bool>(const std::string& name)>;
  Status Delete(const store::Account& account, const std::string& id,
                const DeployedCheck& deployed = nullptr);
  // Stops the running jobs of the account `uid` (a deleted account).
  void CancelAccount(const std::string& uid);
  Result<Page> Events(const store::Account& account, const std::string& id,
                      const std::string& after, size_t limit);
  Result<Page> Checkpoints(const store::Account& account, const std::string& id,
                           const std::string& after, size_t limit);

  // ---- Models: the catalog's base models and the account's fine-tuned
  // models ----
  Result<Page> ListModels(const store::Account& account);
  Result<nlohmann::json> GetModel(const store::Account& account,
                                  const std::string& id);
  // The stored object holding a deployable model: a fine-tuned model id or
  // a checkpoint's model name ("<model>:ckpt-step-<n>"). NotFound else.
  Result<store::StoredObject> FindDeployable(const store::Account& account,
                                             const std::string& name);
  // Deletes the model's row (its wrapped DEK) and then its blob. The caller
  // checks that no deployment uses it.
  Status DeleteModel(const store::Account& account, const std::string& id);

  const std::vector<BaseModel>& catalog() const { return catalog_; }

 private:
  struct Running {
    std::string account_uid;
    std::atomic<bool> cancelled{false};
    // Set (with `cancelled`) by Stop: the job fails as interrupted rather
    // than ending as cancelled by its user.
    std::atomic<bool> interrupted{false};
  };
  class JobSink;

  const BaseModel* FindBase(const std::string& id) const;
  // The account's objects of `kind` (made by the job `job`, when given).
  Result<std::vector<store::StoredObject>> Objects(
      const store::Account& account, const std::string& kind,
      const std::string& job = "");
  int64_t Now() const;
  store::JobEventRow EventRow(const store::FineTuningJobRow& job,
                              std::string_view level, std::string_view message,
                              const nlohmann::json& data = nullptr) const;
  Status AddEvent(const store::FineTuningJobRow& job, std::string_view level,
                  std::string_view message,
                  const nlohmann::json& data = nullptr);
  Result<store::FineTuningJobRow> GetRow(const store::Account& account,
                                         const std::string& id);
  Status RequireTrainingFile(const store::Account& account,
                             const std::string& id, const char* param);
  void WorkerLoop();
  // Claims the oldest pending job, if any, and registers it in running_
  // before its row says "running" (so a Cancel that sees "running" finds
  // it).
  Result<std::optional<store::FineTuningJobRow>> Claim();
  void Run(store::FineTuningJobRow job);
  // Stores the job's final state (status and fields of `job_json`) and the
  // event that says so, in one transaction: a client that sees the final
  // status also sees the event.
  void Finish(store::FineTuningJobRow& job, nlohmann::json& j,
              const std::string& status, std::string_view level,
              std::string_view message);
  void Fail(store::FineTuningJobRow& job, nlohmann::json& j,
            const Status& error);

  store::Store& store_;
  env::Env& env_;
  files::FileService& files_;
  accounts::AccountKeys& keys_;
  const std::vector<BaseModel> catalog_;
  const FineTuningOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;       // Wakes workers; guarded by mu_.
  std::condition_variable done_cv_;  // A running job ended.
  bool stopping_ = false;            // Guarded by mu_.
  uint64_t wakeups_ = 0;             // Guarded by mu_.
  std::map<std::string, std::shared_ptr<Running>> running_;  // By job id.
  std::vector<std::thread> workers_;
};

}  // namespace atrest::finetune

#endif  // ATREST_FINETUNE_FINE_TUNING_H_
