#include "tests/testing/rebalance_simulation.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "controller/rebalance/planner.h"
#include "controller/rebalance/round.h"
#include "controller/scheduler/scheduler.h"

namespace novacron::testing {
namespace {

namespace rb = controller::rebalance;
namespace sched = controller::scheduler;

constexpr int64_t kGi = int64_t{1} << 30;
constexpr int kCritical = 20;  // one VM in this many lives in the excluded namespace
constexpr int kAntiAffinityGroups = 10;

struct SimVm {
  rb::VmCandidate candidate;
  int version = 1;
  std::optional<rb::WallTime> last_moved;
};

struct Fleet {
  std::vector<sched::HypervisorView> hosts;  // allocated kept up to date
  std::vector<SimVm> vms;
  std::map<std::string, std::size_t> index;  // host name -> position
};

std::string zoneOf(const sched::HypervisorView& h) {
  return h.labels.at(std::string(rb::kZoneLabel));
}

void add(sched::Resources& to, const sched::Resources& r, int sign) {
  to.cpus += sign * r.cpus;
  to.memory_bytes += sign * r.memory_bytes;
  to.storage_bytes += sign * r.storage_bytes;
}

Fleet makeFleet(const SimulationOptions& o, const sched::Scheduler& scheduler) {
  Fleet fleet;
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<double> hot(0.80, 0.95);
  std::uniform_real_distribution<double> cold(0.10, 0.40);
  const std::vector<int64_t> sizes_gi = {2, 4, 4, 8, 8, 8, 16, 16, 32};
  std::uniform_int_distribution<std::size_t> pick(0, sizes_gi.size() - 1);
  const int hot_count = static_cast<int>(o.hypervisors * o.hot_fraction);
  int serial = 0;
  for (int i = 0; i < o.hypervisors; ++i) {
    sched::HypervisorView h;
    h.name = "hv-" + std::to_string(i);
    h.ready = true;
    h.unschedulable = i >= o.hypervisors - o.cordoned;
    h.capacity = sched::Resources{64, (i % 5 == 4 ? 512 : 256) * kGi};
    h.labels[std::string(rb::kZoneLabel)] = "zone-" + std::to_string(i % std::max(1, o.zones));
    const double fill = i < hot_count ? hot(rng) : cold(rng);
    const int64_t limit = scheduler.effectiveCapacityOf(h).memory_bytes;
    for (;;) {
      const int64_t gi = sizes_gi[pick(rng)];
      sched::VmRequest request;
      request.resources = sched::Resources{std::max<int64_t>(1, gi / 4), gi * kGi, 0};
      if (static_cast<double>(h.allocated.memory_bytes + request.resources.memory_bytes) >
          fill * static_cast<double>(limit)) {
        break;
      }
      ++serial;
      if (serial % 17 == 0) {
        request.anti_affinity_group = "group-" + std::to_string(serial % kAntiAffinityGroups);
        if (std::count(h.anti_affinity_groups.begin(), h.anti_affinity_groups.end(),
                       request.anti_affinity_group) > 0) {
          request.anti_affinity_group.clear();
        } else {
          h.anti_affinity_groups.push_back(request.anti_affinity_group);
        }
      }
      if (serial % 13 == 0) {  // must stay in its zone
        request.hypervisor_selector[std::string(rb::kZoneLabel)] = zoneOf(h);
      }
      SimVm vm;
      vm.candidate.namespace_ =
          serial % kCritical == 0 ? "critical" : "tenant-" + std::to_string(serial % 7);
      vm.candidate.name = "vm-" + std::to_string(serial);
      vm.candidate.hypervisor = h.name;
      vm.candidate.request = request;
      add(h.allocated, request.resources, +1);
      fleet.vms.push_back(std::move(vm));
    }
    fleet.index[h.name] = fleet.hosts.size();
    fleet.hosts.push_back(std::move(h));
  }
  return fleet;
}

rb::RoundInput observe(const Fleet& fleet, const std::vector<rb::MigrationRecord>& records,
                       rb::WallTime now) {
  rb::RoundInput in;
  in.now = now;
  in.hypervisors = fleet.hosts;
  in.migrations = records;
  in.vms.reserve(fleet.vms.size());
  for (const auto& vm : fleet.vms) {
    rb::VmCandidate c = vm.candidate;
    c.resource_version = std::to_string(vm.version);
    in.vms.push_back(std::move(c));
  }
  return in;
}

class Checker {
public:
  Checker(const SimulationOptions& o, const sched::Scheduler& scheduler, SimulationResult& result)
      : o_(o), scheduler_(scheduler), result_(result) {}

