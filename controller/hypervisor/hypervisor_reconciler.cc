#include "controller/hypervisor/hypervisor_reconciler.h"

#include <spdlog/spdlog.h>

#include "controller/ledger/ledger.h"
#include "controller/migration/ledger_facts.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/kube/resource.h"

namespace novacron::controller {
namespace {

using api::ConditionStatus;

void setCondition(api::Hypervisor& hv, std::string_view type, ConditionStatus status,
                  std::string reason, std::string message, const core::Clock& clock) {
  api::Condition condition;
  condition.type = std::string(type);
  condition.status = status;
  condition.observedGeneration = hv.metadata.generation;
  condition.reason = std::move(reason);
  condition.message = std::move(message);
  api::setCondition(hv.status.conditions, std::move(condition), api::toTimestamp(clock.wallNow()));
}

std::pair<std::string, std::string> splitKey(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) {
    return {"", key};
  }
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace

core::StatusOr<runtime::ReconcileResult> HypervisorReconciler::reconcile(const std::string& name) {
  if (!deps_.cache->synced()) {
    return core::failedPreconditionError("caches not synced yet");
  }
  HypervisorPtr hv = deps_.cache->hypervisor(name);
  if (!hv) {
    deps_.heartbeats->forget(name);
    {
      std::lock_guard lock(mu_);
      last_fresh_.erase(name);
    }
    enqueueVmsOn(name);  // bound VMs learn that their hypervisor is gone
    return runtime::ReconcileResult::done();
  }
  auto lease = deps_.cache->heartbeat(name);
  deps_.heartbeats->observe(
      name, lease ? std::optional<std::string>(lease->renew_time + "@" + lease->resource_version)
                  : std::nullopt);
  const bool fresh = deps_.heartbeats->fresh(name);
  const bool fenced = isFenced(*hv);

  bool transitioned = false;
  bool it_was_known = false;
  {
    std::lock_guard lock(mu_);
    auto it = last_fresh_.find(name);
    it_was_known = it != last_fresh_.end();
    transitioned = it == last_fresh_.end() || it->second != fresh;  // first sight counts
    last_fresh_[name] = fresh;
  }
  if (fenced) {
    enqueueVmsOn(name);  // fencing confirmed: failover (if the policy allows) happens per VM
  }
  if (transitioned) {
    if (!fresh && it_was_known) {
      spdlog::warn("hypervisor {}: heartbeat older than {} ms, marking Ready=Unknown", name,
                   deps_.heartbeats->timeout().count());
      if (deps_.events) {
        deps_.events->event(api::toJson(*hv), "Warning", "HeartbeatTimeout",
                            "no heartbeat for more than " +
                                std::to_string(deps_.heartbeats->timeout().count() / 1000) + "s");
      }
    }
    enqueueVmsOn(name);
  }
  if (deps_.metrics) {
    std::lock_guard lock(mu_);
    double stale = 0;
    for (const auto& [hv_name, is_fresh] : last_fresh_) {
      stale += is_fresh ? 0 : 1;
    }
    deps_.metrics->setUnreachableHypervisors(stale);
  }

  api::Hypervisor stored = *hv;
  bool freed = false;
  NOVACRON_RETURN_IF_ERROR(reconcileLedger(*hv, fenced, stored, freed));
  NOVACRON_RETURN_IF_ERROR(reconcileStatus(stored, fresh));
  if (freed || (transitioned && fresh)) {
    enqueueUnbound();  // capacity appeared: pending VMs may fit now
  }
  // Nothing announces a heartbeat that does NOT come: look again when it would be late.
  const auto again = fresh ? deps_.heartbeats->remaining(name) + std::chrono::milliseconds(50)
                           : deps_.heartbeats->timeout();
  return runtime::ReconcileResult::after(again);
}

core::Status HypervisorReconciler::reconcileLedger(const api::Hypervisor& hv, bool fenced,
                                                   api::Hypervisor& stored, bool& freed) {
  const std::string& name = hv.metadata.name;
  auto current = ledgerOf(hv);
  ledger::Ledger current_entries;
  if (current.isOk()) {
    current_entries = *current;
  } else {
    // Degraded: rebuild from the bound VMs alone (reservations in flight are lost; their VMs are
    // placed again). Loud, because it should never happen.
    spdlog::error("hypervisor {}: corrupt ledger annotation, rebuilding from bound VMs: {}", name,
                  current.status().toString());
  }
  std::vector<ledger::VmFacts> bound;
  for (const auto& vm : deps_.cache->vmsOn(name)) {
    bound.push_back(vmFacts(*vm));
  }
  const auto& cache = *deps_.cache;
  ledger::LedgerPlan plan = ledger::planLedger(
      name, current_entries, bound,
      [&cache](const std::string& key) -> std::optional<ledger::VmFacts> {
        auto vm = cache.vm(key);
        if (!vm) {
          return std::nullopt;
        }
        return migration::ledgerFacts(cache, *vm);
      },
      !fenced);
  for (const std::string& key : plan.to_confirm) {
    auto [ns, vm_name] = splitKey(key);
    auto live = deps_.client->get(kube::kVirtualMachine, ns, vm_name);
    if (!live.isOk()) {
      if (live.status().code() != core::StatusCode::kNotFound) {
        return live.status().withContext("confirming ledger entry " + key + " on " + name);
      }
      ledger::confirmRemoval(name, plan.desired, key, std::nullopt, !fenced);
      continue;
    }
    auto decoded = api::virtualMachineFromJson(*live);
    if (!decoded.isOk()) {
      return decoded.status().withContext("decoding VM " + key);
    }
    ledger::confirmRemoval(name, plan.desired, key, migration::ledgerFacts(cache, *decoded),
                           !fenced);
  }
  if (current.isOk() && plan.desired == current_entries) {
    return core::okStatus();
  }
  freed = ledger::totals(plan.desired).vms < ledger::totals(current_entries).vms;
  api::Hypervisor updated = hv;
  updated.metadata.annotations[std::string(ledger::kLedgerAnnotation)] =
      ledger::encodeLedger(plan.desired);
  auto written = deps_.client->update(kube::kHypervisor, "", api::toJson(updated));
  if (!written.isOk()) {
    return written.status().withContext("writing ledger of " + name);
  }
  NOVACRON_ASSIGN_OR_RETURN(stored, api::hypervisorFromJson(*written));
  return core::okStatus();
}

core::Status HypervisorReconciler::reconcileStatus(const api::Hypervisor& hv, bool fresh) {
  const core::Clock& clock = *deps_.clock;
  api::Hypervisor desired = hv;
  auto entries = ledgerOf(hv);
  if (entries.isOk()) {
    const auto sum = ledger::totals(*entries);
    api::HypervisorAllocated allocated;
    allocated.cpus = static_cast<int32_t>(sum.resources.cpus);
    allocated.memory = api::Quantity::fromBytes(sum.resources.memory_bytes);
    allocated.vms = static_cast<int32_t>(sum.vms);
    if (!desired.status.allocated || desired.status.allocated->cpus != allocated.cpus ||
        desired.status.allocated->memory != allocated.memory ||
        desired.status.allocated->vms != allocated.vms) {
      desired.status.allocated = allocated;
    }
  }
  const api::Condition* ready = api::findCondition(hv.status.conditions, api::kConditionReady);
  if (!fresh) {
    setCondition(desired, api::kConditionReady, ConditionStatus::kUnknown, "HeartbeatTimeout",
                 "the node-daemon has not renewed its heartbeat Lease for more than " +
                     std::to_string(deps_.heartbeats->timeout().count() / 1000) + "s",
                 clock);
  } else if (ready && ready->status == ConditionStatus::kUnknown &&
             ready->reason == "HeartbeatTimeout") {
    setCondition(desired, api::kConditionReady, ConditionStatus::kTrue, "HeartbeatResumed",
                 "the node-daemon is renewing its heartbeat Lease again", clock);
  }
  std::string why_not;
  std::string reason;
  if (isFenced(hv)) {
    reason = "Fenced";
    why_not = "marked fenced by an administrator";
  } else if (hv.spec.maintenance) {
    reason = "Maintenance";
    why_not =
        "in maintenance: cordoned; its VMs are not evacuated automatically yet (evacuation needs "
        "live migration)";
  } else if (hv.spec.unschedulable) {
    reason = "Unschedulable";
    why_not = "spec.unschedulable is set";
  } else if (!fresh) {
    reason = "NotReady";
    why_not = "heartbeat timed out";
  }
  if (why_not.empty()) {
    setCondition(desired, api::kConditionSchedulable, ConditionStatus::kTrue, "Schedulable",
                 "new VMs can be placed here", clock);
  } else {
    setCondition(desired, api::kConditionSchedulable, ConditionStatus::kFalse, reason, why_not,
                 clock);
  }
  if (desired.status == hv.status) {
    return core::okStatus();
  }
  auto written = deps_.client->updateStatus(kube::kHypervisor, "", api::toJson(desired));
  if (!written.isOk()) {
    return written.status().withContext("writing status of hypervisor " + hv.metadata.name);
  }
  return core::okStatus();
}

void HypervisorReconciler::enqueueVmsOn(const std::string& name) {
  if (!deps_.enqueue_vm) {
    return;
  }
  for (const auto& vm : deps_.cache->vmsOn(name)) {
    deps_.enqueue_vm(vmKey(*vm));
  }
}

void HypervisorReconciler::enqueueUnbound() {
  if (!deps_.enqueue_vm) {
    return;
  }
  for (const auto& vm : deps_.cache->unboundVms()) {
    deps_.enqueue_vm(vmKey(*vm));
  }
}

}  // namespace novacron::controller
