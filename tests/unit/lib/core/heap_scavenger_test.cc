#include "lib/core/heap_scavenger.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/testing/eventually.h"

namespace novacron::core {
namespace {

size_t residentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long size = 0;
  unsigned long resident = 0;
  if (f == nullptr || std::fscanf(f, "%lu %lu", &size, &resident) != 2) {
    resident = 0;
  }
  if (f != nullptr) {
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// Memory freed between live objects (which glibc keeps resident by itself) leaves the process's
// RSS once the scavenger sees the free heap grow.
TEST(HeapScavengerTest, ReturnsFreedPagesBetweenLiveObjects) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "malloc_trim is glibc's";
#endif
  HeapScavengerOptions options;
  options.period = std::chrono::milliseconds(10);
  options.step = size_t{1} << 20;
  HeapScavenger scavenger(options);

  constexpr size_t kBlocks = 64 * 1024;
  constexpr size_t kBlockSize = 256;
  std::vector<std::unique_ptr<char[]>> blocks(kBlocks);
  for (auto& block : blocks) {
    block.reset(new char[kBlockSize]);
    std::memset(block.get(), 1, kBlockSize);  // resident
  }
  const size_t free_before = HeapScavenger::freeHeapBytes();
  const size_t rss_full = residentBytes();
  // Free all but every 64th block: runs of ~17 KB between live blocks, below the heap's top,
  // so only a trim can give their pages back.
  for (size_t i = 0; i < kBlocks; ++i) {
    if (i % 64 != 0) {
      blocks[i].reset();
    }
  }
  EXPECT_GE(HeapScavenger::freeHeapBytes(), free_before + (size_t{8} << 20));
  EXPECT_TRUE(testing::eventually([&] { return residentBytes() + (size_t{8} << 20) < rss_full; }))
      << "RSS stayed at " << residentBytes() << " of " << rss_full << " bytes";
}

}  // namespace
}  // namespace novacron::core
