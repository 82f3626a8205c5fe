// FakeClusterCache: a controller ClusterCache (controller/cache/cluster_cache.h) that reads through
// a FakeClient on every call, so it is always exactly as current as the fake API server. Direct
// reconciler tests use it to reconcile, look at what was written, and reconcile again without
// waiting for informers. Lag between the cache and the server (which the production informer
// cache has) is what controller_app_test covers, not this.
// setSynced(false) makes the cache report "not synced yet"; pinHypervisor() makes hypervisor(name)
// return a given (stale) copy, as an informer that has not delivered the newest event yet would.
// Thread-safety: safe from any thread (FakeClient is).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "controller/cache/cluster_cache.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/kube/resource.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::testing {

class FakeClusterCache final : public controller::ClusterCache {
public:
  explicit FakeClusterCache(std::shared_ptr<FakeClient> client,
                            std::string heartbeat_namespace = "novacron-node-lease")
      : client_(std::move(client)), heartbeat_namespace_(std::move(heartbeat_namespace)) {}

  void setSynced(bool synced) { synced_ = synced; }

  bool synced() const override { return synced_; }

  std::vector<controller::HypervisorPtr> hypervisors() const override {
    std::vector<controller::HypervisorPtr> out;
    for (const auto& json : client_->objects(kube::kHypervisor)) {
      auto hv = api::hypervisorFromJson(json);
      if (hv.isOk()) {
        out.push_back(std::make_shared<const api::Hypervisor>(std::move(hv).value()));
      }
    }
    return out;
  }
  void pinHypervisor(controller::HypervisorPtr copy) {
    std::lock_guard lock(mu_);
    pinned_ = std::move(copy);
  }

  controller::HypervisorPtr hypervisor(std::string_view name) const override {
    {
      std::lock_guard lock(mu_);
      if (pinned_ && pinned_->metadata.name == name) {
        return pinned_;
      }
    }
    for (auto& hv : hypervisors()) {
      if (hv->metadata.name == name) {
        return hv;
      }
    }
    return nullptr;
  }

  controller::VirtualMachinePtr vm(std::string_view key) const override {
    for (auto& vm : vms()) {
      if (controller::vmKey(*vm) == key) {
        return vm;
      }
    }
    return nullptr;
  }
  std::vector<controller::VirtualMachinePtr> vmsOn(std::string_view hypervisor) const override {
    std::vector<controller::VirtualMachinePtr> out;
    for (auto& vm : vms()) {
      if (controller::boundHypervisor(*vm) == hypervisor) {
        out.push_back(vm);
      }
    }
    return out;
  }
  std::vector<controller::VirtualMachinePtr> unboundVms() const override { return vmsOn(""); }

  std::vector<controller::VMMigrationPtr> migrations() const override {
    std::vector<controller::VMMigrationPtr> out;
    for (const auto& json : client_->objects(kube::kVMMigration)) {
      if (auto m = api::fromJson<api::VMMigration>(json); m.isOk()) {
        out.push_back(std::make_shared<const api::VMMigration>(std::move(m).value()));
      }
    }
    return out;
  }
  controller::VMMigrationPtr migration(std::string_view key) const override {
    for (auto& m : migrations()) {
      if (m->metadata.namespace_ + "/" + m->metadata.name == key) {
        return m;
      }
    }
    return nullptr;
  }

  std::optional<controller::LeaseSnapshot> heartbeat(std::string_view hypervisor) const override {
    auto lease = client_->get(kube::kLease, heartbeat_namespace_, hypervisor);
    if (!lease.isOk()) {
      return std::nullopt;
    }
    const auto& json = *lease;
    return controller::LeaseSnapshot{
        json["metadata"].value("resourceVersion", ""),
        json.contains("spec") ? json["spec"].value("renewTime", "") : std::string()};
  }

private:
  mutable std::mutex mu_;
  controller::HypervisorPtr pinned_;  // guarded by mu_

  std::vector<controller::VirtualMachinePtr> vms() const {
    std::vector<controller::VirtualMachinePtr> out;
    for (const auto& json : client_->objects(kube::kVirtualMachine)) {
      auto vm = api::virtualMachineFromJson(json);
      if (vm.isOk()) {
        out.push_back(std::make_shared<const api::VirtualMachine>(std::move(vm).value()));
      }
    }
    return out;
  }

  const std::shared_ptr<FakeClient> client_;
  const std::string heartbeat_namespace_;
  std::atomic<bool> synced_{true};
};

}  // namespace novacron::testing
