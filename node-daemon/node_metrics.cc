#include "node-daemon/node_metrics.h"

#include <prometheus/registry.h>

namespace novacron::node {

NodeMetrics::NodeMetrics(metrics::RegistryPtr registry) : registry_(std::move(registry)) {
  auto& reg = *registry_;
  call_duration_ = &prometheus::BuildHistogram()
                        .Name("novacron_node_libvirt_call_duration_seconds")
                        .Help("Duration of libvirt calls made by the node-daemon")
                        .Register(reg);
  errors_ = &prometheus::BuildCounter()
                 .Name("novacron_node_libvirt_errors_total")
                 .Help("Failed libvirt calls by operation and status code")
                 .Register(reg);
  domains_ = &prometheus::BuildGauge()
                  .Name("novacron_node_domains")
                  .Help("libvirt domains on this node by state")
                  .Register(reg);
  degraded_ = &prometheus::BuildCounter()
                   .Name("novacron_node_degraded_total")
                   .Help("Times the node-daemon ran in a degraded mode, by reason")
                   .Register(reg);
  reconnects_ = &prometheus::BuildCounter()
                     .Name("novacron_node_libvirt_reconnects_total")
                     .Help("Reconnections to libvirtd")
                     .Register(reg)
                     .Add({});
  unclaimed_ = &prometheus::BuildGauge()
                    .Name("novacron_node_unclaimed_domains")
                    .Help("Domains on this node that no VirtualMachine claims")
                    .Register(reg)
                    .Add({});
  orphaned_folders_ =
      &prometheus::BuildGauge()
           .Name("novacron_node_orphaned_vm_folders")
           .Help(
               "VM folders (disks, seeds, serial log) on this node that no VM bound here will "
               "use: left by a failover or a deletion while the node was fenced; kept for an "
               "operator to remove")
           .Register(reg)
           .Add({});
  heartbeat_age_ = &prometheus::BuildGauge()
                        .Name("novacron_node_heartbeat_age_seconds")
                        .Help("Seconds since the heartbeat Lease was last renewed")
                        .Register(reg)
                        .Add({});
  heartbeat_failures_ = &prometheus::BuildCounter()
                             .Name("novacron_node_heartbeat_failures_total")
                             .Help("Failed heartbeat Lease renewals")
                             .Register(reg)
                             .Add({});
  cleanups_ = &prometheus::BuildCounter()
                   .Name("novacron_node_vm_cleanups_total")
                   .Help("VMs whose domain and disks were removed by the node-daemon")
                   .Register(reg)
                   .Add({});
}

void NodeMetrics::observeLibvirtCall(std::string_view op, double seconds) {
  prometheus::Histogram* h = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = histograms_.find(std::string(op));
    if (it == histograms_.end()) {
      it = histograms_
               .emplace(std::string(op),
                        &call_duration_->Add({{"op", std::string(op)}}, metrics::latencyBuckets()))
               .first;
    }
    h = it->second;
  }
  h->Observe(seconds);
}

void NodeMetrics::countLibvirtError(std::string_view op, std::string_view code) {
  errors_->Add({{"op", std::string(op)}, {"code", std::string(code)}}).Increment();
}

void NodeMetrics::setDomainCounts(const std::map<std::string, int>& by_state) {
  std::lock_guard lock(mu_);
  for (auto& [state, gauge] : domain_gauges_) {
    gauge->Set(0);
  }
  for (const auto& [state, n] : by_state) {
    auto it = domain_gauges_.find(state);
    if (it == domain_gauges_.end()) {
      it = domain_gauges_.emplace(state, &domains_->Add({{"state", state}})).first;
    }
    it->second->Set(n);
  }
}

void NodeMetrics::countDegraded(std::string_view reason) {
  degraded_->Add({{"reason", std::string(reason)}}).Increment();
}

}  // namespace novacron::node
