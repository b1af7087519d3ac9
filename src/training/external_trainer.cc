// ExternalTrainer (training/external_trainer.h): one Train call is a
// TrainerProcess (training/trainer_process.h), a TrainerInput thread writing
// the header and the data to its stdin (training/trainer_input.h), and a
// Session on the calling thread that polls stdout, fd 3 and stderr, enforces
// the protocol's order and limits, and drives the sink.
#include "training/external_trainer.h"

#include <poll.h>
#include <string.h>  // explicit_bzero
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "crypto/secret_bytes.h"
#include "training/trainer_input.h"
#include "training/trainer_process.h"

namespace atrest::training {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The longest wait between two looks at TrainingSink::Cancelled() and at
// the input.
constexpr milliseconds kTick{100};
// Pause while every pipe is closed and the child has not exited yet.
constexpr milliseconds kExitTick{5};
// The shortest time a trainer gets to exit after "done" or "error".
constexpr milliseconds kMinExitWait{1000};
// Bytes read from stdout or stderr per read().
constexpr size_t kReadChunk = 64 * 1024;
// Bytes of model read from fd 3 per read().
constexpr size_t kModelChunk = 256 * 1024;

Status Violation(std::string what) { return InternalError(std::move(what)); }

// Maps the trainer's "error" message to the Status Train returns.
Status FromTrainerError(const TrainerError& e) {
  if (e.code == "invalid_training_file" ||
      e.code == "invalid_validation_file" || e.code == "invalid_n_examples") {
    return Status(StatusCode::kInvalidArgument, e.message, e.code);
  }
  return InternalError("trainer failed with error code " + e.code + ": " +
                       e.message);
}

// Overload set for std::visit.
template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// The reading side of one run, on the thread that called Train.
class Session {
 public:
  Session(const ExternalTrainerOptions& options, TrainingSink& sink,
          TrainerProcess& process, TrainerInput& input)
      : options_(options),
        sink_(sink),
        process_(process),
        input_(input),
        deadline_(Clock::now() + options.timeout) {}

  // Reads until the trainer has exited and its pipes are drained, then
  // judges the run. On an error the caller stops the trainer.
  Result<TrainingSummary> Run() {
    bool exited = false;
    while (true) {
      if (sink_.Cancelled()) {
        return Status(StatusCode::kCancelled, "the job was cancelled");
      }
      if (std::optional<Status> f = input_.Failure()) return *f;
      const Clock::time_point now = Clock::now();
      if (now >= deadline_) {
        return Violation("trainer did not finish within the timeout of " +
                         std::to_string(options_.timeout.count()) + " s");
      }
      if (exit_deadline_ && now >= *exit_deadline_) {
        if (error_) return *error_;
        return Violation("trainer did not exit within " +
                         std::to_string(ExitWait().count()) +
                         " ms after reporting done");
      }
      // Looked at before poll(): whatever the child wrote before exiting is
      // then already in the pipes that poll() sees.
      if (!exited) exited = process_.HasExited();

      pollfd fds[3];
      nfds_t n = 0;
      // While model bytes are due, stdout is read ahead only up to one line.
      if (process_.stdout_fd() >= 0 &&
          (!writer_ || buffer_.size() <= kMaxTrainerMessageLine)) {
        fds[n++] = {.fd = process_.stdout_fd(), .events = POLLIN};
      }
      if (process_.model_fd() >= 0 && writer_) {
        fds[n++] = {.fd = process_.model_fd(), .events = POLLIN};
      }
      if (process_.stderr_fd() >= 0) {
        fds[n++] = {.fd = process_.stderr_fd(), .events = POLLIN};
      }
      if (n == 0) {
        if (exited) break;
        ::poll(nullptr, 0, static_cast<int>(kExitTick.count()));
        continue;
      }
      const auto left = std::chrono::ceil<milliseconds>(deadline_ - now);
      const int timeout =
          exited ? 0 : static_cast<int>(std::min(kTick, left).count());
      const int ready = ::poll(fds, n, timeout);
      if (ready < 0) {
        if (errno == EINTR) continue;
        return InternalError("poll on the trainer's pipes: " +
                             ErrnoText(errno));
      }
      // The child is gone and nothing more is readable: helpers it left
      // may hold the pipes open, but the trainer has said all it will.
      if (ready == 0) {
        if (exited) break;
        continue;
      }
      for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        if (fds[i].fd == process_.stdout_fd()) {
          RETURN_IF_ERROR(ReadStdout());
        } else if (fds[i].fd == process_.model_fd()) {
          RETURN_IF_ERROR(ReadModel());
        } else {
          ReadStderr();
        }
      }
      RETURN_IF_ERROR(ProcessLines());
    }
    return Finish();
  }

 private:
  milliseconds ExitWait() const {
    return std::max(options_.kill_grace, kMinExitWait);
  }

