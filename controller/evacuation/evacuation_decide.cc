#include "controller/evacuation/evacuation_decide.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace novacron::controller::evacuation {
namespace {

using api::ConditionStatus;
using api::EvictionStrategy;
using api::MigrationMode;
using api::MigrationPhase;
using api::VirtualMachinePhase;

constexpr std::chrono::seconds kPendingRecheck{15};

bool isOff(const std::optional<VirtualMachinePhase>& phase) {
  return phase == VirtualMachinePhase::kStopped || phase == VirtualMachinePhase::kFailed;
}

bool startedMoving(MigrationPhase phase) {
  return phase == MigrationPhase::kPreparing || phase == MigrationPhase::kMigrating ||
         phase == MigrationPhase::kFinalizing;
}

// Words for a blocker reason, for the condition message ("3 VMs cannot move: <words>").
std::string words(const std::string& reason) {
  static const std::map<std::string, std::string> kWords = {
      {"InsufficientCapacity", "insufficient capacity"},
      {"NotLiveMigratable", "not live-migratable"},
      {"Cancelled", "evacuation cancelled"},
      {"Restarted", "started again after the evacuation stopped it"},
      {"CPUIncompatible", "no CPU-compatible hypervisor"},
      {"TargetAddressUnknown", "the hypervisors that fit have no spec.migration.address"},
  };
  auto it = kWords.find(reason);
  return it == kWords.end() ? "migration failed (" + reason + ")" : it->second;
}

std::string blockerReason(const MigrationFacts& failed) {
  const std::string& r = failed.failure_reason;
  if (r == "NoTarget" || r == "InsufficientCapacity" || r == "TargetUnschedulable") {
    return "InsufficientCapacity";
  }
  if (r == "TargetCPUIncompatible") {
    return "CPUIncompatible";
  }
  if (r == "TargetAddressUnknown") {
    return "TargetAddressUnknown";
  }
  return "MigrationFailed";
}

std::string vmCount(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " VM" : " VMs");
}

// "3 VMs cannot move: insufficient capacity; 1 VM cannot move: not live-migratable"
std::string blockedMessage(const std::vector<api::EvacuationBlocker>& blocked) {
  std::map<std::string, std::size_t> by_reason;
  for (const auto& b : blocked) {
    ++by_reason[b.reason];
  }
  std::vector<std::pair<std::string, std::size_t>> ordered(by_reason.begin(), by_reason.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [reason, n] : ordered) {
    out += (out.empty() ? "" : "; ") + vmCount(n) + " cannot move: " + words(reason);
  }
  return out;
}

std::optional<api::RunStrategy> parseRunStrategy(const std::string& text) {
  return api::fromString<api::RunStrategy>(text);
}

// Per-VM classification while in maintenance.
class Evacuation {
public:
  Evacuation(const EvacuationInput& in, EvacuationPlan& plan) : in_(in), plan_(plan) {
    status_.total = 0;
  }

  void run() {
    std::set<std::string> bound;
    for (const auto& vm : in_.vms) {
      bound.insert(vm.key());
      classify(vm);
    }
    countMigrated(bound);
    status_.total = status_.migrated + static_cast<int32_t>(in_.vms.size());
    setConditions();
    plan_.status = status_;
    if (plan_.recheck.count() == 0 && status_.pending > 0) {
      plan_.recheck = kPendingRecheck;
    }
  }

private:
  const MigrationFacts* latestAttempt(const VmFacts& vm) const {
    const MigrationFacts* latest = nullptr;
    for (const auto& m : in_.migrations) {
      if (m.evacuating == in_.hypervisor && m.vmKey() == vm.key() &&
          (!latest || m.attempt > latest->attempt)) {
        latest = &m;
      }
    }
    return latest;
  }

  const MigrationFacts* otherActive(const VmFacts& vm) const {
    for (const auto& m : in_.migrations) {
      if (m.evacuating != in_.hypervisor && m.vmKey() == vm.key() && !api::isTerminal(m.phase) &&
          !m.cancel && !m.deleting) {
        return &m;
      }
    }
    return nullptr;
  }

  void block(const VmFacts& vm, std::string reason, std::string message) {
    status_.blocked.push_back({vm.key(), std::move(reason), std::move(message), {}});
  }

  void create(const VmFacts& vm, int attempt, MigrationMode mode, std::string why) {
    plan_.create.push_back({vm.ns, evacuationName(in_.hypervisor, vm.name, attempt), vm.name,
                            vm.uid, mode, std::move(why)});
    ++status_.pending;
  }

