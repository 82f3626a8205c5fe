#include "controller/scheduler/resources.h"

#include <limits>

namespace novacron::controller::scheduler {

int64_t applyRatio(int64_t amount, Ratio ratio) {
  if (amount <= 0 || ratio.milli <= 0) {
    return 0;
  }
  // floor(amount * milli / 1000) without a product that can overflow: split amount into
  // thousands and a remainder; the remainder's share is < milli and its product < 1000 * milli.
  constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();
  const int64_t thousands = amount / Ratio::kOne;
  const int64_t remainder = amount % Ratio::kOne;
  int64_t whole = 0;
  if (__builtin_mul_overflow(thousands, ratio.milli, &whole)) {
    return kSaturated;
  }
  int64_t part = 0;
  if (__builtin_mul_overflow(remainder, ratio.milli, &part)) {
    return kSaturated;
  }
  int64_t total = 0;
  if (__builtin_add_overflow(whole, part / Ratio::kOne, &total)) {
    return kSaturated;
  }
  return total;
}

Resources effectiveCapacity(const Resources& capacity, const OvercommitRatios& ratios) {
  return Resources{applyRatio(capacity.cpus, ratios.cpu),
                   applyRatio(capacity.memory_bytes, ratios.memory), capacity.storage_bytes};
}

bool fitsWithin(int64_t allocated, int64_t request, int64_t limit) {
  if (request <= 0) {
    return allocated <= limit;
  }
  if (allocated < 0) {
    allocated = 0;  // a corrupt negative ledger must not make room
  }
  return allocated <= limit && request <= limit - allocated;
}

std::string formatRatio(Ratio ratio) {
  std::string text = std::to_string(ratio.milli / Ratio::kOne);
  int64_t frac = ratio.milli % Ratio::kOne;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 3 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') {
      digits.pop_back();
    }
    text += "." + digits;
  }
  return text;
}

}  // namespace novacron::controller::scheduler
