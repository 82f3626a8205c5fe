// TargetMigrationReconciler: the target node-daemon's part of a VMMigration (docs/migration.md,
// "copyStorage" and "Cold").
//
// Watches VMMigrations labelled novacron.io/target-hypervisor=<this node> on the loop every
// reconciler uses. Reads top to bottom:
//   observe  the VMMigration; when it may have to act, the VM (live read: it is not bound here, so
//            not in this node's VM cache) and whether the VM's folder is already here;
//   decide   decideTarget() (target_decide.h, pure);
//   act      prepare the VM's disks with the node's DiskManager (base images from this node's image
//            store, empty overlays at the paths the domain will use), then write
//            status.targetStorage and TargetPrepared=True; or, after a failed or cancelled
//            migration, remove the folder it made (TargetPrepared=False, CleanedUp — reported
//            also when there was nothing to remove: the controller's finalizer waits for it, so
//            a migration deleted right after it failed is still seen here; never the folder of
//            the VM bound to this node).
// A folder the target makes for a migration holds the marker ".novacron-migration-<name>", so a
// retried prepare knows the folder is its own and a cleanup removes only what it made.
// Thread-safety: start()/stop() from one thread; reconcile() from the loop's workers.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/controller.h"
#include "lib/runtime/event_recorder.h"
#include "lib/runtime/informer.h"
#include "node-daemon/storage/disk_manager.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

using api::kTargetHypervisorLabel;

struct TargetReconcilerOptions {
  std::string node_name;
  bool shared_vm_root = false;  // node-daemon --shared-vm-root: every host sees this VM root
  int workers = 1;
  core::ClockPtr clock;
  metrics::RegistryPtr registry;
};

class TargetMigrationReconciler {
public:
  TargetMigrationReconciler(kube::ClientPtr client, virt::Connection& conn,
                            storage::DiskManager& disks,
                            std::shared_ptr<runtime::EventRecorder> recorder,
                            TargetReconcilerOptions options);
  ~TargetMigrationReconciler();

  [[nodiscard]] core::Status start(std::chrono::milliseconds sync_timeout);
  void stop();
  [[nodiscard]] core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& key);
  bool hasSynced() const { return informer_.hasSynced(); }

private:
  core::StatusOr<runtime::ReconcileResult> prepare(const api::VMMigration& mig,
                                                   const api::VirtualMachine& vm, bool copy);
  core::StatusOr<runtime::ReconcileResult> cleanUp(const api::VMMigration& mig);
  core::Status writeStatus(const api::VMMigration& mig, const api::VMMigrationStatus& status);
  std::string markerName(const api::VMMigration& mig) const;

  kube::ClientPtr client_;
  virt::Connection& conn_;
  storage::DiskManager& disks_;
  std::shared_ptr<runtime::EventRecorder> recorder_;
  TargetReconcilerOptions options_;
  runtime::Informer<api::VMMigration> informer_;
  runtime::Controller loop_;
};

}  // namespace novacron::node::migration
