// installedMemoryBytes() over a fake /sys/devices/system/memory.
#include "node-daemon/hypervisor/host_memory.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <stdlib.h>

namespace novacron::node::hypervisor {
namespace {

namespace fs = std::filesystem;

class HostMemoryTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-sysmem-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void block(int n, int online) {
    fs::create_directories(dir_ + "/memory" + std::to_string(n));
    std::ofstream(dir_ + "/memory" + std::to_string(n) + "/online") << online << "\n";
  }
  std::string dir_;
};

TEST_F(HostMemoryTest, CountsOnlineBlocks) {
  std::ofstream(dir_ + "/block_size_bytes") << "8000000\n";
  block(0, 1);
  block(1, 0);
  block(2, 1);
  fs::create_directories(dir_ + "/power");  // not a block
  EXPECT_EQ(installedMemoryBytes(dir_), 2 * 0x8000000LL);
}

TEST_F(HostMemoryTest, NothingReadableIsNullopt) {
  EXPECT_EQ(installedMemoryBytes(dir_), std::nullopt);
  std::ofstream(dir_ + "/block_size_bytes") << "8000000\n";
  EXPECT_EQ(installedMemoryBytes(dir_), std::nullopt) << "no online block";
  EXPECT_EQ(installedMemoryBytes(dir_ + "/missing"), std::nullopt);
}

}  // namespace
}  // namespace novacron::node::hypervisor
