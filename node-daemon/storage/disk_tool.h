// DiskTool: creates disk image files. The real implementation writes qcow2 images itself
// (qcow2_image.h: the bytes `qemu-img create` writes, without a process per disk) and runs
// genisoimage for seed ISOs; tests of the reconciler use a fake that writes plain files.
// Every method writes to a temporary name next to `path` and renames it into place, so a crash
// never leaves a half-written disk under the final name.
// Thread-safety: implementations are safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lib/core/status.h"
#include "node-daemon/storage/image_header.h"

namespace novacron::node::storage {

struct SeedFiles {
  std::string meta_data;
  std::string user_data;
  std::optional<std::string> network_config;
};

class DiskTool {
public:
  virtual ~DiskTool() = default;
  // A qcow2 overlay whose backing file is `base`, recorded with its format (never probed), with
  // the base's virtual size (raw: its file size; qcow2: its header's size field).
  [[nodiscard]] virtual core::Status createOverlay(const std::string& base, ImageFormat base_format,
                                                   const std::string& path) = 0;
  [[nodiscard]] virtual core::Status createEmpty(const std::string& path, int64_t bytes) = 0;
  // A cloud-init NoCloud seed ISO (volume id "cidata").
  [[nodiscard]] virtual core::Status createSeed(const std::string& path,
                                                const SeedFiles& files) = 0;
};

using DiskToolPtr = std::shared_ptr<DiskTool>;

// qcow2 images written in-process, seed ISOs by genisoimage from PATH (or the given program).
DiskToolPtr makeDiskTool(std::string genisoimage = "genisoimage");

}  // namespace novacron::node::storage
