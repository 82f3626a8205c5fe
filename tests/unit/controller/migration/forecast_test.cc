#include "controller/migration/forecast.h"

#include <gtest/gtest.h>

namespace novacron::controller::migration {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

// No fixed costs: the figures below are the model's arithmetic alone.
constexpr ForecastCosts kFree{.setup_ms = 0, .switchover_ms = 0, .max_passes = 1000};

ForecastInput guest(int64_t memory, int64_t dirty, int64_t bandwidth) {
  ForecastInput in;
  in.memory_bytes = memory;
  in.dirty_rate_bytes_per_second = dirty;
  in.bandwidth_bytes_per_second = bandwidth;
  in.max_downtime_ms = 300;
  return in;
}

TEST(Forecast, SmallIdleGuestIsOneStopAndCopy) {
  // 128 MiB at 1 GiB/s = 125 ms <= 300 ms: QEMU pauses at once and sends everything.
  auto f = forecastMigration(guest(128 * kMiB, 0, kGiB), kFree);
  EXPECT_TRUE(f.converges);
  EXPECT_EQ(f.iterations, 0);
  EXPECT_EQ(f.downtimeMs, 125);
  EXPECT_EQ(f.totalMs, 125);
  EXPECT_EQ(f.bytesToSend, 128 * kMiB);
  EXPECT_EQ(f.strategy, api::MigrationStrategy::kPreCopy);
  EXPECT_NE(f.verdict.find("will converge"), std::string::npos) << f.verdict;
}

TEST(Forecast, EachPassSendsWhatThePreviousDirtied) {
  // 1 GiB at 100 MiB/s: pass 1 takes 10.24 s; the guest dirties 10 MiB/s -> 102.4 MiB, sent in
  // 1.024 s (more than 300 ms: pass 2); then 10.24 MiB remain = 102 ms <= 300 ms: switch-over.
  auto f = forecastMigration(guest(kGiB, 10 * kMiB, 100 * kMiB), kFree);
  EXPECT_TRUE(f.converges);
  EXPECT_EQ(f.iterations, 2);
  EXPECT_EQ(f.downtimeMs, 102);
  EXPECT_EQ(f.totalMs, 10240 + 1024 + 102);
  EXPECT_NEAR(static_cast<double>(f.bytesToSend), 1024 * kMiB + 102.4 * kMiB + 10.24 * kMiB, 2.0);
}

TEST(Forecast, FixedCostsAddUp) {
  ForecastCosts costs{.setup_ms = 100, .switchover_ms = 30, .max_passes = 1000};
  auto f = forecastMigration(guest(128 * kMiB, 0, kGiB), costs);
  EXPECT_EQ(f.downtimeMs, 125 + 30);
  EXPECT_EQ(f.totalMs, 100 + 125 + 30);
}

TEST(Forecast, DisksAreCopiedFirst) {
  ForecastInput in = guest(128 * kMiB, 0, kGiB);
  in.disk_bytes = 2 * kGiB;
  auto f = forecastMigration(in, kFree);
  EXPECT_TRUE(f.converges);
  EXPECT_EQ(f.totalMs, 2000 + 125);
  EXPECT_EQ(f.bytesToSend, 2 * kGiB + 128 * kMiB);
}

TEST(Forecast, DirtyingFasterThanTheLinkNeverConverges) {
  auto f = forecastMigration(guest(kGiB, 200 * kMiB, 100 * kMiB), kFree);
  EXPECT_FALSE(f.converges);
  EXPECT_EQ(f.downtimeMs, 0);
  EXPECT_EQ(f.totalMs, 150 * 1000);  // fails at the completion timeout (1 GiB x 150 s)
  EXPECT_NE(f.verdict.find("will not converge within the 150 s timeout"), std::string::npos)
      << f.verdict;
  EXPECT_NE(f.verdict.find("200 MiB/s"), std::string::npos) << f.verdict;
}

TEST(Forecast, SlowConvergenceBeyondTheTimeoutDoesNotConverge) {
  // Converges eventually (90 % of the link), but each pass is only 10 % shorter.
  ForecastInput in = guest(4 * kGiB, 90 * kMiB, 100 * kMiB);
  in.completion_timeout_per_gib_seconds = 20;  // 80 s for 4 GiB
  auto f = forecastMigration(in, kFree);
  EXPECT_FALSE(f.converges);
  in.completion_timeout_per_gib_seconds = 1000;
  EXPECT_TRUE(forecastMigration(in, kFree).converges);
}

TEST(Forecast, AutoConvergeThrottlesUntilItConverges) {
  ForecastInput in = guest(kGiB, 200 * kMiB, 100 * kMiB);
  in.auto_converge = true;
  auto f = forecastMigration(in, kFree);
  EXPECT_TRUE(f.converges) << f.verdict;
  EXPECT_EQ(f.strategy, api::MigrationStrategy::kAutoConverge);
  EXPECT_GT(f.iterations, 3);
  EXPECT_LE(f.downtimeMs, 300);
}

TEST(Forecast, AutoConvergeIsNotUsedWhenPreCopyConvergesAlone) {
  ForecastInput in = guest(kGiB, 10 * kMiB, 100 * kMiB);
  in.auto_converge = true;
  EXPECT_EQ(forecastMigration(in, kFree).strategy, api::MigrationStrategy::kPreCopy);
}

TEST(Forecast, PostCopySwitchesWhenPreCopyStalls) {
  ForecastInput in = guest(kGiB, 200 * kMiB, 100 * kMiB);
  in.post_copy = true;
  auto f = forecastMigration(in, kFree);
  EXPECT_TRUE(f.converges) << f.verdict;
  EXPECT_EQ(f.strategy, api::MigrationStrategy::kPostCopy);
  // Pass 1 (10.24 s) leaves all 1 GiB dirty again: stalled -> switch, send that 1 GiB once.
  EXPECT_EQ(f.iterations, 1);
  EXPECT_EQ(f.totalMs, 2 * 10240);
  EXPECT_EQ(f.downtimeMs, 0);
}

TEST(Forecast, PostCopyAfterIterations) {
  ForecastInput in = guest(kGiB, 50 * kMiB, 100 * kMiB);
  in.post_copy = true;
  in.post_copy_after_iterations = 1;
  auto f = forecastMigration(in, kFree);
  EXPECT_EQ(f.strategy, api::MigrationStrategy::kPostCopy);
  EXPECT_EQ(f.iterations, 1);
  EXPECT_EQ(f.totalMs, 10240 + 5120);  // pass 1, then the 512 MiB it dirtied, once
}

TEST(Forecast, CompressionShrinksTheBytesOnTheWire) {
  ForecastInput in = guest(kGiB, 10 * kMiB, 100 * kMiB);
  const auto plain = forecastMigration(in, kFree);
  in.compression = api::MigrationCompression::kZstd;
  const auto zstd = forecastMigration(in, kFree);
  EXPECT_LT(zstd.totalMs, plain.totalMs);
  EXPECT_LT(zstd.bytesToSend, plain.bytesToSend);
  EXPECT_EQ(zstd.compression, api::MigrationCompression::kZstd);
  in.compression = api::MigrationCompression::kXbzrle;
  const auto xbzrle = forecastMigration(in, kFree);
  EXPECT_LT(xbzrle.bytesToSend, plain.bytesToSend);
  EXPECT_GT(xbzrle.bytesToSend, zstd.bytesToSend);  // the first pass is not compressed
}

TEST(Forecast, LargerDowntimeAllowsAnEarlierSwitchOver) {
  ForecastInput in = guest(kGiB, 10 * kMiB, 100 * kMiB);
  in.max_downtime_ms = 2000;  // 102.4 MiB after pass 1 = 1024 ms: fits
  auto f = forecastMigration(in, kFree);
  EXPECT_EQ(f.iterations, 1);
  EXPECT_EQ(f.downtimeMs, 1024);
}

TEST(Forecast, AdviceNamesTheOptionThatWouldConverge) {
  ForecastInput in = guest(kGiB, 200 * kMiB, 100 * kMiB);
  auto f = forecastMigration(in, kFree);
  EXPECT_NE(forecastAdvice(in, f, kFree).find("options.autoConverge"), std::string::npos);
  ForecastInput ok = guest(kGiB, 0, 100 * kMiB);
  EXPECT_EQ(forecastAdvice(ok, forecastMigration(ok, kFree), kFree), "");
}

TEST(Forecast, InputFromOptions) {
  api::MigrationOptions o;
  o.maxDowntimeMs = 500;
  o.autoConverge = true;
  o.postCopy = api::PostCopyOptions{};
  o.postCopy->enabled = true;
  o.postCopy->afterIterations = 3;
  o.compression = api::MigrationCompression::kXbzrle;
  o.completionTimeoutPerGiBSeconds = 60;
  auto in = forecastInputFor(o, kGiB, 2 * kGiB, 5 * kMiB, 100 * kMiB);
  EXPECT_EQ(in.memory_bytes, kGiB);
  EXPECT_EQ(in.disk_bytes, 2 * kGiB);
  EXPECT_EQ(in.dirty_rate_bytes_per_second, 5 * kMiB);
  EXPECT_EQ(in.bandwidth_bytes_per_second, 100 * kMiB);
  EXPECT_EQ(in.max_downtime_ms, 500);
  EXPECT_TRUE(in.auto_converge);
  EXPECT_TRUE(in.post_copy);
  EXPECT_EQ(in.post_copy_after_iterations, 3);
  EXPECT_EQ(in.compression, api::MigrationCompression::kXbzrle);
  EXPECT_EQ(in.completion_timeout_per_gib_seconds, 60);
}

}  // namespace
}  // namespace novacron::controller::migration
