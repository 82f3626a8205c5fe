// Resource arithmetic for placement: CPU and memory amounts, overcommit ratios, and the effective
// capacity a hypervisor offers once its ratios are applied.
//
// All arithmetic is integer and overflow-safe: ratios are fixed-point thousandths (1.5 -> 1500), an
// effective capacity is floor(capacity * ratio), saturating at INT64_MAX, and "fits" never adds
// two amounts that could overflow. Rounding is always down, so a hypervisor never offers more than
// its ratio allows. Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace novacron::controller::scheduler {

struct Resources {
  int64_t cpus = 0;           // virtual CPUs
  int64_t memory_bytes = 0;   // bytes
  int64_t storage_bytes = 0;  // disk space on the VM root (never overcommitted)

  friend bool operator==(const Resources&, const Resources&) = default;
};

// An overcommit ratio in thousandths: 1000 = 1.0 (no overcommit), 4000 = 4.0.
struct Ratio {
  static constexpr int64_t kOne = 1000;
  static constexpr int64_t kMax = 1000 * kOne;  // 1000.0: anything above is a typo
  int64_t milli = kOne;

  friend bool operator==(const Ratio&, const Ratio&) = default;
};

struct OvercommitRatios {
  Ratio cpu{4 * Ratio::kOne};  // vCPUs are commonly overcommitted
  Ratio memory{Ratio::kOne};   // memory is not, by default

  friend bool operator==(const OvercommitRatios&, const OvercommitRatios&) = default;
};

// floor(amount * ratio), saturating at INT64_MAX; a negative amount or ratio counts as 0.
int64_t applyRatio(int64_t amount, Ratio ratio);

// capacity with each dimension scaled by its ratio.
Resources effectiveCapacity(const Resources& capacity, const OvercommitRatios& ratios);

// True when `allocated + request <= limit` without computing a sum that could overflow.
bool fitsWithin(int64_t allocated, int64_t request, int64_t limit);

// Human form of a ratio: 1500 -> "1.5", 4000 -> "4", 1001 -> "1.001".
std::string formatRatio(Ratio ratio);

}  // namespace novacron::controller::scheduler
