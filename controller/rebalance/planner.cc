#include "controller/rebalance/planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "controller/rebalance/spread.h"

namespace novacron::controller::rebalance {
namespace {

// Differences below this many percentage points are noise from floating-point sums.
constexpr double kEpsilon = 1e-9;
// Candidate sources (the fullest) and targets (the emptiest) weighed per step: the best move of a
// step almost always joins the extremes; 16 each keeps a step cheap on hundreds of hypervisors.
constexpr std::size_t kCandidateHosts = 16;

bool usesMemory(SpreadMetric metric) {
  return metric == SpreadMetric::kMemoryMaxMin || metric == SpreadMetric::kMemoryStdDev;
}

SpreadKind kindOf(SpreadMetric metric) {
  return metric == SpreadMetric::kMemoryMaxMin || metric == SpreadMetric::kCpuMaxMin
             ? SpreadKind::kMaxMin
             : SpreadKind::kStdDev;
}

int64_t amountOf(const scheduler::Resources& r, SpreadMetric metric) {
  return usesMemory(metric) ? r.memory_bytes : r.cpus;
}

std::string fixed1(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", value);
  return buffer;
}

std::string labelOr(const std::map<std::string, std::string>& labels, std::string_view key) {
  auto it = labels.find(std::string(key));
  return it == labels.end() ? std::string() : it->second;
}

struct Host {
  scheduler::HypervisorView view;
  std::string zone;
  int64_t limit = 0;             // schedulable limit of the metric's resource
  std::vector<std::size_t> vms;  // movable candidates, indices into PlanInput::vms
  int budget_left = 0;
};

double utilOf(const Host& h, SpreadMetric metric) {
  return 100.0 * static_cast<double>(amountOf(h.view.allocated, metric)) /
         static_cast<double>(h.limit);
}

void add(scheduler::Resources& to, const scheduler::Resources& r, int sign) {
  to.cpus += sign * r.cpus;
  to.memory_bytes += sign * r.memory_bytes;
  to.storage_bytes += sign * r.storage_bytes;
}

struct Candidate {
  std::size_t source = 0;
  std::size_t target = 0;
  std::size_t vm = 0;    // index into PlanInput::vms
  std::size_t slot = 0;  // index into hosts[source].vms
  SpreadValue value;
  double source_after = 0;
  double target_after = 0;
  bool same_zone = false;
};

class Search {
public:
  Search(const PlanInput& input, const PlannerOptions& options, std::vector<Host>& hosts,
         const SpreadTracker& tracker, const scheduler::Scheduler& scheduler)
      : input_(input), options_(options), hosts_(hosts), tracker_(tracker), scheduler_(scheduler) {}

  std::optional<Candidate> best() const {
    std::vector<std::size_t> order(hosts_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const double ua = tracker_.utilisation(a);
      const double ub = tracker_.utilisation(b);
      return ua != ub ? ua > ub : hosts_[a].view.name < hosts_[b].view.name;
    });
    std::vector<std::size_t> sources;
    for (std::size_t i : order) {
      if (sources.size() == kCandidateHosts) {
        break;
      }
      if (hosts_[i].budget_left > 0 && !hosts_[i].vms.empty()) {
        sources.push_back(i);
      }
    }
    std::vector<std::size_t> targets;
    for (auto it = order.rbegin(); it != order.rend() && targets.size() < kCandidateHosts; ++it) {
      if (hosts_[*it].budget_left > 0) {
        targets.push_back(*it);
      }
    }
    const SpreadValue now = tracker_.value();
    std::optional<Candidate> best;
    for (std::size_t s : sources) {
      for (std::size_t t : targets) {
        if (s == t ||
            (input_.can_migrate && !input_.can_migrate(hosts_[s].view.name, hosts_[t].view.name))) {
          continue;
        }
        for (std::size_t slot = 0; slot < hosts_[s].vms.size(); ++slot) {
          consider(s, slot, t, now, best);
        }
      }
    }
    return best;
  }

private:
  void consider(std::size_t s, std::size_t slot, std::size_t t, const SpreadValue& now,
                std::optional<Candidate>& best) const {
    if (s == t || tracker_.utilisation(t) >= tracker_.utilisation(s)) {
      return;
    }
    const Host& source = hosts_[s];
    const Host& target = hosts_[t];
    const VmCandidate& vm = input_.vms[source.vms[slot]];
    const int64_t amount = amountOf(vm.request.resources, options_.metric);
    if (amount <= 0 || scheduler_.filter(vm.request, target.view).has_value()) {
      return;
    }
    Candidate c{s, t, source.vms[slot], slot};
    c.source_after =
        100.0 * static_cast<double>(amountOf(source.view.allocated, options_.metric) - amount) /
        static_cast<double>(source.limit);
    c.target_after =
        100.0 * static_cast<double>(amountOf(target.view.allocated, options_.metric) + amount) /
        static_cast<double>(target.limit);
    c.value = tracker_.valueIf(s, c.source_after, t, c.target_after);
    c.same_zone = !source.zone.empty() && source.zone == target.zone;
    const bool lowers = c.value.spread < now.spread - kEpsilon;
    const bool on_plateau = c.value.spread <= now.spread + kEpsilon &&
                            c.value.load < now.load - kEpsilon &&
                            (tracker_.utilisation(s) >= tracker_.max() - kEpsilon ||
                             tracker_.utilisation(t) <= tracker_.min() + kEpsilon);
    if (!lowers && !on_plateau) {
      return;
    }
    if (!best || better(c, *best)) {
      best = c;
    }
  }

