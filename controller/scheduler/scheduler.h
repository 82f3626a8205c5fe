// Scheduler: picks a hypervisor for one VM. Pure logic, no I/O.
//
// Filters (the first one that fails is the reason a hypervisor is rejected, in this order): pinned
// hypervisor, hypervisorSelector, Ready, schedulable (not cordoned), not in maintenance,
// antiAffinityGroup, CPU and memory after overcommit ratios, disk space (storage) without
// overcommit where the hypervisor reports it. Scores: BinPack prefers the hypervisor
// that is fullest after placement, Spread the emptiest; equal scores go to the smallest name, so a
// decision never depends on input order. A VM that fits nowhere gets an explanation such as
// "0/3 hypervisors available: 2 insufficient memory, 1 not Ready".
// Thread-safety: a Scheduler is immutable after construction; schedule() may run concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "controller/scheduler/inputs.h"
#include "controller/scheduler/resources.h"

namespace novacron::controller::scheduler {

enum class Policy { kBinPack, kSpread };

std::string_view policyName(Policy policy);

// Why a hypervisor was rejected; the order is the order filters run in.
enum class RejectReason : std::size_t {
  kNotPinned = 0,
  kSelectorMismatch,
  kNotReady,
  kUnschedulable,
  kMaintenance,
  kAntiAffinity,
  kInsufficientCpu,
  kInsufficientMemory,
  kInsufficientStorage,
  kCount,
};
inline constexpr std::size_t kRejectReasonCount = static_cast<std::size_t>(RejectReason::kCount);

// The words used for a reason in an explanation, e.g. "insufficient memory".
std::string_view rejectReasonText(RejectReason reason);

struct Decision {
  // Index into the hypervisors passed to schedule(); unset when nothing fits.
  std::optional<std::size_t> index;
  std::string hypervisor;  // its name, empty when nothing fits
  int64_t score = 0;
  std::size_t total = 0;
  std::size_t feasible = 0;
  std::array<std::size_t, kRejectReasonCount> rejected{};

  bool placed() const { return index.has_value(); }
  std::size_t rejectedFor(RejectReason reason) const {
    return rejected[static_cast<std::size_t>(reason)];
  }
  // "0/3 hypervisors available: 2 insufficient memory, 1 not Ready". Reasons are listed by count,
  // largest first, equal counts in filter order. Also meaningful for a placed VM ("2/3 ...").
  std::string explain() const;
};

struct SchedulerOptions {
  Policy policy = Policy::kBinPack;
  OvercommitRatios default_overcommit;
};

class Scheduler {
public:
  explicit Scheduler(SchedulerOptions options) : options_(options) {}

  Decision schedule(const VmRequest& vm, std::span<const HypervisorView> hypervisors) const;

  // The first filter `hv` fails for `vm`, or nullopt when the VM fits there.
  std::optional<RejectReason> filter(const VmRequest& vm, const HypervisorView& hv) const;

  // Higher is better. Only meaningful for a hypervisor that passed filter().
  int64_t score(const VmRequest& vm, const HypervisorView& hv) const;

  // The schedulable limit of `hv`: its capacity (status.allocatable) * ratio, per resource, where
  // the ratio is hv.overcommit.<resource> when set and default_overcommit.<resource> otherwise.
  Resources effectiveCapacityOf(const HypervisorView& hv) const;

  const SchedulerOptions& options() const { return options_; }

private:
  SchedulerOptions options_;
};

}  // namespace novacron::controller::scheduler
