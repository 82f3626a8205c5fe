// Scheduler: picks a hypervisor for one VM. Pure logic, no I/O.
//
// Filters (the first one that fails is the reason a hypervisor is rejected, in this order): pinned
// hypervisor, hypervisorSelector, Ready, schedulable (not cordoned), not in maintenance,
// antiAffinityGroup, CPU and memory after overcommit ratios, disk space (storage) without
// overcommit where the hypervisor reports it. Scores: BinPack prefers the hypervisor
// that is fullest after placement, Spread the emptiest; equal scores go to the smallest name, so a
// decision never depends on input order. A VM that fits nowhere gets an explanation such as
// "0/3 hypervisors available: 2 insufficient memory, 1 not Ready".
//
// Sampling (kube-scheduler's percentageOfNodesToScore): in a large fleet the scheduler stops
// filtering once it has found feasibleToFind(total) feasible hypervisors and picks the best of
// those. The walk starts at a position the caller rotates between decisions (PlacementState), so
// successive decisions look at different parts of the fleet. Below kMinFeasibleToScore feasible
// hypervisors every one is looked at, so an unschedulable VM is always reported against all of
// them and a small fleet's decisions are exact. docs/architecture.md, "Placement at scale".
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
  std::size_t examined = 0;  // looked at (filtered), from the start position on; <= total
  std::size_t feasible = 0;  // of those examined
  std::array<std::size_t, kRejectReasonCount> rejected{};

  bool placed() const { return index.has_value(); }
  std::size_t rejectedFor(RejectReason reason) const {
    return rejected[static_cast<std::size_t>(reason)];
  }
  // "0/3 hypervisors available: 2 insufficient memory, 1 not Ready". Reasons are listed by count,
  // largest first, equal counts in filter order. Also meaningful for a placed VM ("2/3 ...").
  // A sampled decision says so: "100/104 hypervisors available: 4 insufficient memory (looked at
  // 104 of 5000)".
  std::string explain() const;
};

// The hypervisors a decision chooses from, by position (0 .. size()-1). Lets a caller hand the
// scheduler views it keeps between decisions without copying them; at() may build a view on
// demand, and its result is only valid until the next call of at().
class HypervisorSource {
public:
  virtual ~HypervisorSource() = default;
  virtual std::size_t size() const = 0;
  virtual const HypervisorView& at(std::size_t i) const = 0;
};

// A HypervisorSource over views the caller owns.
class HypervisorSpan final : public HypervisorSource {
public:
  explicit HypervisorSpan(std::span<const HypervisorView> views) : views_(views) {}
  std::size_t size() const override { return views_.size(); }
  const HypervisorView& at(std::size_t i) const override { return views_[i]; }

private:
  std::span<const HypervisorView> views_;
};

// kube-scheduler's minFeasibleNodesToFind: fewer feasible hypervisors than this are never sampled.
inline constexpr std::size_t kMinFeasibleToScore = 100;

struct SchedulerOptions {
  Policy policy = Policy::kBinPack;
  OvercommitRatios default_overcommit;
  // Share of the fleet (in percent, 1..100) whose feasible hypervisors are enough to choose from;
  // 0: adaptive, like kube-scheduler: 50% minus 1% per 125 hypervisors, at least 5%. Either way
  // at least kMinFeasibleToScore. 100: every hypervisor is scored (exact, O(fleet) per decision).
  int percentage_to_score = 0;
};

class Scheduler {
public:
  explicit Scheduler(SchedulerOptions options) : options_(options) {}

  // Looks at the hypervisors from position `start` on (wrapping; taken modulo their number) until
  // feasibleToFind() of them are feasible or all were looked at, and picks the best of those.
  Decision schedule(const VmRequest& vm, const HypervisorSource& hypervisors,
                    std::size_t start = 0) const;
  Decision schedule(const VmRequest& vm, std::span<const HypervisorView> hypervisors,
                    std::size_t start = 0) const {
    return schedule(vm, HypervisorSpan(hypervisors), start);
  }

  // How many feasible hypervisors out of `total` are enough to choose from (at most `total`).
  std::size_t feasibleToFind(std::size_t total) const;

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
