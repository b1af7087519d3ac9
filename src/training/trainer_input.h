// TrainerInput: what an external trainer reads on stdin (docs/trainer-
// protocol.md), written from a thread of its own: the header line, exactly
// training_bytes of training data, exactly validation_bytes of validation
// data, then EOF. Internal to the training module (ExternalTrainer,
// training/external_trainer.h, reads the other pipes meanwhile, so neither
// side can block the other).
//
// The thread blocks SIGPIPE: a trainer that exits without reading
// everything makes write() fail with EPIPE, which only ends the feeding;
// whether the run succeeded is decided from what the trainer says and how
// it exits.
//
// A DataSource that fails, or streams a size other than the declared one,
// is a Failure(). stdin then stays open until Stop(), so that the trainer
// never sees an EOF after truncated data.
//
// Thread safety: Failure() and Stop() are called from the owner's thread;
// the request's DataSources run on the feeding thread.
#ifndef ATREST_TRAINING_TRAINER_INPUT_H_
#define ATREST_TRAINING_TRAINER_INPUT_H_

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/bytes.h"
#include "base/status.h"
#include "training/trainer.h"
#include "training/trainer_process.h"

namespace atrest::training {

// The header line, "\n" included.
std::string TrainerHeaderLine(const TrainingRequest& request);

class TrainerInput {
 public:
  // Starts feeding `stdin_fd` (non-blocking) at once. `request` is borrowed
  // and must outlive this object.
  TrainerInput(UniqueFd stdin_fd, const TrainingRequest& request);
  ~TrainerInput() { Stop(); }
  TrainerInput(const TrainerInput&) = delete;
  TrainerInput& operator=(const TrainerInput&) = delete;

  // Makes the thread give up within 100 ms (or when its DataSource next
  // returns), waits for it and closes stdin.
  void Stop();

  // The error that ended the feeding, when it was not the trainer closing
  // its stdin or Stop(): a DataSource's error unchanged, a size mismatch
  // or a write error (Internal).
  std::optional<Status> Failure();

 private:
  // Why WriteAll stopped, when it is not a failure.
  enum class WriteEnd { kNone, kTrainerClosed, kStopped };

  void Run();
  Status Feed();
  Status FeedFile(const DataSource& source, uint64_t declared,
                  const char* name);
  Status WriteAll(ByteView data);
  Status Stopped(WriteEnd end);

  UniqueFd fd_;
  const std::string header_;
  const TrainingRequest& request_;
  WriteEnd end_ = WriteEnd::kNone;  // Only the thread touches it.
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  Status failure_;      // Guarded by mu_; set once, before failed_.
  std::thread thread_;  // Last: starts once the members above exist.
};

}  // namespace atrest::training

#endif  // ATREST_TRAINING_TRAINER_INPUT_H_
