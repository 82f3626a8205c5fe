// DirtyRateProbe with a scripted QEMU measurement (libvirt's test driver has none) and a FakeClock;
// and which dry runs the source node-daemon measures for.
#include "node-daemon/migration/dirty_rate_probe.h"

#include <gtest/gtest.h>

#include "node-daemon/migration/migration_reconciler.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/mocks/test_driver.h"

namespace novacron::node::migration {
namespace {

using namespace std::chrono_literals;

class DirtyRateProbeTest : public ::testing::Test {
protected:
  void SetUp() override {
    real_ = testing::openTestDriver();
    fake_ = std::make_unique<testing::FakeLibvirt>(*real_);
    fake_->start_dirty_rate_hook = [this](const std::string& domain, int seconds) {
      started_domain_ = domain;
      started_seconds_ = seconds;
      state_ = virt::DirtyRate::State::kMeasuring;
      return core::okStatus();
    };
    fake_->dirty_rate_hook = [this](const std::string&) {
      virt::DirtyRate r;
      r.state = state_;
      r.megabytes_per_second = mib_per_second_;
      return core::StatusOr<virt::DirtyRate>(r);
    };
    probe_ = std::make_unique<DirtyRateProbe>(
        *fake_, clock_, DirtyRateProbeOptions{.seconds = 2, .deadline = 10s, .poll = 250ms});
  }

  virt::ConnectionPtr real_;
  std::unique_ptr<testing::FakeLibvirt> fake_;
  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::unique_ptr<DirtyRateProbe> probe_;
  std::string started_domain_;
  int started_seconds_ = 0;
  virt::DirtyRate::State state_ = virt::DirtyRate::State::kMeasured;  // left by someone else
  uint64_t mib_per_second_ = 7;
};

TEST_F(DirtyRateProbeTest, StartsThenReportsOnlyItsOwnMeasurement) {
  auto step = probe_->step("ns/plan", "ns_vm");
  ASSERT_FALSE(step.result) << "a measured state left from before is not ours: start one";
  EXPECT_EQ(started_domain_, "ns_vm");
  EXPECT_EQ(started_seconds_, 2);
  EXPECT_EQ(step.again, 2250ms) << "look again once QEMU should be done";

  step = probe_->step("ns/plan", "ns_vm");
  ASSERT_FALSE(step.result) << "still measuring";
  EXPECT_EQ(step.again, 250ms);
  EXPECT_EQ(fake_->calls("startDirtyRateCalc"), 1) << "never started twice";

  state_ = virt::DirtyRate::State::kMeasured;
  mib_per_second_ = 12;
  step = probe_->step("ns/plan", "ns_vm");
  ASSERT_TRUE(step.result);
  EXPECT_EQ(step.result->bytes_per_second, 12 * (int64_t{1} << 20));
  EXPECT_EQ(step.result->error, "");

  // Reported and forgotten: a new plan for the same key measures anew.
  state_ = virt::DirtyRate::State::kMeasured;
  EXPECT_FALSE(probe_->step("ns/plan", "ns_vm").result);
  EXPECT_EQ(fake_->calls("startDirtyRateCalc"), 2);
}

TEST_F(DirtyRateProbeTest, AMeasurementThatNeverEndsIsReportedAfterTheDeadline) {
  ASSERT_FALSE(probe_->step("ns/plan", "ns_vm").result);
  clock_->advance(9s);
  ASSERT_FALSE(probe_->step("ns/plan", "ns_vm").result);
  clock_->advance(1s);
  auto step = probe_->step("ns/plan", "ns_vm");
  ASSERT_TRUE(step.result);
  EXPECT_FALSE(step.result->bytes_per_second);
  EXPECT_NE(step.result->error.find("did not finish"), std::string::npos) << step.result->error;
}

TEST_F(DirtyRateProbeTest, LibvirtErrorsAreReported) {
  fake_->failNext("startDirtyRateCalc", core::failedPreconditionError("domain is not running"));
  auto step = probe_->step("ns/plan", "ns_vm");
  ASSERT_TRUE(step.result);
  EXPECT_NE(step.result->error.find("domain is not running"), std::string::npos);

  ASSERT_FALSE(probe_->step("ns/other", "ns_vm").result);
  fake_->failNext("dirtyRate", core::unavailableError("libvirtd went away"));
  step = probe_->step("ns/other", "ns_vm");
  ASSERT_TRUE(step.result);
  EXPECT_NE(step.result->error.find("libvirtd went away"), std::string::npos);
}

TEST_F(DirtyRateProbeTest, TheDefaultConnectionCannotMeasure) {
  // libvirt's test driver has no dirty rate: the real adapter's error comes back, not a hang.
  DirtyRateProbe probe(*real_, clock_);
  auto step = probe.step("ns/plan", "test");
  ASSERT_TRUE(step.result);
  EXPECT_FALSE(step.result->bytes_per_second);
  EXPECT_FALSE(step.result->error.empty());
}

TEST(NeedsDirtyRate, OnlyDryRunsInPlanningOnThisNodeWithoutAResult) {
  api::VMMigration m;
  m.spec.dryRun = true;
  m.status.phase = api::MigrationPhase::kPlanning;
  m.status.sourceHypervisor = "hv-a";
  EXPECT_TRUE(needsDirtyRate(m, "hv-a"));
  EXPECT_FALSE(needsDirtyRate(m, "hv-b")) << "another node's guest";
  m.spec.dryRun = false;
  EXPECT_FALSE(needsDirtyRate(m, "hv-a")) << "a real migration";
  m.spec.dryRun = true;
  m.status.phase = api::MigrationPhase::kPending;
  EXPECT_FALSE(needsDirtyRate(m, "hv-a")) << "the controller has not chosen a target yet";
  m.status.phase = api::MigrationPhase::kPlanning;
  m.status.plan = api::MigrationPlan{};
  m.status.plan->dirtyRateBytesPerSecond = 0;
  EXPECT_FALSE(needsDirtyRate(m, "hv-a")) << "measured already";
  m.status.plan->dirtyRateBytesPerSecond.reset();
  m.status.plan->dirtyRateError = "failed";
  EXPECT_FALSE(needsDirtyRate(m, "hv-a")) << "reported already";
}

}  // namespace
}  // namespace novacron::node::migration
