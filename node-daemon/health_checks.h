// Which checks the node-daemon's /healthz (liveness: "restart me") and /readyz (readiness: "do not
// count on me yet") run once it is started.
//
// Liveness must not depend on libvirt (issue 18): a libvirtd restart would make the kubelet kill
// the node-daemon, stopping its heartbeat until libvirt answers, so the Hypervisor went Unknown
// although its guests were fine. Restarting the node-daemon does not bring libvirtd back; the
// connection reconnects by itself (virt/libvirt_connection.h). libvirt is a readiness check, and
// the registrar reports it on the Hypervisor (Ready=False, LibvirtUnavailable).
// Thread-safety: the checks run on the endpoint's thread; `conn` and `vm_informer_synced` must
// outlive the endpoint's use of them.
#pragma once

#include <functional>

#include "lib/metrics/http_endpoint.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node {

void addHealthChecks(metrics::HttpEndpoint& endpoint, virt::Connection& conn,
                     std::function<bool()> vm_informer_synced);

}  // namespace novacron::node
