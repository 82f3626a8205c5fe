#include "controller/hypervisor/hypervisor_reconciler.h"

#include <spdlog/spdlog.h>

#include "controller/hypervisor/hypervisor_decision.h"
#include "controller/ledger/ledger.h"
#include "controller/ledger/ledger_status.h"
#include "controller/migration/ledger_facts.h"
#include "controller/status_write.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/kube/resource.h"

namespace novacron::controller {
namespace {

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
    forget(name);
    enqueueVmsOn(name);  // bound VMs learn that their hypervisor is gone
    return runtime::ReconcileResult::done();
  }
  const bool fresh = observeHeartbeat(name);
  const HealthChange health = noteHealth(*hv, fresh);
  NOVACRON_ASSIGN_OR_RETURN(LedgerOutcome ledger, reconcileLedger(*hv));
  const HypervisorHealthFacts facts{fresh, deps_.heartbeats->timeout()};
  api::HypervisorStatus desired = decideHypervisorStatus(ledger.stored, facts, *deps_.clock);
  NOVACRON_ASSIGN_OR_RETURN(const std::chrono::seconds evacuation_recheck,
                            evacuator_.reconcile(ledger.stored, desired));
  NOVACRON_RETURN_IF_ERROR(
      writeStatusIfChanged(*deps_.client, kube::kHypervisor, ledger.stored, desired));
  if (ledger.freed || (health.transitioned && fresh)) {
    enqueueUnbound();  // capacity appeared: pending VMs may fit now
  }
  // Nothing announces a heartbeat that does NOT come: look again when it would be late.
  auto again = fresh ? deps_.heartbeats->remaining(name) + std::chrono::milliseconds(50)
                     : deps_.heartbeats->timeout();
  if (evacuation_recheck.count() > 0 && evacuation_recheck < again) {
    again = std::chrono::duration_cast<decltype(again)>(evacuation_recheck);
  }
  // Entries of VMs not bound here (reservations in flight, or one left behind by a VM another
  // controller bound elsewhere) are looked at again soon: a VM binding elsewhere does not bring
  // this hypervisor back, and its stale entry would hold capacity until the heartbeat recheck.
  // (Before the ledger moved into status, the summary writes' own watch events did.)
  if (ledger.unbound_entries && again > kLedgerRecheck) {
    again = kLedgerRecheck;
  }
  return runtime::ReconcileResult::after(again);
}

// --- health ---

void HypervisorReconciler::forget(const std::string& name) {
  deps_.heartbeats->forget(name);
  std::lock_guard lock(mu_);
  if (auto it = last_fresh_.find(name); it != last_fresh_.end()) {
    stale_count_ -= it->second ? 0 : 1;
    last_fresh_.erase(it);
  }
}

bool HypervisorReconciler::observeHeartbeat(const std::string& name) {
  auto lease = deps_.cache->heartbeat(name);
  deps_.heartbeats->observe(
      name, lease ? std::optional<std::string>(lease->renew_time + "@" + lease->resource_version)
                  : std::nullopt);
  return deps_.heartbeats->fresh(name);
}

HypervisorReconciler::HealthChange HypervisorReconciler::noteHealth(const api::Hypervisor& hv,
                                                                    bool fresh) {
  const std::string& name = hv.metadata.name;
  HealthChange change;
  {
    std::lock_guard lock(mu_);
    auto it = last_fresh_.find(name);
    change.transitioned = it == last_fresh_.end() || it->second != fresh;  // first sight counts
    change.became_stale = !fresh && it != last_fresh_.end() && it->second;
    if (change.transitioned) {
      stale_count_ += (fresh ? 0 : 1) - (it != last_fresh_.end() && !it->second ? 1 : 0);
    }
    last_fresh_[name] = fresh;
  }
  reportUnreachableCount();
  if (isFenced(hv)) {
    enqueueVmsOn(name);  // fencing confirmed: failover (if the policy allows) happens per VM
  }
  if (change.became_stale) {
    spdlog::warn("hypervisor {}: heartbeat older than {} ms, marking Ready=Unknown", name,
                 deps_.heartbeats->timeout().count());
    if (deps_.events) {
      deps_.events->event(api::toJson(hv), "Warning", "HeartbeatTimeout",
                          "no heartbeat for more than " +
                              std::to_string(deps_.heartbeats->timeout().count() / 1000) + "s");
    }
  }
  if (change.transitioned) {
    enqueueVmsOn(name);
  }
  return change;
}

