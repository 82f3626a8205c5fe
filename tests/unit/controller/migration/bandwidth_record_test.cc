// The bandwidth a Succeeded migration yields, and how it is kept per target on the source.
#include "controller/migration/bandwidth_record.h"

#include <gtest/gtest.h>

namespace novacron::controller::migration {
namespace {

api::Timestamp at(int seconds) {
  return api::Timestamp{std::chrono::seconds(1'800'000'000 + seconds)};
}

api::VMMigration succeeded(int64_t bytes, int start, int end) {
  api::VMMigration m;
  m.status.phase = api::MigrationPhase::kSucceeded;
  m.status.sourceHypervisor = "hv-a";
  m.status.targetHypervisor = "hv-b";
  m.status.startTime = at(start);
  m.status.completionTime = at(end);
  m.status.progress = api::MigrationProgress{};
  m.status.progress->dataProcessedBytes = bytes;
  return m;
}

TEST(BandwidthRecordTest, ASucceededMigrationYieldsBytesPerSecond) {
  auto sample = measuredBandwidth(succeeded(800'000'000, 10, 14));
  ASSERT_TRUE(sample);
  EXPECT_EQ(sample->target, "hv-b");
  EXPECT_EQ(sample->bytesPerSecond, 200'000'000);
  EXPECT_EQ(sample->observedTime, at(14));
  // Under a second (timestamps have second resolution) counts as one second.
  EXPECT_EQ(measuredBandwidth(succeeded(50'000'000, 10, 10))->bytesPerSecond, 50'000'000);
}

TEST(BandwidthRecordTest, LibvirtsJobTimeIsTheDenominatorWhenReported) {
  // Scheduling, preparing and hand-over are in the wall time, not in the transfer.
  api::VMMigration m = succeeded(300'000'000, 10, 16);
  m.status.progress->elapsedMs = 1500;
  EXPECT_EQ(measuredBandwidth(m)->bytesPerSecond, 200'000'000);
}

TEST(BandwidthRecordTest, ACappedMigrationMeasuresItsCapNotThePath) {
  api::VMMigration capped = succeeded(800'000'000, 10, 14);
  capped.spec.options.bandwidthMiBps = 16;
  EXPECT_FALSE(measuredBandwidth(capped));
}

TEST(BandwidthRecordTest, NothingIsMeasuredFromAnUnfinishedOrEmptyMigration) {
  api::VMMigration failed = succeeded(800, 1, 2);
  failed.status.phase = api::MigrationPhase::kFailed;
  EXPECT_FALSE(measuredBandwidth(failed));
  api::VMMigration no_progress = succeeded(800, 1, 2);
  no_progress.status.progress.reset();
  EXPECT_FALSE(measuredBandwidth(no_progress));
  EXPECT_FALSE(measuredBandwidth(succeeded(0, 1, 2)));
}

TEST(BandwidthRecordTest, TheNewestMeasurementPerTargetWins) {
  const api::MigrationBandwidth first{"hv-b", 100, at(10), {}};
  auto list = withSample({}, first);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE(withSample(*list, first));  // idempotent: nothing to write
  EXPECT_FALSE(withSample(*list, api::MigrationBandwidth{"hv-b", 5, at(5), {}}));  // older
  auto newer = withSample(*list, api::MigrationBandwidth{"hv-b", 300, at(20), {}});
  ASSERT_TRUE(newer);
  EXPECT_EQ(newer->at(0).bytesPerSecond, 300);
  auto two = withSample(*newer, api::MigrationBandwidth{"hv-a", 7, at(20), {}});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->size(), 2u);
  EXPECT_EQ(two->at(0).target, "hv-a");  // sorted by target

  api::Hypervisor source;
  source.status.migrationBandwidth = *two;
  EXPECT_EQ(measuredBandwidth(source, "hv-b"), 300);
  EXPECT_FALSE(measuredBandwidth(source, "hv-c"));
}

}  // namespace
}  // namespace novacron::controller::migration
