#include "node-daemon/health_checks.h"

#include <utility>

namespace novacron::node {

void addHealthChecks(metrics::HttpEndpoint& endpoint, virt::Connection& conn,
                     std::function<bool()> vm_informer_synced) {
  endpoint.addReadinessCheck("libvirt", [&conn] {
    return conn.ping();  // fails at once while the connection reconnects in the background
  });
  endpoint.addReadinessCheck("vm-informer", [synced = std::move(vm_informer_synced)] {
    return synced() ? core::okStatus() : core::unavailableError("VM informer not synced");
  });
}

}  // namespace novacron::node
