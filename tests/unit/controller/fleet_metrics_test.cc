// FleetMetrics: the fleet gauges follow VM and Hypervisor events exactly.
#include "controller/fleet_metrics.h"

#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "controller/migration/migration_metrics.h"

namespace novacron::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string scrape(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

api::VirtualMachine vmIn(std::optional<api::VirtualMachinePhase> phase) {
  api::VirtualMachine vm;
  vm.status.phase = phase;
  return vm;
}

TEST(FleetMetrics, VmsByPhaseFollowEveryEvent) {
  auto registry = std::make_shared<prometheus::Registry>();
  FleetMetrics fleet(registry);
  // Every phase exists from the start, at 0.
  EXPECT_THAT(scrape(*registry), HasSubstr("novacron_vms{phase=\"Failed\"} 0\n"));
  auto running = vmIn(api::VirtualMachinePhase::kRunning);
  auto failed = vmIn(api::VirtualMachinePhase::kFailed);
  auto fresh = vmIn(std::nullopt);
  // As the informer's handlers call it: the previous copy (nullptr when new) and the current one.
  fleet.vmChanged(nullptr, &running);
  fleet.vmChanged(nullptr, &running);
  fleet.vmChanged(nullptr, &fresh);
  std::string text = scrape(*registry);
  EXPECT_THAT(text, HasSubstr("novacron_vms{phase=\"Running\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vms{phase=\"None\"} 1\n"));
  fleet.vmChanged(&running, &failed);  // an update moves it from one count to the other
  fleet.vmChanged(&failed, &failed);   // a repeated event (e.g. a relist) counts it once
  fleet.vmChanged(&fresh, nullptr);    // deleted
  text = scrape(*registry);
  EXPECT_THAT(text, HasSubstr("novacron_vms{phase=\"Running\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vms{phase=\"Failed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vms{phase=\"None\"} 0\n"));
}

TEST(FleetMetrics, HypervisorGaugesComeFromStatusAndLeaveWithIt) {
  auto registry = std::make_shared<prometheus::Registry>();
  FleetMetrics fleet(registry);
  api::Hypervisor hv;
  hv.metadata.name = "node-1";
  hv.status.allocatable = api::HypervisorResources{};
  hv.status.allocatable->cpus = 14;
  hv.status.allocatable->memory = api::Quantity::fromBytes(int64_t{60} << 30);
  hv.status.allocated = api::HypervisorAllocated{};
  hv.status.allocated->cpus = 6;
  hv.status.allocated->memory = api::Quantity::fromBytes(int64_t{8} << 30);
  hv.status.allocated->vms = 3;
  api::Condition ready;
  ready.type = "Ready";
  ready.status = api::ConditionStatus::kTrue;
  hv.status.conditions.push_back(ready);
  fleet.hypervisorChanged(hv);
  std::string text = scrape(*registry);
  EXPECT_THAT(text, HasSubstr("novacron_hypervisor_ready{hypervisor=\"node-1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("novacron_hypervisor_schedulable{hypervisor=\"node-1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("novacron_hypervisor_allocatable_cpus{hypervisor=\"node-1\"} 14\n"));
  EXPECT_THAT(text, HasSubstr("novacron_hypervisor_allocated_cpus{hypervisor=\"node-1\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("novacron_hypervisor_allocated_memory_bytes{hypervisor=\"node-1\"} "
                              "8589934592\n"));
  EXPECT_THAT(text, HasSubstr("novacron_hypervisor_vms{hypervisor=\"node-1\"} 3\n"));
  hv.status.conditions[0].status = api::ConditionStatus::kUnknown;  // heartbeat lost
  fleet.hypervisorChanged(hv);
  EXPECT_THAT(scrape(*registry), HasSubstr("novacron_hypervisor_ready{hypervisor=\"node-1\"} 0\n"));
  fleet.hypervisorDeleted("node-1");
  EXPECT_THAT(scrape(*registry), Not(HasSubstr("hypervisor=\"node-1\"")));
}

TEST(MigrationMetrics, EveryResultExistsBeforeTheFirstMigration) {
  auto registry = std::make_shared<prometheus::Registry>();
  migration::MigrationMetrics metrics(registry);
  std::string text = scrape(*registry);
  for (const char* result : {"Succeeded", "Failed", "Cancelled"}) {
    EXPECT_THAT(text, HasSubstr("novacron_migration_results_total{result=\"" + std::string(result) +
                                "\"} 0\n"));
    EXPECT_THAT(text, HasSubstr("novacron_migration_duration_seconds_count{result=\"" +
                                std::string(result) + "\"} 0\n"));
  }
}

}  // namespace
}  // namespace novacron::controller
