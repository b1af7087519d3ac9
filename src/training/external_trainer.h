// ExternalTrainer: a Trainer (training/trainer.h) that runs a configured
// command and speaks the atrest-trainer/1 protocol with it over pipes
// (docs/trainer-protocol.md is the full description; this header is its
// contract in code).
//
// In short: atrest starts argv (no shell, a minimal environment, in a process
// group of its own, every other file descriptor closed) with stdin, stdout,
// stderr and fd 3 as pipes. stdin carries one JSON header line, then the
// training and validation JSON Lines, then EOF. stdout carries one JSON
// message per line (TrainerMessage). Each "model" message announces exactly
// that many model bytes on fd 3, which go to TrainingSink::BeginModel's
// writer as they arrive. stderr is read and counted, never kept or shown: it
// could hold customer data.
//
// Plaintext training data exists only in the DataSources' buffers and the
// stdin pipe; model bytes only in a wiped buffer between fd 3 and the
// ModelWriter, which encrypts them.
//
// Train succeeds when the trainer sent "done" after exactly one final model,
// every announced model byte arrived, and it exited with status 0. Anything
// else stops the trainer (SIGTERM to its process group, SIGKILL after
// ExternalTrainerOptions::kill_grace), reaps it and returns an error:
//  - an "error" message with code invalid_training_file,
//    invalid_validation_file or invalid_n_examples: InvalidArgument with
//    that code as reason and the trainer's message; any other code: Internal;
//  - TrainingSink::Cancelled(): Status(kCancelled), noticed within 100 ms;
//  - an error of the sink or of a DataSource: that error, unchanged;
//  - anything else (a protocol violation, an exit status, a limit): Internal,
//    with a message naming the problem and never quoting what the trainer
//    sent.
//
// Thread safety: an ExternalTrainer is immutable; Train may run on several
// threads at once (each call starts its own process). Each call uses one
// extra thread to feed the trainer's stdin: the request's DataSources are
// called on that thread, the sink only on the thread that called Train.
#ifndef ATREST_TRAINING_EXTERNAL_TRAINER_H_
#define ATREST_TRAINING_EXTERNAL_TRAINER_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"
#include "training/trainer.h"

namespace atrest::training {

// The protocol's name and version, the header line's "protocol" field.
inline constexpr std::string_view kTrainerProtocol = "atrest-trainer/1";
// Longest message line on stdout, without its "\n".
inline constexpr size_t kMaxTrainerMessageLine = 64 * 1024;
// Longest "message" of an event or error, in bytes.
inline constexpr size_t kMaxTrainerText = 4096;
// Longest error "code".
inline constexpr size_t kMaxTrainerErrorCode = 64;

struct ExternalTrainerOptions {
  // The command: argv[0] is an absolute path to an executable (no shell, no
  // PATH search); the rest are its arguments.
  std::vector<std::string> argv;
  // The whole run, from start to exit.
  std::chrono::seconds timeout{std::chrono::hours(24)};
  // Between SIGTERM and SIGKILL when atrest stops the trainer; also how long
  // a trainer has to exit after "done" or "error" (at least 1 s for that).
  std::chrono::milliseconds kill_grace{std::chrono::seconds(3)};
  // Largest single model snapshot a "model" message may announce.
  uint64_t max_model_bytes = uint64_t{4} << 30;
};

// The messages a trainer writes to stdout, one JSON object per line.

// {"type":"started","hyperparameters":{...},"total_steps":N}
struct TrainerStarted {
  Hyperparameters hyperparameters;  // All resolved: no -1.
  int64_t total_steps = 0;          // >= 1.
};
// {"type":"event","level":"info"|"warning"|"error","message":"..."}
struct TrainerEvent {
  std::string level;
  std::string message;  // 1 to kMaxTrainerText bytes.
};
// {"type":"metrics","step":..,"epoch":..,"train_loss":..,...}: StepMetrics
// with step, epoch >= 1, losses >= 0 and accuracies in [0, 1].
// {"type":"model","step":N,"final":bool,"bytes":K}
struct TrainerModel {
  int64_t step = 0;  // >= 1.
  bool final = false;
  uint64_t bytes = 0;  // >= 1; exactly this many follow on fd 3.
};
// {"type":"done","trained_tokens":T}
struct TrainerDone {
  int64_t trained_tokens = 0;  // >= 0.
};
// {"type":"error","code":"...","message":"..."}
struct TrainerError {
  std::string code;     // 1 to kMaxTrainerErrorCode of [a-z0-9_].
  std::string message;  // 1 to kMaxTrainerText bytes.
};

using TrainerMessage = std::variant<TrainerStarted, TrainerEvent, StepMetrics,
                                    TrainerModel, TrainerDone, TrainerError>;

// Parses one stdout line (without its "\n") of untrusted input. Checks every
// field's presence, type and range; fields it does not know are ignored.
// InvalidArgument naming the field and the rule on any problem, never
// quoting the line.
Result<TrainerMessage> ParseTrainerMessage(std::string_view line);

// The line (without "\n") that ParseTrainerMessage reads back as `message`;
// for trainers written in C++ and for tests.
std::string FormatTrainerMessage(const TrainerMessage& message);

class ExternalTrainer final : public Trainer {
 public:
  // InvalidArgument when argv is empty, argv[0] is not an absolute path, an
  // argument holds a NUL byte, timeout is not positive, kill_grace is
  // negative, or max_model_bytes is 0.
  static Result<std::unique_ptr<ExternalTrainer>> Create(
      ExternalTrainerOptions options);

  // See the file comment for what success and each error mean.
  Result<TrainingSummary> Train(const TrainingRequest& request,
                                TrainingSink& sink) override;

 private:
  explicit ExternalTrainer(ExternalTrainerOptions options)
      : options_(std::move(options)) {}

  const ExternalTrainerOptions options_;
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_EXTERNAL_TRAINER_H_
