#include "controller/cache/informer_cluster_cache.h"

#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/kube/resource.h"

namespace novacron::controller {
namespace {

constexpr const char* kByHypervisor = "hypervisor";
constexpr const char* kUnbound = "unbound";

std::string stringAt(const nlohmann::json& object, const nlohmann::json::json_pointer& pointer) {
  if (!object.contains(pointer)) {
    return {};
  }
  const auto& value = object.at(pointer);
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

InformerClusterCache::InformerClusterCache(kube::ClientPtr client, metrics::RegistryPtr registry,
                                           std::string heartbeat_namespace)
    : heartbeat_namespace_(std::move(heartbeat_namespace)) {
  runtime::ReflectorOptions options;
  options.registry = registry;
  hypervisors_ = std::make_unique<runtime::Informer<api::Hypervisor>>(
      client, kube::kHypervisor, api::fromJson<api::Hypervisor>, options);
  vms_ = std::make_unique<runtime::Informer<api::VirtualMachine>>(
      client, kube::kVirtualMachine, api::fromJson<api::VirtualMachine>, options);
  migrations_ = std::make_unique<runtime::Informer<api::VMMigration>>(
      client, kube::kVMMigration, api::fromJson<api::VMMigration>, options);
  runtime::ReflectorOptions lease_options = options;
  lease_options.ns = heartbeat_namespace_;
  leases_ = std::make_unique<runtime::Informer<nlohmann::json>>(
      client, kube::kLease, runtime::identityDecoder, lease_options);
  // Registered first, so it runs (after the store holds the change) before any other handler.
  hypervisors_->addEventHandler(runtime::EventHandlers<api::Hypervisor>{
      [this](const std::string& key, const HypervisorPtr&) { hypervisorChanged(key); },
      [this](const std::string& key, const HypervisorPtr&, const HypervisorPtr&) {
        hypervisorChanged(key);
      },
      [this](const std::string& key, const HypervisorPtr&) { hypervisorChanged(key); }});
  vms_->addIndexer(kByHypervisor, [](const api::VirtualMachine& vm) {
    std::string bound = boundHypervisor(vm);
    return bound.empty() ? std::vector<std::string>{} : std::vector<std::string>{bound};
  });
  vms_->addIndexer(kUnbound, [](const api::VirtualMachine& vm) {
    return boundHypervisor(vm).empty() ? std::vector<std::string>{"true"}
                                       : std::vector<std::string>{};
  });
}

void InformerClusterCache::start() {
  hypervisors_->start();
  vms_->start();
  leases_->start();
  migrations_->start();
}

void InformerClusterCache::stop() {
  migrations_->stop();
  leases_->stop();
  vms_->stop();
  hypervisors_->stop();
}

bool InformerClusterCache::waitForSync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
        deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero()));
  };
  return hypervisors_->waitForSync(left()) && vms_->waitForSync(left()) &&
         leases_->waitForSync(left()) && migrations_->waitForSync(left());
}

bool InformerClusterCache::synced() const {
  return hypervisors_->hasSynced() && vms_->hasSynced() && leases_->hasSynced() &&
         migrations_->hasSynced();
}

std::vector<HypervisorPtr> InformerClusterCache::hypervisors() const {
  return hypervisors_->store().list();
}

HypervisorPtr InformerClusterCache::hypervisor(std::string_view name) const {
  return hypervisors_->store().get(std::string(name));
}

void InformerClusterCache::hypervisorChanged(const std::string& name) {
  std::lock_guard lock(changes_mu_);
  changes_.push_back(name);
  if (changes_.size() > kChangeLogSize) {
    changes_.pop_front();
    ++first_change_;
  }
}

HypervisorChanges InformerClusterCache::hypervisorChanges(uint64_t cursor) const {
  std::lock_guard lock(changes_mu_);
  HypervisorChanges out;
  out.cursor = first_change_ + changes_.size();
  if (cursor == 0 || cursor < first_change_ || cursor > out.cursor) {
    return out;  // unknown: the caller looks at every Hypervisor (read after this call)
  }
  out.names.emplace(changes_.begin() + static_cast<std::ptrdiff_t>(cursor - first_change_),
                    changes_.end());
  return out;
}

VirtualMachinePtr InformerClusterCache::vm(std::string_view key) const {
  return vms_->store().get(std::string(key));
}

std::vector<VirtualMachinePtr> InformerClusterCache::vmsOn(std::string_view hypervisor) const {
  return vms_->store().byIndex(kByHypervisor, std::string(hypervisor));
}

std::vector<VirtualMachinePtr> InformerClusterCache::unboundVms() const {
  return vms_->store().byIndex(kUnbound, "true");
}

std::vector<VMMigrationPtr> InformerClusterCache::migrations() const {
  return migrations_->store().list();
}

VMMigrationPtr InformerClusterCache::migration(std::string_view key) const {
  return migrations_->store().get(std::string(key));
}

std::optional<LeaseSnapshot> InformerClusterCache::heartbeat(std::string_view hypervisor) const {
  auto lease = leases_->store().get(heartbeat_namespace_ + "/" + std::string(hypervisor));
  if (!lease) {
    return std::nullopt;
  }
  using Ptr = nlohmann::json::json_pointer;
  return LeaseSnapshot{stringAt(*lease, Ptr("/metadata/resourceVersion")),
                       stringAt(*lease, Ptr("/spec/renewTime"))};
}

}  // namespace novacron::controller
