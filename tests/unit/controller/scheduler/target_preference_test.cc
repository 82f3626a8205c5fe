// rankTargets(): zone first, then measured bandwidth (in 25 % steps), then the spread score.
#include "controller/scheduler/target_preference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::controller::scheduler {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> names(const std::vector<RankedTarget>& ranked) {
  std::vector<std::string> out;
  for (const auto& r : ranked) {
    out.push_back(r.name);
  }
  return out;
}

TEST(TargetPreferenceTest, SameZoneBeatsBandwidthWhichBeatsScore) {
  const std::vector<TargetCandidate> candidates = {
      {"far-fast", "z2", 1'000'000'000, 100},
      {"near-slow", "z1", 10'000'000, 0},
      {"near-fast", "z1", 500'000'000, 0},
      {"near-unmeasured", "z1", std::nullopt, 90},
  };
  const auto ranked = rankTargets("z1", candidates);
  EXPECT_THAT(names(ranked),
              ::testing::ElementsAre("near-fast", "near-slow", "near-unmeasured", "far-fast"));
  EXPECT_TRUE(ranked[0].same_zone);
  EXPECT_THAT(ranked[0].why, HasSubstr("same zone as the source (z1)"));
  EXPECT_THAT(ranked[0].why, HasSubstr("measured 500.0 MB/s"));
  EXPECT_THAT(ranked[3].why, HasSubstr("other zone (z2"));
}

TEST(TargetPreferenceTest, AboutEqualBandwidthsFallThroughToTheScore) {
  const auto ranked = rankTargets("", {{"a", "", 100'000'000, 10}, {"b", "", 105'000'000, 50}});
  ASSERT_EQ(bandwidthStep(100'000'000), bandwidthStep(105'000'000));
  EXPECT_THAT(names(ranked), ::testing::ElementsAre("b", "a"));
  EXPECT_THAT(ranked[0].why, HasSubstr("the source has no zone"));
}

TEST(TargetPreferenceTest, WithoutZonesOrMeasurementsTheScoreThenTheNameDecide) {
  const auto ranked = rankTargets(
      "", {{"c", "", std::nullopt, 5}, {"a", "", std::nullopt, 5}, {"b", "", std::nullopt, 9}});
  EXPECT_THAT(names(ranked), ::testing::ElementsAre("b", "a", "c"));
}

TEST(TargetPreferenceTest, ASourceZoneAloneMakesNoTargetSameZone) {
  const auto ranked = rankTargets("z1", {{"a", "", std::nullopt, 0}});
  EXPECT_FALSE(ranked[0].same_zone);
}

}  // namespace
}  // namespace novacron::controller::scheduler