  void classify(const VmFacts& vm) {
    if (vm.deleting) {
      ++status_.pending;  // leaves by itself
      return;
    }
    if (otherActive(vm)) {
      ++status_.pending;  // a user's migration moves it (or fails; then the evacuation acts)
      return;
    }
    const MigrationFacts* latest = latestAttempt(vm);
    if (latest && !api::isTerminal(latest->phase)) {
      ++status_.pending;
      return;
    }
    if (vm.strategy == EvictionStrategy::kNone) {
      stopInPlace(vm);
      return;
    }
    if (!latest) {
      move(vm, 1, false);
      return;
    }
    if (latest->phase == MigrationPhase::kCancelled) {
      block(vm, "Cancelled",
            "VMMigration " + latest->name +
                " was cancelled; the VM stays here until it is moved or maintenance is cleared");
      return;
    }
    // Failed (or Succeeded while the VM is still bound here): retried after a back-off.
    const int next = latest->attempt + 1;
    const auto due = latest->completed.value_or(in_.now) + retryDelay(next);
    if (in_.now >= due) {
      move(vm, next,
           latest->phase == MigrationPhase::kFailed && latest->mode == MigrationMode::kLive);
      return;
    }
    const std::string reason =
        latest->phase == MigrationPhase::kFailed ? blockerReason(*latest) : "MigrationFailed";
    block(vm, reason,
          "VMMigration " + latest->name + ": " +
              (latest->failure_message.empty() ? latest->failure_reason : latest->failure_message) +
              " (attempt " + std::to_string(next) + " follows " +
              std::to_string(retryDelay(next).count()) + " s after it ended)");
    const auto wait = std::chrono::seconds((due - in_.now).count() + 1);
    if (plan_.recheck.count() == 0 || wait < plan_.recheck) {
      plan_.recheck = wait;
    }
  }

  void stopInPlace(const VmFacts& vm) {
    if (vm.run_strategy != api::RunStrategy::kHalted) {
      if (vm.stopped_by_evacuation) {
        block(vm, "Restarted",
              "runStrategy was changed from Halted after the evacuation stopped the VM; it is "
              "left running");
        return;
      }
      plan_.vm_changes.push_back(
          {vm.ns, vm.name,
           "evictionStrategy None: stopping the VM and leaving it on " + in_.hypervisor,
           VmChange::Kind::kHalt, std::nullopt});
      ++status_.pending;
      return;
    }
    if (isOff(vm.phase)) {
      ++status_.stopped;
    } else {
      ++status_.pending;  // stopping
    }
  }

  // Starts attempt `attempt` in the mode the strategy and the VM's state allow.
  void move(const VmFacts& vm, int attempt, bool live_failed) {
    const bool running = vm.phase == VirtualMachinePhase::kRunning;
    const bool live_ok = running && vm.migratable;
    const bool settled = running || isOff(vm.phase) || vm.phase == VirtualMachinePhase::kPaused;
    const std::string not_live =
        !vm.migratable && !vm.not_migratable_why.empty()
            ? vm.not_migratable_why
            : "the VM is " + std::string(vm.phase ? api::toString(*vm.phase) : "without a phase");
    const std::string attempt_text =
        attempt > 1 ? " (attempt " + std::to_string(attempt) + ")" : "";
    switch (vm.strategy) {
    case EvictionStrategy::kLiveMigrate:
      if (live_ok) {
        create(vm, attempt, MigrationMode::kLive,
               "evictionStrategy LiveMigrate: live-migrating" + attempt_text);
      } else if (isOff(vm.phase)) {
        create(
            vm, attempt, MigrationMode::kCold,
            "evictionStrategy LiveMigrate, the VM is not running: moving it cold" + attempt_text);
      } else if (running || vm.phase == VirtualMachinePhase::kPaused) {
        block(vm, "NotLiveMigratable",
              not_live +
                  "; evictionStrategy LiveMigrate allows no stop (LiveMigrateIfPossible "
                  "would move it cold)");
      } else {
        ++status_.pending;  // waits for the VM to settle (Starting, Stopping, ...)
      }
      return;
    case EvictionStrategy::kLiveMigrateIfPossible:
      if (live_ok && !live_failed) {
        create(vm, attempt, MigrationMode::kLive,
               "evictionStrategy LiveMigrateIfPossible: live-migrating" + attempt_text);
      } else if (settled) {
        create(vm, attempt, MigrationMode::kCold,
               "evictionStrategy LiveMigrateIfPossible: " +
                   (live_failed ? std::string("the live attempt failed")
                                : "live migration impossible (" + not_live + ")") +
                   ": stopping it and moving it cold" + attempt_text);
      } else {
        ++status_.pending;
      }
      return;
    case EvictionStrategy::kShutdown:
      if (settled) {
        create(vm, attempt, MigrationMode::kCold,
               "evictionStrategy Shutdown: stopping the VM and moving it cold; it starts on the "
               "target per its runStrategy" +
                   attempt_text);
      } else {
        ++status_.pending;
      }
      return;
    case EvictionStrategy::kNone:
      return;  // handled by stopInPlace()
    }
  }

  void countMigrated(const std::set<std::string>& bound) {
    std::map<std::string, const MigrationFacts*> latest;
    for (const auto& m : in_.migrations) {
      if (m.evacuating != in_.hypervisor) {
        continue;
      }
      auto& slot = latest[m.vmKey()];
      if (!slot || m.attempt > slot->attempt) {
        slot = &m;
      }
    }
    for (const auto& [vm_key, m] : latest) {
      if (m->phase == MigrationPhase::kSucceeded && !bound.contains(vm_key)) {
        ++status_.migrated;
      }
    }
  }