  // Before a move is applied: would the real system accept it?
  void move(const Fleet& fleet, const SimVm& vm, const rb::NewMigration& n, rb::WallTime now) {
    const auto& target = fleet.hosts[fleet.index.at(n.target)];
    if (auto reason = scheduler_.filter(vm.candidate.request, target)) {
      fail(n.name + ": target " + n.target +
           " rejects the VM: " + std::string(sched::rejectReasonText(*reason)));
    }
    if (fleet.hosts[fleet.index.at(n.source)].unschedulable) {
      fail(n.name + ": moves a VM off a cordoned hypervisor (evacuation's business)");
    }
    if (vm.candidate.namespace_ == "critical") {
      fail(n.name + ": moves a VM of an excluded namespace");
    }
    if (vm.last_moved && now - *vm.last_moved < o_.config.cooldown) {
      fail(n.name + ": moves " + vm.candidate.name + " again within the cooldown");
    }
    if (rb::inQuietHours(o_.config.quiet_hours, now)) {
      fail(n.name + ": created inside quiet hours");
    }
    if (!names_.insert(n.name).second) {
      fail(n.name + ": the same name twice");
    }
  }

  // After a round: budgets over the hour ending now (creations happen only at round times, so
  // checking every round's window checks every window).
  void budget(const std::vector<rb::MigrationRecord>& records, rb::WallTime now) {
    int total = 0;
    std::map<std::string, int> per_node;
    for (const auto& r : records) {
      if (*r.created > now - std::chrono::hours(1)) {
        ++total;
        ++per_node[r.source];
        ++per_node[r.target];
      }
    }
    result_.max_in_any_hour = std::max(result_.max_in_any_hour, total);
    if (total > o_.config.budget_per_hour) {
      fail("budget exceeded: " + std::to_string(total) + " in the hour before round " +
           std::to_string(result_.rounds));
    }
    for (const auto& [node, count] : per_node) {
      result_.max_per_node_in_any_hour = std::max(result_.max_per_node_in_any_hour, count);
      if (count > o_.config.budget_per_node_per_hour) {
        fail("per-node budget exceeded on " + node);
      }
    }
  }

  void capacity(const Fleet& fleet) {
    for (const auto& h : fleet.hosts) {
      const auto limit = scheduler_.effectiveCapacityOf(h);
      if (h.allocated.memory_bytes > limit.memory_bytes || h.allocated.cpus > limit.cpus) {
        fail(h.name + " over its schedulable limit");
      }
    }
  }

private:
  void fail(std::string what) {
    if (result_.violations.size() < 20) {
      result_.violations.push_back(std::move(what));
    }
  }

