// The memory installed in this host, as the kernel's memory blocks count it
// (/sys/devices/system/memory: online blocks × block_size_bytes). Unlike MemTotal (what libvirt's
// node info reports), it does not move when a balloon driver of the machine this host itself runs
// on inflates or deflates, so Hypervisor capacity and allocatable stay put (issue 16).
// Thread-safety: pure function over the filesystem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace novacron::node::hypervisor {

// nullopt when the directory has no readable block size or no online block (e.g. no sysfs).
std::optional<int64_t> installedMemoryBytes(const std::string& sysfs_memory_dir);

}  // namespace novacron::node::hypervisor
