#include "node-daemon/migration/progress.h"

#include <gtest/gtest.h>

namespace novacron::node::migration {
namespace {

using namespace std::chrono_literals;
using TimePoint = ProgressTracker::TimePoint;

virt::JobStats sample(uint64_t processed, uint64_t remaining, uint64_t iteration = 1) {
  virt::JobStats s;
  s.type = virt::JobType::kUnbounded;
  s.data_processed = processed;
  s.data_remaining = remaining;
  s.data_total = processed + remaining;
  s.memory_iteration = iteration;
  s.memory_dirty_rate = 1000;  // pages/s
  s.memory_page_size = 4096;
  return s;
}

TEST(ProgressTest, LimitsScaleWithGuestMemory) {
  api::MigrationOptions o;
  o.progressTimeoutSeconds = 20;
  o.completionTimeoutPerGiBSeconds = 100;
  auto l = limitsFor(o, 3LL << 30);
  EXPECT_EQ(l.progress_timeout, 20s);
  EXPECT_EQ(l.completion_timeout, 300s);
  EXPECT_EQ(limitsFor(o, 128LL << 20).completion_timeout, 100s) << "at least one GiB";
}

TEST(ProgressTest, PercentNeverGoesBackwardsAndEtaFollowsThroughput) {
  const TimePoint t0{};
  ProgressTracker tracker({60s, 600s}, t0);
  EXPECT_EQ(tracker.observe(sample(100, 900), t0 + 1s), Verdict::kContinue);
  EXPECT_EQ(tracker.progress().percent, 10);
  EXPECT_EQ(tracker.observe(sample(600, 400), t0 + 2s), Verdict::kContinue);
  EXPECT_EQ(tracker.progress().percent, 60);
  EXPECT_EQ(tracker.progress().etaSeconds, 0) << "400 bytes left at 500 bytes/s";
  // A new pass re-sends dirty pages: remaining grows, the percentage must not drop.
  EXPECT_EQ(tracker.observe(sample(700, 800, 2), t0 + 3s), Verdict::kContinue);
  EXPECT_EQ(tracker.progress().percent, 60);
  EXPECT_EQ(tracker.progress().iteration, 2);
  EXPECT_EQ(tracker.progress().dirtyRateBytesPerSecond, 4096000);
  EXPECT_EQ(tracker.progress().dataRemainingBytes, 800);
  EXPECT_EQ(tracker.observe(sample(1000, 0, 3), t0 + 4s), Verdict::kContinue);
  EXPECT_EQ(tracker.progress().percent, 100);
}

TEST(ProgressTest, NoProgressWhenRemainingStopsShrinking) {
  const TimePoint t0{};
  ProgressTracker tracker({10s, 600s}, t0);
  EXPECT_EQ(tracker.observe(sample(500, 500), t0 + 1s), Verdict::kContinue);
  // The guest dirties memory as fast as it is sent: remaining hovers above its low.
  for (int s = 2; s <= 10; ++s) {
    EXPECT_EQ(tracker.observe(sample(500 + 100 * s, 600), t0 + std::chrono::seconds(s)),
              Verdict::kContinue)
        << s;
  }
  EXPECT_EQ(tracker.observe(sample(1600, 550), t0 + 11s), Verdict::kNoProgress);
  EXPECT_NE(tracker.explain(Verdict::kNoProgress).find("progressTimeoutSeconds"),
            std::string::npos);
}

TEST(ProgressTest, ANewLowResetsTheStallClock) {
  const TimePoint t0{};
  ProgressTracker tracker({10s, 600s}, t0);
  EXPECT_EQ(tracker.observe(sample(500, 500), t0 + 1s), Verdict::kContinue);
  EXPECT_EQ(tracker.observe(sample(900, 400), t0 + 9s), Verdict::kContinue);  // new low
  EXPECT_EQ(tracker.observe(sample(950, 450), t0 + 18s), Verdict::kContinue);
  EXPECT_EQ(tracker.observe(sample(960, 450), t0 + 19s), Verdict::kNoProgress);
}

TEST(ProgressTest, ASampleBeforeTheJobIsSizedIsNotProgress) {
  const TimePoint t0{};
  ProgressTracker tracker({10s, 600s}, t0);
  virt::JobStats unsized;
  unsized.type = virt::JobType::kUnbounded;  // all byte counters still 0
  EXPECT_EQ(tracker.observe(unsized, t0 + 1s), Verdict::kContinue);
  // A slow but steady transfer must not be judged against that 0.
  for (int s = 2; s <= 30; ++s) {
    ASSERT_EQ(tracker.observe(sample(10 * s, 1000 - 10 * s), t0 + std::chrono::seconds(s)),
              Verdict::kContinue)
        << s;
  }
  EXPECT_EQ(tracker.progress().percent, 30);
}

TEST(ProgressTest, CompletionTimeout) {
  const TimePoint t0{};
  ProgressTracker tracker({1000s, 30s}, t0);
  EXPECT_EQ(tracker.observe(sample(1, 1000), t0 + 29s), Verdict::kContinue);
  EXPECT_EQ(tracker.observe(sample(2, 999), t0 + 30s), Verdict::kCompletionTimeout);
}

}  // namespace
}  // namespace novacron::node::migration
