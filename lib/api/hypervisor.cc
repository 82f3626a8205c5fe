#include "lib/api/hypervisor.h"

#include <string>

namespace novacron::api {

bool isFenced(const Hypervisor& hypervisor) {
  auto it = hypervisor.metadata.annotations.find(std::string(kFencedAnnotation));
  return it != hypervisor.metadata.annotations.end() && it->second == "true";
}

std::string cpuSummary(const HypervisorStatus& status) {
  if (!status.allocated || !status.allocatable) {
    return "";
  }
  return std::to_string(status.allocated->cpus) + "/" + std::to_string(status.allocatable->cpus);
}

std::string memorySummary(const HypervisorStatus& status) {
  if (!status.allocated || !status.allocatable) {
    return "";
  }
  return formatQuantity(status.allocated->memory.value()) + "/" +
         formatQuantity(status.allocatable->memory.value());
}

}  // namespace novacron::api
