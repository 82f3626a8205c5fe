#include "node-daemon/migration/target_reconciler.h"

#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "lib/api/codec.h"
#include "lib/runtime/store.h"
#include "node-daemon/domain/naming.h"
#include "node-daemon/migration/target_decide.h"

namespace novacron::node::migration {
namespace fs = std::filesystem;
namespace {

using core::Status;
using core::StatusOr;
using runtime::ReconcileResult;
using namespace std::chrono_literals;

api::Condition prepared(api::ConditionStatus status, std::string_view reason, std::string message,
                        int64_t generation) {
  api::Condition c;
  c.type = std::string(api::kConditionTargetPrepared);
  c.status = status;
  c.reason = std::string(reason);
  c.message = std::move(message);
  c.observedGeneration = generation;
  return c;
}

bool exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

}  // namespace

TargetMigrationReconciler::TargetMigrationReconciler(
    kube::ClientPtr client, virt::Connection& conn, storage::DiskManager& disks,
    std::shared_ptr<runtime::EventRecorder> recorder, TargetReconcilerOptions options)
    : client_(std::move(client)),
      conn_(conn),
      disks_(disks),
      recorder_(std::move(recorder)),
      options_(std::move(options)),
      informer_(client_, kube::kVMMigration, api::fromJson<api::VMMigration>,
                runtime::ReflectorOptions{.label_selector = std::string(kTargetHypervisorLabel) +
                                                            "=" + options_.node_name,
                                          .registry = options_.registry}),
      loop_(
          runtime::ControllerOptions{.name = "node_migration_target",
                                     .workers = std::max(1, options_.workers),
                                     .synced = {runtime::waitForSyncOf(informer_)},
                                     .clock = options_.clock ? options_.clock : core::systemClock(),
                                     .registry = options_.registry},
          [this](const std::string& key) { return reconcile(key); }) {
  if (!options_.clock) {
    options_.clock = core::systemClock();
  }
  informer_.addEventHandler(runtime::enqueueKeys<api::VMMigration>(loop_.queue()));
}

TargetMigrationReconciler::~TargetMigrationReconciler() {
  stop();
}

Status TargetMigrationReconciler::start(std::chrono::milliseconds sync_timeout) {
  informer_.start();
  if (!informer_.waitForSync(sync_timeout)) {
    return core::unavailableError("VMMigration (target) informer did not sync");
  }
  loop_.start();
  return Status::ok();
}

void TargetMigrationReconciler::stop() {
  loop_.stop();
  informer_.stop();
}

std::string TargetMigrationReconciler::markerName(const api::VMMigration& mig) const {
  return ".novacron-migration-" + mig.metadata.name;
}

StatusOr<ReconcileResult> TargetMigrationReconciler::reconcile(const std::string& key) {
  auto cached = informer_.store().get(key);
  if (!cached) {
    return ReconcileResult::done();
  }
  const api::VMMigration& mig = *cached;

  // Observe.
  TargetObservation o;
  o.ours = mig.status.targetHypervisor.value_or("") == options_.node_name;
  o.phase = mig.status.phase;
  o.needs_preparation = needsTargetPreparation(mig.spec);
  o.prepared = api::isConditionTrue(mig.status.conditions, api::kConditionTargetPrepared);
  o.prepared_copy = mig.status.targetStorage && mig.status.targetStorage->copy;
  o.cancel = mig.spec.cancel || mig.metadata.deletionTimestamp.has_value();
  o.cleaned_up = api::targetCleanedUp(mig.status);
  if (o.ours && o.phase &&
      (*o.phase == api::MigrationPhase::kFailed || *o.phase == api::MigrationPhase::kCancelled)) {
    for (const std::string& uid : disks_.uids(mig.metadata.namespace_, mig.spec.vmName)) {
      auto dir = disks_.paths().vmDir(mig.metadata.namespace_, mig.spec.vmName, uid);
      o.marker_present = o.marker_present || (dir.isOk() && exists(*dir + "/" + markerName(mig)));
    }
  }
  std::optional<api::VirtualMachine> vm;
  const bool may_prepare =
      o.ours && o.needs_preparation && !o.prepared && !o.cancel &&
      (o.phase == api::MigrationPhase::kMigrating || o.phase == api::MigrationPhase::kPreparing);
  if (may_prepare) {
    auto live = client_->get(kube::kVirtualMachine, mig.metadata.namespace_, mig.spec.vmName);
    if (!live.isOk()) {
      if (live.status().code() == core::StatusCode::kNotFound) {
        return ReconcileResult::done();  // a deleted VM: the source reports it, nothing to make
      }
      return live.status();
    }
    NOVACRON_ASSIGN_OR_RETURN(vm, api::fromJson<api::VirtualMachine>(*live));
    NOVACRON_ASSIGN_OR_RETURN(
        std::string dir,
        disks_.paths().vmDir(vm->metadata.namespace_, vm->metadata.name, vm->metadata.uid));
    const bool foreign = exists(dir) && !exists(dir + "/" + markerName(mig));
    o.copy = storageCopyWanted(mig.spec.options.copyStorage, options_.shared_vm_root, foreign);
  }

  // Decide, act.
  switch (decideTarget(o)) {
  case TargetAction::kNone:
    return ReconcileResult::done();
  case TargetAction::kPrepare:
    return prepare(mig, *vm, true);
  case TargetAction::kReportShared:
    return prepare(mig, *vm, false);
  case TargetAction::kCleanUp:
    return cleanUp(mig);
  }
  return ReconcileResult::done();
}

StatusOr<ReconcileResult> TargetMigrationReconciler::prepare(const api::VMMigration& mig,
                                                             const api::VirtualMachine& vm,
                                                             bool copy) {
  api::VMMigrationStatus status = mig.status;
  const auto now = api::toTimestamp(options_.clock->wallNow());
  std::string message = "the VM's files on " + options_.node_name + " are shared with the source";
  if (copy) {
    NOVACRON_ASSIGN_OR_RETURN(
        std::string dir,
        disks_.paths().vmDir(vm.metadata.namespace_, vm.metadata.name, vm.metadata.uid));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return core::unavailableError("cannot create " + dir + ": " + ec.message());
    }
    const std::string marker = dir + "/" + markerName(mig);
    if (!exists(marker)) {
      std::ofstream(marker) << mig.metadata.uid << "\n";
      if (!exists(marker)) {
        return core::unavailableError("cannot write " + marker);
      }
    }
    auto made = disks_.prepare(vm);
    if (!made.isOk()) {
      const Status& s = made.status();
      if (s.code() == core::StatusCode::kUnavailable) {
        spdlog::info("node-daemon: migration {}/{}: preparing disks: {}", mig.metadata.namespace_,
                     mig.metadata.name, s.message());
        return s;  // downloading (retryAfter) or a download that may work later
      }
      // The target can never use this VM's disks: end the migration before the source starts
      // (it waits for TargetPrepared, so nothing moved yet).
      status.phase = api::MigrationPhase::kFailed;
      status.failureReason = "TargetPreparationFailed: " + s.message();
      api::setCondition(status.conditions,
                        prepared(api::ConditionStatus::kFalse, "TargetPreparationFailed",
                                 s.message(), mig.metadata.generation),
                        now);
      NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
      if (recorder_) {
        recorder_->event(api::toJson(mig), "Warning", "TargetPreparationFailed", s.message());
      }
      return ReconcileResult::done();
    }
    message = "disks prepared on " + options_.node_name + " (" +
              std::to_string(made->disks.size()) + "); the source copies the top layers along";
  }
  status.targetStorage = api::MigrationTargetStorage{
      .copy = copy, .vmRoot = disks_.paths().vmRoot(), .imageRoot = disks_.paths().imageRoot()};
  api::setCondition(
      status.conditions,
      prepared(api::ConditionStatus::kTrue, copy ? kReasonStoragePrepared : kReasonSharedStorage,
               message, mig.metadata.generation),
      now);
  NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
  spdlog::info("node-daemon: migration {}/{}: {}", mig.metadata.namespace_, mig.metadata.name,
               message);
  return ReconcileResult::done();
}

