#include "lib/metrics/registry.h"

namespace novacron::metrics {

RegistryPtr defaultRegistry() {
  static const RegistryPtr registry = std::make_shared<prometheus::Registry>();
  return registry;
}

const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return buckets;
}

}  // namespace novacron::metrics
