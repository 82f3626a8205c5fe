// The bytes of a new, empty qcow2 v3 image, exactly as `qemu-img create -f qcow2 [-F fmt -b base]
// path size` (qemu 7.2, default options) writes them: 64 KiB clusters, 16-bit refcounts, the
// header with its extensions (backing format, feature names) and the backing file name in cluster
// 0, the refcount table in cluster 1, its one refcount block in cluster 2, a zeroed L1 table
// sized for the virtual size from cluster 3 on, no L2 tables and no data. The node-daemon writes
// these itself instead of starting a qemu-img process per disk (most of its cost was start-up).
// Inputs are treated as hostile: sizes are bounded, the backing file name is checked.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/statusor.h"
#include "node-daemon/storage/image_header.h"

namespace novacron::node::storage {

inline constexpr uint64_t kQcow2ClusterBytes = uint64_t{64} * 1024;
// The largest virtual size written (64 TiB, the API's limit for an empty disk): an L1 table of
// 1 MiB. qemu itself goes to about 2 PiB at this cluster size.
inline constexpr uint64_t kQcow2MaxVirtualBytes = 64ULL << 40;
// qemu's own limit for the backing file name in a qcow2 header.
inline constexpr size_t kQcow2MaxBackingNameBytes = 1023;

struct Qcow2Backing {
  std::string file;  // an absolute path, recorded as is
  ImageFormat format = ImageFormat::kQcow2;
};

// Bytes at an offset of the image file; every byte not in an extent, up to file_size, is zero.
struct Qcow2Extent {
  uint64_t offset = 0;
  std::string bytes;
};

struct Qcow2Image {
  std::vector<Qcow2Extent> extents;  // ascending, not overlapping
  uint64_t file_size = 0;
};

// InvalidArgument for a backing file name that is empty, relative, longer than
// kQcow2MaxBackingNameBytes or contains a NUL byte.
[[nodiscard]] core::Status checkQcow2BackingName(const std::string& file);

// virtual_bytes is rounded up to a multiple of 512, as qemu-img does. InvalidArgument for a
// virtual size of 0 or above kQcow2MaxVirtualBytes and for a backing file name
// checkQcow2BackingName refuses.
[[nodiscard]] core::StatusOr<Qcow2Image> newQcow2Image(uint64_t virtual_bytes,
                                                       const std::optional<Qcow2Backing>& backing);

}  // namespace novacron::node::storage
