#include "node-daemon/hypervisor/host_memory.h"

#include <filesystem>
#include <fstream>
#include <string>

namespace novacron::node::hypervisor {

std::optional<int64_t> installedMemoryBytes(const std::string& sysfs_memory_dir) {
  namespace fs = std::filesystem;
  std::ifstream size_file(fs::path(sysfs_memory_dir) / "block_size_bytes");
  std::string hex;
  if (!(size_file >> hex)) {
    return std::nullopt;
  }
  int64_t block = 0;
  try {
    block = static_cast<int64_t>(std::stoull(hex, nullptr, 16));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  int64_t online = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(sysfs_memory_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("memory", 0) != 0 || name.size() == 6) {
      continue;
    }
    std::ifstream state(entry.path() / "online");
    int value = 0;
    if (state >> value && value == 1) {
      ++online;
    }
  }
  if (block <= 0 || online == 0) {
    return std::nullopt;
  }
  return online * block;
}

}  // namespace novacron::node::hypervisor
