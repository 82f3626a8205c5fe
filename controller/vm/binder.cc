#include "controller/vm/binder.h"

#include <algorithm>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "controller/ledger/ledger.h"
#include "controller/ledger/ledger_patch.h"
#include "controller/ledger/ledger_status.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/core/check.h"
#include "lib/kube/resource.h"

namespace novacron::controller {

namespace {

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

core::StatusOr<std::optional<Binder::Candidate>> Binder::withEntry(const api::VirtualMachine& vm,
                                                                   const api::Hypervisor& current,
                                                                   const ledger::Ledger& entries,
                                                                   bool heartbeat_fresh) const {
  const std::string key = vmKey(vm);
  auto existing = entries.find(key);
  if (existing != entries.end() && existing->second.uid == vm.metadata.uid) {
    return std::optional<Candidate>();  // already reserved
  }
  // The re-check runs on the ledger as it is, excluding a stale entry of a previous VM with the
  // same name (it is replaced, not added to).
  auto updated = std::make_shared<ledger::Ledger>(entries);
  updated->erase(key);
  const scheduler::VmRequest request = vmRequest(vm);
  if (auto reason =
          scheduler_.filter(request, hypervisorView(current, *updated, heartbeat_fresh))) {
    return core::abortedError("hypervisor " + current.metadata.name + " no longer fits VM " + key +
                              ": " + std::string(scheduler::rejectReasonText(*reason)));
  }
  (*updated)[key] =
      ledger::LedgerEntry{vm.metadata.uid, request.resources, request.anti_affinity_group};
  Candidate candidate{current, updated, {}};
  ledger::putLedger(candidate.hypervisor.status, *updated, &candidate.allocations);
  return std::optional<Candidate>(std::move(candidate));
}

kube::Json Binder::encode(Candidate& candidate, bool status_only) {
  auto& status = candidate.hypervisor.status;
  std::optional<std::string> text = std::exchange(status.allocations, std::nullopt);
  kube::Json out = status_only ? api::toJson(status) : api::toJson(candidate.hypervisor);
  status.allocations = std::move(text);
  (status_only ? out : out["status"])["allocations"] = candidate.allocations;
  return out;
}

core::StatusOr<api::Hypervisor> Binder::reserve(const api::VirtualMachine& vm,
                                                const api::Hypervisor& hypervisor,
                                                bool heartbeat_fresh,
                                                std::optional<api::Hypervisor>* latest,
                                                int attempts) {
  Request request{&vm, &hypervisor, heartbeat_fresh, latest, std::nullopt};
  const std::string& name = hypervisor.metadata.name;
  std::unique_lock lock(lanes_mu_);
  std::shared_ptr<Lane> lane = lanes_[name];
  if (!lane) {
    lane = lanes_[name] = std::make_shared<Lane>();
  }
  lane->queue.push_back(&request);
  lane->done.wait(lock, [&] { return request.result.has_value() || !lane->writing; });
  if (!request.result) {
    // Nobody writes for this hypervisor now: this caller writes for every queued reservation.
    std::vector<Request*> batch;
    batch.swap(lane->queue);
    lane->writing = true;
    const std::optional<api::Hypervisor> last = lane->last;
    lock.unlock();
    auto stored = reserveTogether(batch, last, attempts);
    lock.lock();
    if (stored) {
      lane->last = std::move(stored);
    }
    lane->writing = false;
    lane->done.notify_all();
  }
  auto it = lanes_.find(name);
  if (it != lanes_.end() && it->second == lane && lane->queue.empty() && !lane->writing) {
    lanes_.erase(it);  // whoever still waits on it holds `lane`
  }
  return std::move(*request.result);
}

namespace {

std::string keysOf(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys) {
    out += (out.empty() ? "" : ", ") + key;
  }
  return out;
}

}  // namespace

size_t Binder::queuedReservations(const std::string& hypervisor) {
  std::lock_guard lock(lanes_mu_);
  auto it = lanes_.find(hypervisor);
  return it == lanes_.end() ? 0 : it->second->queue.size();
}

std::optional<api::Hypervisor> Binder::reserveTogether(const std::vector<Request*>& batch,
                                                       const std::optional<api::Hypervisor>& last,
                                                       int attempts) {
  NOVACRON_CHECK(!batch.empty(), "a group write needs a reservation");
  // Written on the newest copy any of them decided on, or the lane's previous write stored:
  // each entry is re-checked against it.
  const api::Hypervisor* base = batch.front()->hypervisor;
  for (const Request* r : batch) {
    if (resourceVersionNumber(r->hypervisor->metadata.resourceVersion) >
        resourceVersionNumber(base->metadata.resourceVersion)) {
      base = r->hypervisor;
    }
  }
  if (last && resourceVersionNumber(last->metadata.resourceVersion) >
                  resourceVersionNumber(base->metadata.resourceVersion)) {
    base = &*last;
  }
  api::Hypervisor current = *base;
  // What the patch tests: the copy re-encoded at first, the server's own JSON after a re-read
  // (so a formatting difference costs one retry, never a livelock). Encoded only where a patch
  // can be used (ledger::reservationPatch()).
  std::optional<kube::Json> current_json;
  const std::string& name = current.metadata.name;
  std::vector<Request*> pending = batch;
  for (int attempt = 0; attempt < attempts && !pending.empty(); ++attempt) {
    auto current_ledger = sharedLedgerOf(current);
    if (!current_ledger.isOk()) {
      for (Request* r : pending) {
        r->result = current_ledger.status();
      }
      return std::nullopt;
    }
    Candidate updated{current, *current_ledger, {}};
    std::vector<Request*> adding;
    std::vector<Request*> crowded_out;  // fit alone, not after the entries before them
    std::vector<std::string> keys;
    for (Request* r : pending) {
      auto with = withEntry(*r->vm, updated.hypervisor, *updated.ledger, r->heartbeat_fresh);
      if (!with.isOk()) {
        const bool fits_alone =
            !adding.empty() &&
            withEntry(*r->vm, current, **current_ledger, r->heartbeat_fresh).isOk();
        if (fits_alone) {
          crowded_out.push_back(r);
        } else {
          r->result = with.status();
        }
      } else if (!*with) {
        r->result = current;  // already reserved
      } else {
        updated = std::move(**with);
        adding.push_back(r);
        keys.push_back(vmKey(*r->vm));
      }
    }
    if (adding.empty()) {
      return std::nullopt;
    }
    if (!current_json && current.status.allocations && !current.metadata.annotations.empty()) {
      current_json = api::toJson(current);
    }
    auto patch = current_json ? ledger::reservationPatch(*current_json, encode(updated, true))
                              : std::nullopt;
    auto written = patch ? client_->patch(kube::kHypervisor, "", name, kube::PatchType::kJsonPatch,
                                          *patch, "status")
                         : client_->updateStatus(kube::kHypervisor, "", encode(updated, false));
    if (written.isOk()) {
      auto stored = api::hypervisorFromJson(*written);
      if (stored.isOk()) {
        if (core::Status kept = ledger::checkLedgerStored(*stored); !kept.isOk()) {
          for (Request* r : pending) {
            r->result = kept;
          }
          return std::nullopt;
        }
        // The ledger just written is known decoded: the copies of this version that placement,
        // the cache and the hypervisor reconciler look at next need not decode it again.
        rememberLedger(*stored, *updated.hypervisor.status.allocations, updated.ledger);
      }
      for (Request* r : adding) {
        r->result = stored;
      }
      for (Request* r : crowded_out) {
        if (r->latest != nullptr && stored.isOk()) {
          *r->latest = *stored;
        }
        r->result = core::conflictError("hypervisor " + name + " filled up with " + keysOf(keys) +
                                        " while reserving " + vmKey(*r->vm) + "; deciding again");
      }
      return stored.isOk() ? std::optional<api::Hypervisor>(*stored) : std::nullopt;
    }
    std::vector<Request*> all = adding;
    all.insert(all.end(), crowded_out.begin(), crowded_out.end());
    if (written.status().code() != core::StatusCode::kConflict) {
      for (Request* r : all) {
        r->result = written.status().withContext("reserving " + keysOf(keys) + " on " + name);
      }
      return std::nullopt;
    }
    // Someone else changed the Hypervisor (another controller's reservation, the node-daemon's
    // status, an admin's cordon): read the truth and check again.
    auto live = client_->get(kube::kHypervisor, "", name);
    if (!live.isOk()) {
      for (Request* r : all) {
        r->result = live.status().withContext("re-reading hypervisor " + name);
      }
      return std::nullopt;
    }
    auto fresh = api::hypervisorFromJson(*live);
    if (!fresh.isOk()) {
      for (Request* r : all) {
        r->result = fresh.status();
      }
      return std::nullopt;
    }
    const bool ledger_changed =
        ledger::storedLedgerText(*fresh) != ledger::storedLedgerText(current);
    current = std::move(fresh).value();
    current_json = std::move(live).value();
    if (ledger_changed) {
      for (Request* r : all) {
        if (r->latest != nullptr) {
          *r->latest = current;
        }
        r->result = core::conflictError("the ledger of " + name + " changed while reserving " +
                                        vmKey(*r->vm) + "; deciding again");
      }
      return std::nullopt;
    }
    pending = std::move(all);
  }
  for (Request* r : pending) {
    if (!r->result) {
      r->result = core::conflictError("hypervisor " + name + " kept changing while reserving " +
                                      vmKey(*r->vm));
    }
  }
  return std::nullopt;
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

}  // namespace novacron::controller
