// Spread: the imbalance of a fleet as one number, and what it would become after moving load
// between two hypervisors, in O(log n) per question so the planner can weigh thousands of candidate
// moves per step on fleets of hundreds of hypervisors.
//
// Every hypervisor has a utilisation in percent (allocated / schedulable limit of the metric's
// resource). MaxMin: the largest minus the smallest; StdDev: the population standard deviation.
// Both are in percentage points. `load` is the tie-breaker the planner uses to make progress on a
// plateau (several hypervisors tied at the maximum: moving load off one of them does not yet lower
// max - min): the sum over hypervisors of weight * utilisation^2, the weight being the
// hypervisor's size (its limit relative to the average). Weighted, because moving x bytes from a
// large hypervisor to a small one lowers the large one's utilisation less than it raises the small
// one's; unweighted, such a move would look like a step backwards although it evens out the load.
// Thread-safety: a plain value; not for concurrent mutation.
#pragma once

#include <cstddef>
#include <set>
#include <vector>

namespace novacron::controller::rebalance {

enum class SpreadKind { kMaxMin, kStdDev };

struct SpreadValue {
  double spread = 0;  // the metric, percentage points
  double load = 0;    // sum of weight * utilisation^2
};

class SpreadTracker {
public:
  // `weights`: one per hypervisor (its size); empty: all 1.
  SpreadTracker(SpreadKind kind, std::vector<double> utilisations,
                std::vector<double> weights = {});

  SpreadValue value() const;
  // The value if hypervisor `a`'s utilisation became `new_a` and `b`'s became `new_b` (a != b).
  SpreadValue valueIf(std::size_t a, double new_a, std::size_t b, double new_b) const;
  void set(std::size_t index, double utilisation);

  double utilisation(std::size_t index) const { return utils_[index]; }
  double max() const { return sorted_.empty() ? 0 : *sorted_.rbegin(); }
  double min() const { return sorted_.empty() ? 0 : *sorted_.begin(); }
  double mean() const { return utils_.empty() ? 0 : sum_ / static_cast<double>(utils_.size()); }
  std::size_t size() const { return utils_.size(); }

private:
  SpreadValue compute(double sum, double sum_sq, double load, double max, double min) const;

  SpreadKind kind_;
  std::vector<double> utils_;
  std::vector<double> weights_;
  std::multiset<double> sorted_;
  double sum_ = 0;
  double sum_sq_ = 0;
  double load_ = 0;
};

}  // namespace novacron::controller::rebalance
