// TrainerProcess: an external trainer command running as a child process
// with its stdin, stdout, stderr and fd 3 connected to pipes. Internal to
// the training module: ExternalTrainer (training/external_trainer.h) speaks
// the protocol over these pipes; this class only starts, signals and reaps.
//
// The child runs argv[0] (an absolute path: no shell, no PATH search) with
// kTrainerEnvironment only, in "/" as working directory, in a new process
// group whose id is its pid, with signal dispositions and mask reset and
// every descriptor above 3 closed. atrest's ends of the pipes are
// close-on-exec and non-blocking.
//
// The process group is what gets signalled: helpers the trainer starts die
// with it. Destroying a TrainerProcess that has not been reaped kills the
// group with SIGKILL and reaps the child, so no path leaves a zombie.
//
// Thread safety: one owner thread. The stdin descriptor may be taken
// (TakeStdin) and used by another thread.
#ifndef ATREST_TRAINING_TRAINER_PROCESS_H_
#define ATREST_TRAINING_TRAINER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace atrest::training {

// The whole environment of a trainer process.
inline constexpr const char* kTrainerEnvironment[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "LANG=C.UTF-8",
};

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// How a reaped child ended, in words for error messages: "exited with status
// 3" or "was killed by signal 9".
struct ExitStatus {
  bool exited = false;  // Exited normally; `code` is its status.
  int code = 0;
  int signal = 0;  // When !exited: the signal that ended it.
  bool success() const { return exited && code == 0; }
  std::string ToString() const;
};

class TrainerProcess {
 public:
  // Starts the command. Internal naming argv[0] and errno when it cannot be
  // started (the executable is missing, not executable, ...).
  static Result<std::unique_ptr<TrainerProcess>> Start(
      const std::vector<std::string>& argv);

  ~TrainerProcess();
  TrainerProcess(const TrainerProcess&) = delete;
  TrainerProcess& operator=(const TrainerProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The write end of the child's stdin; the caller owns it from now on.
  UniqueFd TakeStdin() { return std::move(stdin_); }
  // Read ends; -1 once closed.
  int stdout_fd() const { return stdout_.get(); }
  int model_fd() const { return model_.get(); }
  int stderr_fd() const { return stderr_.get(); }
  void CloseStdout() { stdout_.Reset(); }
  void CloseModel() { model_.Reset(); }
  void CloseStderr() { stderr_.Reset(); }

  // True once the child has exited (it stays unreaped until Reap, so its pid
  // and process group id cannot be reused meanwhile).
  bool HasExited();

  // Stops the child: closes the read ends, sends SIGTERM to the group, waits
  // up to `grace` for the child to exit, then SIGKILL. Reaps it. Returns how
  // it ended.
  ExitStatus Terminate(std::chrono::milliseconds grace);

  // Waits for the child to exit (use after HasExited), kills what is left of
  // its process group and reaps it.
  ExitStatus Reap();

 private:
  TrainerProcess(pid_t pid, UniqueFd stdin_fd, UniqueFd stdout_fd,
                 UniqueFd model_fd, UniqueFd stderr_fd)
      : pid_(pid),
        stdin_(std::move(stdin_fd)),
        stdout_(std::move(stdout_fd)),
        model_(std::move(model_fd)),
        stderr_(std::move(stderr_fd)) {}

  void SignalGroup(int signal);

  const pid_t pid_;
  bool reaped_ = false;
  ExitStatus exit_status_;
  UniqueFd stdin_;
  UniqueFd stdout_;
  UniqueFd model_;
  UniqueFd stderr_;
};

// The text of errno value `err` ("Broken pipe"), for error messages.
std::string ErrnoText(int err);

}  // namespace atrest::training

#endif  // ATREST_TRAINING_TRAINER_PROCESS_H_
