// FakeLibvirt: a virt::Connection decorator for faults that libvirt's test driver cannot produce.
// It forwards every call to a real connection (normally test:///default) and can
//   - fail the next N calls of an operation with a given Status (failNext("start", ...)),
//   - count calls per operation (calls("start")), so tests can prove e.g. that an adopted running
//     domain was never started again,
//   - script what the test driver cannot do at all (migration): set migrate_hook, job_stats_hook,
//     completed_job_stats_hook, abort_hook, start_postcopy_hook (and lookup_hook for
//     domain states it cannot reach, e.g. paused by a failed post-copy) before use;
//     domain_stats_hook scripts the bulk statistics the test driver does not report;
//     start_dirty_rate_hook / dirty_rate_hook script QEMU's dirty rate measurement.
// Thread-safety: safe from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "node-daemon/virt/connection.h"

namespace novacron::testing {

class FakeLibvirt final : public node::virt::Connection {
public:
  explicit FakeLibvirt(node::virt::Connection& inner) : inner_(inner) {}

  void failNext(const std::string& op, core::Status error, int times = 1) {
    std::lock_guard lock(mu_);
    failures_[op] = {std::move(error), times};
  }
  int calls(const std::string& op) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(op);
    return it == calls_.end() ? 0 : it->second;
  }

  const std::string& uri() const override { return inner_.uri(); }
  core::Status ping() override {
    return guard("ping", [&] { return inner_.ping(); });
  }
  core::StatusOr<node::virt::NodeInfo> nodeInfo() override {
    return guard("nodeInfo", [&] { return node_info_hook ? node_info_hook() : inner_.nodeInfo(); });
  }
  core::StatusOr<node::virt::HostCapabilities> capabilities() override {
    return guard("capabilities", [&] { return inner_.capabilities(); });
  }
  core::StatusOr<node::virt::DomainInfo> defineDomain(const std::string& xml) override {
    return guard("define", [&] { return inner_.defineDomain(xml); });
  }
  core::Status startDomain(const std::string& name) override {
    return guard("start", [&] { return inner_.startDomain(name); });
  }
  core::Status shutdownDomain(const std::string& name) override {
    if (ignore_acpi_) {
      // A guest that ignores the ACPI power button: the request is accepted, nothing happens.
      return guard("shutdown", [] { return core::okStatus(); });
    }
    return guard("shutdown", [&] { return inner_.shutdownDomain(name); });
  }
  // From now on, guests ignore shutdown requests (only destroy stops them).
  void ignoreAcpi(bool ignore) { ignore_acpi_ = ignore; }
  core::Status destroyDomain(const std::string& name) override {
    return guard("destroy", [&] { return inner_.destroyDomain(name); });
  }
  core::Status undefineDomain(const std::string& name) override {
    return guard("undefine", [&] { return inner_.undefineDomain(name); });
  }
  core::Status suspendDomain(const std::string& name) override {
    return guard("suspend", [&] { return inner_.suspendDomain(name); });
  }
  core::Status resumeDomain(const std::string& name) override {
    return guard("resume", [&] { return inner_.resumeDomain(name); });
  }
  core::StatusOr<node::virt::DomainInfo> lookupByName(const std::string& name) override {
    return guard("lookup",
                 [&] { return lookup_hook ? lookup_hook(name) : inner_.lookupByName(name); });
  }
  core::StatusOr<node::virt::DomainInfo> lookupByUuid(const std::string& uuid) override {
    return guard("lookup", [&] { return inner_.lookupByUuid(uuid); });
  }
  core::StatusOr<std::vector<node::virt::DomainInfo>> listDomains() override {
    return guard("list", [&] { return inner_.listDomains(); });
  }
  core::StatusOr<std::string> domainXml(const std::string& name) override {
    return guard("xml", [&] { return inner_.domainXml(name); });
  }
  core::StatusOr<std::string> domainMetadata(const std::string& name,
                                             const std::string& ns_uri) override {
    return guard("metadata", [&] { return inner_.domainMetadata(name, ns_uri); });
  }
  core::StatusOr<std::vector<node::virt::InterfaceAddress>> interfaceAddresses(
      const std::string& name, node::virt::AddressSource source) override {
    return guard("addresses", [&] { return inner_.interfaceAddresses(name, source); });
  }
  core::StatusOr<node::virt::JobStats> jobStats(const std::string& name) override {
    return guard("jobStats",
                 [&] { return job_stats_hook ? job_stats_hook(name) : inner_.jobStats(name); });
  }
  core::StatusOr<node::virt::JobStats> completedJobStats(const std::string& name) override {
    return guard("completedJobStats", [&] {
      return completed_job_stats_hook ? completed_job_stats_hook(name)
                                      : inner_.completedJobStats(name);
    });
  }
  core::Status migrate(const std::string& name,
                       const node::virt::MigrateRequest& request) override {
    return guard("migrate", [&] {
      return migrate_hook ? migrate_hook(name, request) : inner_.migrate(name, request);
    });
  }
  core::Status abortJob(const std::string& name) override {
    return guard("abortJob", [&] { return abort_hook ? abort_hook(name) : inner_.abortJob(name); });
  }
  core::Status startPostCopy(const std::string& name) override {
    return guard("startPostCopy", [&] {
      return start_postcopy_hook ? start_postcopy_hook(name) : inner_.startPostCopy(name);
    });
  }
  core::Status startDirtyRateCalc(const std::string& name, int seconds) override {
    return guard("startDirtyRateCalc", [&] {
      return start_dirty_rate_hook ? start_dirty_rate_hook(name, seconds)
                                   : inner_.startDirtyRateCalc(name, seconds);
    });
  }
  core::StatusOr<node::virt::DirtyRate> dirtyRate(const std::string& name) override {
    return guard("dirtyRate",
                 [&] { return dirty_rate_hook ? dirty_rate_hook(name) : inner_.dirtyRate(name); });
  }
  core::StatusOr<std::vector<node::virt::DomainStats>> allDomainStats() override {
    return guard("domainStats",
                 [&] { return domain_stats_hook ? domain_stats_hook() : inner_.allDomainStats(); });
  }
  int subscribe(node::virt::DomainEventHandler handler) override {
    return inner_.subscribe(std::move(handler));
  }
  void unsubscribe(int id) override { inner_.unsubscribe(id); }

