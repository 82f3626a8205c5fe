// HeapScavenger: gives the heap that the process freed back to the system, in the background.
//
// glibc's malloc keeps freed memory for reuse and returns only the top of a heap on its own;
// whole free pages between live objects stay resident until malloc_trim() is called. A
// controller frees a lot at once now and then (a relist's JSON pages, the first reconcile pass
// over 10,000 freshly listed VMs) and that memory stayed in its RSS, which is what an operator's
// memory limit sees (issue 15 B4: 5 MiB of 60 at 10,000 VMs). jemalloc and Go's runtime return
// such memory by themselves; this does it for glibc: every `period` it reads how many bytes are
// free in malloc's heaps (mallinfo2) and, when that grew by `step` since the last trim (or since
// its lowest point after it: reused, then freed again), calls malloc_trim(0). The resident size
// alone cannot tell: memory freed after a burst of growth does not change it. A process whose
// heap does not churn is left alone.
// A no-op on other C libraries.
// Thread-safety: construct and destroy on one thread; the work runs on its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace novacron::core {

struct HeapScavengerOptions {
  std::chrono::milliseconds period{1000};
  size_t step = size_t{1} << 20;  // growth of the free heap (bytes) that triggers a trim
  // At most one trim per this interval: a trim walks every arena holding malloc's locks, and a
  // busy process's free heap swings by `step` nearly every period.
  std::chrono::milliseconds min_gap{3000};
};

class HeapScavenger {
public:
  explicit HeapScavenger(HeapScavengerOptions options = {});
  ~HeapScavenger();  // stops and joins the thread
  HeapScavenger(const HeapScavenger&) = delete;
  HeapScavenger& operator=(const HeapScavenger&) = delete;

  // Bytes free in malloc's heaps (0 if unknown).
  static size_t freeHeapBytes();

private:
  void run();

  const HeapScavengerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace novacron::core
