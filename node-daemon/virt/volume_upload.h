// Copying a file to another host over that host's libvirtd connection (storage-volume streams,
// virStorageVolUpload): the disk copy of a cold migration uses the authenticated (and, with
// qemu+tls, encrypted) libvirt connection the two nodes already have, never a new port.
// The implementation (libvirt_volume_upload.cc) is the only other file that includes libvirt.
// Thread-safety: implementations are safe from any thread; each call opens its own connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lib/core/status.h"

namespace novacron::node::virt {

class VolumeUploader {
public:
  virtual ~VolumeUploader() = default;
  // Replaces `remote_path` on the host behind `uri` with the contents of `local_path` (a
  // transient directory pool over its folder while it runs). `progress` gets the bytes sent so
  // far; `cancel` becoming true stops the copy (Cancelled).
  [[nodiscard]] virtual core::Status upload(const std::string& uri, const std::string& local_path,
                                            const std::string& remote_path,
                                            const std::function<void(uint64_t sent)>& progress,
                                            const std::atomic<bool>* cancel) = 0;
};

using VolumeUploaderPtr = std::shared_ptr<VolumeUploader>;

VolumeUploaderPtr makeLibvirtVolumeUploader();

}  // namespace novacron::node::virt
