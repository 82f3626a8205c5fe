#include "controller/vm/assumed_hypervisors.h"

#include <cstdint>
#include <exception>

namespace novacron::controller {
namespace {

int64_t versionNumber(const std::string& rv) {
  try {
    return std::stoll(rv);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

HypervisorPtr AssumedHypervisors::freshest(const HypervisorPtr& cached) {
  std::lock_guard lock(mu_);
  auto it = assumed_.find(cached->metadata.name);
  if (it == assumed_.end()) {
    return cached;
  }
  if (versionNumber(it->second->metadata.resourceVersion) >
      versionNumber(cached->metadata.resourceVersion)) {
    return it->second;
  }
  assumed_.erase(it);  // the informer caught up
  return cached;
}

void AssumedHypervisors::assume(api::Hypervisor hypervisor) {
  std::lock_guard lock(mu_);
  auto ptr = std::make_shared<const api::Hypervisor>(std::move(hypervisor));
  auto& slot = assumed_[ptr->metadata.name];
  if (!slot || versionNumber(ptr->metadata.resourceVersion) >
                   versionNumber(slot->metadata.resourceVersion)) {
    slot = ptr;
  }
}

}  // namespace novacron::controller
