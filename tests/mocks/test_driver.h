// Helpers over libvirt's test driver shared by the node-daemon's unit tests: one way to open
// test:///default (the real connection a FakeLibvirt decorates), DomainInfo values for states the
// test driver cannot reach (scripted through lookup_hook), and FakeMigrationTarget, the target
// libvirtd a source node-daemon asks where a migrated guest is (ConnectTarget, source_domain.h).
// Thread-safety: openTestDriver() and domainInfo() from any thread; FakeMigrationTarget is safe
// from any thread (its connect() runs on the runner's threads).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "lib/core/statusor.h"
#include "node-daemon/virt/connection.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_libvirt.h"

namespace novacron::testing {

// test:///default, without keepalive (the test driver does not support it).
inline node::virt::ConnectionPtr openTestDriver() {
  node::virt::LibvirtOptions lo;
  lo.uri = "test:///default";
  lo.keepalive_interval_s = -1;
  return std::move(node::virt::openLibvirt(lo)).value();
}

// A domain as libvirt reports it: active unless shut off.
inline node::virt::DomainInfo domainInfo(
    node::virt::DomainState state, std::string name = "ns_vm",
    node::virt::ShutoffReason shutoff = node::virt::ShutoffReason::kUnknown,
    node::virt::PausedReason paused = node::virt::PausedReason::kUnknown) {
  node::virt::DomainInfo d;
  d.name = std::move(name);
  d.state = state;
  d.shutoff_reason = shutoff;
  d.paused_reason = paused;
  d.active = state != node::virt::DomainState::kShutOff;
  return d;
}

// The migration target's libvirtd: each connect() opens a FakeLibvirt over its own test-driver
// connection whose lookups show `state` (nullopt: no such domain), or fails while unreachable.
class FakeMigrationTarget {
public:
  using Connect = std::function<core::StatusOr<node::virt::ConnectionPtr>(const std::string& uri)>;

  FakeMigrationTarget() : inner_(openTestDriver()) {}

  // Keep this object alive as long as the returned function may run.
  Connect connect() {
    return [this](const std::string& uri) -> core::StatusOr<node::virt::ConnectionPtr> {
      ++asked_;
      {
        std::lock_guard lock(mu_);
        asked_uri_ = uri;
      }
      if (unreachable) {
        return core::unavailableError("unable to connect to server at '10.213.77.3:16509'");
      }
      auto target = std::make_unique<FakeLibvirt>(*inner_);
      target->lookup_hook =
          [this](const std::string& name) -> core::StatusOr<node::virt::DomainInfo> {
        std::lock_guard lock(mu_);
        if (!state_) {
          return core::notFoundError("Domain not found: no domain with matching name '" + name +
                                     "'");
        }
        return domainInfo(*state_, name);
      };
      return node::virt::ConnectionPtr(std::move(target));
    };
  }
  void setState(std::optional<node::virt::DomainState> state) {
    std::lock_guard lock(mu_);
    state_ = state;
  }
  int asked() const { return asked_.load(); }
  std::string askedUri() const {
    std::lock_guard lock(mu_);
    return asked_uri_;
  }

  std::atomic<bool> unreachable{false};

private:
  node::virt::ConnectionPtr inner_;
  mutable std::mutex mu_;
  std::optional<node::virt::DomainState> state_ = node::virt::DomainState::kRunning;  // mu_
  std::string asked_uri_;                                                             // mu_
  std::atomic<int> asked_{0};
};

}  // namespace novacron::testing
