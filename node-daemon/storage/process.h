// Runs an external program (qemu-img, genisoimage, curl) with an argument vector, never through a
// shell, so no argument can be interpreted as shell syntax. stdout/stderr are captured (capped).
// Thread-safety: safe from any thread (posix_spawn; no shared state).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::node::storage {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr interleaved, at most 64 KiB
};

// Unavailable when the program cannot be started; DeadlineExceeded (after killing it) on timeout.
// A non-zero exit is returned as a result, not an error.
[[nodiscard]] core::StatusOr<ProcessResult> runProcess(const std::vector<std::string>& argv,
                                                       std::chrono::milliseconds timeout);

// Like runProcess, but a non-zero exit becomes Internal with the program's output.
[[nodiscard]] core::Status runChecked(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout);

}  // namespace novacron::node::storage
