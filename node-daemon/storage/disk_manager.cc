#include "node-daemon/storage/disk_manager.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace novacron::node::storage {
namespace fs = std::filesystem;
namespace {

domain::DiskFormat toDiskFormat(ImageFormat f) {
  return f == ImageFormat::kQcow2 ? domain::DiskFormat::kQcow2 : domain::DiskFormat::kRaw;
}

// The backing file of an overlay we created, read from its own header (no tool, no probing).
core::StatusOr<std::optional<domain::BackingFile>> existingBacking(const std::string& path) {
  NOVACRON_ASSIGN_OR_RETURN(ImageHeader h, readImageHeader(path));
  if (!h.backing_file) {
    return std::optional<domain::BackingFile>();
  }
  domain::BackingFile b;
  b.path = *h.backing_file;
  b.format = h.backing_format == std::optional<std::string>("raw") ? domain::DiskFormat::kRaw
                                                                   : domain::DiskFormat::kQcow2;
  return std::optional(b);
}

}  // namespace

DiskManager::DiskManager(NodePaths paths, ImageStorePtr images, DiskToolPtr tool)
    : paths_(std::move(paths)), images_(std::move(images)), tool_(std::move(tool)) {}

core::StatusOr<PreparedVm> DiskManager::prepare(const api::VirtualMachine& vm) {
  const std::string& ns = vm.metadata.namespace_;
  const std::string& name = vm.metadata.name;
  const std::string& uid = vm.metadata.uid;
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, paths_.vmDir(ns, name, uid));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return core::unavailableError("cannot create " + dir + ": " + ec.message());
  }
  PreparedVm out;
  NOVACRON_ASSIGN_OR_RETURN(out.serial_log_path, paths_.serialLogPath(ns, name, uid));
  if (vm.spec.kernelBoot) {
    NOVACRON_ASSIGN_OR_RETURN(out.kernel_path, images_->resolve(vm.spec.kernelBoot->kernel));
    if (vm.spec.kernelBoot->initrd) {
      NOVACRON_ASSIGN_OR_RETURN(out.initrd_path, images_->resolve(*vm.spec.kernelBoot->initrd));
    }
  }
  for (const auto& disk : vm.spec.disks) {
    NOVACRON_ASSIGN_OR_RETURN(domain::ResolvedDisk rd, prepareDisk(vm, disk));
    out.disks.push_back(std::move(rd));
  }
  return out;
}

core::StatusOr<domain::ResolvedDisk> DiskManager::prepareDisk(const api::VirtualMachine& vm,
                                                              const api::Disk& disk) {
  const std::string& ns = vm.metadata.namespace_;
  const std::string& name = vm.metadata.name;
  const std::string& uid = vm.metadata.uid;
  domain::ResolvedDisk rd;
  rd.name = disk.name;
  std::error_code ec;
  if (disk.cloudInit) {
    NOVACRON_ASSIGN_OR_RETURN(rd.path, paths_.seedPath(ns, name, uid, disk.name));
    rd.format = domain::DiskFormat::kRaw;
    rd.cdrom = true;
    if (!fs::exists(rd.path, ec)) {
      SeedFiles files;
      files.meta_data = "instance-id: " + uid + "\nlocal-hostname: " + name + "\n";
      files.user_data = disk.cloudInit->userData.value_or("#cloud-config\n");
      files.network_config = disk.cloudInit->networkData;
      NOVACRON_RETURN_IF_ERROR(tool_->createSeed(rd.path, files));
    }
    return rd;
  }
  NOVACRON_ASSIGN_OR_RETURN(rd.path, paths_.diskPath(ns, name, uid, disk.name));
  rd.format = domain::DiskFormat::kQcow2;
  if (fs::exists(rd.path, ec)) {
    if (disk.image) {
      NOVACRON_ASSIGN_OR_RETURN(rd.backing, existingBacking(rd.path));
    }
    return rd;
  }
  if (disk.image) {
    NOVACRON_ASSIGN_OR_RETURN(BaseImage base, images_->resolveDisk(*disk.image));
    NOVACRON_RETURN_IF_ERROR(tool_->createOverlay(base.path, base.format, rd.path));
    rd.backing = domain::BackingFile{base.path, toDiskFormat(base.format)};
  } else if (disk.emptyDisk) {
    NOVACRON_RETURN_IF_ERROR(tool_->createEmpty(rd.path, disk.emptyDisk->size.value()));
  } else {
    return core::invalidArgumentError("disk " + disk.name + " has no source");
  }
  return rd;
}

core::Status DiskManager::remove(const std::string& ns, const std::string& name,
                                 const std::string& uid) {
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, paths_.vmDir(ns, name, uid));
  if (!paths_.isUnderVmRoot(dir)) {
    return core::internalError("refusing to remove " + dir + ": outside the VM root");
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    return core::unavailableError("cannot remove " + dir + ": " + ec.message());
  }
  // Drop the name and namespace folders when they became empty (best effort; fs::remove only
  // removes empty folders, so another incarnation or VM racing us is safe).
  fs::path name_dir = fs::path(dir).parent_path();
  if (fs::remove(name_dir, ec)) {
    fs::remove(name_dir.parent_path(), ec);
  }
  return core::okStatus();
}

