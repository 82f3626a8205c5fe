#include "node-daemon/vm_stats_poller.h"

#include <spdlog/spdlog.h>

namespace novacron::node {

VmStatsPoller::VmStatsPoller(virt::Connection& conn, VmMetricsPtr metrics,
                             NodeMetricsPtr node_metrics, std::chrono::milliseconds period)
    : conn_(conn),
      metrics_(std::move(metrics)),
      node_metrics_(std::move(node_metrics)),
      period_(period) {}

VmStatsPoller::~VmStatsPoller() {
  stop();
}

void VmStatsPoller::start() {
  if (thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void VmStatsPoller::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

core::Status VmStatsPoller::pollOnce() {
  auto stats = conn_.allDomainStats();  // no lock held: libvirt may be slow
  std::lock_guard lock(mu_);
  if (!stats.isOk()) {
    if (node_metrics_) {
      node_metrics_->countDegraded("vm_stats_unavailable");
    }
    if (!failing_) {
      spdlog::warn("vm metrics: reading domain statistics failed: {}", stats.status().toString());
      failing_ = true;
    }
    return stats.status();
  }
  failing_ = false;
  metrics_->update(*stats);
  return core::okStatus();
}

void VmStatsPoller::run() {
  while (true) {
    (void)pollOnce();  // failures are logged and counted there
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace novacron::node
