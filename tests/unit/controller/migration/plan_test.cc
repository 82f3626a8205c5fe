// The controller's plan figures (plan.h): bandwidth choice, disks to copy, capacity after the
// move, and the dirty rate a real migration takes from the VM's latest plan.
#include "controller/migration/plan.h"

#include <gtest/gtest.h>

namespace novacron::controller::migration {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

api::Timestamp at(int seconds) {
  return api::Timestamp{std::chrono::seconds(1'800'000'000 + seconds)};
}

TEST(PlanTest, BandwidthOptionThenMeasurementThenAssumption) {
  api::MigrationOptions o;
  auto b = bandwidthFor(o, std::nullopt);
  EXPECT_EQ(b.bytes_per_second, kAssumedBandwidthBytesPerSecond);
  EXPECT_NE(b.source.find("assumed"), std::string::npos);
  b = bandwidthFor(o, 300 * kMiB);
  EXPECT_EQ(b.bytes_per_second, 300 * kMiB);
  EXPECT_EQ(b.source, "measured between the hosts");
  o.bandwidthMiBps = 100;
  b = bandwidthFor(o, 300 * kMiB);
  EXPECT_EQ(b.bytes_per_second, 100 * kMiB) << "the cap wins over a faster link";
  EXPECT_EQ(b.source, "spec.options.bandwidthMiBps");
  b = bandwidthFor(o, 50 * kMiB);
  EXPECT_EQ(b.bytes_per_second, 50 * kMiB) << "a slower link wins over the cap";
}

TEST(PlanTest, DisksToCopy) {
  EXPECT_EQ(diskBytesToCopy(api::CopyStorage::kNever, 10 * kGiB), 0);
  EXPECT_EQ(diskBytesToCopy(api::CopyStorage::kAlways, 10 * kGiB), 10 * kGiB);
  EXPECT_EQ(diskBytesToCopy(api::CopyStorage::kAuto, 10 * kGiB), 10 * kGiB);
}

TEST(PlanTest, CapacityAfterTheMove) {
  auto c = capacityAfter({16, 32 * kGiB, 0}, {4, 8 * kGiB, 10 * kGiB}, 100 * kGiB,
                         {2, 4 * kGiB, 5 * kGiB});
  EXPECT_EQ(c.cpus, 10);
  EXPECT_EQ(c.memoryBytes, 20 * kGiB);
  EXPECT_EQ(c.storageBytes, 85 * kGiB);
  c = capacityAfter({1, kGiB, 0}, {1, kGiB, 0}, std::nullopt, {1, kGiB, 0});
  EXPECT_EQ(c.cpus, -1) << "a target that does not fit shows by how much";
  EXPECT_FALSE(c.storageBytes);
}

api::VMMigration planOf(std::string vm, api::MigrationPhase phase, int measured_at, int64_t rate) {
  api::VMMigration m;
  m.metadata.namespace_ = "ns";
  m.spec.vmName = std::move(vm);
  m.spec.dryRun = true;
  m.status.phase = phase;
  m.status.plan = api::MigrationPlan{};
  m.status.plan->dirtyRateBytesPerSecond = rate;
  m.status.plan->dirtyRateMeasuredTime = at(measured_at);
  return m;
}

TEST(PlanTest, LatestDirtyRateOfTheVm) {
  const auto older = planOf("web-1", api::MigrationPhase::kPlanned, 100, 1 * kMiB);
  const auto newer = planOf("web-1", api::MigrationPhase::kPlanned, 200, 2 * kMiB);
  const auto other_vm = planOf("db-1", api::MigrationPhase::kPlanned, 300, 3 * kMiB);
  const auto unfinished = planOf("web-1", api::MigrationPhase::kPlanning, 300, 4 * kMiB);
  auto real = planOf("web-1", api::MigrationPhase::kSucceeded, 300, 5 * kMiB);
  real.spec.dryRun = false;
  std::vector<const api::VMMigration*> all = {&newer, &older, &other_vm, &unfinished, &real};
  EXPECT_EQ(latestDirtyRate(all, "ns/web-1", at(400)), 2 * kMiB);
  EXPECT_EQ(latestDirtyRate(all, "ns/db-1", at(400)), 3 * kMiB);
  EXPECT_FALSE(latestDirtyRate(all, "ns/web-1", at(200 + 31 * 60))) << "too old";
  EXPECT_FALSE(latestDirtyRate(all, "other/web-1", at(400)));
}

}  // namespace
}  // namespace novacron::controller::migration
