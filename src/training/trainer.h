// Trainer: the one interface behind which every way of training a model
// sits (the built-in n-gram trainer, training/ngram_trainer.h; an external
// command speaking docs/trainer-protocol.md, training/external_trainer.h).
//
// The fine-tuning job runner (finetune/) hands a trainer the decrypted
// training data as a stream (DataSource: plaintext only ever in memory or
// a pipe, DESIGN.md §7) and a TrainingSink that records events and metrics
// and encrypts every model snapshot as its bytes arrive. A sink error (for
// example the account's key became inaccessible) must stop training and be
// returned unchanged from Train.
//
// Thread safety: Train runs on one job-runner thread; a Trainer object may
// run several jobs at once on different threads.
#ifndef ATREST_TRAINING_TRAINER_H_
#define ATREST_TRAINING_TRAINER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace atrest::training {

// As the fine-tuning API spells them; -1 means "auto" (the trainer picks).
struct Hyperparameters {
  int n_epochs = -1;
  int batch_size = -1;
  double learning_rate_multiplier = -1;
};

// One training step's figures (the results file's columns,
// reference/azure-openai-api.md §1.5). Validation figures are present when
// a validation file was given; full_valid_* when the whole validation set
// was evaluated (at least at the end of every epoch).
struct StepMetrics {
  int64_t step = 0;                      // 1-based.
  int64_t epoch = 0;                     // 1-based.
  double train_loss = 0;                 // Mean cross-entropy, nats/token.
  double train_mean_token_accuracy = 0;  // Share of tokens predicted exactly.
  std::optional<double> valid_loss;
  std::optional<double> valid_mean_token_accuracy;
  std::optional<double> full_valid_loss;
  std::optional<double> full_valid_mean_token_accuracy;
};

// Receives plaintext bytes in order; an error stops the producer.
using ByteSink = std::function<Status(ByteView)>;
// Streams the whole plaintext of one file into the sink. May be called
// more than once (each call starts from the beginning).
using DataSource = std::function<Status(const ByteSink&)>;

struct TrainingRequest {
  std::string base_model;  // The catalog id the job names.
  Hyperparameters hyperparameters;
  int64_t seed = 0;
  DataSource training;          // JSON Lines of chat examples (validated).
  uint64_t training_bytes = 0;  // What `training` streams, exactly.
  DataSource validation;        // Empty function: no validation file.
  uint64_t validation_bytes = 0;
};

// A model snapshot being stored: bytes are encrypted as they arrive and
// nothing is visible until Finish succeeds.
class ModelWriter {
 public:
  virtual ~ModelWriter() = default;
  virtual Status Write(ByteView data) = 0;
  virtual Status Finish() = 0;
};

class TrainingSink {
 public:
  virtual ~TrainingSink() = default;
  // Once, before the first step: the hyperparameters in effect (no -1
  // left) and the number of steps planned.
  virtual Status Started(const Hyperparameters& resolved,
                         int64_t total_steps) = 0;
  // A job event; level is "info", "warning" or "error". Never include
  // customer data in `message`.
  virtual Status Event(std::string_view level, std::string_view message) = 0;
  virtual Status Metrics(const StepMetrics& metrics) = 0;
  // Starts storing a snapshot of the model after `step`: a checkpoint
  // (final = false, at least one per epoch) or the finished model
  // (final = true, exactly once, last).
  virtual Result<std::unique_ptr<ModelWriter>> BeginModel(int64_t step,
                                                          bool final) = 0;
  // True once the job was cancelled; trainers check between steps and then
  // return Status(kCancelled).
  virtual bool Cancelled() const = 0;
};

struct TrainingSummary {
  Hyperparameters resolved;
  int64_t trained_tokens = 0;  // Tokens seen in training, over all epochs.
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  // Errors: InvalidArgument with reason "invalid_training_file" (or
  // "invalid_validation_file", "invalid_n_examples") for data the trainer
  // cannot use; kCancelled when cancelled; a sink's error unchanged;
  // Internal for a trainer failure (message without customer data).
  virtual Result<TrainingSummary> Train(const TrainingRequest& request,
                                        TrainingSink& sink) = 0;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_TRAINER_H_
