// posix_spawn-based ProcessRunner: stdout and stderr on two pipes read with poll() until both
// close, then the child is reaped. Captured output is capped; the rest is drained and dropped so a
// chatty child never blocks on a full pipe.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/process.h"

extern char** environ;

namespace novacron::core {
namespace {

constexpr size_t kMaxStdout = 1 << 20;
constexpr size_t kMaxStderr = 64 << 10;

std::vector<std::string> mergedEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) {
      vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [name, value] : extra) {
    vars[name] = value;
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) {
    out.push_back(name + "=" + value);
  }
  return out;
}

class PosixProcessRunner final : public ProcessRunner {
public:
  StatusOr<ProcessOutput> run(const ProcessSpec& spec) override {
    if (spec.argv.empty()) {
      return invalidArgumentError("run process: empty argv");
    }
    int out_pipe[2];
    int err_pipe[2] = {-1, -1};
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
      return unavailableError(std::string("pipe: ") + std::strerror(errno));
    }
    if (!spec.inherit_stderr && pipe2(err_pipe, O_CLOEXEC) != 0) {
      close(out_pipe[0]);
      close(out_pipe[1]);
      return unavailableError(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    if (!spec.inherit_stderr) {
      posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    }
    if (spec.working_dir) {
      posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir->c_str());
    }
    std::vector<char*> args;
    for (const auto& a : spec.argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    std::vector<std::string> env_text = mergedEnvironment(spec.env);
    std::vector<char*> envp;
    for (auto& e : env_text) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    // The child starts with default signal handling and nothing blocked, whatever this process
    // set up for itself (TerminationSignals blocks SIGTERM/SIGINT and ignores SIGPIPE).
    posix_spawnattr_t attrs;
    posix_spawnattr_init(&attrs);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attrs, &defaults);
    posix_spawnattr_setsigmask(&attrs, &none);
    posix_spawnattr_setflags(&attrs, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &actions, &attrs, args.data(), envp.data());
    posix_spawnattr_destroy(&attrs);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    if (err_pipe[1] >= 0) {
      close(err_pipe[1]);
    }
    if (rc != 0) {
      close(out_pipe[0]);
      if (err_pipe[0] >= 0) {
        close(err_pipe[0]);
      }
      return unavailableError("cannot run " + spec.argv[0] + ": " + std::strerror(rc));
    }
    ProcessOutput result;
    const auto deadline = std::chrono::steady_clock::now() + spec.timeout;
    bool timed_out = false;
    int fds[2] = {out_pipe[0], err_pipe[0]};
    char buf[4096];
    while (fds[0] >= 0 || fds[1] >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
      int pr = poll(p, 2, static_cast<int>(std::min<int64_t>(left.count(), 200)));
      if (pr < 0 && errno != EINTR) {
        break;
      }
      for (int i = 0; i < 2 && pr > 0; ++i) {
        if (fds[i] < 0 || p[i].revents == 0) {
          continue;
        }
        ssize_t n = read(fds[i], buf, sizeof(buf));
        if (n <= 0) {
          close(fds[i]);
          fds[i] = -1;
          continue;
        }
        std::string& sink = i == 0 ? result.stdout_text : result.stderr_text;
        size_t cap = i == 0 ? kMaxStdout : kMaxStderr;
        if (sink.size() < cap) {
          sink.append(buf, std::min(static_cast<size_t>(n), cap - sink.size()));
        }
      }
    }
    for (int fd : fds) {
      if (fd >= 0) {
        close(fd);
      }
    }
    if (timed_out) {
      kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
      return deadlineExceededError(spec.argv[0] + " did not finish within " +
                                   std::to_string(spec.timeout.count()) + " ms");
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
  }
};

}  // namespace

ProcessRunnerPtr newProcessRunner() {
  return std::make_shared<PosixProcessRunner>();
}

}  // namespace novacron::core
