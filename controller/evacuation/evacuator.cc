#include "controller/evacuation/evacuator.h"

#include <set>

#include <spdlog/spdlog.h>

#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/kube/resource.h"

namespace novacron::controller::evacuation {
namespace {

using api::ConditionStatus;

}  // namespace

VmFacts vmFacts(const api::VirtualMachine& vm) {
  VmFacts f;
  f.ns = vm.metadata.namespace_;
  f.name = vm.metadata.name;
  f.uid = vm.metadata.uid;
  f.strategy = vm.spec.evictionStrategy;
  f.run_strategy = vm.spec.runStrategy;
  f.phase = vm.status.phase;
  if (const api::Condition* c = api::findCondition(vm.status.conditions, api::kConditionMigratable);
      c && c->status == ConditionStatus::kFalse) {
    f.migratable = false;
    f.not_migratable_why = c->message;
  }
  if (auto it = vm.metadata.annotations.find(std::string(api::kEvacuationStoppedAnnotation));
      it != vm.metadata.annotations.end()) {
    f.stopped_by_evacuation = it->second;
  }
  f.deleting = vm.metadata.deletionTimestamp.has_value();
  f.active_migration = vm.status.activeMigration.value_or("");
  return f;
}

namespace {

MigrationFacts migrationFacts(const api::VMMigration& m) {
  MigrationFacts f;
  f.ns = m.metadata.namespace_;
  f.name = m.metadata.name;
  f.vm_name = m.spec.vmName;
  if (auto it = m.metadata.labels.find(std::string(api::kEvacuatingHypervisorLabel));
      it != m.metadata.labels.end()) {
    f.evacuating = it->second;
    f.attempt = attemptOf(m.metadata.name);
  }
  f.mode = m.spec.mode;
  f.phase = m.status.phase.value_or(api::MigrationPhase::kPending);
  f.cancel = m.spec.cancel;
  f.deleting = m.metadata.deletionTimestamp.has_value();
  if (const api::Condition* c = api::findCondition(m.status.conditions, api::kConditionSucceeded);
      c && c->status == ConditionStatus::kFalse) {
    f.failure_reason = c->reason;
    f.failure_message = c->message;
  }
  if (f.failure_message.empty()) {
    f.failure_message = m.status.failureReason.value_or("");
  }
  f.completed = m.status.completionTime;
  return f;
}

}  // namespace

EvacuationInput Evacuator::observe(const api::Hypervisor& hv) const {
  const ClusterCache& cache = *deps_.cache;
  EvacuationInput in;
  in.hypervisor = hv.metadata.name;
  in.maintenance = hv.spec.maintenance;
  in.now = api::toTimestamp(deps_.clock->wallNow());
  in.had_conditions =
      api::findCondition(hv.status.conditions, api::kConditionEvacuating) != nullptr ||
      api::findCondition(hv.status.conditions, api::kConditionEvacuated) != nullptr;
  // Outside maintenance the decision only clears (decideEvacuation): it looks at the VMs an
  // evacuation stopped and at this hypervisor's evacuation migrations, nothing else. A hypervisor
  // is reconciled on every placement there and every change of its VMs: with hundreds of VMs the
  // facts of all of them were most of its reconcile (issue 15, B1x).
  const std::string stopped_annotation(api::kEvacuationStoppedAnnotation);
  const std::string evacuating_label(api::kEvacuatingHypervisorLabel);
  std::set<std::string> bound;
  for (const auto& vm : cache.vmsOn(hv.metadata.name)) {
    if (!in.maintenance && !vm->metadata.annotations.contains(stopped_annotation)) {
      continue;
    }
    in.vms.push_back(vmFacts(*vm));
    bound.insert(vmKey(*vm));
  }
  for (const auto& m : cache.migrations()) {
    if (!in.maintenance) {
      auto it = m->metadata.labels.find(evacuating_label);
      if (it == m->metadata.labels.end() || it->second != hv.metadata.name) {
        continue;
      }
    }
    MigrationFacts f = migrationFacts(*m);
    if (f.evacuating == hv.metadata.name || bound.contains(f.vmKey())) {
      in.migrations.push_back(std::move(f));
    }
  }
  return in;
}

core::StatusOr<std::chrono::seconds> Evacuator::reconcile(const api::Hypervisor& hv,
                                                          api::HypervisorStatus& desired) {
  const EvacuationPlan plan = decideEvacuation(observe(hv));
  for (const auto& c : plan.create) {
    NOVACRON_RETURN_IF_ERROR(createMigration(hv, c));
  }
  for (const auto& c : plan.vm_changes) {
    NOVACRON_RETURN_IF_ERROR(changeVm(hv, c));
  }
  for (const auto& d : plan.remove) {
    NOVACRON_RETURN_IF_ERROR(removeMigration(hv, d));
  }
  applyStatus(hv, plan, desired);
  if (deps_.metrics) {
    deps_.metrics->set(hv.metadata.name, plan.status);
  }
  return plan.recheck;
}

core::Status Evacuator::createMigration(const api::Hypervisor& hv, const CreateMigration& c) {
  api::VMMigration m;
  m.metadata.name = c.name;
  m.metadata.namespace_ = c.ns;
  m.metadata.labels[std::string(api::kInitiatorLabel)] = std::string(api::kInitiatorEvacuation);
  m.metadata.labels[std::string(api::kEvacuatingHypervisorLabel)] = hv.metadata.name;
  m.metadata.labels[std::string(api::kVmNameLabel)] = c.vm_name;
  api::OwnerReference owner;
  owner.apiVersion = std::string(api::kApiVersion);
  owner.kind = std::string(api::kVirtualMachineKind);
  owner.name = c.vm_name;
  owner.uid = c.vm_uid;
  if (!c.vm_uid.empty()) {
    m.metadata.ownerReferences.push_back(owner);  // deleting the VM removes its evacuation record
  }
  m.spec.vmName = c.vm_name;
  m.spec.mode = c.mode;
  auto created = deps_.client->create(kube::kVMMigration, c.ns, api::toJson(m));
  if (!created.isOk()) {
    if (created.status().code() == core::StatusCode::kAlreadyExists) {
      return core::okStatus();  // an earlier pass created it; the cache has not seen it yet
    }
    return created.status().withContext("creating evacuation VMMigration " + c.ns + "/" + c.name);
  }
  const std::string message = "VM " + c.ns + "/" + c.vm_name + ": " + c.why + " (VMMigration " +
                              c.name + ", " + std::string(api::toString(c.mode)) + ")";
  spdlog::info("hypervisor {}: evacuation: {}", hv.metadata.name, message);
  event(hv, "Normal",
        c.mode == api::MigrationMode::kLive ? "EvacuationMigrating" : "EvacuationMovingCold",
        message);
  return core::okStatus();
}

core::Status Evacuator::changeVm(const api::Hypervisor& hv, const VmChange& c) {
  VirtualMachinePtr cached = deps_.cache->vm(c.ns + "/" + c.name);
  if (!cached) {
    return core::okStatus();
  }
  api::VirtualMachine after = *cached;
  const std::string annotation(api::kEvacuationStoppedAnnotation);
  if (c.kind == VmChange::Kind::kHalt) {
    after.metadata.annotations[annotation] = std::string(api::toString(cached->spec.runStrategy));
    after.spec.runStrategy = api::RunStrategy::kHalted;
  } else {
    after.metadata.annotations.erase(annotation);
    after.spec.runStrategy = c.restore_to.value_or(api::RunStrategy::kAlways);
  }
  if (after == *cached) {
    return core::okStatus();
  }
  auto written = deps_.client->update(kube::kVirtualMachine, c.ns, api::toJson(after));
  if (!written.isOk()) {
    if (written.status().code() == core::StatusCode::kNotFound) {
      return core::okStatus();
    }
    return written.status().withContext("evacuation: updating VM " + c.ns + "/" + c.name);
  }
  const std::string message = "VM " + c.ns + "/" + c.name + ": " + c.why;
  spdlog::info("hypervisor {}: evacuation: {}", hv.metadata.name, message);
  event(hv, "Normal",
        c.kind == VmChange::Kind::kHalt ? "EvacuationStopping" : "EvacuationRestoring", message);
  return core::okStatus();
}

core::Status Evacuator::removeMigration(const api::Hypervisor& hv, const DeleteMigration& d) {
  auto removed = deps_.client->remove(kube::kVMMigration, d.ns, d.name);
  if (!removed.isOk() && removed.code() != core::StatusCode::kNotFound) {
    return removed.withContext("evacuation: deleting VMMigration " + d.ns + "/" + d.name);
  }
  const std::string message = "VMMigration " + d.ns + "/" + d.name + ": " + d.why;
  spdlog::info("hypervisor {}: evacuation: {}", hv.metadata.name, message);
  event(hv, "Normal", "EvacuationCancelled", message);
  return core::okStatus();
}

void Evacuator::applyStatus(const api::Hypervisor& hv, const EvacuationPlan& plan,
                            api::HypervisorStatus& desired) {
  desired.evacuation = plan.status;
  const auto now = api::toTimestamp(deps_.clock->wallNow());
  auto set = [&](std::string_view type, const std::optional<ConditionValue>& value) {
    if (!value) {
      return;
    }
    const api::Condition* before = api::findCondition(hv.status.conditions, type);
    api::Condition c;
    c.type = std::string(type);
    c.status = value->status;
    c.observedGeneration = hv.metadata.generation;
    c.reason = value->reason;
    c.message = value->message;
    api::setCondition(desired.conditions, c, now);
    const bool changed =
        !before || before->status != value->status || before->reason != value->reason;
    if (!changed || type != api::kConditionEvacuating) {
      return;
    }
    // One Event per transition of the evacuation as a whole.
    if (value->reason == "EvacuationComplete") {
      event(hv, "Normal", "Evacuated", value->message);
      spdlog::info("hypervisor {}: evacuated: {}", hv.metadata.name, value->message);
    } else if (value->reason == "Blocked") {
      event(hv, "Warning", "EvacuationBlocked", value->message);
      spdlog::warn("hypervisor {}: evacuation blocked: {}", hv.metadata.name, value->message);
    } else if (value->reason == "InProgress" &&
               (!before || before->status != ConditionStatus::kTrue)) {
      event(hv, "Normal", "Evacuating", value->message);
      spdlog::info("hypervisor {}: evacuating: {}", hv.metadata.name, value->message);
    }
  };
  set(api::kConditionEvacuating, plan.evacuating);
  set(api::kConditionEvacuated, plan.evacuated);
}

void Evacuator::event(const api::Hypervisor& hv, std::string_view type, std::string_view reason,
                      const std::string& message) {
  if (deps_.events) {
    deps_.events->event(api::toJson(hv), type, reason, message);
  }
}

}  // namespace novacron::controller::evacuation
