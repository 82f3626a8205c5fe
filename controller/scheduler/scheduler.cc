#include "controller/scheduler/scheduler.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace novacron::controller::scheduler {
namespace {

// GCC/Clang extension; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef __int128 Int128;

// Scores are integers so equal placements compare exactly equal and ties fall to the name.
constexpr int64_t kScale = 1'000'000;

// Utilisation after placement in millionths, capped at kScale.
int64_t utilisation(int64_t allocated, int64_t request, int64_t limit) {
  if (limit <= 0) {
    return kScale;
  }
  const Int128 used = static_cast<Int128>(std::max<int64_t>(allocated, 0)) +
                      static_cast<Int128>(std::max<int64_t>(request, 0));
  const Int128 value = used * kScale / limit;
  return value > kScale ? kScale : static_cast<int64_t>(value);
}

bool selectorMatches(const std::map<std::string, std::string>& selector,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view policyName(Policy policy) {
  switch (policy) {
  case Policy::kBinPack:
    return "BinPack";
  case Policy::kSpread:
    return "Spread";
  }
  return "Unknown";
}

std::string_view rejectReasonText(RejectReason reason) {
  switch (reason) {
  case RejectReason::kNotPinned:
    return "not the pinned hypervisor";
  case RejectReason::kSelectorMismatch:
    return "did not match hypervisorSelector";
  case RejectReason::kNotReady:
    return "not Ready";
  case RejectReason::kUnschedulable:
    return "unschedulable";
  case RejectReason::kMaintenance:
    return "in maintenance";
  case RejectReason::kAntiAffinity:
    return "anti-affinity group already present";
  case RejectReason::kInsufficientCpu:
    return "insufficient cpu";
  case RejectReason::kInsufficientMemory:
    return "insufficient memory";
  case RejectReason::kInsufficientStorage:
    return "insufficient storage";
  case RejectReason::kCount:
    break;
  }
  return "unknown";
}

std::string Decision::explain() const {
  std::string text =
      std::to_string(feasible) + "/" + std::to_string(examined) + " hypervisors available";
  if (total == 0) {
    return text + ": no Hypervisors registered";
  }
  std::vector<std::pair<std::size_t, std::size_t>> reasons;  // (count, reason index)
  for (std::size_t i = 0; i < kRejectReasonCount; ++i) {
    if (rejected[i] > 0) {
      reasons.emplace_back(rejected[i], i);
    }
  }
  std::stable_sort(reasons.begin(), reasons.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    text += i == 0 ? ": " : ", ";
    text += std::to_string(reasons[i].first);
    text += ' ';
    text += rejectReasonText(static_cast<RejectReason>(reasons[i].second));
  }
  if (examined < total) {
    text += " (looked at " + std::to_string(examined) + " of " + std::to_string(total) + ")";
  }
  return text;
}

Resources Scheduler::effectiveCapacityOf(const HypervisorView& hv) const {
  return effectiveCapacity(
      hv.capacity,
      OvercommitRatios{hv.overcommit.cpu.value_or(options_.default_overcommit.cpu),
                       hv.overcommit.memory.value_or(options_.default_overcommit.memory)});
}

std::optional<RejectReason> Scheduler::filter(const VmRequest& vm, const HypervisorView& hv) const {
  if (!vm.pinned_hypervisor.empty() && vm.pinned_hypervisor != hv.name) {
    return RejectReason::kNotPinned;
  }
  if (!vm.hypervisor_selector.empty() && !selectorMatches(vm.hypervisor_selector, hv.labels)) {
    return RejectReason::kSelectorMismatch;
  }
  if (!hv.ready) {
    return RejectReason::kNotReady;
  }
  if (hv.unschedulable) {
    return RejectReason::kUnschedulable;
  }
  if (hv.maintenance) {
    return RejectReason::kMaintenance;
  }
  if (!vm.anti_affinity_group.empty() &&
      std::find(hv.anti_affinity_groups.begin(), hv.anti_affinity_groups.end(),
                vm.anti_affinity_group) != hv.anti_affinity_groups.end()) {
    return RejectReason::kAntiAffinity;
  }
  const Resources limit = effectiveCapacityOf(hv);
  if (!fitsWithin(hv.allocated.cpus, vm.resources.cpus, limit.cpus)) {
    return RejectReason::kInsufficientCpu;
  }
  if (!fitsWithin(hv.allocated.memory_bytes, vm.resources.memory_bytes, limit.memory_bytes)) {
    return RejectReason::kInsufficientMemory;
  }
  // A VM without counted disks fits even on an (over)full root: it adds nothing there.
  if (hv.storage_capacity_bytes && vm.resources.storage_bytes > 0 &&
      !fitsWithin(hv.allocated.storage_bytes, vm.resources.storage_bytes,
                  *hv.storage_capacity_bytes)) {
    return RejectReason::kInsufficientStorage;
  }
  return std::nullopt;
}

int64_t Scheduler::score(const VmRequest& vm, const HypervisorView& hv) const {
  const Resources limit = effectiveCapacityOf(hv);
  const int64_t used =
      utilisation(hv.allocated.cpus, vm.resources.cpus, limit.cpus) +
      utilisation(hv.allocated.memory_bytes, vm.resources.memory_bytes, limit.memory_bytes);
  return options_.policy == Policy::kBinPack ? used : 2 * kScale - used;
}

std::size_t Scheduler::feasibleToFind(std::size_t total) const {
  if (total <= kMinFeasibleToScore) {
    return total;
  }
  std::size_t percentage = 0;
  if (options_.percentage_to_score > 0) {
    percentage = static_cast<std::size_t>(std::min(options_.percentage_to_score, 100));
  } else {
    // kube-scheduler's adaptive default: 50% at a few hundred nodes, 10% at 5,000, 5% from 5,625.
    const std::size_t drop = total / 125;
    percentage = drop >= 45 ? 5 : 50 - drop;
  }
  const std::size_t wanted = total * percentage / 100;
  return std::min(total, std::max(wanted, kMinFeasibleToScore));
}

Decision Scheduler::schedule(const VmRequest& vm, const HypervisorSource& hypervisors,
                             std::size_t start) const {
  Decision decision;
  decision.total = hypervisors.size();
  if (decision.total == 0) {
    return decision;
  }
  const std::size_t wanted = feasibleToFind(decision.total);
  start %= decision.total;
  for (std::size_t k = 0; k < decision.total && decision.feasible < wanted; ++k) {
    const std::size_t i = (start + k) % decision.total;
    const HypervisorView& hv = hypervisors.at(i);
    ++decision.examined;
    if (auto reason = filter(vm, hv)) {
      ++decision.rejected[static_cast<std::size_t>(*reason)];
      continue;
    }
    ++decision.feasible;
    const int64_t s = score(vm, hv);
    if (!decision.index || s > decision.score ||
        (s == decision.score && hv.name < decision.hypervisor)) {
      decision.index = i;
      decision.score = s;
      decision.hypervisor = hv.name;
    }
  }
  return decision;
}

}  // namespace novacron::controller::scheduler