  std::string OnLine(int64_t n) const {
    return " on line " + std::to_string(n);
  }

  // " (it wrote N bytes to stderr, not shown)" when there were any: stderr
  // may hold customer data, so only its size is ever told.
  std::string StderrNote() const {
    if (stderr_bytes_ == 0) return "";
    return " (it wrote " + std::to_string(stderr_bytes_) +
           " bytes to stderr, not shown)";
  }

  Status ReadStdout() {
    const size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    const ssize_t r =
        ::read(process_.stdout_fd(), buffer_.data() + old, kReadChunk);
    const int err = errno;
    buffer_.resize(old + static_cast<size_t>(std::max<ssize_t>(r, 0)));
    if (r > 0) return Status::Ok();
    if (r == 0) {
      process_.CloseStdout();
      return Status::Ok();
    }
    if (err == EAGAIN || err == EINTR) return Status::Ok();
    return InternalError("read from the trainer's stdout: " + ErrnoText(err));
  }

  void ReadStderr() {
    char scratch[4096];
    const ssize_t r = ::read(process_.stderr_fd(), scratch, sizeof(scratch));
    if (r > 0) {
      stderr_bytes_ += static_cast<uint64_t>(r);
      explicit_bzero(scratch, sizeof(scratch));  // Never optimised away.
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
      process_.CloseStderr();
    }
  }

  Status ReadModel() {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(model_left_, kModelChunk));
    MutableByteView buf = model_buffer_.MutableSecret().first(want);
    const ssize_t r = ::read(process_.model_fd(), buf.data(), buf.size());
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return Status::Ok();
      return InternalError("read from the trainer's fd 3: " + ErrnoText(errno));
    }
    if (r == 0) {
      process_.CloseModel();
      return Violation("trainer closed fd 3 after " +
                       std::to_string(model_size_ - model_left_) + " of the " +
                       std::to_string(model_size_) + " model bytes announced" +
                       OnLine(model_line_));
    }
    RETURN_IF_ERROR(writer_->Write(buf.first(static_cast<size_t>(r))));
    model_left_ -= static_cast<uint64_t>(r);
    if (model_left_ == 0) {
      RETURN_IF_ERROR(writer_->Finish());
      writer_.reset();
    }
    return Status::Ok();
  }

  // Handles the complete lines in buffer_, unless model bytes are due.
  Status ProcessLines() {
    size_t start = 0;
    while (!writer_) {
      const size_t nl = buffer_.find('\n', start + scanned_);
      if (nl == std::string::npos) {
        scanned_ = buffer_.size() - start;
        break;
      }
      const std::string_view line(buffer_.data() + start, nl - start);
      ++lines_;
      if (line.size() > kMaxTrainerMessageLine) return LineTooLong();
      // After "error" the rest of stdout is ignored.
      if (!error_) RETURN_IF_ERROR(HandleLine(line));
      start = nl + 1;
      scanned_ = 0;
    }
    buffer_.erase(0, start);
    if (!writer_ && buffer_.size() > kMaxTrainerMessageLine) {
      ++lines_;
      return LineTooLong();
    }
    return Status::Ok();
  }

  Status LineTooLong() const {
    return Violation("trainer sent a message longer than " +
                     std::to_string(kMaxTrainerMessageLine) + " bytes" +
                     OnLine(lines_));
  }

  Status HandleLine(std::string_view line) {
    Result<TrainerMessage> m = ParseTrainerMessage(line);
    if (!m.ok()) {
      return Violation("trainer sent an invalid message" + OnLine(lines_) +
                       ": " + m.status().message());
    }
    if (done_) {
      return Violation("trainer sent a message after done" + OnLine(lines_));
    }
    return std::visit(Overloaded{
                          [&](const TrainerStarted& s) { return OnStarted(s); },
                          [&](const TrainerEvent& e) {
                            return sink_.Event(e.level, e.message);
                          },
                          [&](const StepMetrics& s) { return OnMetrics(s); },
                          [&](const TrainerModel& s) { return OnModel(s); },
                          [&](const TrainerDone& s) { return OnDone(s); },
                          [&](const TrainerError& e) {
                            error_ = FromTrainerError(e);
                            exit_deadline_ = Clock::now() + ExitWait();
                            return Status::Ok();
                          },
                      },
                      *m);
  }

  Status OnStarted(const TrainerStarted& s) {
    if (started_) {
      return Violation("trainer sent a second started message" +
                       OnLine(lines_));
    }
    started_ = true;
    summary_.resolved = s.hyperparameters;
    return sink_.Started(s.hyperparameters, s.total_steps);
  }

  Status OnMetrics(const StepMetrics& m) {
    if (!started_) {
      return Violation("trainer sent metrics before started" + OnLine(lines_));
    }
    return sink_.Metrics(m);
  }

  Status OnModel(const TrainerModel& m) {
    if (!started_) {
      return Violation("trainer sent a model before started" + OnLine(lines_));
    }
    if (final_model_) {
      return Violation("trainer sent a model after the final one" +
                       OnLine(lines_));
    }
    if (m.bytes > options_.max_model_bytes) {
      return Violation("trainer announced a model of " +
                       std::to_string(m.bytes) + " bytes" + OnLine(lines_) +
                       ", more than the limit of " +
                       std::to_string(options_.max_model_bytes));
    }
    ASSIGN_OR_RETURN(writer_, sink_.BeginModel(m.step, m.final));
    final_model_ = m.final;
    model_size_ = m.bytes;
    model_left_ = m.bytes;
    model_line_ = lines_;
    return Status::Ok();
  }

  Status OnDone(const TrainerDone& d) {
    if (!final_model_) {
      return Violation("trainer reported done before sending a final model" +
                       OnLine(lines_));
    }
    done_ = true;
    summary_.trained_tokens = d.trained_tokens;
    exit_deadline_ = Clock::now() + ExitWait();
    return Status::Ok();
  }

  // The child has exited and nothing more is readable.
  Result<TrainingSummary> Finish() {
    const ExitStatus exit = process_.Reap();
    if (std::optional<Status> f = input_.Failure()) return *f;
    if (error_) return *error_;
    if (writer_) {
      return Violation("trainer " + exit.ToString() + " after sending " +
                       std::to_string(model_size_ - model_left_) + " of the " +
                       std::to_string(model_size_) + " model bytes announced" +
                       OnLine(model_line_) + StderrNote());
    }
    if (!buffer_.empty()) {
      return Violation("trainer " + exit.ToString() +
                       " in the middle of a message" + OnLine(lines_ + 1) +
                       StderrNote());
    }
    if (!done_) {
      return Violation("trainer " + exit.ToString() + " before reporting done" +
                       StderrNote());
    }
    if (!exit.success()) {
      return Violation("trainer " + exit.ToString() + " after reporting done" +
                       StderrNote());
    }
    if (process_.model_fd() >= 0) {
      uint8_t extra;
      if (::read(process_.model_fd(), &extra, 1) == 1) {
        return Violation(
            "trainer wrote more bytes to fd 3 than its model messages "
            "announced");
      }
    }
    return summary_;
  }

  const ExternalTrainerOptions& options_;
  TrainingSink& sink_;
  TrainerProcess& process_;
  TrainerInput& input_;
  const Clock::time_point deadline_;
  std::optional<Clock::time_point> exit_deadline_;

  std::string buffer_;  // Unhandled stdout bytes.
  size_t scanned_ = 0;  // Bytes after the last handled line without "\n".
  int64_t lines_ = 0;   // Lines handled.
  uint64_t stderr_bytes_ = 0;

  bool started_ = false;
  bool final_model_ = false;
  bool done_ = false;
  std::optional<Status> error_;  // From an "error" message.
  TrainingSummary summary_;

  // The model whose bytes are due on fd 3.
  std::unique_ptr<ModelWriter> writer_;
  uint64_t model_size_ = 0;
  uint64_t model_left_ = 0;
  int64_t model_line_ = 0;
  crypto::SecretBytes model_buffer_{kModelChunk};
};

}  // namespace

