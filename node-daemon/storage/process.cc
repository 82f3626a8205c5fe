#include "node-daemon/storage/process.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace novacron::node::storage {

namespace {

std::vector<std::string> withLimits(const std::vector<std::string>& argv,
                                    const ProcessOptions& options) {
  const ProcessLimits& l = options.limits;
  if (l.address_space_bytes == 0 && l.cpu_seconds == 0 && l.file_size_bytes == 0) {
    return argv;
  }
  std::vector<std::string> out = {options.prlimit};
  if (l.address_space_bytes != 0) {
    out.push_back("--as=" + std::to_string(l.address_space_bytes));
  }
  if (l.cpu_seconds != 0) {
    out.push_back("--cpu=" + std::to_string(l.cpu_seconds));
  }
  if (l.file_size_bytes != 0) {
    out.push_back("--fsize=" + std::to_string(l.file_size_bytes));
  }
  out.push_back("--core=0");  // a killed child must not leave a core file behind
  out.push_back("--");
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace

core::StatusOr<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                         std::chrono::milliseconds timeout) {
  ProcessOptions options;
  options.timeout = timeout;
  return runProcess(argv, options);
}

core::StatusOr<ProcessResult> runProcess(const std::vector<std::string>& program_argv,
                                         const ProcessOptions& options) {
  if (program_argv.empty()) {
    return core::invalidArgumentError("runProcess: empty argv");
  }
  const std::vector<std::string> argv = withLimits(program_argv, options);
  const auto timeout = options.timeout;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return core::unavailableError(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return core::unavailableError("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  ProcessResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  bool cancelled = false;
  char buf[4096];
  while (true) {
    if (options.cancel != nullptr && options.cancel->load()) {
      cancelled = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    if (pr < 0 && errno != EINTR) {
      break;
    }
    if (pr <= 0) {
      continue;
    }
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      break;  // EOF: the child closed its output (normally: exited)
    }
    if (result.output.size() < 64 * 1024) {
      result.output.append(buf, static_cast<size_t>(n));
    }
  }
  close(fds[0]);
  if (timed_out || cancelled) {
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (cancelled) {
    return core::cancelledError(program_argv[0] + " was cancelled");
  }
  if (timed_out) {
    return core::deadlineExceededError(program_argv[0] + " did not finish within " +
                                       std::to_string(timeout.count()) + " ms");
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

core::Status runChecked(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  NOVACRON_ASSIGN_OR_RETURN(ProcessResult r, runProcess(argv, timeout));
  if (r.exit_code != 0) {
    return core::internalError(argv[0] + " exited with " + std::to_string(r.exit_code) + ": " +
                               r.output);
  }
  return core::okStatus();
}

}  // namespace novacron::node::storage