  bool better(const Candidate& a, const Candidate& b) const {
    if (std::abs(a.value.spread - b.value.spread) > kEpsilon) {
      return a.value.spread < b.value.spread;
    }
    if (std::abs(a.value.load - b.value.load) > kEpsilon) {
      return a.value.load < b.value.load;
    }
    if (a.same_zone != b.same_zone) {
      return a.same_zone;
    }
    const auto ka = input_.vms[a.vm].key();
    const auto kb = input_.vms[b.vm].key();
    if (ka != kb) {
      return ka < kb;
    }
    return hosts_[a.target].view.name < hosts_[b.target].view.name;
  }

  const PlanInput& input_;
  const PlannerOptions& options_;
  std::vector<Host>& hosts_;
  const SpreadTracker& tracker_;
  const scheduler::Scheduler& scheduler_;
};

bool excluded(const VmCandidate& vm, const PlannerOptions& options) {
  if (std::find(options.exclude_namespaces.begin(), options.exclude_namespaces.end(),
                vm.namespace_) != options.exclude_namespaces.end()) {
    return true;
  }
  return !options.exclude_selector.empty() && options.exclude_selector.matches(vm.labels);
}

std::string summarise(const Plan& plan, const PlannerOptions& options, int budget_left) {
  const std::string metric(spreadMetricName(options.metric));
  const std::string allowed = fixed1(options.max_imbalance_percent);
  const std::string change = metric + " spread " + fixed1(plan.spread_before) + " -> " +
                             fixed1(plan.spread_after) + " points (allowed " + allowed + ")";
  const std::string n = std::to_string(plan.moves.size()) + " move(s)";
  switch (plan.outcome) {
  case PlanOutcome::kBalanced:
    return metric + " spread " + fixed1(plan.spread_before) + " points is within the allowed " +
           allowed + " on " + std::to_string(plan.hypervisors) + " hypervisors: nothing to move";
  case PlanOutcome::kConverged:
    return n + " bring " + change;
  case PlanOutcome::kBudgetExhausted:
    return n + " bring " + change + "; the migration budget is spent (" +
           std::to_string(budget_left) + " left), the rest waits for budget";
  case PlanOutcome::kNoFeasibleMove:
    return n + " bring " + change + "; no further move helps (" +
           std::to_string(plan.excluded_vms) + " VMs excluded, " +
           std::to_string(plan.cooling_vms) +
           " cooling down; the others fit nowhere that lowers the spread, or their hypervisors' "
           "budget is spent)";
  case PlanOutcome::kTooFewHypervisors:
    return std::to_string(plan.hypervisors) +
           " hypervisor(s) Ready, schedulable and out of maintenance: nothing to balance";
  }
  return {};
}

}  // namespace

int Budget::remainingOn(const std::string& hypervisor) const {
  auto it = used_per_node.find(hypervisor);
  return per_node_limit - (it == used_per_node.end() ? 0 : it->second);
}

std::string_view planOutcomeName(PlanOutcome outcome) {
  switch (outcome) {
  case PlanOutcome::kBalanced:
    return "Balanced";
  case PlanOutcome::kConverged:
    return "Converged";
  case PlanOutcome::kBudgetExhausted:
    return "BudgetExhausted";
  case PlanOutcome::kNoFeasibleMove:
    return "NoFeasibleMove";
  case PlanOutcome::kTooFewHypervisors:
    return "TooFewHypervisors";
  }
  return "Balanced";
}

std::optional<double> utilisationPercent(const scheduler::HypervisorView& hv,
                                         const scheduler::Scheduler& scheduler,
                                         SpreadMetric metric) {
  const int64_t limit = amountOf(scheduler.effectiveCapacityOf(hv), metric);
  if (limit <= 0) {
    return std::nullopt;
  }
  return 100.0 * static_cast<double>(amountOf(hv.allocated, metric)) / static_cast<double>(limit);
}

