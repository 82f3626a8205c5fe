#include "lib/runtime/informer.h"

#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

namespace novacron::runtime::informer_detail {

prometheus::Counter& decodeErrors(const metrics::RegistryPtr& registry,
                                  const std::string& resource) {
  auto& r = registry ? *registry : *metrics::defaultRegistry();
  return prometheus::BuildCounter()
      .Name("novacron_informer_decode_errors_total")
      .Help("Objects the informer could not decode and skipped")
      .Register(r)
      .Add({{"resource", resource}});
}

void logDecodeError(const std::string& resource, const std::string& key,
                    const core::Status& status) {
  spdlog::warn("informer {}: cannot decode {}, keeping the last good version: {}", resource, key,
               status.toString());
}

void increment(prometheus::Counter* counter) {
  counter->Increment();
}

}  // namespace novacron::runtime::informer_detail
