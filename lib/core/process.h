// ProcessRunner: runs an external program with an argument vector (never through a shell) and
// extra environment variables, returning its exit code, stdout and stderr separately. The one seam
// for code in lib/ that must start a process (exec credential plugins, the kubectl plugin's
// helpers); tests use real small scripts or a fake runner.
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::core {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH unless it contains a '/'
  // Added to (or replacing in) the parent's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<std::string> working_dir;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // When set, the child's stderr goes to the parent's stderr (an interactive tool's prompts and
  // messages) instead of being captured.
  bool inherit_stderr = false;
};

struct ProcessOutput {
  int exit_code = -1;       // 128 + signal when the program was killed by a signal
  std::string stdout_text;  // at most 1 MiB
  std::string stderr_text;  // at most 64 KiB; empty with inherit_stderr
};

class ProcessRunner {
public:
  virtual ~ProcessRunner() = default;
  // Unavailable when the program cannot be started; DeadlineExceeded (after killing it) on
  // timeout. A non-zero exit is a result, not an error.
  [[nodiscard]] virtual StatusOr<ProcessOutput> run(const ProcessSpec& spec) = 0;
};
using ProcessRunnerPtr = std::shared_ptr<ProcessRunner>;

// The real runner (posix_spawn, stdin from /dev/null).
ProcessRunnerPtr newProcessRunner();

}  // namespace novacron::core
