#include "controller/migration/decide.h"

#include <algorithm>
#include <tuple>

#include "controller/scheduler/target_preference.h"

namespace novacron::controller::migration {
namespace {

using api::MigrationPhase;

Decision make(Action action, std::string reason = {}, std::string message = {}) {
  return Decision{action, std::move(reason), std::move(message), {}, {}, {}};
}

bool active(const MigrationFacts& m) {
  return !api::isTerminal(m.phase) && !m.cancel && !m.deleting && !m.dry_run;
}

// Slots in use, per limit.
struct Usage {
  int parallel = 0;
  std::map<std::string, int> outbound;
  std::map<std::string, int> inbound;

  void take(const MigrationFacts& m) {
    ++parallel;
    if (!m.source.empty()) {
      ++outbound[m.source];
    }
    if (!m.target.empty()) {
      ++inbound[m.target];
    }
  }
  int out(const std::string& hv) const {
    auto it = outbound.find(hv);
    return it == outbound.end() ? 0 : it->second;
  }
  int in(const std::string& hv) const {
    auto it = inbound.find(hv);
    return it == inbound.end() ? 0 : it->second;
  }
};

int maxOutbound(const DecideInput& in, const std::string& hv) {
  auto it = in.hypervisors.find(hv);
  return it == in.hypervisors.end() ? HypervisorFacts{}.max_outbound : it->second.max_outbound;
}

int maxInbound(const DecideInput& in, const std::string& hv) {
  auto it = in.hypervisors.find(hv);
  return it == in.hypervisors.end() ? HypervisorFacts{}.max_inbound : it->second.max_inbound;
}

// The first limit that `m` would exceed given `usage`, as a message; empty when none. An empty
// target checks the cluster and the source only.
std::string limitReached(const DecideInput& in, const Usage& usage, const MigrationFacts& m) {
  if (usage.parallel >= in.max_parallel) {
    return "waiting for the cluster limit: " + std::to_string(usage.parallel) + " of " +
           std::to_string(in.max_parallel) +
           " migrations running (controller config migrations.maxParallel)";
  }
  if (usage.out(m.source) >= maxOutbound(in, m.source)) {
    return "waiting for the outbound limit of hypervisor " + m.source + ": " +
           std::to_string(usage.out(m.source)) + " of " +
           std::to_string(maxOutbound(in, m.source)) +
           " migrations leaving it (spec.migration.maxOutbound)";
  }
  if (!m.target.empty() && usage.in(m.target) >= maxInbound(in, m.target)) {
    return "waiting for the inbound limit of hypervisor " + m.target + ": " +
           std::to_string(usage.in(m.target)) + " of " + std::to_string(maxInbound(in, m.target)) +
           " migrations entering it (spec.migration.maxInbound)";
  }
  return {};
}

// Slots held now plus those of every older Pending migration the limits admit (FIFO).
Usage usageBefore(const DecideInput& in) {
  Usage usage;
  std::vector<const MigrationFacts*> queue;
  for (const auto& m : in.all) {
    if (m.key == in.self.key || api::isTerminal(m.phase)) {
      continue;
    }
    if (holdsSlot(m.phase)) {
      usage.take(m);
    } else if (active(m) && queueBefore(m, in.self)) {
      queue.push_back(&m);
    }
  }
  std::sort(queue.begin(), queue.end(),
            [](const MigrationFacts* a, const MigrationFacts* b) { return queueBefore(*a, *b); });
  for (const MigrationFacts* m : queue) {
    if (limitReached(in, usage, *m).empty()) {
      usage.take(*m);
    }
  }
  return usage;
}

std::optional<Decision> checkVm(const DecideInput& in) {
  if (!in.vm || in.vm->deleting) {
    return make(Action::kFail, "VMNotFound",
                "VirtualMachine " + in.self.vm_key + (in.vm ? " is being deleted" : " not found"));
  }
  const VmFacts& vm = *in.vm;
  if (!vm.active_migration.empty() && vm.active_migration != in.self.name) {
    return make(Action::kFail, "AlreadyMigrating",
                "VirtualMachine " + in.self.vm_key + " is already being moved by VMMigration " +
                    vm.active_migration);
  }
  return std::nullopt;
}

std::optional<Decision> checkOtherMigrations(const DecideInput& in) {
  for (const auto& other : in.all) {
    if (other.key == in.self.key || other.vm_key != in.self.vm_key || !active(other)) {
      continue;
    }
    if (holdsSlot(other.phase) || before(other, in.self)) {
      return make(Action::kFail, "AlreadyMigrating",
                  "VirtualMachine " + in.self.vm_key + " already has an active VMMigration " +
                      other.name + "; a VM has at most one");
    }
  }
  return std::nullopt;
}

std::optional<Decision> checkExplicitTarget(const DecideInput& in, const std::string& source,
                                            const std::string& target) {
  if (target == source) {
    return make(Action::kFail, "SameHypervisor",
                "spec.targetHypervisor " + target + " is where the VM runs already");
  }
  auto it = in.hypervisors.find(target);
  if (it == in.hypervisors.end()) {
    return make(Action::kFail, "TargetNotFound", "Hypervisor " + target + " not found");
  }
  if (it->second.unfit) {
    return make(Action::kFail, "TargetUnschedulable",
                "the VM cannot be placed on hypervisor " + target + ": " + *it->second.unfit);
  }
  if (it->second.cpu_incompatible) {
    return make(Action::kFail, "TargetCPUIncompatible",
                "hypervisor " + target + " cannot run the guest as it runs on " + source + ": it " +
                    *it->second.cpu_incompatible);
  }
  if (!it->second.address) {
    return make(Action::kFail, "TargetAddressUnknown",
                "Hypervisor " + target +
                    " has no spec.migration.address; set it to the host[:port] the source "
                    "hypervisor reaches it on (kubectl patch hv " +
                    target +
                    " --type merge -p '{\"spec\":{\"migration\":{\"address\":\"...\"}}}')");
  }
  return std::nullopt;
}

Decision admitPending(const DecideInput& in) {
  if (auto failed = checkVm(in)) {
    return *failed;
  }
  if (auto failed = checkOtherMigrations(in)) {
    return *failed;
  }
  const VmFacts& vm = *in.vm;
  if (vm.bound_to.empty()) {
    return make(Action::kFail, "VMNotBound",
                "VirtualMachine " + in.self.vm_key + " is not running on any hypervisor");
  }
  if (in.mode == api::MigrationMode::kLive && vm.phase != api::VirtualMachinePhase::kRunning) {
    return make(Action::kFail, "VMNotRunning",
                "a Live migration needs a Running VM; " + in.self.vm_key + " is " +
                    std::string(vm.phase ? api::toString(*vm.phase) : "without a phase"));
  }
  MigrationFacts self = in.self;
  self.source = vm.bound_to;
  const Usage usage = usageBefore(in);

  if (in.requested_target) {
    self.target = *in.requested_target;
    if (auto failed = checkExplicitTarget(in, self.source, self.target)) {
      return *failed;
    }
    if (auto waiting = limitReached(in, usage, self); !waiting.empty()) {
      return make(Action::kWait, "WaitingForLimit", waiting);
    }
    return Decision{
        Action::kStart, "Scheduling", "", self.target, *in.hypervisors.at(self.target).address, {}};
  }

  // The pick: among the hypervisors that fit, are not the source, have an address and an inbound
  // slot now, the best by rankTargets() (same zone, measured bandwidth, score, name).
  std::string unfit_text;
  int candidates = 0;
  std::vector<std::string> without_address;
  std::vector<scheduler::TargetCandidate> eligible;
  bool inbound_full = false;
  for (const auto& entry : in.hypervisors) {
    const auto& [name, hv] = entry;
    if (name == self.source) {
      continue;
    }
    ++candidates;
    if (hv.unfit) {
      unfit_text += (unfit_text.empty() ? "" : "; ") + name + ": " + *hv.unfit;
      continue;
    }
    if (hv.cpu_incompatible) {
      unfit_text += (unfit_text.empty() ? "" : "; ") + name + ": CPU " + *hv.cpu_incompatible;
      continue;
    }
    if (!hv.address) {
      without_address.push_back(name);
      continue;
    }
    if (usage.in(name) >= hv.max_inbound) {
      inbound_full = true;
      continue;
    }
    eligible.push_back({name, hv.zone, hv.bandwidth_from_source, hv.score});
  }
  if (auto waiting = limitReached(in, usage, self); !waiting.empty()) {
    return make(Action::kWait, "WaitingForLimit", waiting);
  }
  if (!eligible.empty()) {
    const auto ranked = scheduler::rankTargets(in.source_zone, eligible);
    const std::string& best = ranked.front().name;
    return Decision{Action::kStart,
                    "Scheduling",
                    ranked.front().why,
                    best,
                    *in.hypervisors.at(best).address,
                    {}};
  }
  if (inbound_full) {
    return make(Action::kWait, "WaitingForLimit",
                "waiting for an inbound slot: every hypervisor that fits has reached its "
                "spec.migration.maxInbound");
  }
  if (!without_address.empty()) {
    std::string names;
    for (const auto& n : without_address) {
      names += (names.empty() ? "" : ", ") + n;
    }
    return make(Action::kFail, "TargetAddressUnknown",
                "the hypervisors that fit (" + names +
                    ") have no spec.migration.address; set it to the host[:port] other "
                    "hypervisors reach them on");
  }
  return make(Action::kFail, "NoTarget",
              "no hypervisor other than " + self.source + " fits the VM (" +
                  std::to_string(candidates) + " candidates" +
                  (unfit_text.empty() ? "" : ": " + unfit_text) + ")");
}

Decision resumeScheduling(const DecideInput& in) {
  if (auto failed = checkVm(in)) {
    return *failed;
  }
  const std::string& target = in.self.target;
  auto it = in.hypervisors.find(target);
  if (target.empty() || it == in.hypervisors.end()) {
    return make(Action::kFail, "TargetNotFound",
                "Hypervisor " + (target.empty() ? std::string("(none)") : target) + " not found");
  }
  if (!it->second.address) {
    return make(Action::kFail, "TargetAddressUnknown",
                "Hypervisor " + target + " has no spec.migration.address");
  }
  return Decision{Action::kStart, "Scheduling", "", target, *it->second.address, {}};
}

// Preparing / Migrating: the source node-daemon has the next move; the controller only watches
// that it is alive (decide.h).
std::string secondsText(std::chrono::milliseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

// Once `elapsed` passed `bound`: ask the source to abort (spec.cancel, the one abort signal: a late
// pick-up then never starts the job), wait one source_timeout for its answer, then fail — unless
// the source started the job and still heartbeats: then only it can tell where the guest is (its
// libvirtd may have lost the outcome; it asks the target), and failing would unlock the VM on the
// source while the guest may run on the target, so its node-daemon would start it again (the fault
// suite in depth saw a guest run twice so). Such a source is waited for, whatever passed the bound
// (its silence, coldTimeout): it reports the abort itself; once its heartbeat stops it is failed.
// The wait is WaitForSource, with a message that does not change while it lasts (the reconciler
// writes it into a condition). `what` says what passed the bound; the other messages start with
// it.
Decision abortThenFail(const DecideInput& in, std::chrono::milliseconds elapsed,
                       std::chrono::milliseconds bound, const std::string& reason,
                       const std::string& what) {
  const std::string& source = in.self.source;
  if (!in.self.cancel) {
    Decision d =
        make(Action::kAbort, reason,
             what + "; asking the source node-daemon to abort (the VM stays on " + source + ")");
    d.recheck = in.source_timeout;
    return d;
  }
  if (elapsed < bound + in.source_timeout) {
    Decision d = make(Action::kNothing);
    d.recheck = bound + in.source_timeout - elapsed;
    return d;
  }
  if (in.source.picked_up && in.source.heartbeat_fresh) {
    // A live source that started the job: only its report may end the migration.
    Decision d = make(
        Action::kWaitForSource, reason,
        "the source node-daemon (hypervisor " + source + ") was asked to abort (" + reason +
            ") and has not answered; it started the job and still heartbeats, so only it can tell "
            "where the guest is: the migration is neither failed nor released while the source "
            "may still run the job (a guest must never run twice); the VM stays bound to " +
            source);
    d.recheck = in.source_timeout;
    return d;
  }
  return make(Action::kFail, reason,
              what +
                  " and the source node-daemon did not answer the abort request; the VM "
                  "stays bound to " +
                  source);
}

Decision watchSource(const DecideInput& in) {
  const MigrationFacts& self = in.self;
  if (self.deleting && !self.cancel) {
    return make(Action::kAbort, "Cancelled",
                "the VMMigration was deleted; asking the source node-daemon to abort");
  }
  const auto bound = silenceBound(in);
  const auto silent = in.source.silent_for;
  if (silent < bound) {
    Decision d = make(Action::kNothing);
    d.recheck = bound - silent;
    return d;
  }
  const std::string why = !in.source.picked_up ? " never started the migration"
                          : !in.source.heartbeat_fresh
                              ? " stopped heartbeating and reporting progress"
                              : " stopped reporting progress";
  return abortThenFail(in, silent, bound, "SourceNotResponding",
                       "the source node-daemon (hypervisor " + self.source + ")" + why + " for " +
                           secondsText(silent));
}

// Cold, Preparing / Migrating: watchSource(), and the whole move bounded by cold_timeout
// (decide.h).
Decision watchCold(const DecideInput& in) {
  Decision d = watchSource(in);
  if (!in.running_for || in.self.deleting || d.action == Action::kFail) {
    return d;
  }
  const auto ran = *in.running_for;
  const auto bound = in.cold_timeout;
  if (ran < bound) {
    d.recheck = d.recheck.count() > 0 ? std::min(d.recheck, bound - ran) : bound - ran;
    return d;
  }
  return abortThenFail(in, ran, bound, std::string(kReasonColdMigrationTimeout),
                       "the Cold migration has run for " + secondsText(ran) +
                           ", past migrations.coldTimeout (" + secondsText(bound) + ")");
}

// spec.dryRun, Pending: the same checks and target choice as admitPending, but no limits, no
// inbound slots, and other migrations of the VM do not matter (nothing will move).
Decision planPending(const DecideInput& in) {
  if (!in.vm || in.vm->deleting) {
    return make(Action::kFail, "VMNotFound",
                "VirtualMachine " + in.self.vm_key + (in.vm ? " is being deleted" : " not found"));
  }
  const VmFacts& vm = *in.vm;
  if (vm.bound_to.empty()) {
    return make(Action::kFail, "VMNotBound",
                "VirtualMachine " + in.self.vm_key + " is not running on any hypervisor");
  }
  if (in.mode == api::MigrationMode::kLive && vm.phase != api::VirtualMachinePhase::kRunning) {
    return make(Action::kFail, "VMNotRunning",
                "a Live migration needs a Running VM; " + in.self.vm_key + " is " +
                    std::string(vm.phase ? api::toString(*vm.phase) : "without a phase"));
  }
  const std::string& source = vm.bound_to;
  if (in.requested_target) {
    if (auto failed = checkExplicitTarget(in, source, *in.requested_target)) {
      return *failed;
    }
    return Decision{Action::kPlan,
                    "Planning",
                    "spec.targetHypervisor",
                    *in.requested_target,
                    *in.hypervisors.at(*in.requested_target).address,
                    {}};
  }
  // The pick as admitPending makes it (rankTargets: same zone, measured bandwidth, score, name),
  // and its reasons in the plan's words.
  std::vector<scheduler::TargetCandidate> eligible;
  std::string rejected;
  for (const auto& [name, hv] : in.hypervisors) {
    if (name == source) {
      continue;
    }
    const std::string why = hv.unfit              ? *hv.unfit
                            : hv.cpu_incompatible ? "CPU " + *hv.cpu_incompatible
                            : !hv.address         ? std::string("no spec.migration.address")
                                                  : std::string();
    if (!why.empty()) {
      rejected += (rejected.empty() ? "" : "; ") + name + ": " + why;
      continue;
    }
    eligible.push_back({name, hv.zone, hv.bandwidth_from_source, hv.score});
  }
  if (eligible.empty()) {
    return make(Action::kFail, "NoTarget",
                "no hypervisor other than " + source + " fits the VM" +
                    (rejected.empty() ? "" : " (" + rejected + ")"));
  }
  const auto ranked = scheduler::rankTargets(in.source_zone, eligible);
  const scheduler::RankedTarget& best = ranked.front();
  std::string why = best.why + "; the first of " + std::to_string(ranked.size()) + " hypervisor" +
                    (ranked.size() == 1 ? "" : "s") +
                    " that fit (by zone, then measured bandwidth, then score)";
  if (ranked.size() > 1) {
    why += "; next: " + ranked[1].name + " (" + ranked[1].why + ")";
  }
  if (!rejected.empty()) {
    why += "; rejected: " + rejected;
  }
  return Decision{
      Action::kPlan, "Planning", why, best.name, *in.hypervisors.at(best.name).address, {}};
}

// spec.dryRun, Planning: wait for the source node-daemon's measurement.
Decision planWaiting(const DecideInput& in) {
  if (in.measured) {
    return make(Action::kForecast, "Planned");
  }
  if (in.source.silent_for >= in.source_timeout) {
    return make(
        Action::kFail, "SourceNotResponding",
        "the source node-daemon (hypervisor " + in.self.source +
            ") did not measure the guest's dirty rate within " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(in.source_timeout).count()) +
            " s");
  }
  Decision d = make(Action::kNothing);
  d.recheck = in.source_timeout - in.source.silent_for;
  return d;
}

}  // namespace

std::chrono::milliseconds silenceBound(const DecideInput& in) {
  if (!in.source.picked_up || !in.source.heartbeat_fresh) {
    return in.source_timeout;
  }
  return in.source_timeout +
         std::chrono::seconds(std::max<int64_t>(0, in.progress_timeout_seconds));
}

bool holdsSlot(api::MigrationPhase phase) {
  return phase == MigrationPhase::kScheduling || phase == MigrationPhase::kPreparing ||
         phase == MigrationPhase::kMigrating || phase == MigrationPhase::kFinalizing;
}

bool before(const MigrationFacts& a, const MigrationFacts& b) {
  return std::tie(a.created, a.key) < std::tie(b.created, b.key);
}

bool queueBefore(const MigrationFacts& a, const MigrationFacts& b) {
  return std::tie(a.low_priority, a.created, a.key) < std::tie(b.low_priority, b.created, b.key);
}

bool failsOnTheVmsState(const Decision& d) {
  return d.action == Action::kFail &&
         (d.reason == "VMNotFound" || d.reason == "VMNotBound" || d.reason == "VMNotRunning");
}

Decision decide(const DecideInput& in) {
  const MigrationFacts& self = in.self;
  switch (self.phase) {
  case MigrationPhase::kPending:
  case MigrationPhase::kScheduling:
    if (self.cancel || self.deleting) {
      return make(Action::kCancel, "Cancelled",
                  self.deleting ? "the VMMigration was deleted before data started moving"
                                : "cancelled (spec.cancel) before data started moving");
    }
    if (self.dry_run) {
      return planPending(in);
    }
    return self.phase == MigrationPhase::kPending ? admitPending(in) : resumeScheduling(in);
  case MigrationPhase::kPlanning:
    if (self.cancel || self.deleting) {
      return make(Action::kCancel, "Cancelled",
                  self.deleting ? "the plan was deleted" : "cancelled (spec.cancel)");
    }
    return planWaiting(in);
  case MigrationPhase::kPreparing:
  case MigrationPhase::kMigrating:
    return in.mode == api::MigrationMode::kCold ? watchCold(in) : watchSource(in);
  case MigrationPhase::kFinalizing:
    if (!in.vm) {
      return make(Action::kFail, "VMNotFound",
                  "VirtualMachine " + self.vm_key + " was deleted during the switch-over");
    }
    return make(Action::kFinalize, "Succeeded", "");
  case MigrationPhase::kSucceeded:
  case MigrationPhase::kFailed:
  case MigrationPhase::kCancelled:
  case MigrationPhase::kPlanned:
    return make(Action::kComplete);
  }
  return make(Action::kNothing);
}

}  // namespace novacron::controller::migration
