// FakeVirtDiskTool: a storage::DiskTool that writes small marker files instead of disk images and
// seed ISOs (no genisoimage), so reconciler tests run without those tools, and counts what it
// created.
// Faults: failNext(error) makes the next create call fail with that status.
// Thread-safety: safe from any thread.
#pragma once

#include <fstream>
#include <mutex>
#include <optional>
#include <string>

#include "node-daemon/storage/disk_tool.h"

namespace novacron::testing {

class FakeVirtDiskTool final : public node::storage::DiskTool {
public:
  core::Status createOverlay(const std::string& base, node::storage::ImageFormat /*format*/,
                             const std::string& path) override {
    return write(path, "overlay of " + base);
  }
  core::Status createEmpty(const std::string& path, int64_t bytes) override {
    return write(path, "empty " + std::to_string(bytes));
  }
  core::Status createSeed(const std::string& path, const node::storage::SeedFiles& files) override {
    return write(path, "seed\n" + files.meta_data + files.user_data);
  }

  void failNext(core::Status error) {
    std::lock_guard lock(mu_);
    fail_ = std::move(error);
  }
  int created() const {
    std::lock_guard lock(mu_);
    return created_;
  }

private:
  core::Status write(const std::string& path, const std::string& content) {
    std::lock_guard lock(mu_);
    if (fail_) {
      core::Status s = *fail_;
      fail_.reset();
      return s;
    }
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) {
      return core::unavailableError("cannot write " + path);
    }
    ++created_;
    return core::okStatus();
  }

  mutable std::mutex mu_;
  std::optional<core::Status> fail_;  // guarded by mu_
  int created_ = 0;                   // guarded by mu_
};

}  // namespace novacron::testing