void HypervisorReconciler::reportUnreachableCount() {
  if (!deps_.metrics) {
    return;
  }
  std::lock_guard lock(mu_);
  // A count kept with last_fresh_: this runs on every hypervisor reconcile, and counting the map
  // made each one O(fleet) (issue 15, B3).
  deps_.metrics->setUnreachableHypervisors(static_cast<double>(stale_count_));
}

// --- ledger ---

core::StatusOr<HypervisorReconciler::LedgerOutcome> HypervisorReconciler::reconcileLedger(
    const api::Hypervisor& hv, bool live) {
  const std::string& name = hv.metadata.name;
  auto current = sharedLedgerOf(hv);
  if (!current.isOk()) {
    // Degraded: rebuild from the bound VMs alone (reservations in flight are lost; their VMs are
    // placed again). Loud, because it should never happen.
    spdlog::error("hypervisor {}: corrupt ledger, rebuilding from bound VMs: {}", name,
                  current.status().toString());
  }
  static const ledger::Ledger kNoEntries;
  const ledger::Ledger& current_entries = current.isOk() ? **current : kNoEntries;
  const auto bound = deps_.cache->vmsOn(name);
  ledger::LedgerPlan plan = planLedgerFromCache(hv, current_entries, bound);
  const bool unbound_entries = current_entries.size() > bound.size();
  if (current.isOk() && plan.desired == current_entries && plan.to_confirm.empty()) {
    return LedgerOutcome{dropLegacyLedger(hv), false, unbound_entries};
  }
  if (!live) {
    // The cached Hypervisor may be older than the cached VMs (two informers, each in its own
    // order): a VM's label can arrive before the reservation that already counts it, and a write
    // on that copy fails with a conflict (issue 15: 129 of ~160 such writes in B1x). Plan again on
    // the live object before writing or confirming removals; usually nothing is left to write.
    auto read = deps_.client->get(kube::kHypervisor, "", name);
    if (read.status().code() == core::StatusCode::kNotFound) {
      return LedgerOutcome{hv, false};  // deleted: its watch event brings the next reconcile
    }
    if (!read.isOk()) {
      return read.status().withContext("re-reading hypervisor " + name + " before its ledger");
    }
    NOVACRON_ASSIGN_OR_RETURN(api::Hypervisor fresh, api::hypervisorFromJson(*read));
    if (fresh.metadata.resourceVersion != hv.metadata.resourceVersion) {
      return reconcileLedger(fresh, /*live=*/true);
    }
  }
  NOVACRON_RETURN_IF_ERROR(confirmRemovals(hv, plan));
  if (current.isOk() && plan.desired == current_entries) {
    return LedgerOutcome{dropLegacyLedger(hv), false, unbound_entries};
  }
  api::Hypervisor updated = hv;
  ledger::putLedger(updated.status, plan.desired);
  auto written = deps_.client->updateStatus(kube::kHypervisor, "", api::toJson(updated));
  if (!written.isOk()) {
    return written.status().withContext("writing ledger of " + name);
  }
  NOVACRON_ASSIGN_OR_RETURN(api::Hypervisor stored, api::hypervisorFromJson(*written));
  NOVACRON_RETURN_IF_ERROR(ledger::checkLedgerStored(stored));
  const bool freed = ledger::totals(plan.desired).vms < ledger::totals(current_entries).vms;
  return LedgerOutcome{std::move(stored), freed, plan.desired.size() > bound.size()};
}

