#include "controller/rebalance/spread.h"

#include <algorithm>
#include <cmath>

namespace novacron::controller::rebalance {

SpreadTracker::SpreadTracker(SpreadKind kind, std::vector<double> utilisations,
                             std::vector<double> weights)
    : kind_(kind), utils_(std::move(utilisations)), weights_(std::move(weights)) {
  weights_.resize(utils_.size(), 1.0);
  for (std::size_t i = 0; i < utils_.size(); ++i) {
    const double u = utils_[i];
    sorted_.insert(u);
    sum_ += u;
    sum_sq_ += u * u;
    load_ += weights_[i] * u * u;
  }
}

SpreadValue SpreadTracker::compute(double sum, double sum_sq, double load, double max,
                                   double min) const {
  SpreadValue v;
  v.load = load;
  if (utils_.size() < 2) {
    return v;
  }
  if (kind_ == SpreadKind::kMaxMin) {
    v.spread = max - min;
  } else {
    const double n = static_cast<double>(utils_.size());
    const double mean = sum / n;
    v.spread = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
  }
  return v;
}

SpreadValue SpreadTracker::value() const {
  return compute(sum_, sum_sq_, load_, max(), min());
}

SpreadValue SpreadTracker::valueIf(std::size_t a, double new_a, std::size_t b, double new_b) const {
  const double old_a = utils_[a];
  const double old_b = utils_[b];
  const double sum = sum_ - old_a - old_b + new_a + new_b;
  const double sum_sq = sum_sq_ - old_a * old_a - old_b * old_b + new_a * new_a + new_b * new_b;
  const double load = load_ + weights_[a] * (new_a * new_a - old_a * old_a) +
                      weights_[b] * (new_b * new_b - old_b * old_b);
  // The extremes of the others: skip one occurrence each of old_a and old_b from either end.
  auto extreme = [&](auto begin, auto end, double fallback) {
    bool skipped_a = false;
    bool skipped_b = false;
    for (auto it = begin; it != end; ++it) {
      if (!skipped_a && *it == old_a) {
        skipped_a = true;
        continue;
      }
      if (!skipped_b && *it == old_b) {
        skipped_b = true;
        continue;
      }
      return *it;
    }
    return fallback;
  };
  double max = std::max(new_a, new_b);
  double min = std::min(new_a, new_b);
  if (utils_.size() > 2) {
    max = std::max(max, extreme(sorted_.rbegin(), sorted_.rend(), max));
    min = std::min(min, extreme(sorted_.begin(), sorted_.end(), min));
  }
  return compute(sum, sum_sq, load, max, min);
}

void SpreadTracker::set(std::size_t index, double utilisation) {
  const double old = utils_[index];
  sorted_.erase(sorted_.find(old));
  sorted_.insert(utilisation);
  sum_ += utilisation - old;
  sum_sq_ += utilisation * utilisation - old * old;
  load_ += weights_[index] * (utilisation * utilisation - old * old);
  utils_[index] = utilisation;
}

}  // namespace novacron::controller::rebalance
