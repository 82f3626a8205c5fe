#include "lib/api/hypervisor.h"

#include <cmath>
#include <iterator>
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

std::string readableBytes(int64_t bytes) {
  // For people reading `kubectl get hv`: the largest binary unit, at most one decimal (8.6Gi, not
  // 9004792Ki). The exact values stay in status.allocated / status.allocatable.
  static constexpr std::string_view kUnits[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes < 1024) {
    return std::to_string(bytes);
  }
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  const int64_t tenths = std::llround(value * 10);
  std::string out = std::to_string(tenths / 10);
  if (tenths % 10 != 0) {
    out += "." + std::to_string(tenths % 10);
  }
  return out + std::string(kUnits[unit]);
}

std::string memorySummary(const HypervisorStatus& status) {
  if (!status.allocated || !status.allocatable) {
    return "";
  }
  return readableBytes(status.allocated->memory.value()) + "/" +
         readableBytes(status.allocatable->memory.value());
}

}  // namespace novacron::api
