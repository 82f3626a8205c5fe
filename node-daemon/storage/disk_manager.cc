#include "node-daemon/storage/disk_manager.h"

#include <filesystem>

namespace novacron::node::storage {
namespace fs = std::filesystem;

DiskManager::DiskManager(NodePaths paths, ImageStorePtr images, DiskToolPtr tool)
    : paths_(std::move(paths)), images_(std::move(images)), tool_(std::move(tool)) {}

core::StatusOr<PreparedVm> DiskManager::prepare(const api::VirtualMachine& vm) {
  const std::string& ns = vm.metadata.namespace_;
  const std::string& name = vm.metadata.name;
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, paths_.vmDir(ns, name));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return core::unavailableError("cannot create " + dir + ": " + ec.message());
  }
  PreparedVm out;
  NOVACRON_ASSIGN_OR_RETURN(out.serial_log_path, paths_.serialLogPath(ns, name));
  if (vm.spec.kernelBoot) {
    NOVACRON_ASSIGN_OR_RETURN(out.kernel_path, images_->resolve(vm.spec.kernelBoot->kernel));
    if (vm.spec.kernelBoot->initrd) {
      NOVACRON_ASSIGN_OR_RETURN(out.initrd_path, images_->resolve(*vm.spec.kernelBoot->initrd));
    }
  }
  for (const auto& disk : vm.spec.disks) {
    domain::ResolvedDisk rd;
    rd.name = disk.name;
    if (disk.cloudInit) {
      NOVACRON_ASSIGN_OR_RETURN(rd.path, paths_.seedPath(ns, name, disk.name));
      rd.format = domain::DiskFormat::kRaw;
      rd.cdrom = true;
      if (!fs::exists(rd.path, ec)) {
        SeedFiles files;
        files.meta_data =
            "instance-id: " + vm.metadata.uid + "\nlocal-hostname: " + vm.metadata.name + "\n";
        files.user_data = disk.cloudInit->userData.value_or("#cloud-config\n");
        files.network_config = disk.cloudInit->networkData;
        NOVACRON_RETURN_IF_ERROR(tool_->createSeed(rd.path, files));
      }
    } else {
      NOVACRON_ASSIGN_OR_RETURN(rd.path, paths_.diskPath(ns, name, disk.name));
      rd.format = domain::DiskFormat::kQcow2;
      if (!fs::exists(rd.path, ec)) {
        if (disk.image) {
          NOVACRON_ASSIGN_OR_RETURN(std::string base, images_->resolve(*disk.image));
          NOVACRON_RETURN_IF_ERROR(tool_->createOverlay(base, rd.path));
        } else if (disk.emptyDisk) {
          NOVACRON_RETURN_IF_ERROR(tool_->createEmpty(rd.path, disk.emptyDisk->size.value()));
        } else {
          return core::invalidArgumentError("disk " + disk.name + " has no source");
        }
      }
    }
    out.disks.push_back(std::move(rd));
  }
  return out;
}

core::Status DiskManager::remove(const std::string& ns, const std::string& name) {
  NOVACRON_ASSIGN_OR_RETURN(std::string dir, paths_.vmDir(ns, name));
  if (!paths_.isUnderVmRoot(dir)) {
    return core::internalError("refusing to remove " + dir + ": outside the VM root");
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    return core::unavailableError("cannot remove " + dir + ": " + ec.message());
  }
  // Drop the namespace folder when it became empty (best effort; another VM may race us).
  fs::remove(fs::path(dir).parent_path(), ec);
  return core::okStatus();
}

bool DiskManager::exists(const std::string& ns, const std::string& name) const {
  auto dir = paths_.vmDir(ns, name);
  std::error_code ec;
  return dir.isOk() && fs::exists(*dir, ec);
}

}  // namespace novacron::node::storage
