#include "node-daemon/storage/disk_tool.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include "node-daemon/storage/process.h"
#include "node-daemon/storage/qcow2_image.h"

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

// Creates `path` holding `image`: written under a temporary name next to it, flushed to disk,
// then renamed into place. The temporary file is created new (O_EXCL, never following a link),
// mode 0644 as qemu-img created it (never writable by others, whatever the umask).
core::Status writeImage(const Qcow2Image& image, const std::string& path) {
  const std::string tmp = tempName(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return core::unavailableError("cannot create " + tmp + ": " + std::strerror(errno));
  }
  int err = 0;
  for (const Qcow2Extent& e : image.extents) {
    size_t done = 0;
    while (err == 0 && done < e.bytes.size()) {
      const ssize_t n = ::pwrite(fd, e.bytes.data() + done, e.bytes.size() - done,
                                 static_cast<off_t>(e.offset + done));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      err = n > 0 ? 0 : (n < 0 ? errno : EIO);
      done += n > 0 ? static_cast<size_t>(n) : 0;
    }
  }
  // The zeros up to the end (the L1 table) are a hole: they read as zeros and take no space.
  if (err == 0 && ::ftruncate(fd, static_cast<off_t>(image.file_size)) != 0) {
    err = errno;
  }
  if (err == 0 && ::fsync(fd) != 0) {
    err = errno;
  }
  if (::close(fd) != 0 && err == 0) {
    err = errno;
  }
  if (err != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return core::unavailableError("cannot write " + tmp + ": " + std::strerror(err));
  }
  return renameInto(tmp, path);
}

// The virtual size qemu-img gives an overlay created without a size: the base's. A raw base's is
// its file size; a qcow2 base's is its header's size field, which must be a whole number of
// sectors (qemu would silently round it down) and the header must agree with `format`.
core::StatusOr<uint64_t> baseVirtualSize(const std::string& base, ImageFormat format) {
  if (format == ImageFormat::kRaw) {
    std::error_code ec;
    const uint64_t size = fs::file_size(base, ec);
    if (ec) {
      return core::notFoundError("cannot read the size of base image " + base + ": " +
                                 ec.message());
    }
    return size;
  }
  NOVACRON_ASSIGN_OR_RETURN(ImageHeader header, readImageHeader(base));
  if (header.format != ImageFormat::kQcow2) {
    return core::invalidArgumentError("base image " + base + " is not in qcow2 format");
  }
  if (header.virtual_size % 512 != 0) {
    return core::invalidArgumentError("base image " + base + " has a virtual size of " +
                                      std::to_string(header.virtual_size) +
                                      " bytes, not a whole number of 512-byte sectors");
  }
  return header.virtual_size;
}

class HostDiskTool final : public DiskTool {
public:
  explicit HostDiskTool(std::string genisoimage) : genisoimage_(std::move(genisoimage)) {}

  core::Status createOverlay(const std::string& base, ImageFormat base_format,
                             const std::string& path) override {
    NOVACRON_RETURN_IF_ERROR(checkQcow2BackingName(base));  // before the base is opened
    NOVACRON_ASSIGN_OR_RETURN(uint64_t size, baseVirtualSize(base, base_format));
    NOVACRON_ASSIGN_OR_RETURN(Qcow2Image image,
                              newQcow2Image(size, Qcow2Backing{base, base_format}));
    return writeImage(image, path);
  }

  core::Status createEmpty(const std::string& path, int64_t bytes) override {
    if (bytes <= 0) {
      return core::invalidArgumentError("empty disk size " + std::to_string(bytes) +
                                        " is not positive");
    }
    NOVACRON_ASSIGN_OR_RETURN(Qcow2Image image,
                              newQcow2Image(static_cast<uint64_t>(bytes), std::nullopt));
    return writeImage(image, path);
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
  std::string genisoimage_;
};

}  // namespace

DiskToolPtr makeDiskTool(std::string genisoimage) {
  return std::make_shared<HostDiskTool>(std::move(genisoimage));
}

}  // namespace novacron::node::storage
