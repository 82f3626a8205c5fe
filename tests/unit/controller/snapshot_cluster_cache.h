// SnapshotClusterCache: a ClusterCache that holds a snapshot of a FakeClient's objects, taken by
// refresh(). Reconciler tests call refresh() before each reconcile, so every reconcile sees exactly
// what the API server holds (a synchronous stand-in for the informers; the informers themselves
// are exercised by controller_app_test).
// Thread-safety: refresh() and reads from one thread.
#pragma once

#include <map>
#include <string>

#include "controller/cache/cluster_cache.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/kube/resource.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::controller::ctltest {

class SnapshotClusterCache final : public ClusterCache {
public:
  void refresh(novacron::testing::FakeClient& client) {
    hypervisors_.clear();
    vms_.clear();
    migrations_.clear();
    leases_.clear();
    for (const auto& json : client.objects(kube::kHypervisor)) {
      auto hv = api::hypervisorFromJson(json);
      if (hv.isOk()) {
        hypervisors_[hv->metadata.name] = std::make_shared<const api::Hypervisor>(*hv);
      }
    }
    for (const auto& json : client.objects(kube::kVirtualMachine)) {
      auto vm = api::virtualMachineFromJson(json);
      if (vm.isOk()) {
        vms_[vm->metadata.namespace_ + "/" + vm->metadata.name] =
            std::make_shared<const api::VirtualMachine>(*vm);
      }
    }
    for (const auto& json : client.objects(kube::kVMMigration)) {
      auto m = api::vmMigrationFromJson(json);
      if (m.isOk()) {
        migrations_[m->metadata.namespace_ + "/" + m->metadata.name] =
            std::make_shared<const api::VMMigration>(*m);
      }
    }
    for (const auto& json : client.objects(kube::kLease)) {
      leases_[json["metadata"].value("name", "")] =
          LeaseSnapshot{json["metadata"].value("resourceVersion", ""),
                        json.value("/spec/renewTime"_json_pointer, std::string())};
    }
  }

  bool synced() const override { return true; }
  std::vector<HypervisorPtr> hypervisors() const override { return values(hypervisors_); }
  HypervisorPtr hypervisor(std::string_view name) const override {
    return find(hypervisors_, name);
  }
  VirtualMachinePtr vm(std::string_view key) const override { return find(vms_, key); }
  std::vector<VirtualMachinePtr> vmsOn(std::string_view hypervisor) const override {
    std::vector<VirtualMachinePtr> out;
    for (const auto& [key, vm] : vms_) {
      if (boundHypervisor(*vm) == hypervisor) {
        out.push_back(vm);
      }
    }
    return out;
  }
  std::vector<VirtualMachinePtr> unboundVms() const override { return vmsOn(""); }
  std::vector<VMMigrationPtr> migrations() const override { return values(migrations_); }
  VMMigrationPtr migration(std::string_view key) const override { return find(migrations_, key); }
  std::optional<LeaseSnapshot> heartbeat(std::string_view hypervisor) const override {
    auto it = leases_.find(std::string(hypervisor));
    return it == leases_.end() ? std::nullopt : std::optional(it->second);
  }

private:
  template <typename Map>
  static std::vector<typename Map::mapped_type> values(const Map& map) {
    std::vector<typename Map::mapped_type> out;
    for (const auto& [key, value] : map) {
      out.push_back(value);
    }
    return out;
  }
  template <typename Map>
  static typename Map::mapped_type find(const Map& map, std::string_view key) {
    auto it = map.find(std::string(key));
    return it == map.end() ? nullptr : it->second;
  }

  std::map<std::string, HypervisorPtr> hypervisors_;
  std::map<std::string, VirtualMachinePtr> vms_;
  std::map<std::string, VMMigrationPtr> migrations_;
  std::map<std::string, LeaseSnapshot> leases_;
};

}  // namespace novacron::controller::ctltest
