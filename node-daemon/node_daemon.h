// NodeDaemon: wires the node-daemon's parts together (libvirt connection, domain-type probe, API
// client, Hypervisor registrar + heartbeat, VM reconciler, metrics and health endpoint) from a
// plain config, so main.cc only parses flags.
//
// start() blocks until libvirtd answers and the Hypervisor is registered (retrying with backoff,
// giving up when stop() is called), then returns with everything running. stop() shuts it down in
// reverse order; it never touches running domains (a restarted node-daemon adopts them).
// Thread-safety: start() and stop() from the owning thread; stop() may also be called from a
// signal-handling thread while start() is retrying.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/core/status.h"

namespace novacron::node {

struct NodeDaemonConfig {
  std::string node_name;
  std::string kubeconfig;  // empty: $KUBECONFIG, then in-cluster
  std::string libvirt_uri = "qemu:///system";
  std::string domain_type = "auto";  // auto, kvm, qemu (TCG), test
  std::string vm_root = "/var/lib/novacron/vms";
  std::string image_root = "/var/lib/novacron/images";
  bool shared_vm_root = false;  // every hypervisor sees vm_root: migrations copy no disks
  // Image downloads: CIDRs/host names allowed although private/loopback/link-local (see
  // storage/destination_policy.h), and the largest download accepted.
  std::string image_allowed_networks;
  int64_t image_max_bytes = 64LL << 30;
  std::string nat_network = "default";
  std::string metrics_address = "0.0.0.0";
  int metrics_port = 9101;  // 0 = any free port
  int workers = 2;
  std::chrono::milliseconds resync{std::chrono::seconds(30)};
  std::chrono::milliseconds heartbeat{std::chrono::seconds(10)};
  std::chrono::milliseconds status_interval{std::chrono::seconds(60)};
  // An unchanged Hypervisor status is written again only this often (registrar.h).
  std::chrono::milliseconds status_report_interval{std::chrono::minutes(5)};
  // novacron_node_domain_active{uuid} refresh period (domain_inventory.h); 0 = not exported.
  std::chrono::milliseconds domain_inventory{0};
  int reserved_cpus = 0;
  int64_t reserved_memory_bytes = 0;
  int64_t reserved_storage_bytes = 0;  // of the VM root's filesystem
  // How this node reaches a migration target's libvirtd and QEMU ("{}" = the target's address).
  std::string migration_libvirt_uri_template = "qemu+tcp://{}/system";
  std::string migration_uri_template = "tcp://{}";
  // Certificates for tls: true migrations (libvirt's pki layout; empty: libvirt's defaults), and
  // where to install them from at start-up (a mounted Secret; empty: nothing to install).
  std::string migration_tls_dir;
  std::string migration_tls_source;
  // Host bridges VMs may attach to (spec.networks[].type bridge); empty: none.
  std::vector<std::string> allowed_bridges;
};

class NodeDaemon {
public:
  explicit NodeDaemon(NodeDaemonConfig config);
  ~NodeDaemon();
  NodeDaemon(const NodeDaemon&) = delete;
  NodeDaemon& operator=(const NodeDaemon&) = delete;

  [[nodiscard]] core::Status start();
  void stop();
  // The metrics/health port actually bound (after start()).
  int metricsPort() const;

private:
  struct Parts;
  NodeDaemonConfig config_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Parts> parts_;
};

}  // namespace novacron::node
