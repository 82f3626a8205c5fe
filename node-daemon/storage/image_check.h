// Turns an untrusted downloaded image into a standalone qcow2 the node owns:
//   1. readImageHeader(): our own reading of the header (format, backing/data-file references);
//      anything that refers to another file, is encrypted or is not qcow2/raw is refused before
//      any tool opens it;
//   2. `qemu-img info -f <format> --output=json` under resource limits, and the same refusals
//      applied to its answer (backing-filename, full-backing-filename, data-file, any "json:"
//      filename, a virtual size above the cap);
//   3. `qemu-img convert -f <format> -O qcow2` under resource limits (the output file size is
//      capped by RLIMIT_FSIZE) into `dst`.
// qemu-img is never asked to probe a format. Errors: InvalidArgument for a refused image
// (terminal until the spec changes), Unavailable/DeadlineExceeded/Internal when the tool fails.
// Thread-safety: pure functions (they run processes).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "lib/core/status.h"
#include "node-daemon/storage/image_header.h"
#include "node-daemon/storage/process.h"

namespace novacron::node::storage {

struct ImageCheckOptions {
  std::string qemu_img = "qemu-img";
  std::string prlimit = "prlimit";
  uint64_t max_virtual_bytes = 1ULL << 40;  // 1 TiB: larger disks are refused
  uint64_t tool_memory_bytes = 1ULL << 30;  // RLIMIT_AS of qemu-img
  uint64_t info_cpu_seconds = 30;           // RLIMIT_CPU of qemu-img info
  uint64_t convert_cpu_seconds = 3600;      // RLIMIT_CPU of qemu-img convert
  std::chrono::milliseconds info_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds convert_timeout{std::chrono::hours(2)};
};

// Steps 1 and 2: the image's format when it may be used. `what` names it in messages (its URL).
[[nodiscard]] core::StatusOr<ImageFormat> checkUntrustedImage(const std::string& path,
                                                              const std::string& what,
                                                              const ImageCheckOptions& options,
                                                              const std::atomic<bool>* cancel);

// Step 2's judgement of `qemu-img info --output=json` text (exposed for tests).
[[nodiscard]] core::Status checkQemuImgInfo(const std::string& json, ImageFormat format,
                                            const std::string& what,
                                            const ImageCheckOptions& options);

// Step 3: writes a standalone qcow2 copy of `src` to `dst` (overwritten).
[[nodiscard]] core::Status convertToStandalone(const std::string& src, ImageFormat format,
                                               const std::string& dst,
                                               const ImageCheckOptions& options,
                                               const std::atomic<bool>* cancel);

}  // namespace novacron::node::storage
