// Scale soak (LABELS soak): two controllers racing on the in-memory FakeClient place 2,000 VMs on
// 200 hypervisors that can hold 1,600 of them; no hypervisor's bound VMs ever exceed its capacity
// and exactly the capacity is bound. Prints the time taken.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "controller/controller_app.h"
#include "controller/ledger/ledger.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using namespace std::chrono_literals;
using ctltest::kGi;

TEST(ControllerScaleSoakTest, TwoControllersPlaceThousandsWithoutOvercommit) {
  constexpr int kHypervisors = 200;
  constexpr int kPerHypervisor = 8;  // 8 cpus, 1-cpu VMs, no overcommit
  constexpr int kVms = 2000;
  auto client = std::make_shared<novacron::testing::FakeClient>();
  for (int i = 0; i < kHypervisors; ++i) {
    std::string name = "hv-" + std::to_string(1000 + i);
    ASSERT_TRUE(ctltest::registerHypervisor(*client,
                                            ctltest::makeHypervisor(name, kPerHypervisor, 64 * kGi))
                    .isOk());
    ASSERT_TRUE(
        client->create(kube::kLease, "novacron-node-lease", ctltest::makeLease(name, "t0")).isOk());
  }
  config::ControllerConfig config;
  config.scheduler.policy = scheduler::Policy::kSpread;
  config.scheduler.default_overcommit = {scheduler::Ratio{1000}, scheduler::Ratio{1000}};
  config.health.heartbeat_timeout = 600s;
  std::vector<std::unique_ptr<ControllerApp>> apps;
  for (const char* id : {"ctl-0", "ctl-1"}) {
    ControllerAppOptions options;
    options.config = config;
    options.identity = id;
    options.registry = std::make_shared<prometheus::Registry>();
    apps.push_back(std::make_unique<ControllerApp>(client, options));
    apps.back()->startLeading();
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kVms; ++i) {
    ASSERT_TRUE(
        client
            ->create(kube::kVirtualMachine, "default",
                     api::toJson(ctltest::makeVm("default", "vm-" + std::to_string(i), 1, kGi)))
            .isOk());
  }
  auto bound = [&] {
    std::map<std::string, int> counts;
    for (const auto& json : client->objects(kube::kVirtualMachine)) {
      auto vm = api::virtualMachineFromJson(json);
      if (vm.isOk() && !boundHypervisor(*vm).empty()) {
        ++counts[boundHypervisor(*vm)];
      }
    }
    return counts;
  };
  const int capacity = kHypervisors * kPerHypervisor;
  int total = 0;
  std::string overcommitted;
  novacron::testing::eventually(
      [&] {
        total = 0;
        for (const auto& [hv, n] : bound()) {
          if (n > kPerHypervisor) {
            overcommitted = hv + " holds " + std::to_string(n);
            return true;
          }
          total += n;
        }
        return total == capacity;
      },
      600s, 200ms);
  ASSERT_EQ(overcommitted, "") << "more than " << kPerHypervisor << " VMs on one hypervisor";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ soak ] %d VMs bound on %d hypervisors by 2 racing controllers in %.1f s\n", total,
              kHypervisors, seconds);
  EXPECT_EQ(total, capacity);
  apps.clear();
}

}  // namespace
}  // namespace novacron::controller