bool DiskManager::exists(const std::string& ns, const std::string& name,
                         const std::string& uid) const {
  auto dir = paths_.vmDir(ns, name, uid);
  std::error_code ec;
  return dir.isOk() && fs::exists(*dir, ec);
}

std::vector<std::string> DiskManager::uids(const std::string& ns, const std::string& name) const {
  std::vector<std::string> out;
  auto dir = paths_.vmNameDir(ns, name);
  if (!dir.isOk()) {
    return out;
  }
  std::error_code ec;
  for (fs::directory_iterator it(*dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string uid = it->path().filename().string();
    if (it->is_directory(ec) && paths_.vmDir(ns, name, uid).isOk()) {
      out.push_back(uid);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> DiskManager::overlayBackingFiles() const {
  std::set<std::string> out;
  std::error_code ec;
  // <vm_root>/<ns>/<name>/<uid>/disk-*.qcow2
  for (fs::recursive_directory_iterator it(paths_.vmRoot(), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it.depth() > 3) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string file = it->path().filename().string();
    if (it.depth() != 3 || file.rfind("disk-", 0) != 0 || !it->is_regular_file(ec)) {
      continue;
    }
    auto header = readImageHeader(it->path().string());
    if (header.isOk() && header->backing_file) {
      out.insert(*header->backing_file);
    }
  }
  return out;
}

int DiskManager::collectGarbage(const std::vector<api::VirtualMachine>& vms) {
  std::set<std::string> in_use;
  auto add = [&](const api::ImageSource& source, bool disk) {
    auto p = images_->cachedPath(source, disk);
    if (p.isOk()) {
      in_use.insert(*p);
    }
  };
  for (const auto& vm : vms) {
    if (vm.spec.kernelBoot) {
      add(vm.spec.kernelBoot->kernel, false);
      if (vm.spec.kernelBoot->initrd) {
        add(*vm.spec.kernelBoot->initrd, false);
      }
    }
    for (const auto& disk : vm.spec.disks) {
      if (disk.image) {
        add(*disk.image, true);
      }
    }
  }
  // Every VM folder's overlays are read only when a cached image is not named by a spec: on a
  // node whose VMs name every cached image (or that caches none) a resync opens no disk.
  std::optional<std::set<std::string>> backing;
  return images_->collectGarbage([&](const std::string& path) {
    if (in_use.count(path) != 0) {
      return true;
    }
    if (!backing) {
      backing = overlayBackingFiles();
    }
    return backing->count(path) != 0;
  });
}

std::vector<VmFolder> DiskManager::folders() const {
  std::vector<VmFolder> out;
  std::error_code ec;
  for (fs::directory_iterator ns_it(paths_.vmRoot(), ec), end; !ec && ns_it != end;
       ns_it.increment(ec)) {
    if (!ns_it->is_directory(ec)) {
      continue;
    }
    const std::string ns = ns_it->path().filename().string();
    std::error_code name_ec;
    for (fs::directory_iterator name_it(ns_it->path(), name_ec); !name_ec && name_it != end;
         name_it.increment(name_ec)) {
      const std::string name = name_it->path().filename().string();
      if (!name_it->is_directory(name_ec) || !paths_.vmNameDir(ns, name).isOk()) {
        continue;
      }
      // What uids() lists, with each path checked once (a resync lists every folder).
      std::error_code uid_ec;
      for (fs::directory_iterator uid_it(name_it->path(), uid_ec); !uid_ec && uid_it != end;
           uid_it.increment(uid_ec)) {
        const std::string uid = uid_it->path().filename().string();
        auto dir = paths_.vmDir(ns, name, uid);
        if (uid_it->is_directory(uid_ec) && dir.isOk()) {
          out.push_back(VmFolder{ns, name, uid, std::move(dir).value()});
        }
      }
    }
  }
  return out;
}

bool DiskManager::hasMigrationMarker(const VmFolder& folder) const {
  std::error_code ec;
  for (fs::directory_iterator f(folder.path, ec), end; !ec && f != end; f.increment(ec)) {
    if (f->path().filename().string().rfind(".novacron-migration-", 0) == 0) {
      return true;
    }
  }
  return false;
}

namespace {
constexpr std::string_view kNodeMarkPrefix = ".novacron-node-";
}  // namespace

core::Status DiskManager::markRootUsedBy(const std::string& node) {
  std::error_code ec;
  fs::create_directories(paths_.vmRoot(), ec);
  const fs::path mark = fs::path(paths_.vmRoot()) / (std::string(kNodeMarkPrefix) + node);
  // O_NOFOLLOW: a symlink at the mark's path is refused (ELOOP), never written through; O_NONBLOCK:
  // a FIFO planted there does not block the open.
  const int fd =
      ::open(mark.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) {
      return core::failedPreconditionError("refusing to write the VM root mark " + mark.string() +
                                           ": it is a symlink");
    }
    return core::unavailableError("cannot write " + mark.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) {
    return core::failedPreconditionError("refusing the VM root mark " + mark.string() +
                                         ": not a regular file");
  }
  return core::okStatus();
}

std::vector<std::string> DiskManager::otherRootMarks(const std::string& node) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(paths_.vmRoot(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.rfind(kNodeMarkPrefix, 0) == 0 && file.size() > kNodeMarkPrefix.size()) {
      std::string name = file.substr(kNodeMarkPrefix.size());
      if (name != node) {
        out.push_back(std::move(name));
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace novacron::node::storage