Plan plan(const PlanInput& input, const PlannerOptions& options) {
  const scheduler::Scheduler scheduler(options.scheduler);
  const SpreadMetric metric = options.metric;
  Plan result;
  std::vector<Host> hosts;
  std::map<std::string, std::size_t> index;
  for (const auto& hv : input.hypervisors) {
    if (!hv.ready || hv.unschedulable || hv.maintenance) {
      continue;
    }
    const int64_t limit = amountOf(scheduler.effectiveCapacityOf(hv), metric);
    if (limit <= 0) {
      continue;
    }
    index[hv.name] = hosts.size();
    hosts.push_back(
        Host{hv, labelOr(hv.labels, kZoneLabel), limit, {}, input.budget.remainingOn(hv.name)});
  }
  result.hypervisors = hosts.size();
  if (hosts.size() < 2) {
    result.outcome = PlanOutcome::kTooFewHypervisors;
    result.summary = summarise(result, options, input.budget.remaining);
    return result;
  }
  for (std::size_t i = 0; i < input.vms.size(); ++i) {
    const VmCandidate& vm = input.vms[i];
    auto host = index.find(vm.hypervisor);
    if (host == index.end() || !vm.movable) {
      continue;
    }
    if (excluded(vm, options)) {
      ++result.excluded_vms;
      continue;
    }
    if (vm.last_moved && input.now - *vm.last_moved < options.cooldown) {
      ++result.cooling_vms;
      continue;
    }
    hosts[host->second].vms.push_back(i);
  }
  std::vector<double> utils;
  std::vector<double> weights;
  double total_limit = 0;
  for (const auto& h : hosts) {
    utils.push_back(utilOf(h, metric));
    total_limit += static_cast<double>(h.limit);
  }
  for (const auto& h : hosts) {
    weights.push_back(static_cast<double>(h.limit) * static_cast<double>(hosts.size()) /
                      total_limit);
  }
  SpreadTracker tracker(kindOf(metric), std::move(utils), std::move(weights));
  result.spread_before = tracker.value().spread;
  int budget = input.budget.remaining;
  const Search search(input, options, hosts, tracker, scheduler);
  for (;;) {
    const SpreadValue now = tracker.value();
    if (now.spread <= options.max_imbalance_percent + kEpsilon) {
      result.outcome = result.moves.empty() ? PlanOutcome::kBalanced : PlanOutcome::kConverged;
      break;
    }
    if (budget <= 0) {
      result.outcome = PlanOutcome::kBudgetExhausted;
      break;
    }
    auto best = search.best();
    if (!best) {
      result.outcome = PlanOutcome::kNoFeasibleMove;
      break;
    }
    Host& source = hosts[best->source];
    Host& target = hosts[best->target];
    const VmCandidate& vm = input.vms[best->vm];
    const double source_before = tracker.utilisation(best->source);
    const double target_before = tracker.utilisation(best->target);
    add(source.view.allocated, vm.request.resources, -1);
    add(target.view.allocated, vm.request.resources, +1);
    if (!vm.request.anti_affinity_group.empty()) {
      auto& groups = source.view.anti_affinity_groups;
      auto it = std::find(groups.begin(), groups.end(), vm.request.anti_affinity_group);
      if (it != groups.end()) {
        groups.erase(it);
      }
      target.view.anti_affinity_groups.push_back(vm.request.anti_affinity_group);
    }
    source.vms.erase(source.vms.begin() + static_cast<std::ptrdiff_t>(best->slot));
    --source.budget_left;
    --target.budget_left;
    --budget;
    tracker.set(best->source, best->source_after);
    tracker.set(best->target, best->target_after);
    Move move{vm.namespace_,          vm.name, source.view.name, target.view.name, now.spread,
              tracker.value().spread, {}};
    move.reason = std::string(spreadMetricName(metric)) + " spread " + fixed1(move.spread_before) +
                  " -> " + fixed1(move.spread_after) + " points (allowed " +
                  fixed1(options.max_imbalance_percent) + "): " + source.view.name + " " +
                  fixed1(source_before) + "% -> " + fixed1(best->source_after) + "%, " +
                  target.view.name + " " + fixed1(target_before) + "% -> " +
                  fixed1(best->target_after) + "%" +
                  (best->same_zone ? ", same zone " + source.zone : std::string());
    result.moves.push_back(std::move(move));
  }
  result.spread_after = tracker.value().spread;
  result.summary = summarise(result, options, budget);
  return result;
}

}  // namespace novacron::controller::rebalance
