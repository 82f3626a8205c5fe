// Helpers over libvirt's test driver shared by the node-daemon's unit tests: one way to open
// test:///default (the real connection a FakeLibvirt decorates), DomainInfo values for states the
// test driver cannot reach (scripted through lookup_hook), and FakeMigrationTarget, the target
// libvirtd a source node-daemon asks where a migrated guest is (ConnectTarget, source_domain.h).
// Thread-safety: openTestDriver() and domainInfo() from any thread; FakeMigrationTarget is safe
// from any thread (its connect() functions run on guestOnTarget's detached workers, which may
// outlive it: they share its state).
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
// The functions connect() returns share the fake's state and keep it alive: guestOnTarget runs
// them on detached workers that may outlive the fake (a question that timed out).
class FakeMigrationTarget {
public:
  using Connect = std::function<core::StatusOr<node::virt::ConnectionPtr>(const std::string& uri)>;

  FakeMigrationTarget() : state_(std::make_shared<State>()) {}

  Connect connect() {
    return [state = state_](const std::string& uri) -> core::StatusOr<node::virt::ConnectionPtr> {
      ++state->asked;
      {
        std::lock_guard lock(state->mu);
        state->asked_uri = uri;
      }
      if (state->unreachable) {
        return core::unavailableError("unable to connect to server at '10.213.77.3:16509'");
      }
      // The hook holds the state, so the connection's FakeLibvirt never outlives `inner`.
      auto target = std::make_unique<FakeLibvirt>(*state->inner);
      target->lookup_hook =
          [state](const std::string& name) -> core::StatusOr<node::virt::DomainInfo> {
        std::lock_guard lock(state->mu);
        if (!state->domain) {
          return core::notFoundError("Domain not found: no domain with matching name '" + name +
                                     "'");
        }
        return domainInfo(*state->domain, name);
      };
      return node::virt::ConnectionPtr(std::move(target));
    };
  }
  void setState(std::optional<node::virt::DomainState> state) {
    std::lock_guard lock(state_->mu);
    state_->domain = state;
  }
  void setUnreachable(bool unreachable) { state_->unreachable = unreachable; }
  int asked() const { return state_->asked.load(); }
  std::string askedUri() const {
    std::lock_guard lock(state_->mu);
    return state_->asked_uri;
  }

private:
  struct State {
    node::virt::ConnectionPtr inner = openTestDriver();
    std::mutex mu;
    std::optional<node::virt::DomainState> domain = node::virt::DomainState::kRunning;  // mu
    std::string asked_uri;                                                              // mu
    std::atomic<int> asked{0};
    std::atomic<bool> unreachable{false};
  };
  std::shared_ptr<State> state_;
};

}  // namespace novacron::testing
