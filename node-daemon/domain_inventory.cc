#include "node-daemon/domain_inventory.h"

#include <set>
#include <utility>

#include <spdlog/spdlog.h>

#include "node-daemon/domain/naming.h"

namespace novacron::node {

DomainInventory::DomainInventory(virt::Connection& conn, metrics::RegistryPtr registry,
                                 NodeMetricsPtr metrics, std::chrono::milliseconds period)
    : conn_(conn),
      metrics_(std::move(metrics)),
      period_(period),
      family_(&prometheus::BuildGauge()
                   .Name("novacron_node_domain_active")
                   .Help("1 for every active libvirt domain on this node, by domain UUID")
                   .Register(*registry)) {}

DomainInventory::~DomainInventory() {
  stop();
}

core::Status DomainInventory::pollOnce() {
  auto domains = conn_.listDomains();  // no lock held: libvirt may be slow
  if (!domains.isOk()) {
    if (metrics_) {
      metrics_->countDegraded("domain_inventory_unavailable");
    }
    return domains.status();
  }
  std::set<std::string> now;
  for (const auto& d : *domains) {
    // Only NovaCron's domains (whose UUID is their VM's uid); others are not ours to report.
    if (d.active && !d.uuid.empty() && domain::parseDomainName(d.name)) {
      now.insert(d.uuid);
    }
  }
  std::lock_guard lock(mu_);
  for (auto it = active_.begin(); it != active_.end();) {
    if (now.count(it->first) == 0) {
      family_->Remove(it->second);
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& uuid : now) {
    if (active_.count(uuid) == 0) {
      auto* gauge = &family_->Add({{"uuid", uuid}});
      gauge->Set(1);
      active_.emplace(uuid, gauge);
    }
  }
  return core::okStatus();
}

void DomainInventory::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      if (core::Status s = pollOnce(); !s.isOk()) {
        spdlog::warn("node-daemon: domain inventory: {}", s.toString());
      }
      lock.lock();
      cv_.wait_for(lock, period_, [this] { return stopping_; });
    }
  });
}

void DomainInventory::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace novacron::node
