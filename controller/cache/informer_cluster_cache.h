// InformerClusterCache: the production ClusterCache on lib/runtime informers — Hypervisors (all),
// VirtualMachines (all namespaces, indexed by the label novacron.io/hypervisor, plus an index of
// unbound VMs), VMMigrations (all namespaces) and heartbeat Leases (namespace
// novacron-node-lease only, lib/api/node_lease.h).
// Register event handlers with the informers before start().
// Thread-safety: reads are safe from any thread (the stores are); start/stop from one thread.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/cache/cluster_cache.h"
#include "lib/api/node_lease.h"
#include "lib/kube/client.h"
#include "lib/runtime/informer.h"

namespace novacron::controller {

inline constexpr std::string_view kHeartbeatNamespace = api::kNodeLeaseNamespace;

class InformerClusterCache final : public ClusterCache {
public:
  InformerClusterCache(kube::ClientPtr client, metrics::RegistryPtr registry = nullptr,
                       std::string heartbeat_namespace = std::string(kHeartbeatNamespace));

  runtime::Informer<api::Hypervisor>& hypervisorInformer() { return *hypervisors_; }
  runtime::Informer<api::VirtualMachine>& vmInformer() { return *vms_; }
  runtime::Informer<nlohmann::json>& leaseInformer() { return *leases_; }
  runtime::Informer<api::VMMigration>& migrationInformer() { return *migrations_; }

  void start();
  void stop();
  bool waitForSync(std::chrono::milliseconds timeout) const;

  bool synced() const override;
  std::vector<HypervisorPtr> hypervisors() const override;
  HypervisorPtr hypervisor(std::string_view name) const override;
  HypervisorChanges hypervisorChanges(uint64_t cursor) const override;
  VirtualMachinePtr vm(std::string_view key) const override;
  std::vector<VirtualMachinePtr> vmsOn(std::string_view hypervisor) const override;
  std::vector<VirtualMachinePtr> unboundVms() const override;
  std::vector<VMMigrationPtr> migrations() const override;
  VMMigrationPtr migration(std::string_view key) const override;
  std::optional<LeaseSnapshot> heartbeat(std::string_view hypervisor) const override;

private:
  // The change log behind hypervisorChanges(): names in event order, the last kChangeLogSize.
  static constexpr std::size_t kChangeLogSize = 1 << 16;
  void hypervisorChanged(const std::string& name);

  mutable std::mutex changes_mu_;
  std::deque<std::string> changes_;  // guarded by changes_mu_; sequence numbers first_change_..
  uint64_t first_change_ = 1;        // guarded by changes_mu_; the sequence of changes_.front()
  const std::string heartbeat_namespace_;
  std::unique_ptr<runtime::Informer<api::Hypervisor>> hypervisors_;
  std::unique_ptr<runtime::Informer<api::VirtualMachine>> vms_;
  std::unique_ptr<runtime::Informer<nlohmann::json>> leases_;
  std::unique_ptr<runtime::Informer<api::VMMigration>> migrations_;
};

}  // namespace novacron::controller
