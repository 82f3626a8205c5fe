// ReconcileResult: what a successful reconcile asks of the loop (runtime::Controller): nothing, a
// rate-limited requeue, or a requeue after a fixed delay. Errors are Status values instead
// (retried unless marked core::terminal()).
// Thread-safety: a plain value.
#pragma once

#include <algorithm>
#include <chrono>

namespace novacron::runtime {

struct ReconcileResult {
  bool requeue = false;
  std::chrono::nanoseconds requeue_after{0};

  static ReconcileResult done() { return {}; }
  static ReconcileResult after(std::chrono::nanoseconds delay) { return {false, delay}; }

  // The sooner of two requests (for reconcilers that combine steps).
  ReconcileResult sooner(const ReconcileResult& other) const {
    if (requeue_after.count() > 0 && other.requeue_after.count() > 0) {
      return after(std::min(requeue_after, other.requeue_after));
    }
    ReconcileResult r = requeue_after.count() > 0 ? *this : other;
    r.requeue = requeue || other.requeue;
    return r;
  }

  friend bool operator==(const ReconcileResult&, const ReconcileResult&) = default;
};

}  // namespace novacron::runtime
