// HypervisorRegistrar: makes this node visible to the controller.
//   - registerNode(): creates the Hypervisor named after the node if missing, then writes the
//     node-daemon's part of its status (capacity, allocatable = capacity - reserved with NO
//     overcommit, since the controller applies spec.overcommit or its defaults to allocatable;
//     storage: the VM root's filesystem size, allocatable = size - reserved_storage_bytes;
//     CPU model/features, virtualization mode, libvirt/QEMU versions, conditions Ready and
//     KVMAvailable, lastHeartbeatTime) through /status with the resourceVersion it read, leaving
//     the controller's fields (allocated, Schedulable, ...) untouched. When libvirtd does not
//     answer, Ready becomes False with reason LibvirtUnavailable instead.
//   - renewLease(): the heartbeat, a coordination.k8s.io/v1 Lease "<node>" in novacron-node-lease,
//     renewed every `heartbeat_interval` (10 s). The namespace comes from the manifests
//     (config/default); the node-daemon may not create namespaces, so a missing one is a NotFound
//     error naming the fix, retried by the loop.
//   - start(): one thread renews the Lease every interval; another re-registers every
//     `status_interval` (or reports Ready=False LibvirtUnavailable); failures are logged, counted
//     and retried. Like the kubelet's node status (nodeStatusUpdateFrequency computes,
//     nodeStatusReportFrequency writes), the status is written only when something in it changed
//     or when lastHeartbeatTime is `status_report_interval` old: liveness is the Lease, and a
//     write that changes only a timestamp would make the controller's reservations on this
//     Hypervisor conflict (409) for nothing. The heartbeat never waits for libvirt, so a
//     libvirtd restart or hang leaves the Hypervisor heartbeating with Ready=False.
//   - Fencing (fence.h): registerNode() notices a fenced or deleted Hypervisor, never re-creates a
//     deleted one, returns FailedPrecondition and reports the change through on_fence; fenced()
//     stays true until an administrator clears it. A fenced node does not heartbeat.
// Thread-safety: registerNode() from one thread at a time, renewLease() from one thread at a time
// (the two may run concurrently); start()/stop() from the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "lib/api/node_lease.h"
#include "lib/core/clock.h"
#include "lib/core/status.h"
#include "lib/kube/client.h"
#include "node-daemon/hypervisor/fence.h"
#include "node-daemon/hypervisor/storage_space.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::hypervisor {

// lib/api/node_lease.h: never beside the controller's leader Lease.
inline constexpr std::string_view kLeaseNamespace = api::kNodeLeaseNamespace;

struct RegistrarOptions {
  std::string node_name;
  std::string domain_type = "kvm";  // what the probe chose
  bool kvm_usable = false;          // /dev/kvm usable and offered by libvirt
  int reserved_cpus = 0;            // kept for the host
  int64_t reserved_memory_bytes = 0;
  // The VM root's disk space (storage_space.h); unset: status.*.storage is not reported.
  StorageProbe storage;
  int64_t reserved_storage_bytes = 0;  // kept for images, logs and the host
  // Memory capacity to report instead of libvirt's node info (MemTotal, which a balloon on the
  // machine under this host moves): installedMemoryBytes() when the libvirt host is this one.
  std::optional<int64_t> memory_capacity_bytes;
  std::chrono::milliseconds heartbeat_interval{std::chrono::seconds(10)};
  std::chrono::seconds lease_duration{40};
  std::chrono::milliseconds status_interval{std::chrono::seconds(60)};
  // An unchanged status is written again (a new lastHeartbeatTime) only this often: the kubelet's
  // nodeStatusReportFrequency default.
  std::chrono::milliseconds status_report_interval{std::chrono::minutes(5)};
  core::ClockPtr clock;  // defaults to the system clock
  // File recording the uid of the Hypervisor this node registered (empty: no record, so a
  // deletion is only noticed while the process runs).
  std::string registration_record;
  // Called (on the registering thread) when the node becomes fenced (with the reason) or is
  // cleared (nullopt). Must be quick or hand the work off.
  std::function<void(std::optional<std::string> fenced_reason)> on_fence;
};

// Whether the status computed now must be written over the one read: true when anything but
// lastHeartbeatTime differs, or when the read one's lastHeartbeatTime is `report_interval` older
// than the computed one's (or either is missing). Pure; `reported` and `computed` are status
// objects as JSON.
bool statusReportDue(const kube::Json& reported, const kube::Json& computed,
                     std::chrono::milliseconds report_interval);

class HypervisorRegistrar {
public:
  HypervisorRegistrar(kube::ClientPtr client, virt::Connection& conn, NodeMetricsPtr metrics,
                      RegistrarOptions options);
  ~HypervisorRegistrar();
  HypervisorRegistrar(const HypervisorRegistrar&) = delete;
  HypervisorRegistrar& operator=(const HypervisorRegistrar&) = delete;

  [[nodiscard]] core::Status registerNode();
  [[nodiscard]] core::Status renewLease();
  bool fenced() const { return fenced_.load(); }

  void start();
  void stop();

private:
  void heartbeatLoop();
  void statusLoop();
  // Sets Ready=False (LibvirtUnavailable) on an existing Hypervisor.
  core::Status reportLibvirtUnavailable(const core::Status& cause);
  void setFenced(Fence fence);

  kube::ClientPtr client_;
  virt::Connection& conn_;
  NodeMetricsPtr metrics_;
  RegistrarOptions options_;
  std::optional<core::Clock::TimePoint> last_renew_;  // used by renewLease()'s thread only
  RegistrationRecord record_;
  std::atomic<bool> fenced_{false};

  std::mutex mu_;
  std::condition_variable_any cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // statusLoop()
  std::thread heartbeat_thread_;
};

// "2026-11-21T23:30:00.123456Z" (metav1.MicroTime).
std::string formatMicroTime(std::chrono::system_clock::time_point time);

}  // namespace novacron::node::hypervisor