  const SimulationOptions& o_;
  const sched::Scheduler& scheduler_;
  SimulationResult& result_;
  std::set<std::string> names_;
};

void apply(Fleet& fleet, std::size_t vm_index, const rb::NewMigration& n, rb::WallTime now,
           std::vector<rb::MigrationRecord>& records) {
  SimVm& vm = fleet.vms[vm_index];
  auto& source = fleet.hosts[fleet.index.at(n.source)];
  auto& target = fleet.hosts[fleet.index.at(n.target)];
  add(source.allocated, vm.candidate.request.resources, -1);
  add(target.allocated, vm.candidate.request.resources, +1);
  const auto& group = vm.candidate.request.anti_affinity_group;
  if (!group.empty()) {
    auto it =
        std::find(source.anti_affinity_groups.begin(), source.anti_affinity_groups.end(), group);
    if (it != source.anti_affinity_groups.end()) {
      source.anti_affinity_groups.erase(it);
    }
    target.anti_affinity_groups.push_back(group);
  }
  vm.candidate.hypervisor = n.target;
  ++vm.version;
  vm.last_moved = now;
  rb::MigrationRecord r;
  r.namespace_ = n.namespace_;
  r.name = n.name;
  r.vm_name = n.vm_name;
  r.rebalance = true;
  r.phase = api::MigrationPhase::kSucceeded;
  r.created = now;
  r.completed = now;
  r.source = n.source;
  r.target = n.target;
  records.push_back(std::move(r));
}

int lowerBound(const Fleet& fleet, const SimulationOptions& o, const sched::Scheduler& scheduler) {
  if (o.config.metric != rb::SpreadMetric::kMemoryMaxMin) {
    return 0;
  }
  double allocated = 0;
  double limits = 0;
  int64_t largest = 0;
  std::map<std::string, std::vector<int64_t>> sizes;  // movable VMs per hypervisor
  for (const auto& vm : fleet.vms) {
    const int64_t bytes = vm.candidate.request.resources.memory_bytes;
    largest = std::max(largest, bytes);
    if (vm.candidate.namespace_ != "critical") {
      sizes[vm.candidate.hypervisor].push_back(bytes);
    }
  }
  for (const auto& h : fleet.hosts) {
    if (!h.unschedulable) {
      allocated += static_cast<double>(h.allocated.memory_bytes);
      limits += static_cast<double>(scheduler.effectiveCapacityOf(h).memory_bytes);
    }
  }
  const double mean = 100.0 * allocated / limits;
  int out = 0;
  int in = 0;
  for (const auto& h : fleet.hosts) {
    if (h.unschedulable) {
      continue;
    }
    const double limit = static_cast<double>(scheduler.effectiveCapacityOf(h).memory_bytes);
    double used = static_cast<double>(h.allocated.memory_bytes);
    auto own = sizes[h.name];
    std::sort(own.rbegin(), own.rend());
    for (std::size_t i = 0;
         i < own.size() && 100.0 * used / limit > mean + o.config.max_imbalance_percent; ++i) {
      used -= static_cast<double>(own[i]);
      ++out;
    }
    used = static_cast<double>(h.allocated.memory_bytes);
    while (100.0 * used / limit < mean - o.config.max_imbalance_percent) {
      used += static_cast<double>(largest);
      ++in;
    }
  }
  return std::max(out, in);
}

}  // namespace

SimulationResult runRebalanceSimulation(const SimulationOptions& o) {
  SimulationResult result;
  sched::SchedulerOptions scheduler_options;
  scheduler_options.default_overcommit = o.overcommit;
  const sched::Scheduler scheduler(scheduler_options);
  Fleet fleet = makeFleet(o, scheduler);
  result.hypervisors = static_cast<int>(fleet.hosts.size());
  result.vms = static_cast<int>(fleet.vms.size());
  result.lower_bound = lowerBound(fleet, o, scheduler);
  std::map<std::string, std::size_t> vm_index;
  for (std::size_t i = 0; i < fleet.vms.size(); ++i) {
    vm_index[fleet.vms[i].candidate.key()] = i;
  }
  rb::PlannerOptions planner;
  planner.metric = o.config.metric;
  planner.max_imbalance_percent = o.config.max_imbalance_percent;
  planner.cooldown = o.config.cooldown;
  planner.exclude_namespaces = o.config.exclude_namespaces;
  planner.scheduler = scheduler_options;
  Checker check(o, scheduler, result);
  std::vector<rb::MigrationRecord> records;
  // Midnight UTC, 2026-12-01.
  const rb::WallTime start = std::chrono::sys_days{std::chrono::year{2026} / 12 / 1};
  rb::WallTime now = start;
  for (int round = 0; round < o.max_rounds; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    rb::RoundDecision d = rb::decideRound(observe(fleet, records, now), o.config, planner);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    result.decide_ms_total += ms;
    result.decide_ms_max = std::max(result.decide_ms_max, ms);
    result.rounds = round + 1;
    result.last_message = d.message;
    if (round == 0) {
      result.initial_spread = d.plan.spread_before;
    }
    result.final_spread = d.plan.spread_before;
    result.quiet_rounds += d.state == rb::RoundState::kQuietHours ? 1 : 0;
    if (d.plan.outcome == rb::PlanOutcome::kBalanced) {
      result.converged = true;
      break;
    }
    for (const auto& n : d.create) {
      const std::size_t i = vm_index.at(n.namespace_ + "/" + n.vm_name);
      check.move(fleet, fleet.vms[i], n, now);
      apply(fleet, i, n, now, records);
      ++result.migrations;
    }
    result.rounds_with_moves += d.create.empty() ? 0 : 1;
    check.budget(records, now);
    check.capacity(fleet);
    now += o.config.interval;
  }
  result.simulated = std::chrono::duration_cast<std::chrono::minutes>(now - start);
  return result;
}

}  // namespace novacron::testing
