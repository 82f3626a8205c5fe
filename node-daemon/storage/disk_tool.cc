#include "node-daemon/storage/disk_tool.h"

#include <atomic>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "node-daemon/storage/process.h"

namespace novacron::node::storage {
namespace fs = std::filesystem;
namespace {

constexpr std::chrono::seconds kToolTimeout{120};

std::string tempName(const std::string& path) {
  static std::atomic<int> counter{0};
  return path + ".tmp-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

core::Status renameInto(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return core::unavailableError("cannot rename " + tmp + ": " + ec.message());
  }
  return core::okStatus();
}

class QemuDiskTool final : public DiskTool {
public:
  QemuDiskTool(std::string qemu_img, std::string genisoimage)
      : qemu_img_(std::move(qemu_img)), genisoimage_(std::move(genisoimage)) {}

  core::Status createOverlay(const std::string& base, ImageFormat base_format,
                             const std::string& path) override {
    std::string tmp = tempName(path);
    core::Status s = runChecked(
        {qemu_img_, "create", "-q", "-f", "qcow2", "-F", formatName(base_format), "-b", base, tmp},
        kToolTimeout);
    if (!s.isOk()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return s;
    }
    return renameInto(tmp, path);
  }

  core::Status createEmpty(const std::string& path, int64_t bytes) override {
    std::string tmp = tempName(path);
    core::Status s = runChecked(
        {qemu_img_, "create", "-q", "-f", "qcow2", tmp, std::to_string(bytes)}, kToolTimeout);
    if (!s.isOk()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return s;
    }
    return renameInto(tmp, path);
  }

  core::Status createSeed(const std::string& path, const SeedFiles& files) override {
    std::string dir = tempName(path) + ".d";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return core::unavailableError("cannot create " + dir + ": " + ec.message());
    }
    auto write = [&](const std::string& name, const std::string& content) {
      std::ofstream out(dir + "/" + name, std::ios::binary);
      out << content;
      return static_cast<bool>(out);
    };
    std::vector<std::string> argv = {genisoimage_, "-quiet", "-output", "",
                                     "-volid",     "cidata", "-joliet", "-rock"};
    std::string tmp = tempName(path);
    argv[3] = tmp;
    bool ok = write("meta-data", files.meta_data) && write("user-data", files.user_data);
    argv.push_back(dir + "/meta-data");
    argv.push_back(dir + "/user-data");
    if (files.network_config) {
      ok = ok && write("network-config", *files.network_config);
      argv.push_back(dir + "/network-config");
    }
    core::Status s = ok ? runChecked(argv, kToolTimeout)
                        : core::unavailableError("cannot write seed files in " + dir);
    fs::remove_all(dir, ec);
    if (!s.isOk()) {
      fs::remove(tmp, ec);
      return s;
    }
    return renameInto(tmp, path);
  }

private:
  std::string qemu_img_;
  std::string genisoimage_;
};

}  // namespace

DiskToolPtr makeQemuDiskTool(std::string qemu_img, std::string genisoimage) {
  return std::make_shared<QemuDiskTool>(std::move(qemu_img), std::move(genisoimage));
}

}  // namespace novacron::node::storage
