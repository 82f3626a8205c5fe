// VmReconciler: runs the VirtualMachines bound to this node as libvirt domains.
//
// Loop: runtime::Controller (the same loop as the controller binary's reconcilers). An informer
// on VMs labelled novacron.io/hypervisor=<node> and libvirt domain events only enqueue
// "namespace/name" keys; the controller's resync re-enqueues every key and rescans libvirt.
//
// reconcile(key) reads top to bottom as observe → decide (decide.h, pure) → act and report:
//   0. Fenced node (hypervisor/fence.h): destroy our domain of that name if it runs; nothing else.
//   1. VM gone from the cache: if a domain of that name carries our metadata, a live GET decides:
//      the VM is gone (NotFound or another uid) → remove domain and disks; it exists bound here →
//      leave it; it exists bound elsewhere → stop the stray running copy (disks are kept).
//   2. Binding (decide.h): status.hypervisor, never the label, says whether this node runs the VM.
//      Not bound here → never start it and never add the finalizer; a running copy of a VM bound
//      elsewhere is stopped.
//   3. Bound here: runtime::finalizer() adds novacron.io/node-cleanup before anything is created
//      and, on deletion, removes it only after domain and disks are gone.
//   4. validate(): an invalid spec is reported (Ready=False/InvalidSpec, phase Failed), nothing is
//      created.
//   5. decidePower() on one observation of the domain; act (define + start / shutdown with
//      terminationGracePeriodSeconds then destroy / suspend / resume); observe again and write
//      status through /status (resourceVersion precondition) only when it changed.
// Errors are returned to the loop, which retries them; only a spec the node can never run is
// reported through status and not retried until the VM changes.
// Restart safety: existing domains are found by their stable name and adopted as they are (a
// running domain is never restarted by a new node-daemon). Domains no VM claims are counted in
// novacron_node_unclaimed_domains, logged and reported once as a Warning Event on the node's
// Hypervisor, and left alone.
// Thread-safety: start()/stop() from one thread; reconcile() from any thread (the loop never runs
// one key on two workers at once).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/api/virtual_machine.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/controller.h"
#include "lib/runtime/event_recorder.h"
#include "lib/runtime/informer.h"
#include "lib/runtime/pending_writes.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/storage/disk_manager.h"
#include "node-daemon/virt/connection.h"
#include "node-daemon/vm/decide.h"

namespace novacron::node::vm {

struct ReconcilerOptions {
  std::string node_name;
  std::string domain_type = "kvm";  // virt::chooseDomainType()
  std::string arch = "x86_64";
  std::string nat_network = "default";
  // Host bridges VMs may attach to (type bridge); a VM asking for another one is refused.
  std::vector<std::string> allowed_bridges;
  std::chrono::milliseconds resync{std::chrono::seconds(30)};
  bool shared_vm_root = false;  // --shared-vm-root: other nodes' VM folders are in the VM root
  int workers = 2;
  core::ClockPtr clock;           // defaults to the system clock
  metrics::RegistryPtr registry;  // for the informer and loop; nullptr = default registry
  // True while this node is fenced (hypervisor/fence.h): every domain of ours is destroyed and
  // nothing is started, created or removed. nullptr = never fenced.
  std::function<bool()> fenced;
};

class VmReconciler {
public:
  VmReconciler(kube::ClientPtr client, virt::Connection& conn, storage::DiskManager& disks,
               NodeMetricsPtr metrics, std::shared_ptr<runtime::EventRecorder> recorder,
               ReconcilerOptions options);
  ~VmReconciler();
  VmReconciler(const VmReconciler&) = delete;
  VmReconciler& operator=(const VmReconciler&) = delete;

  // Starts the informer, waits up to `sync_timeout` for it to sync (never acting on absence before
  // that), adopts existing domains, then starts the loop and libvirt events.
  [[nodiscard]] core::Status start(std::chrono::milliseconds sync_timeout);
  void stop();

  [[nodiscard]] core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& key);
  // Scans libvirt: enqueues keys of our domains, updates domain/unclaimed metrics.
  void scanDomains();
  // Reports the VM folders here that no VM bound here will use (orphan_folders.h), reading at
  // most kMaxFolderReadsPerScan VMs live per scan (folders already reported are not read again).
  void scanFolders();
  static constexpr int kMaxFolderReadsPerScan = 16;
  // The node's fence state changed: reconcile every VM and domain now.
  void fenceChanged();

