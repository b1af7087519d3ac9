// TrainerProcess (training/trainer_process.h): posix_spawn with pipes, and
// the signals and waits that stop and reap the child.
#include "training/trainer_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

// posix_spawn_file_actions_addclosefrom_np closes every inherited descriptor
// above 3 in the child (glibc 2.34; addchdir_np is 2.29); Debian 12 ships
// 2.36.
#if !defined(__GLIBC__) || __GLIBC__ < 2 || \
    (__GLIBC__ == 2 && __GLIBC_MINOR__ < 34)
#error "TrainerProcess needs glibc 2.34 or later (addclosefrom_np)"
#endif

namespace atrest::training {
namespace {

// How often Terminate looks whether the child has exited.
constexpr std::chrono::milliseconds kExitPoll{5};

// On Linux the descriptor is released even when close() reports EINTR.
void CloseFd(int fd) { (void)::close(fd); }

// A pipe whose ends are close-on-exec. The child's end is moved above 3 so
// that dup2 onto 0-3 in the child cannot overwrite another source.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Status ErrnoError(const std::string& what, int err) {
  return InternalError(what + ": " + ErrnoText(err));
}

Status MakePipe(Pipe* p, bool child_reads) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  p->read = UniqueFd(fds[0]);
  p->write = UniqueFd(fds[1]);
  UniqueFd& child = child_reads ? p->read : p->write;
  UniqueFd& parent = child_reads ? p->write : p->read;
  if (child.get() <= 3) {
    const int moved = ::fcntl(child.get(), F_DUPFD_CLOEXEC, 4);
    if (moved < 0) return ErrnoError("fcntl F_DUPFD_CLOEXEC", errno);
    child = UniqueFd(moved);
  }
  const int flags = ::fcntl(parent.get(), F_GETFL);
  if (flags < 0 || ::fcntl(parent.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoError("fcntl O_NONBLOCK", errno);
  }
  return Status::Ok();
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { posix_spawnattr_init(&attr); }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
};
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

void UniqueFd::Reset() {
  if (fd_ >= 0) CloseFd(fd_);
  fd_ = -1;
}

std::string ExitStatus::ToString() const {
  if (exited) return "exited with status " + std::to_string(code);
  if (signal != 0) return "was killed by signal " + std::to_string(signal);
  return "ended with an unknown status";
}

Result<std::unique_ptr<TrainerProcess>> TrainerProcess::Start(
    const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return InvalidArgumentError("trainer command must be an absolute path");
  }
  Pipe in, out, model, err;
  RETURN_IF_ERROR(MakePipe(&in, /*child_reads=*/true));
  RETURN_IF_ERROR(MakePipe(&out, /*child_reads=*/false));
  RETURN_IF_ERROR(MakePipe(&model, /*child_reads=*/false));
  RETURN_IF_ERROR(MakePipe(&err, /*child_reads=*/false));

  SpawnActions fa;
  int rc = 0;
  const std::pair<int, int> dups[] = {{in.read.get(), 0},
                                      {out.write.get(), 1},
                                      {err.write.get(), 2},
                                      {model.write.get(), 3}};
  for (const auto& [from, to] : dups) {
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa.actions, from, to);
  }
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&fa.actions, 4);
  // Not atrest's working directory: nothing the trainer does by relative
  // path should land among atrest's files.
  if (rc == 0) rc = posix_spawn_file_actions_addchdir_np(&fa.actions, "/");
  if (rc != 0) return ErrnoError("posix_spawn_file_actions", rc);

  SpawnAttr sa;
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  // Ignored dispositions survive exec; put back the ones a trainer relies on.
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1,
                  SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  rc = posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETPGROUP |
                                              POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&sa.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&sa.attr, &empty);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&sa.attr, &defaults);
  if (rc != 0) return ErrnoError("posix_spawnattr", rc);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const char* e : kTrainerEnvironment) env.push_back(const_cast<char*>(e));
  env.push_back(nullptr);

  pid_t pid = -1;
  // glibc reports a failed exec (ENOENT, EACCES, ...) as posix_spawn's result.
  rc = ::posix_spawn(&pid, argv[0].c_str(), &fa.actions, &sa.attr, args.data(),
                     env.data());
  if (rc != 0) return ErrnoError("cannot start trainer " + argv[0], rc);
  // The child's ends close here, when the Pipes go out of scope.
  return std::unique_ptr<TrainerProcess>(
      new TrainerProcess(pid, std::move(in.write), std::move(out.read),
                         std::move(model.read), std::move(err.read)));
}

TrainerProcess::~TrainerProcess() {
  if (!reaped_) Reap();
}

void TrainerProcess::SignalGroup(int signal) {
  // The group id is the child's pid; while the child is unreaped no other
  // process or group can take it.
  if (!reaped_) (void)::kill(-pid_, signal);
}

bool TrainerProcess::HasExited() {
  if (reaped_) return true;
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info,
                  WEXITED | WNOHANG | WNOWAIT);
  } while (rc != 0 && errno == EINTR);
  // ECHILD: someone else reaped it (SIGCHLD ignored); it is gone either way.
  return rc != 0 || info.si_pid == pid_;
}

ExitStatus TrainerProcess::Terminate(std::chrono::milliseconds grace) {
  if (reaped_) return exit_status_;
  stdin_.Reset();
  CloseStdout();
  CloseModel();
  CloseStderr();
  SignalGroup(SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!HasExited() && std::chrono::steady_clock::now() < deadline) {
    ::poll(nullptr, 0, static_cast<int>(kExitPoll.count()));
  }
  return Reap();
}

ExitStatus TrainerProcess::Reap() {
  if (reaped_) return exit_status_;
  // Helpers the trainer left behind in its group, or the trainer itself
  // when it has not exited yet.
  SignalGroup(SIGKILL);
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  reaped_ = true;
  if (rc == pid_ && WIFEXITED(status)) {
    exit_status_ = {.exited = true, .code = WEXITSTATUS(status)};
  } else if (rc == pid_ && WIFSIGNALED(status)) {
    exit_status_ = {.exited = false, .signal = WTERMSIG(status)};
  }
  return exit_status_;
}

std::string ErrnoText(int err) {
  char buf[256] = {};
  // GNU strerror_r returns the text (maybe not in buf).
  return strerror_r(err, buf, sizeof(buf));
}

}  // namespace atrest::training