// A Hypervisor of an older version kept its ledger in an annotation: once status.allocations is
// stored (decideHypervisorStatus copies it there), the annotation is dead weight that a reader
// might mistake for the ledger. Conditional on the resourceVersion: it goes only from the very
// object whose status holds it. Best effort: a conflict (a reservation landed meanwhile) or any
// other failure is logged and the next reconcile tries again, without holding back the rest of
// this one (health, Schedulable, evacuation). Returns the object to go on with: the stored one
// after a removal, else `hv`.
api::Hypervisor HypervisorReconciler::dropLegacyLedger(const api::Hypervisor& hv) {
  if (!hv.status.allocations || !ledger::hasLegacyLedger(hv)) {
    return hv;
  }
  api::Hypervisor updated = hv;
  updated.metadata.annotations.erase(std::string(ledger::kLegacyLedgerAnnotation));
  auto written = deps_.client->update(kube::kHypervisor, "", api::toJson(updated));
  auto stored = written.isOk() ? api::hypervisorFromJson(*written)
                               : core::StatusOr<api::Hypervisor>(written.status());
  if (!stored.isOk()) {
    spdlog::warn(
        "hypervisor {}: removing the legacy ledger annotation {} failed (tried again on "
        "the next reconcile): {}",
        hv.metadata.name, ledger::kLegacyLedgerAnnotation, stored.status().toString());
    return hv;
  }
  spdlog::info("hypervisor {}: ledger moved to status.allocations, annotation {} removed",
               hv.metadata.name, ledger::kLegacyLedgerAnnotation);
  return std::move(stored).value();
}

ledger::LedgerPlan HypervisorReconciler::planLedgerFromCache(
    const api::Hypervisor& hv, const ledger::Ledger& current,
    const std::vector<VirtualMachinePtr>& bound_vms) {
  std::vector<ledger::VmFacts> bound;
  bound.reserve(bound_vms.size());
  for (const auto& vm : bound_vms) {
    bound.push_back(vmFacts(*vm));
  }
  const auto& cache = *deps_.cache;
  auto lookup = [&cache](const std::string& key) -> std::optional<ledger::VmFacts> {
    auto vm = cache.vm(key);
    return vm ? std::optional<ledger::VmFacts>(migration::ledgerFacts(cache, *vm)) : std::nullopt;
  };
  return ledger::planLedger(hv.metadata.name, current, bound, lookup, !isFenced(hv));
}

// A cache may lag behind the ledger: an entry goes only after a live read confirms it should.
core::Status HypervisorReconciler::confirmRemovals(const api::Hypervisor& hv,
                                                   ledger::LedgerPlan& plan) {
  const std::string& name = hv.metadata.name;
  const bool accept_reservations = !isFenced(hv);
  for (const std::string& key : plan.to_confirm) {
    auto [ns, vm_name] = splitKey(key);
    auto live = deps_.client->get(kube::kVirtualMachine, ns, vm_name);
    if (!live.isOk()) {
      if (live.status().code() != core::StatusCode::kNotFound) {
        return live.status().withContext("confirming ledger entry " + key + " on " + name);
      }
      ledger::confirmRemoval(name, plan.desired, key, std::nullopt, accept_reservations);
      continue;
    }
    auto decoded = api::virtualMachineFromJson(*live);
    if (!decoded.isOk()) {
      return decoded.status().withContext("decoding VM " + key);
    }
    ledger::confirmRemoval(name, plan.desired, key, migration::ledgerFacts(*deps_.cache, *decoded),
                           accept_reservations);
  }
  return core::okStatus();
}

// --- follow-ups ---

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
  if (deps_.waiting_vms) {
    for (const std::string& key : deps_.waiting_vms()) {
      deps_.enqueue_vm(key);
    }
    return;
  }
  for (const auto& vm : deps_.cache->unboundVms()) {
    deps_.enqueue_vm(vmKey(*vm));
  }
}

}  // namespace novacron::controller
