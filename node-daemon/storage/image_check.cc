#include "node-daemon/storage/image_check.h"

#include <nlohmann/json.hpp>

namespace novacron::node::storage {
namespace {

constexpr const char* kRefusal = "; images with backing or data-file references are refused";

// A "json:" pseudo-filename anywhere in qemu-img's answer means some file name in the image is
// really a block-layer option set (which can open any file): refuse.
bool mentionsJsonFilename(const nlohmann::json& j) {
  if (j.is_string()) {
    return j.get<std::string>().rfind("json:", 0) == 0;
  }
  if (j.is_object() || j.is_array()) {
    for (const auto& v : j) {
      if (mentionsJsonFilename(v)) {
        return true;
      }
    }
  }
  return false;
}

core::Status checkInfo(const nlohmann::json& info, ImageFormat format, const std::string& what,
                       const ImageCheckOptions& options) {
  if (info.value("format", std::string()) != formatName(format)) {
    return core::invalidArgumentError("image " + what + " is not a valid " + formatName(format) +
                                      " image");
  }
  for (const char* key : {"backing-filename", "full-backing-filename"}) {
    if (info.contains(key)) {
      return core::invalidArgumentError("image " + what + " refers to a backing file " +
                                        info[key].dump() + kRefusal);
    }
  }
  if (info.contains("format-specific")) {
    const auto& data = info["format-specific"].value("data", nlohmann::json::object());
    if (data.contains("data-file")) {
      return core::invalidArgumentError("image " + what + " refers to a data file " +
                                        data["data-file"].dump() + kRefusal);
    }
    if (data.value("corrupt", false)) {
      return core::invalidArgumentError("image " + what + " is marked corrupt");
    }
  }
  if (info.value("encrypted", false)) {
    return core::invalidArgumentError("image " + what + " is encrypted; not supported");
  }
  if (mentionsJsonFilename(info)) {
    return core::invalidArgumentError("image " + what + " refers to a json: filename" + kRefusal);
  }
  const uint64_t size = info.value("virtual-size", uint64_t{0});
  if (size > options.max_virtual_bytes) {
    return core::invalidArgumentError("image " + what + " has a virtual size of " +
                                      std::to_string(size) + " bytes, above the node's limit of " +
                                      std::to_string(options.max_virtual_bytes));
  }
  return core::okStatus();
}

ProcessOptions toolOptions(const ImageCheckOptions& options, std::chrono::milliseconds timeout,
                           uint64_t cpu_seconds, uint64_t file_size,
                           const std::atomic<bool>* cancel) {
  ProcessOptions p;
  p.timeout = timeout;
  p.prlimit = options.prlimit;
  p.cancel = cancel;
  p.limits.address_space_bytes = options.tool_memory_bytes;
  p.limits.cpu_seconds = cpu_seconds;
  p.limits.file_size_bytes = file_size;
  return p;
}

}  // namespace

core::StatusOr<ImageFormat> checkUntrustedImage(const std::string& path, const std::string& what,
                                                const ImageCheckOptions& options,
                                                const std::atomic<bool>* cancel) {
  auto header = readImageHeader(path);
  if (!header.isOk()) {
    if (header.status().code() == core::StatusCode::kInvalidArgument) {
      return core::invalidArgumentError("image " + what + ": " + header.status().message());
    }
    return header.status();
  }
  NOVACRON_RETURN_IF_ERROR(checkStandalone(*header, what));
  const char* format = formatName(header->format);
  // info writes no file: RLIMIT_FSIZE 1 byte is a tripwire.
  NOVACRON_ASSIGN_OR_RETURN(
      ProcessResult r,
      runProcess({options.qemu_img, "info", "-f", format, "--output=json", path},
                 toolOptions(options, options.info_timeout, options.info_cpu_seconds, 1, cancel)));
  if (r.exit_code != 0) {
    return core::invalidArgumentError("image " + what + " is not a valid " + format +
                                      " image: " + r.output.substr(0, 512));
  }
  NOVACRON_RETURN_IF_ERROR(checkQemuImgInfo(r.output, header->format, what, options));
  return header->format;
}

core::Status checkQemuImgInfo(const std::string& json, ImageFormat format, const std::string& what,
                              const ImageCheckOptions& options) {
  try {
    return checkInfo(nlohmann::json::parse(json), format, what, options);
  } catch (const nlohmann::json::exception& e) {
    return core::internalError("qemu-img info " + what + ": " + e.what());
  }
}

core::Status convertToStandalone(const std::string& src, ImageFormat format, const std::string& dst,
                                 const ImageCheckOptions& options,
                                 const std::atomic<bool>* cancel) {
  // The output cannot exceed the virtual size plus qcow2 metadata (refcounts, L1/L2 tables).
  const uint64_t max_out = options.max_virtual_bytes + options.max_virtual_bytes / 64 + (64 << 20);
  NOVACRON_ASSIGN_OR_RETURN(ProcessResult r,
                            runProcess({options.qemu_img, "convert", "-q", "-f", formatName(format),
                                        "-O", "qcow2", src, dst},
                                       toolOptions(options, options.convert_timeout,
                                                   options.convert_cpu_seconds, max_out, cancel)));
  if (r.exit_code != 0) {
    return core::internalError("qemu-img convert " + src + " (exit " + std::to_string(r.exit_code) +
                               "): " + r.output.substr(0, 512));
  }
  return core::okStatus();
}

}  // namespace novacron::node::storage