Result<std::unique_ptr<ExternalTrainer>> ExternalTrainer::Create(
    ExternalTrainerOptions options) {
  if (options.argv.empty()) {
    return InvalidArgumentError("trainer command is empty");
  }
  if (options.argv[0].empty() || options.argv[0][0] != '/') {
    return InvalidArgumentError("trainer command must be an absolute path");
  }
  for (const std::string& arg : options.argv) {
    if (arg.find('\0') != std::string::npos) {
      return InvalidArgumentError("trainer argument holds a NUL byte");
    }
  }
  if (options.timeout.count() <= 0) {
    return InvalidArgumentError("trainer timeout must be positive");
  }
  if (options.kill_grace.count() < 0) {
    return InvalidArgumentError("trainer kill grace must not be negative");
  }
  if (options.max_model_bytes == 0) {
    return InvalidArgumentError("trainer max model bytes must be positive");
  }
  return std::unique_ptr<ExternalTrainer>(
      new ExternalTrainer(std::move(options)));
}

Result<TrainingSummary> ExternalTrainer::Train(const TrainingRequest& request,
                                               TrainingSink& sink) {
  if (!request.training) {
    return InvalidArgumentError("training request has no training data");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TrainerProcess> process,
                   TrainerProcess::Start(options_.argv));
  TrainerInput input(process->TakeStdin(), request);
  Session session(options_, sink, *process, input);
  Result<TrainingSummary> result = session.Run();
  // Kills and reaps the trainer unless it was reaped already; its stdin's
  // reader is then gone, so the input thread stops at its next write.
  process->Terminate(options_.kill_grace);
  input.Stop();
  return result;
}

}  // namespace atrest::training
