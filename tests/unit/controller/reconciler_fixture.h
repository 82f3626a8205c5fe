// What direct reconciler tests share: a FakeClient, a FakeClock, a FakeClusterCache reading through
// the client, a HeartbeatTracker and an EventRecorder on them, and helpers to count writes and
// read back objects and events.
// Thread-safety: single test thread (the EventRecorder writes on its own thread; flush first).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "controller/config/config.h"
#include "controller/health/heartbeat_tracker.h"
#include "controller/ledger/ledger_status.h"
#include "lib/api/codec.h"
#include "lib/kube/resource.h"
#include "lib/metrics/registry.h"
#include "lib/runtime/event_recorder.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_cluster_cache.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller::ctltest {

inline constexpr std::chrono::seconds kHeartbeatTimeout{40};

class ReconcilerFixture : public ::testing::Test {
protected:
  using Verb = novacron::testing::FakeClient::Verb;

  ReconcilerFixture() {
    config_.scheduler.policy = scheduler::Policy::kBinPack;
    config_.scheduler.default_overcommit = {scheduler::Ratio{1000}, scheduler::Ratio{1000}};
    config_.health.heartbeat_timeout = kHeartbeatTimeout;
    runtime::EventRecorderOptions options;
    options.component = "novacron-controller";
    options.host = "test";
    options.clock = clock_;
    options.registry = std::make_shared<prometheus::Registry>();
    events_ = std::make_shared<runtime::EventRecorder>(client_, options);
  }

  // Writes (create, update, updateStatus, patch, delete) on one resource since the last reset.
  size_t writes(const kube::ResourceType& resource) const {
    size_t n = 0;
    for (Verb verb :
         {Verb::kCreate, Verb::kUpdate, Verb::kUpdateStatus, Verb::kPatch, Verb::kDelete}) {
      n += client_->countActions(verb, resource.plural);
    }
    return n;
  }
  // Writes on VirtualMachines and Hypervisors (Events are reported separately).
  size_t objectWrites() const { return writes(kube::kVirtualMachine) + writes(kube::kHypervisor); }

  void addHypervisor(const std::string& name, int32_t cpus, int64_t memory) {
    ASSERT_TRUE(registerHypervisor(*client_, makeHypervisor(name, cpus, memory)).isOk());
    ASSERT_TRUE(client_->create(kube::kLease, "novacron-node-lease", makeLease(name, "t0")).isOk());
  }
  void renewLease(const std::string& name, const std::string& renew_time) {
    auto lease = client_->get(kube::kLease, "novacron-node-lease", name);
    ASSERT_TRUE(lease.isOk());
    (*lease)["spec"]["renewTime"] = renew_time;
    ASSERT_TRUE(client_->update(kube::kLease, "novacron-node-lease", *lease).isOk());
  }
  void annotateHypervisor(const std::string& name, const std::string& key,
                          const std::string& value) {
    auto hv = client_->get(kube::kHypervisor, "", name);
    ASSERT_TRUE(hv.isOk());
    (*hv)["metadata"]["annotations"][key] = value;
    ASSERT_TRUE(client_->update(kube::kHypervisor, "", *hv).isOk());
  }
  // Stores `entries` as the hypervisor's ledger (status.allocations with its totals), as the
  // controller writes it.
  void setHypervisorLedger(const std::string& name, const ledger::Ledger& entries) {
    auto json = client_->get(kube::kHypervisor, "", name);
    ASSERT_TRUE(json.isOk());
    auto hv = api::hypervisorFromJson(*json);
    ASSERT_TRUE(hv.isOk());
    ledger::putLedger(hv->status, entries);
    ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(*hv)).isOk());
  }
  void createVm(const api::VirtualMachine& vm) {
    ASSERT_TRUE(
        client_->create(kube::kVirtualMachine, vm.metadata.namespace_, api::toJson(vm)).isOk());
  }

  api::VirtualMachine vm(const std::string& name) const {
    auto json = client_->get(kube::kVirtualMachine, "default", name);
    EXPECT_TRUE(json.isOk()) << json.status().toString();
    return json.isOk() ? *api::virtualMachineFromJson(*json) : api::VirtualMachine{};
  }
  bool vmExists(const std::string& name) const {
    return client_->get(kube::kVirtualMachine, "default", name).isOk();
  }
  api::Hypervisor hypervisor(const std::string& name) const {
    auto json = client_->get(kube::kHypervisor, "", name);
    EXPECT_TRUE(json.isOk()) << json.status().toString();
    return json.isOk() ? *api::hypervisorFromJson(*json) : api::Hypervisor{};
  }

  // Reasons of the Events recorded so far about the object called `name`.
  std::vector<std::string> eventReasons(const std::string& name) const {
    EXPECT_TRUE(events_->flush(std::chrono::seconds(10)));
    std::vector<std::string> reasons;
    for (const auto& event : client_->objects(kube::kCoreEvent)) {
      if (event["involvedObject"].value("name", "") == name) {
        reasons.push_back(event.value("reason", ""));
      }
    }
    return reasons;
  }
  std::string eventMessage(const std::string& name, const std::string& reason) const {
    EXPECT_TRUE(events_->flush(std::chrono::seconds(10)));
    for (const auto& event : client_->objects(kube::kCoreEvent)) {
      if (event["involvedObject"].value("name", "") == name &&
          event.value("reason", "") == reason) {
        return event.value("message", "");
      }
    }
    return {};
  }

  // The index of the first action `verb` on VMs in the action log (npos when absent).
  size_t firstVmAction(Verb verb) const {
    const auto actions = client_->actions();
    for (size_t i = 0; i < actions.size(); ++i) {
      if (actions[i].verb == verb && actions[i].resource == kube::kVirtualMachine.plural) {
        return i;
      }
    }
    return std::string::npos;
  }

  std::shared_ptr<novacron::testing::FakeClock> clock_ =
      std::make_shared<novacron::testing::FakeClock>();
  std::shared_ptr<novacron::testing::FakeClient> client_ =
      std::make_shared<novacron::testing::FakeClient>(clock_);
  std::shared_ptr<novacron::testing::FakeClusterCache> cache_ =
      std::make_shared<novacron::testing::FakeClusterCache>(client_);
  std::shared_ptr<health::HeartbeatTracker> heartbeats_ =
      std::make_shared<health::HeartbeatTracker>(clock_, kHeartbeatTimeout);
  std::shared_ptr<runtime::EventRecorder> events_;
  config::ControllerConfig config_;
};

}  // namespace novacron::controller::ctltest
