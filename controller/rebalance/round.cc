#include "controller/rebalance/round.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "lib/api/names.h"

namespace novacron::controller::rebalance {
namespace {

constexpr auto kBudgetWindow = std::chrono::hours(1);
// Room for "-rebalance-" and 8 hex digits within a 63-character name (also a valid label value).
constexpr std::size_t kNamePrefixMax = 63 - 11 - 8;

std::string annotationOr(const api::ObjectMeta& meta, std::string_view key) {
  auto it = meta.annotations.find(std::string(key));
  return it == meta.annotations.end() ? std::string() : it->second;
}

uint32_t fnv1a(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

// Completes each VM's last move and movability from the migrations that exist.
void applyMigrations(std::vector<VmCandidate>& vms, const std::vector<MigrationRecord>& records) {
  std::map<std::string, std::pair<std::optional<WallTime>, bool>> by_vm;  // last move, in flight
  for (const auto& r : records) {
    auto& [last, in_flight] = by_vm[r.namespace_ + "/" + r.vm_name];
    for (const auto& when : {r.created, r.completed}) {
      if (when && (!last || *when > *last)) {
        last = when;
      }
    }
    in_flight = in_flight || !api::isTerminal(r.phase);
  }
  for (auto& vm : vms) {
    auto it = by_vm.find(vm.key());
    if (it == by_vm.end()) {
      continue;
    }
    const auto& [last, in_flight] = it->second;
    if (last && (!vm.last_moved || *last > *vm.last_moved)) {
      vm.last_moved = last;
    }
    vm.movable = vm.movable && !in_flight;
  }
}

std::string budgetText(const RoundDecision& d, const RebalanceConfig& config) {
  return "budget " + std::to_string(d.budget_used) + "/" + std::to_string(config.budget_per_hour) +
         " used in the last hour";
}

}  // namespace

std::string_view roundStateName(RoundState state) {
  switch (state) {
  case RoundState::kPlanned:
    return "Planned";
  case RoundState::kWaiting:
    return "Waiting";
  case RoundState::kQuietHours:
    return "QuietHours";
  case RoundState::kPaused:
    return "Paused";
  }
  return "Planned";
}

MigrationRecord recordOf(const api::VMMigration& m) {
  MigrationRecord r;
  r.namespace_ = m.metadata.namespace_;
  r.name = m.metadata.name;
  r.vm_name = m.spec.vmName;
  auto initiator = m.metadata.labels.find(std::string(kInitiatorLabel));
  r.rebalance = initiator != m.metadata.labels.end() && initiator->second == kRebalanceInitiator;
  r.acknowledged = annotationOr(m.metadata, kAcknowledgedAnnotation) == "true";
  r.phase = m.status.phase.value_or(api::MigrationPhase::kPending);
  if (m.metadata.creationTimestamp) {
    r.created = *m.metadata.creationTimestamp;
  }
  if (m.status.completionTime) {
    r.completed = *m.status.completionTime;
  }
  r.source = m.status.sourceHypervisor.value_or(annotationOr(m.metadata, kSourceAnnotation));
  r.target = m.status.targetHypervisor.value_or(m.spec.targetHypervisor.value_or(""));
  r.failure_reason = m.status.failureReason.value_or("");
  return r;
}

Budget budgetAt(const std::vector<MigrationRecord>& migrations, WallTime now,
                const RebalanceConfig& config) {
  Budget budget;
  budget.per_node_limit = config.budget_per_node_per_hour;
  int used = 0;
  for (const auto& r : migrations) {
    // A migration without a creationTimestamp has not been stored yet; count it (conservative).
    if (!r.rebalance || (r.created && now - *r.created >= kBudgetWindow)) {
      continue;
    }
    ++used;
    for (const auto& hv : std::set<std::string>{r.source, r.target}) {
      if (!hv.empty()) {
        ++budget.used_per_node[hv];
      }
    }
  }
  budget.remaining = std::max(0, config.budget_per_hour - used);
  return budget;
}

bool inQuietHours(const std::vector<QuietHours>& windows, WallTime now) {
  const auto day = std::chrono::floor<std::chrono::days>(now);
  const int minute =
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(now - day).count());
  for (const auto& w : windows) {
    const bool inside = w.start_minute <= w.end_minute
                            ? minute >= w.start_minute && minute < w.end_minute
                            : minute >= w.start_minute || minute < w.end_minute;
    if (inside) {
      return true;
    }
  }
  return false;
}

std::string migrationName(const VmCandidate& vm, std::string_view target) {
  const std::string seed = vm.namespace_ + "/" + vm.name + "@" + vm.resource_version + ":" +
                           vm.hypervisor + ">" + std::string(target);
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", fnv1a(seed));
  std::string prefix = vm.name.substr(0, kNamePrefixMax);
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '.')) {
    prefix.pop_back();
  }
  return prefix + "-rebalance-" + hex;
}

RoundDecision decideRound(RoundInput input, const RebalanceConfig& config,
                          const PlannerOptions& options) {
  RoundDecision d;
  applyMigrations(input.vms, input.migrations);
  PlanInput plan_input{std::move(input.hypervisors), std::move(input.vms),
                       budgetAt(input.migrations, input.now, config), input.now,
                       std::move(input.can_migrate)};
  d.budget_remaining = plan_input.budget.remaining;
  d.budget_used = config.budget_per_hour - d.budget_remaining;
  d.plan = plan(plan_input, options);
  int in_flight = 0;
  for (const auto& r : input.migrations) {
    if (!r.rebalance) {
      continue;
    }
    if (r.phase == api::MigrationPhase::kFailed && !r.acknowledged && !d.failed) {
      d.failed = r;
    }
    in_flight += api::isTerminal(r.phase) ? 0 : 1;
  }
  if (d.failed) {
    d.state = RoundState::kPaused;
    d.message =
        "paused: rebalance migration " + d.failed->namespace_ + "/" + d.failed->name + " Failed" +
        (d.failed->failure_reason.empty() ? "" : " (" + d.failed->failure_reason + ")") +
        "; annotate it " + std::string(kAcknowledgedAnnotation) + "=true or delete it to resume";
    return d;
  }
  if (in_flight > 0) {
    d.state = RoundState::kWaiting;
    d.message = "waiting for " + std::to_string(in_flight) + " rebalance migration(s) in flight; " +
                d.plan.summary;
    return d;
  }
  if (inQuietHours(config.quiet_hours, input.now)) {
    d.state = RoundState::kQuietHours;
    d.message = "quiet hours: nothing moves now; " + d.plan.summary;
    return d;
  }
  d.state = RoundState::kPlanned;
  d.message = d.plan.summary + "; " + budgetText(d, config);
  std::map<std::string, const VmCandidate*> vms;
  for (const auto& vm : plan_input.vms) {
    vms[vm.key()] = &vm;
  }
  for (const auto& move : d.plan.moves) {
    const VmCandidate& vm = *vms.at(move.namespace_ + "/" + move.name);
    d.create.push_back(NewMigration{move.namespace_, migrationName(vm, move.target), move.name,
                                    move.source, move.target, move.reason});
  }
  return d;
}

}  // namespace novacron::controller::rebalance
