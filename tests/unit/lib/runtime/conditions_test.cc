#include "lib/runtime/conditions.h"

#include <gtest/gtest.h>

#include "lib/api/virtual_machine.h"
#include "tests/mocks/fake_clock.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;
using std::chrono::seconds;

TEST(ConditionsTest, FormatsRfc3339InUtcWithSeconds) {
  const auto t = std::chrono::system_clock::time_point(seconds(1'800'000'000)) +
                 std::chrono::milliseconds(999);
  EXPECT_EQ(formatRfc3339(t), "2027-01-15T08:00:00Z");
}

TEST(ConditionsTest, InsertsANewConditionWithAllFields) {
  json conditions;  // null: treated as empty
  const auto now = std::chrono::system_clock::time_point(seconds(1'800'000'000));
  EXPECT_TRUE(setCondition(conditions, {"Ready", "False", "Starting", "booting", 3}, now));
  ASSERT_TRUE(conditions.is_array());
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0], json({{"type", "Ready"},
                                 {"status", "False"},
                                 {"observedGeneration", 3},
                                 {"lastTransitionTime", "2027-01-15T08:00:00Z"},
                                 {"reason", "Starting"},
                                 {"message", "booting"}}));
}

TEST(ConditionsTest, LastTransitionTimeMovesOnlyWhenStatusChanges) {
  json conditions = json::array();
  auto t0 = std::chrono::system_clock::time_point(seconds(1'800'000'000));
  ASSERT_TRUE(setCondition(conditions, {"Ready", "False", "Starting", "a", 1}, t0));
  const std::string first = conditions[0]["lastTransitionTime"];

  // Same status, new reason/message/generation: fields change, transition time does not.
  EXPECT_TRUE(setCondition(conditions, {"Ready", "False", "Pulling", "b", 2}, t0 + seconds(60)));
  EXPECT_EQ(conditions[0]["lastTransitionTime"], first);
  EXPECT_EQ(conditions[0]["reason"], "Pulling");
  EXPECT_EQ(conditions[0]["observedGeneration"], 2);

  // Identical update: reports no change (reconcilers skip the write).
  EXPECT_FALSE(setCondition(conditions, {"Ready", "False", "Pulling", "b", 2}, t0 + seconds(90)));
  EXPECT_EQ(conditions[0]["lastTransitionTime"], first);

  // Status flips: transition time moves.
  EXPECT_TRUE(setCondition(conditions, {"Ready", "True", "Running", "", 2}, t0 + seconds(120)));
  EXPECT_EQ(conditions[0]["lastTransitionTime"], formatRfc3339(t0 + seconds(120)));
  EXPECT_TRUE(isConditionTrue(conditions, "Ready"));
  EXPECT_EQ(conditions.size(), 1u);
}

TEST(ConditionsTest, KeepsOtherConditionsAndUnknownFields) {
  json conditions = json::array({{{"type", "Scheduled"}, {"status", "True"}, {"extra", 1}}});
  const auto now = std::chrono::system_clock::time_point(seconds(1'800'000'000));
  ASSERT_TRUE(setCondition(conditions, {"Ready", "Unknown", "Pending", "", 1}, now));
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditions[0]["extra"], 1);
  EXPECT_NE(findCondition(conditions, "Scheduled"), nullptr);
  EXPECT_FALSE(isConditionTrue(conditions, "Ready"));
  EXPECT_TRUE(removeCondition(conditions, "Scheduled"));
  EXPECT_FALSE(removeCondition(conditions, "Scheduled"));
  EXPECT_EQ(findCondition(conditions, "Scheduled"), nullptr);
  EXPECT_EQ(conditions.size(), 1u);
}

TEST(ConditionsTest, ObjectConditionUsesGenerationAndClock) {
  testing::FakeClock clock;
  json vm = {{"metadata", {{"name", "a"}, {"generation", 7}}}, {"spec", json::object()}};
  EXPECT_TRUE(setObjectCondition(vm, "Ready", "True", "Running", "up", clock));
  const json& c = vm["status"]["conditions"][0];
  EXPECT_EQ(c["observedGeneration"], 7);
  EXPECT_EQ(c["lastTransitionTime"], formatRfc3339(clock.wallNow()));
  clock.advance(seconds(30));
  EXPECT_FALSE(setObjectCondition(vm, "Ready", "True", "Running", "up", clock));
}

TEST(ConditionsTest, TypedConditionUsesGenerationAndOnlyMovesTimeOnStatusChange) {
  testing::FakeClock clock;
  api::VirtualMachine vm;
  vm.metadata.generation = 4;
  EXPECT_TRUE(setTypedCondition(vm, "Ready", api::ConditionStatus::kFalse, "Starting", "", clock));
  ASSERT_EQ(vm.status.conditions.size(), 1u);
  const auto first = vm.status.conditions[0].lastTransitionTime;
  EXPECT_EQ(first, api::toTimestamp(clock.wallNow()));
  EXPECT_EQ(vm.status.conditions[0].observedGeneration, 4);
  clock.advance(seconds(10));
  vm.metadata.generation = 5;
  EXPECT_TRUE(setTypedCondition(vm, "Ready", api::ConditionStatus::kFalse, "Pulling", "", clock));
  EXPECT_EQ(vm.status.conditions[0].lastTransitionTime, first);
  EXPECT_EQ(vm.status.conditions[0].observedGeneration, 5);
  EXPECT_FALSE(setTypedCondition(vm, "Ready", api::ConditionStatus::kFalse, "Pulling", "", clock));
  clock.advance(seconds(10));
  EXPECT_TRUE(setTypedCondition(vm, "Ready", api::ConditionStatus::kTrue, "Running", "", clock));
  EXPECT_EQ(vm.status.conditions[0].lastTransitionTime, api::toTimestamp(clock.wallNow()));
}

}  // namespace
}  // namespace novacron::runtime
