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
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, options_.period, [this] { return stop_; })) {
    const size_t free_now = freeHeapBytes();
    if (free_now < low) {
      low = free_now;
    } else if (free_now - low >= options_.step) {
#if defined(__GLIBC__)
      malloc_trim(0);
#endif
      low = free_now;
    }
  }
}

}  // namespace novacron::core
