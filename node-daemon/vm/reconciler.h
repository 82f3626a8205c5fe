// VmReconciler: runs the VirtualMachines bound to this node (label novacron.io/hypervisor=<node>)
// as libvirt domains.
//
// Loop: an informer on bound VMs and libvirt domain events only enqueue "namespace/name" keys; a
// periodic resync enqueues every key and scans libvirt for domains; worker threads reconcile one
// key at a time (the work queue never hands one key to two workers).
//
// reconcile(key), level-based and idempotent:
//   1. VM gone from the cache: if a domain of that name carries our metadata and a live GET
//      confirms the VM is gone (NotFound or a different uid), remove domain and disks; otherwise
//      leave it alone.
//   2. deletionTimestamp set: destroy, undefine, remove disks, then drop finalizer
//      novacron.io/node-cleanup (only after cleanup succeeded).
//   3. Add the finalizer BEFORE creating anything on the node.
//   4. validate(); an invalid spec is reported (Valid=False, phase Failed), nothing is created.
//   5. Decide the power action from runStrategy (run_strategy.h), define + start / shutdown with
//      terminationGracePeriodSeconds then destroy / suspend / resume.
//   6. Write status through /status (resourceVersion precondition) only when it changed: phase,
//      Ready and Valid conditions, domainUUID, interfaces (MAC, IP from DHCP leases or ARP),
//      startTime, observedGeneration.
// Restart safety: existing domains are found by their stable name and adopted as they are (a
// running domain is never restarted by a new node-daemon). Domains no VM claims are counted in
// novacron_node_unclaimed_domains, logged and reported once as a Warning Event on the node's
// Hypervisor, and left alone.
// Thread-safety: start()/stop() from one thread; reconcile() from any thread (one call per key at a
// time).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/api/virtual_machine.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/runtime/event_recorder.h"
#include "lib/runtime/informer.h"
#include "lib/runtime/workqueue.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/storage/disk_manager.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::vm {

// Set to "true" on a VirtualMachine to pause its domain; remove (or "false") to resume.
inline constexpr std::string_view kPausedAnnotation = "novacron.io/paused";

struct ReconcilerOptions {
  std::string node_name;
  std::string domain_type = "kvm";  // virt::chooseDomainType()
  std::string arch = "x86_64";
  std::string nat_network = "default";
  std::chrono::milliseconds resync{std::chrono::seconds(30)};
  int workers = 2;
  core::ClockPtr clock;           // defaults to the system clock
  metrics::RegistryPtr registry;  // for the informer and queue; nullptr = default registry
};

struct ReconcileResult {
  std::optional<std::chrono::milliseconds> requeue_after;
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
  // that), adopts existing domains, then starts workers, the resync loop and libvirt events.
  [[nodiscard]] core::Status start(std::chrono::milliseconds sync_timeout);
  void stop();

  [[nodiscard]] core::StatusOr<ReconcileResult> reconcile(const std::string& key);
  // Scans libvirt: enqueues keys of our domains, updates domain/unclaimed metrics.
  void scanDomains();

  bool hasSynced() const { return informer_.hasSynced(); }
  const runtime::Informer<api::VirtualMachine>& informer() const { return informer_; }

private:
  core::StatusOr<ReconcileResult> reconcileVm(api::VirtualMachine vm, const std::string& dname);
  core::Status cleanup(const api::VirtualMachine& vm, const std::string& dname);
  core::Status handleAbsent(const std::string& ns, const std::string& name,
                            const std::string& dname);
  core::Status removeNodeResources(const std::string& ns, const std::string& name,
                                   const std::string& uid, const std::string& dname);
  core::Status writeStatus(const api::VirtualMachine& before, const api::VirtualMachine& after);
  std::vector<api::VmInterfaceStatus> interfaces(const api::VirtualMachine& vm,
                                                 const std::string& dname, bool running);
  void event(const api::VirtualMachine& vm, std::string_view type, std::string_view reason,
             const std::string& message);
  void reportUnclaimed(const std::string& domain_name);
  void worker();
  void resyncLoop();

  kube::ClientPtr client_;
  virt::Connection& conn_;
  storage::DiskManager& disks_;
  NodeMetricsPtr metrics_;
  std::shared_ptr<runtime::EventRecorder> recorder_;
  ReconcilerOptions options_;
  runtime::WorkQueue queue_;
  runtime::Informer<api::VirtualMachine> informer_;

  std::mutex mu_;
  // When we asked a domain's guest to shut down (graceful stop in progress).
  std::map<std::string, core::Clock::TimePoint> shutdown_requested_;  // guarded by mu_
  std::condition_variable stop_cv_;
  bool stopping_ = false;                     // guarded by mu_
  std::set<std::string> reported_unclaimed_;  // guarded by mu_

  int event_subscription_ = -1;
  std::vector<std::thread> threads_;
};

}  // namespace novacron::node::vm
