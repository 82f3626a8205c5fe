#include "controller/vm/binder.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "controller/ledger/ledger.h"
#include "controller/ledger/ledger_patch.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/core/check.h"
#include "lib/kube/resource.h"

namespace novacron::controller {

namespace {

std::string ledgerText(const api::Hypervisor& hv) {
  auto it = hv.metadata.annotations.find(std::string(ledger::kLedgerAnnotation));
  return it == hv.metadata.annotations.end() ? std::string() : it->second;
}

// The node-daemon's finalizer goes on with the label that hands the VM to it, in the same write:
// the node-daemon then finds it present and does not add it itself (one write per VM less,
// issue 15). It is still on before the node-daemon creates anything for the VM (it only sees VMs
// that carry its label), and the node-daemon removes it after cleanup exactly as before.
void addNodeCleanupFinalizer(api::VirtualMachine& vm) {
  if (vm.metadata.deletionTimestamp) {
    return;  // a VM being deleted takes no new finalizer
  }
  auto& finalizers = vm.metadata.finalizers;
  const std::string finalizer(api::kNodeCleanupFinalizer);
  if (std::find(finalizers.begin(), finalizers.end(), finalizer) == finalizers.end()) {
    finalizers.push_back(finalizer);
  }
}

}  // namespace

core::StatusOr<std::optional<api::Hypervisor>> Binder::withEntry(const api::VirtualMachine& vm,
                                                                 const api::Hypervisor& current,
                                                                 bool heartbeat_fresh) const {
  const std::string key = vmKey(vm);
  NOVACRON_ASSIGN_OR_RETURN(ledger::Ledger entries, ledgerOf(current));
  auto existing = entries.find(key);
  if (existing != entries.end() && existing->second.uid == vm.metadata.uid) {
    return std::optional<api::Hypervisor>();  // already reserved
  }
  // The re-check runs on the ledger as it is in `current`, excluding a stale entry of a
  // previous VM with the same name (it is replaced, not added to).
  if (existing != entries.end()) {
    entries.erase(existing);
  }
  api::Hypervisor updated = current;
  updated.metadata.annotations[std::string(ledger::kLedgerAnnotation)] =
      ledger::encodeLedger(entries);
  const scheduler::VmRequest request = vmRequest(vm);
  if (auto reason = scheduler_.filter(request, hypervisorView(updated, heartbeat_fresh))) {
    return core::abortedError("hypervisor " + current.metadata.name + " no longer fits VM " + key +
                              ": " + std::string(scheduler::rejectReasonText(*reason)));
  }
  entries[key] =
      ledger::LedgerEntry{vm.metadata.uid, request.resources, request.anti_affinity_group};
  updated.metadata.annotations[std::string(ledger::kLedgerAnnotation)] =
      ledger::encodeLedger(entries);
  return std::optional<api::Hypervisor>(std::move(updated));
}

core::StatusOr<api::Hypervisor> Binder::reserve(const api::VirtualMachine& vm,
                                                const api::Hypervisor& hypervisor,
                                                bool heartbeat_fresh,
                                                std::optional<api::Hypervisor>* latest,
                                                int attempts) {
  api::Hypervisor current = hypervisor;
  // What the patch tests: the cached copy re-encoded at first, the server's own JSON after a
  // re-read (so a formatting difference costs one retry, never a livelock).
  kube::Json current_json = api::toJson(hypervisor);
  const std::string& name = hypervisor.metadata.name;
  const std::string key = vmKey(vm);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    NOVACRON_ASSIGN_OR_RETURN(std::optional<api::Hypervisor> updated,
                              withEntry(vm, current, heartbeat_fresh));
    if (!updated) {
      return current;
    }
    auto patch = ledger::reservationPatch(current_json, ledgerText(*updated));
    auto written =
        patch ? client_->patch(kube::kHypervisor, "", name, kube::PatchType::kJsonPatch, *patch)
              : client_->update(kube::kHypervisor, "", api::toJson(*updated));
    if (written.isOk()) {
      return api::hypervisorFromJson(*written);
    }
    if (written.status().code() != core::StatusCode::kConflict) {
      return written.status().withContext("reserving " + key + " on " + name);
    }
    // Someone else changed the Hypervisor (another reservation, the node-daemon's status, an
    // admin's cordon): read the truth and check again.
    auto live = client_->get(kube::kHypervisor, "", name);
    if (!live.isOk()) {
      return live.status().withContext("re-reading hypervisor " + name);
    }
    NOVACRON_ASSIGN_OR_RETURN(api::Hypervisor fresh, api::hypervisorFromJson(*live));
    const bool ledger_changed = ledgerText(fresh) != ledgerText(current);
    current = std::move(fresh);
    current_json = std::move(live).value();
    if (ledger_changed) {
      if (latest != nullptr) {
        *latest = current;
      }
      return core::conflictError("the ledger of " + name + " changed while reserving " + key +
                                 "; deciding again");
    }
  }
  return core::conflictError("hypervisor " + name + " kept changing while reserving " + key);
}

core::StatusOr<api::VirtualMachine> Binder::bind(const api::VirtualMachine& vm,
                                                 const api::VirtualMachineStatus& bound) {
  const std::string hypervisor = bound.hypervisor.value_or("");
  NOVACRON_CHECK(!hypervisor.empty(), "bind() needs status.hypervisor");
  api::VirtualMachine updated = vm;
  updated.status = bound;
  updated.status.observedGeneration = vm.metadata.generation;
  auto written =
      client_->updateStatus(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(updated));
  if (!written.isOk()) {
    return written.status().withContext("binding " + vmKey(vm) + " to " + hypervisor);
  }
  NOVACRON_ASSIGN_OR_RETURN(api::VirtualMachine stored, api::virtualMachineFromJson(*written));
  return labelFor(stored);
}

core::StatusOr<api::VirtualMachine> Binder::labelFor(const api::VirtualMachine& vm) {
  const std::string want = boundHypervisor(vm);
  if (hypervisorLabel(vm) == want) {
    return vm;
  }
  const std::string key = vmKey(vm);
  if (labelled_.alreadyWritten(key, vm.metadata.resourceVersion, want)) {
    return vm;  // done already; its watch event brings the VM back
  }
  api::VirtualMachine updated = vm;
  if (want.empty()) {
    updated.metadata.labels.erase(std::string(api::kHypervisorLabel));
  } else {
    updated.metadata.labels[std::string(api::kHypervisorLabel)] = want;
    addNodeCleanupFinalizer(updated);
  }
  auto written =
      client_->update(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(updated));
  if (!written.isOk()) {
    return written.status().withContext("labelling " + key + " for hypervisor '" + want + "'");
  }
  labelled_.wrote(key, vm.metadata.resourceVersion, want);
  return api::virtualMachineFromJson(*written);
}

std::optional<std::string> findReservation(const ClusterCache& cache,
                                           const api::VirtualMachine& vm) {
  const std::string key = vmKey(vm);
  std::optional<std::string> best;
  for (const auto& hv : cache.hypervisors()) {
    if (isFenced(*hv)) {
      continue;
    }
    auto entries = ledgerOf(*hv);
    if (!entries.isOk()) {
      continue;
    }
    auto it = entries->find(key);
    if (it != entries->end() && it->second.uid == vm.metadata.uid &&
        (!best || hv->metadata.name < *best)) {
      best = hv->metadata.name;
    }
  }
  return best;
}

}  // namespace novacron::controller
