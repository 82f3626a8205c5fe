#include "node-daemon/hypervisor/storage_space.h"

#include <cerrno>
#include <cstring>
#include <limits>

#include <sys/statvfs.h>

namespace novacron::node::hypervisor {
namespace {

int64_t bytes(unsigned long long blocks, unsigned long long block_size) {
  constexpr auto kMax = static_cast<unsigned long long>(std::numeric_limits<int64_t>::max());
  if (block_size != 0 && blocks > kMax / block_size) {
    return std::numeric_limits<int64_t>::max();
  }
  return static_cast<int64_t>(blocks * block_size);
}

}  // namespace

core::StatusOr<StorageSpace> statFilesystem(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) {
    return core::unavailableError("statvfs " + path + ": " + std::strerror(errno));
  }
  StorageSpace space;
  space.capacity_bytes = bytes(fs.f_blocks, fs.f_frsize);
  space.available_bytes = bytes(fs.f_bavail, fs.f_frsize);
  return space;
}

}  // namespace novacron::node::hypervisor
