// The disk space of the node's VM root, for the Hypervisor's status.capacity.storage and
// status.allocatable.storage (docs/api.md): the size of the filesystem VM disks are created in.
// Behind a std::function so the registrar's tests need no real filesystem.
// Thread-safety: statFilesystem() is safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "lib/core/statusor.h"

namespace novacron::node::hypervisor {

struct StorageSpace {
  int64_t capacity_bytes = 0;   // the filesystem's size
  int64_t available_bytes = 0;  // free for an unprivileged writer now
};

using StorageProbe = std::function<core::StatusOr<StorageSpace>()>;

// statvfs(2) of `path`; Unavailable when it fails (the path is missing, ...).
core::StatusOr<StorageSpace> statFilesystem(const std::string& path);

}  // namespace novacron::node::hypervisor
