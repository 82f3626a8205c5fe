// Runs an external program (qemu-img, genisoimage, curl) with an argument vector, never through a
// shell, so no argument can be interpreted as shell syntax. stdout/stderr are captured (capped).
// Programs that read untrusted input run under resource limits (prlimit(1) sets them in the
// child before it execs the program) and can be cancelled.
// Thread-safety: safe from any thread (posix_spawn; no shared state).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::node::storage {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when the program was killed by a signal
  std::string output;  // stdout and stderr interleaved, at most 64 KiB
};

// Kernel-enforced limits for the child (0 = not limited).
struct ProcessLimits {
  uint64_t address_space_bytes = 0;  // RLIMIT_AS
  uint64_t cpu_seconds = 0;          // RLIMIT_CPU
  uint64_t file_size_bytes = 0;      // RLIMIT_FSIZE: no file the child writes grows beyond this
};

struct ProcessOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  ProcessLimits limits;
  // When set and it becomes true, the child is killed and Cancelled is returned.
  const std::atomic<bool>* cancel = nullptr;
  std::string prlimit = "prlimit";
};

// Unavailable when the program cannot be started; DeadlineExceeded (after killing it) on timeout.
// A non-zero exit is returned as a result, not an error.
[[nodiscard]] core::StatusOr<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                                       const ProcessOptions& options);
[[nodiscard]] core::StatusOr<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                                       std::chrono::milliseconds timeout);

// Like runProcess, but a non-zero exit becomes Internal with the program's output.
[[nodiscard]] core::Status runChecked(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout);

}  // namespace novacron::node::storage
