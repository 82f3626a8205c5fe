// EvacuationMetrics: novacron_evacuation_vms{hypervisor,state} follows status.evacuation and goes
// away with it.
#include "controller/evacuation/evacuation_metrics.h"

#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace novacron::controller::evacuation {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string scrape(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

TEST(EvacuationMetrics, FollowTheStatusAndGoAwayWithIt) {
  auto registry = std::make_shared<prometheus::Registry>();
  EvacuationMetrics metrics(registry);
  api::EvacuationStatus status;
  status.migrated = 3;
  status.stopped = 1;
  status.pending = 2;
  status.blocked = {{"ns/a", "InsufficientCapacity", {}, {}}};
  metrics.set("hv-a", status);
  const std::string text = scrape(*registry);
  EXPECT_THAT(text, HasSubstr("novacron_evacuation_vms{hypervisor=\"hv-a\",state=\"migrated\"} 3"));
  EXPECT_THAT(text, HasSubstr("novacron_evacuation_vms{hypervisor=\"hv-a\",state=\"stopped\"} 1"));
  EXPECT_THAT(text, HasSubstr("novacron_evacuation_vms{hypervisor=\"hv-a\",state=\"pending\"} 2"));
  EXPECT_THAT(text, HasSubstr("novacron_evacuation_vms{hypervisor=\"hv-a\",state=\"blocked\"} 1"));

  status.pending = 0;
  metrics.set("hv-a", status);
  EXPECT_THAT(scrape(*registry),
              HasSubstr("novacron_evacuation_vms{hypervisor=\"hv-a\",state=\"pending\"} 0"));

  metrics.set("hv-a", std::nullopt);
  metrics.set("hv-b", std::nullopt);  // never evacuated: nothing to remove
  EXPECT_THAT(scrape(*registry), Not(HasSubstr("hypervisor=\"hv-a\"")));
}

}  // namespace
}  // namespace novacron::controller::evacuation
