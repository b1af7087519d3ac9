// TrainerInput (training/trainer_input.h): the header line and the data,
// written to the trainer's non-blocking stdin with poll() so that Stop()
// is noticed within kTick even when the trainer reads nothing.
#include "training/trainer_input.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "base/json.h"
#include "training/external_trainer.h"

namespace atrest::training {
namespace {

// The longest a write waits before looking at stop_ again.
constexpr std::chrono::milliseconds kTick{100};

}  // namespace

std::string TrainerHeaderLine(const TrainingRequest& r) {
  const nlohmann::json header = {
      {"protocol", std::string(kTrainerProtocol)},
      {"base_model", r.base_model},
      {"hyperparameters",
       {{"n_epochs", r.hyperparameters.n_epochs},
        {"batch_size", r.hyperparameters.batch_size},
        {"learning_rate_multiplier",
         r.hyperparameters.learning_rate_multiplier}}},
      {"seed", r.seed},
      {"training_bytes", r.training_bytes},
      {"validation_bytes", r.validation ? r.validation_bytes : 0},
  };
  return DumpJson(header) + "\n";
}

TrainerInput::TrainerInput(UniqueFd stdin_fd, const TrainingRequest& request)
    : fd_(std::move(stdin_fd)),
      header_(TrainerHeaderLine(request)),
      request_(request),
      thread_([this] { Run(); }) {}

void TrainerInput::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  fd_.Reset();
}

std::optional<Status> TrainerInput::Failure() {
  if (!failed_.load()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void TrainerInput::Run() {
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

  Status s = Feed();
  if (s.ok()) {
    fd_.Reset();  // EOF for the trainer.
  } else if (end_ == WriteEnd::kNone) {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = std::move(s);
    failed_.store(true);
  }
  // An EPIPE left SIGPIPE pending on this thread; take it before the thread
  // ends so that it is never delivered.
  const timespec zero = {0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
  }
}

Status TrainerInput::Feed() {
  RETURN_IF_ERROR(WriteAll(AsBytes(header_)));
  RETURN_IF_ERROR(
      FeedFile(request_.training, request_.training_bytes, "training"));
  if (request_.validation) {
    RETURN_IF_ERROR(
        FeedFile(request_.validation, request_.validation_bytes, "validation"));
  }
  return Status::Ok();
}

Status TrainerInput::FeedFile(const DataSource& source, uint64_t declared,
                              const char* name) {
  uint64_t streamed = 0;
  const Status s = source([&](ByteView chunk) -> Status {
    if (chunk.size() > declared - streamed) {
      return InternalError(std::string(name) +
                           " data is longer than its declared " +
                           std::to_string(declared) + " bytes");
    }
    streamed += chunk.size();
    return WriteAll(chunk);
  });
  if (!s.ok()) return s;
  if (streamed != declared) {
    return InternalError(std::string(name) + " data has " +
                         std::to_string(streamed) + " bytes, not the " +
                         std::to_string(declared) + " declared");
  }
  return Status::Ok();
}

Status TrainerInput::WriteAll(ByteView data) {
  while (!data.empty()) {
    if (stop_.load()) return Stopped(WriteEnd::kStopped);
    pollfd p = {.fd = fd_.get(), .events = POLLOUT, .revents = 0};
    const int n = ::poll(&p, 1, static_cast<int>(kTick.count()));
    if (n < 0 && errno != EINTR) {
      return InternalError("poll on the trainer's stdin: " + ErrnoText(errno));
    }
    if (n <= 0) continue;
    const ssize_t w = ::write(fd_.get(), data.data(), data.size());
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == EPIPE) return Stopped(WriteEnd::kTrainerClosed);
      return InternalError("write to the trainer's stdin: " + ErrnoText(errno));
    }
    data = data.subspan(static_cast<size_t>(w));
  }
  return Status::Ok();
}

Status TrainerInput::Stopped(WriteEnd end) {
  end_ = end;
  return Status(StatusCode::kAborted, "trainer input stopped");
}

}  // namespace atrest::training