  bool hasSynced() const { return informer_.hasSynced(); }
  const runtime::Informer<api::VirtualMachine>& informer() const { return informer_; }
  runtime::Controller& loop() { return loop_; }

private:
  // Act steps, each one purpose.
  core::StatusOr<runtime::ReconcileResult> apply(const api::VirtualMachine& vm,
                                                 const std::string& dname);
  core::Status cleanup(const api::VirtualMachine& vm, const std::string& dname);
  core::StatusOr<runtime::ReconcileResult> notBoundHere(const api::VirtualMachine& vm,
                                                        const std::string& dname, Binding binding);
  core::Status handleAbsent(const std::string& ns, const std::string& name,
                            const std::string& dname);
  core::Status destroyWhileFenced(const std::string& dname);
  core::Status stopStrayCopy(const api::VirtualMachine& vm, const std::string& dname,
                             const std::string& why);
  // Prepares disks, defines (if needed) and starts the domain. A spec the node cannot run comes
  // back as a terminal() error after its status was written.
  core::Status startDomain(const api::VirtualMachine& vm, const std::string& dname, bool defined);
  core::Status powerAction(const api::VirtualMachine& vm, const std::string& dname,
                           const PowerDecision& decision, const Observation& observed);
  // Reports why the disks are not ready (still downloading, download failed, image refused).
  core::Status diskNotReady(const api::VirtualMachine& vm, const core::Status& s);
  void downloadFinished(const std::string& url);
  void collectImages();
  core::Status removeNodeResources(const std::string& ns, const std::string& name,
                                   const std::string& uid, const std::string& dname);

  // Observe steps.
  core::StatusOr<Observation> observe(const std::string& dname);
  std::vector<api::VmInterfaceStatus> interfaces(const api::VirtualMachine& vm,
                                                 const std::string& dname, bool running);

  // Report steps.
  core::Status writeStatus(const api::VirtualMachine& vm, const api::VirtualMachineStatus& status);
  void event(const api::VirtualMachine& vm, std::string_view type, std::string_view reason,
             const std::string& message);
  void reportUnclaimed(const std::string& domain_name);
  void reportOrphanFolder(const storage::VmFolder& folder, const std::string& why);
  // Whether the VM root is shared (orphan_folders.h, decideRootSharing): reads the Hypervisor of
  // each other node's mark until one exists (on a shared root: one read per scan); logs stale
  // marks once and each change of the verdict.
  bool rootShared();
  // This node's Hypervisor, the object its node-level Events are about.
  runtime::ObjectReference nodeHypervisor() const;
  void forgetShutdown(const std::string& dname);
  // A VM being deleted whose guest runs: shut it down gracefully first (as a stop does, honouring
  // terminationGracePeriodSeconds). A result means "still shutting down, come back then";
  // nullopt means the domain is off (or not this VM's) and cleanup may proceed.
  core::StatusOr<std::optional<runtime::ReconcileResult>> shutDownBeforeCleanup(
      const api::VirtualMachine& vm, const std::string& dname);
  // Logs an address lookup failure once per domain, source and message.
  void reportAddressFailure(const api::VirtualMachine& vm, const std::string& dname,
                            std::string_view source, const core::Status& s);

  kube::ClientPtr client_;
  virt::Connection& conn_;
  storage::DiskManager& disks_;
  NodeMetricsPtr metrics_;
  std::shared_ptr<runtime::EventRecorder> recorder_;
  ReconcilerOptions options_;
  runtime::Informer<api::VirtualMachine> informer_;
  runtime::Controller loop_;

  std::mutex mu_;
  // When we asked a domain's guest to shut down (graceful stop in progress).
  std::map<std::string, core::Clock::TimePoint> shutdown_requested_;  // guarded by mu_
  std::set<std::string> reported_orphan_folders_;                     // guarded by mu_, by path
  std::set<std::string> reported_stale_marks_;                        // guarded by mu_, by node
  std::optional<bool> root_shared_;                                   // guarded by mu_
  std::set<std::string> reported_unclaimed_;                          // guarded by mu_
  // When this process last started each domain (wall clock, for status.startTime).
  std::map<std::string, api::Timestamp> started_at_;  // guarded by mu_
  std::set<std::string> reported_address_failures_;   // guarded by mu_
  // The spec.restartRequestedAt each domain was last restarted for (no second restart for one
  // request while the cache still shows the old startTime).
  std::map<std::string, api::Timestamp> restarted_for_;  // guarded by mu_
  runtime::PendingWrites status_written_;                // status writes the cache may not show yet

  int event_subscription_ = -1;
  bool started_ = false;
};

}  // namespace novacron::node::vm
