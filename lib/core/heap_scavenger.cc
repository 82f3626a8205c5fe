#include "lib/core/heap_scavenger.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace novacron::core {

HeapScavenger::HeapScavenger(HeapScavengerOptions options)
    : options_(options), thread_([this] { run(); }) {}

HeapScavenger::~HeapScavenger() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

size_t HeapScavenger::freeHeapBytes() {
#if defined(__GLIBC__)
  return mallinfo2().fordblks;
#else
  return 0;
#endif
}

void HeapScavenger::run() {
  size_t low = freeHeapBytes();  // the least free heap since the last trim
  auto last_trim = std::chrono::steady_clock::now() - options_.min_gap;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.period, [this] { return stop_; })) {
    const size_t free_now = freeHeapBytes();
    if (free_now < low) {
      low = free_now;
    } else if (free_now - low >= options_.step &&
               std::chrono::steady_clock::now() - last_trim >= options_.min_gap) {
#if defined(__GLIBC__)
      malloc_trim(0);
#endif
      last_trim = std::chrono::steady_clock::now();
      low = free_now;
    }
  }
}

}  // namespace novacron::core