StatusOr<ReconcileResult> TargetMigrationReconciler::cleanUp(const api::VMMigration& mig) {
  const std::string& ns = mig.metadata.namespace_;
  const std::string& name = mig.spec.vmName;
  // The incoming domain goes with the aborted job; wait until libvirt removed it, so no QEMU
  // still holds the files. A shut-off definition holds nothing (one an earlier migration left
  // here stays until the VM's own reconciler removes it: waiting for it hung the deletion of
  // every later failed migration to this node, found by the fault suite in depth).
  NOVACRON_ASSIGN_OR_RETURN(std::string dname, domain::domainName(ns, name));
  auto info = conn_.lookupByName(dname);
  if (info.isOk() && info->active) {
    auto live = client_->get(kube::kVirtualMachine, ns, name);
    if (live.isOk()) {
      auto vm = api::fromJson<api::VirtualMachine>(*live);
      if (vm.isOk() && vm->status.hypervisor.value_or("") == options_.node_name) {
        spdlog::warn("node-daemon: migration {}/{}: the VM is bound here; keeping its files", ns,
                     mig.metadata.name);
        api::VMMigrationStatus status = mig.status;
        api::setCondition(status.conditions,
                          prepared(api::ConditionStatus::kFalse, kReasonCleanedUp,
                                   "the VM is bound to " + options_.node_name + "; files kept",
                                   mig.metadata.generation),
                          api::toTimestamp(options_.clock->wallNow()));
        NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
        return ReconcileResult::done();
      }
    }
    return ReconcileResult::after(2s);
  }
  if (!info.isOk() && info.status().code() != core::StatusCode::kNotFound) {
    return info.status();
  }
  std::vector<std::string> marked;
  for (const std::string& uid : disks_.uids(ns, name)) {
    NOVACRON_ASSIGN_OR_RETURN(std::string dir, disks_.paths().vmDir(ns, name, uid));
    if (exists(dir + "/" + markerName(mig))) {
      marked.push_back(uid);
    }
  }
  // Never remove the files of the VM bound here: the VM may have been placed on this node after
  // the migration failed (its disks were kept: prepare() is idempotent) while this cleanup was
  // still to run (a node-daemon that was down). Live read: the VM is not in this node's cache
  // unless bound here, and the cache may be behind.
  std::string bound_uid;
  if (!marked.empty()) {
    auto live = client_->get(kube::kVirtualMachine, ns, name);
    if (live.isOk()) {
      NOVACRON_ASSIGN_OR_RETURN(api::VirtualMachine vm, api::fromJson<api::VirtualMachine>(*live));
      if (vm.status.hypervisor.value_or("") == options_.node_name) {
        bound_uid = vm.metadata.uid;
      }
    } else if (live.status().code() != core::StatusCode::kNotFound) {
      return live.status();
    }
  }
  int removed = 0;
  int kept = 0;
  for (const std::string& uid : marked) {
    if (uid == bound_uid) {
      spdlog::warn("node-daemon: migration {}/{}: VM {} (uid {}) is bound here; keeping its files",
                   ns, mig.metadata.name, name, uid);
      ++kept;
      continue;
    }
    NOVACRON_RETURN_IF_ERROR(disks_.remove(ns, name, uid));
    // Logged here: the status write below may conflict, and the retry then finds nothing.
    spdlog::info("node-daemon: migration {}/{}: removed the folder of VM {} (uid {}) prepared here",
                 ns, mig.metadata.name, name, uid);
    ++removed;
  }
  api::VMMigrationStatus status = mig.status;
  const std::string message = marked.empty() ? "nothing of this migration on " + options_.node_name
                              : kept == 0
                                  ? "removed what " + options_.node_name + " prepared (" +
                                        std::to_string(removed) + " folder(s))"
                                  : "the VM is bound to " + options_.node_name + "; files kept";
  api::setCondition(
      status.conditions,
      prepared(api::ConditionStatus::kFalse, kReasonCleanedUp, message, mig.metadata.generation),
      api::toTimestamp(options_.clock->wallNow()));
  NOVACRON_RETURN_IF_ERROR(writeStatus(mig, status));
  spdlog::info("node-daemon: migration {}/{}: {}", ns, mig.metadata.name, message);
  return ReconcileResult::done();
}

Status TargetMigrationReconciler::writeStatus(const api::VMMigration& mig,
                                              const api::VMMigrationStatus& status) {
  if (mig.status == status) {
    return Status::ok();
  }
  api::VMMigration out = mig;
  out.status = status;
  auto written =
      client_->updateStatus(kube::kVMMigration, mig.metadata.namespace_, api::toJson(out));
  if (!written.isOk()) {
    return written.status().withContext("writing status of VMMigration " + mig.metadata.namespace_ +
                                        "/" + mig.metadata.name);
  }
  return Status::ok();
}

}  // namespace novacron::node::migration