  void setConditions() {
    const std::string counts = std::to_string(status_.migrated) + " migrated, " +
                               std::to_string(status_.stopped) + " stopped";
    if (status_.pending == 0 && status_.blocked.empty()) {
      const std::string msg = "no VM left to move from " + in_.hypervisor + ": " + counts;
      plan_.evacuating = ConditionValue{ConditionStatus::kFalse, "EvacuationComplete", msg};
      plan_.evacuated = ConditionValue{ConditionStatus::kTrue, "Evacuated", msg};
      return;
    }
    const std::string blocked = blockedMessage(status_.blocked);
    if (status_.pending > 0) {
      const std::string msg = vmCount(static_cast<std::size_t>(status_.pending)) +
                              " still to move or stop (" + counts + ")" +
                              (blocked.empty() ? "" : "; " + blocked);
      plan_.evacuating = ConditionValue{ConditionStatus::kTrue, "InProgress", msg};
      plan_.evacuated = ConditionValue{ConditionStatus::kFalse, "InProgress", msg};
      return;
    }
    plan_.evacuating = ConditionValue{ConditionStatus::kTrue, "Blocked", blocked};
    plan_.evacuated = ConditionValue{ConditionStatus::kFalse, "Blocked", blocked};
  }

  const EvacuationInput& in_;
  EvacuationPlan& plan_;
  api::EvacuationStatus status_;
};

void clearing(const EvacuationInput& in, EvacuationPlan& plan) {
  int finishing = 0;
  for (const auto& m : in.migrations) {
    if (m.evacuating != in.hypervisor || m.deleting) {
      continue;
    }
    if (startedMoving(m.phase)) {
      ++finishing;  // data is moving: it finishes, and the VM runs on the target
    } else if (api::isTerminal(m.phase)) {
      plan.remove.push_back({m.ns, m.name,
                             "maintenance cleared: removing the finished evacuation "
                             "VMMigration"});
    } else {
      plan.remove.push_back({m.ns, m.name,
                             "maintenance cleared before the evacuation VMMigration started "
                             "moving data: cancelling it (the VM keeps running here)"});
    }
  }
  for (const auto& vm : in.vms) {
    if (!vm.stopped_by_evacuation) {
      continue;
    }
    const auto previous =
        parseRunStrategy(*vm.stopped_by_evacuation).value_or(api::RunStrategy::kAlways);
    plan.vm_changes.push_back(
        {vm.ns, vm.name,
         "maintenance cleared: runStrategy back to " + std::string(api::toString(previous)),
         VmChange::Kind::kRestore, previous});
  }
  if (in.had_conditions) {
    const std::string msg = finishing == 0
                                ? "maintenance cleared; the hypervisor takes new VMs again"
                                : "maintenance cleared; " + std::to_string(finishing) +
                                      " evacuation migration(s) already moving data finish";
    plan.evacuating = ConditionValue{ConditionStatus::kFalse, "MaintenanceCleared", msg};
    plan.evacuated = ConditionValue{ConditionStatus::kFalse, "MaintenanceCleared", msg};
  }
  if (finishing > 0) {
    plan.recheck = kPendingRecheck;
  }
}

uint32_t fnv1a(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) {
    h = (h ^ c) * 16777619u;
  }
  return h;
}

}  // namespace

std::string evacuationName(const std::string& hypervisor, const std::string& vm, int attempt) {
  constexpr std::size_t kMaxBase = 230;  // + "-<hash>" + "-<attempt>" stays within 253
  std::string base = "evac-" + hypervisor + "-" + vm;
  if (base.size() > kMaxBase) {
    char hash[16];
    std::snprintf(hash, sizeof(hash), "%08x", fnv1a(base));
    base = base.substr(0, kMaxBase - 9);
    while (!base.empty() && (base.back() == '-' || base.back() == '.')) {
      base.pop_back();
    }
    base += "-" + std::string(hash);
  }
  return base + "-" + std::to_string(attempt);
}

int attemptOf(const std::string& name) {
  const auto dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 >= name.size() || name.size() - dash > 6) {
    return 0;
  }
  int n = 0;
  for (std::size_t i = dash + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') {
      return 0;
    }
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

std::chrono::seconds retryDelay(int next) {
  const int doublings = std::clamp(next - 2, 0, 5);
  return std::min(std::chrono::seconds(30) * (1 << doublings), std::chrono::seconds(600));
}

EvacuationPlan decideEvacuation(const EvacuationInput& in) {
  EvacuationPlan plan;
  if (!in.maintenance) {
    clearing(in, plan);
    return plan;
  }
  Evacuation(in, plan).run();
  return plan;
}

std::optional<api::RunStrategy> runStrategyToRestoreWhenUnbound(
    const std::optional<std::string>& stopped_by_evacuation, bool bound, bool deleting) {
  if (!stopped_by_evacuation || bound || deleting) {
    return std::nullopt;
  }
  return parseRunStrategy(*stopped_by_evacuation).value_or(api::RunStrategy::kAlways);
}

}  // namespace novacron::controller::evacuation