  // Scripted behaviour (set before the connection is used; called on the caller's thread).
  std::function<core::Status(const std::string&, const node::virt::MigrateRequest&)> migrate_hook;
  std::function<core::StatusOr<node::virt::JobStats>(const std::string&)> job_stats_hook;
  std::function<core::StatusOr<node::virt::JobStats>(const std::string&)> completed_job_stats_hook;
  std::function<core::Status(const std::string&)> abort_hook;
  std::function<core::Status(const std::string&)> start_postcopy_hook;
  std::function<core::StatusOr<node::virt::DomainInfo>(const std::string&)> lookup_hook;
  std::function<core::StatusOr<std::vector<node::virt::DomainStats>>()> domain_stats_hook;
  std::function<core::StatusOr<node::virt::NodeInfo>()> node_info_hook;  // e.g. a hung libvirtd
  // The test driver measures no dirty rate: script it.
  std::function<core::Status(const std::string&, int)> start_dirty_rate_hook;
  std::function<core::StatusOr<node::virt::DirtyRate>(const std::string&)> dirty_rate_hook;

private:
  template <typename Fn>
  auto guard(const std::string& op, Fn fn) -> decltype(fn()) {
    {
      std::lock_guard lock(mu_);
      calls_[op]++;
      auto it = failures_.find(op);
      if (it != failures_.end() && it->second.second > 0) {
        core::Status s = it->second.first;
        if (--it->second.second == 0) {
          failures_.erase(it);
        }
        return s;
      }
    }
    return fn();
  }

  node::virt::Connection& inner_;
  std::atomic<bool> ignore_acpi_{false};
  mutable std::mutex mu_;
  std::map<std::string, std::pair<core::Status, int>> failures_;  // guarded by mu_
  std::map<std::string, int> calls_;                              // guarded by mu_
};

}  // namespace novacron::testing
