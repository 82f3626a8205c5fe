// kubectl novacron plan: the dry-run VMMigration it creates, waiting for the plan (the test plays
// the controller and the node-daemon on the FakeClient), and the table it prints.
#include "kubectl-plugin/plan.h"

#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kubectl-plugin/commands.h"
#include "lib/api/codec.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"

namespace novacron::kubectl_plugin {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

constexpr int64_t kMiB = int64_t{1} << 20;

api::VMMigration planned() {
  api::VMMigration m;
  m.metadata.name = "web-plan";
  m.metadata.namespace_ = "default";
  m.spec.vmName = "web";
  m.spec.dryRun = true;
  m.status.phase = api::MigrationPhase::kPlanned;
  m.status.sourceHypervisor = "node-a";
  m.status.targetHypervisor = "node-b";
  api::MigrationPlan p;
  p.targetHypervisor = "node-b";
  p.targetReason = "spec.targetHypervisor";
  p.targetCapacityAfter = api::PlanCapacity{};
  p.targetCapacityAfter->cpus = 6;
  p.targetCapacityAfter->memoryBytes = 3 * 1024 * kMiB;
  p.memoryBytes = 1024 * kMiB;
  p.diskBytes = 0;
  p.bandwidthBytesPerSecond = 100 * kMiB;
  p.bandwidthSource = "spec.options.bandwidthMiBps";
  p.dirtyRateBytesPerSecond = 12 * kMiB;
  api::MigrationForecast f;
  f.totalMs = 11366;
  f.downtimeMs = 132;
  f.iterations = 2;
  f.bytesToSend = 1137 * kMiB;
  f.converges = true;
  f.verdict = "will converge within the 150 s timeout";
  p.forecast = f;
  m.status.plan = p;
  return m;
}

TEST(FormatPlanTest, EveryFigure) {
  const std::string out = formatPlan(planned());
  EXPECT_THAT(out, ContainsRegex("PLAN +web-plan \\(Planned\\)"));
  EXPECT_THAT(out, ContainsRegex("VM +default/web on node-a"));
  EXPECT_THAT(out, ContainsRegex("TARGET +node-b \\(spec.targetHypervisor\\)"));
  EXPECT_THAT(out, ContainsRegex("FREE AFTER +6 CPUs, 3.0 GiB memory"));
  EXPECT_THAT(out, ContainsRegex("CPU +compatible"));
  EXPECT_THAT(out, ContainsRegex("TO SEND +1.0 GiB memory \\+ 0 B disks"));
  EXPECT_THAT(out, ContainsRegex("DIRTY RATE +12.0 MiB/s \\(measured\\)"));
  EXPECT_THAT(out, ContainsRegex("BANDWIDTH +100.0 MiB/s \\(spec.options.bandwidthMiBps\\)"));
  EXPECT_THAT(out, ContainsRegex("STRATEGY +PreCopy, compression None"));
  EXPECT_THAT(out, ContainsRegex("FORECAST +total 11.4 s, downtime 132 ms, 2 pre-copy passes"));
  EXPECT_THAT(out, ContainsRegex("VERDICT +will converge within the 150 s timeout"));
}

TEST(FormatPlanTest, NotConvergingAndIncompatible) {
  api::VMMigration m = planned();
  m.status.plan->cpuCompatible = false;
  m.status.plan->cpuCompatibility = "lacks CPU features avx512f";
  m.status.plan->forecast->converges = false;
  m.status.plan->dirtyRateBytesPerSecond.reset();
  m.status.plan->dirtyRateError = "domain is not running";
  const std::string out = formatPlan(m);
  EXPECT_THAT(out, ContainsRegex("CPU +incompatible: lacks CPU features avx512f"));
  EXPECT_THAT(out, ContainsRegex("FORECAST +does not converge"));
  EXPECT_THAT(out, ContainsRegex("DIRTY RATE +not measured: domain is not running"));
}

class PlanCommandTest : public ::testing::Test {
protected:
  void SetUp() override {
    kube::Json vm = {{"apiVersion", "novacron.io/v1alpha1"},
                     {"kind", "VirtualMachine"},
                     {"metadata", {{"name", "web"}, {"namespace", "default"}}},
                     {"spec", {{"resources", {{"cpus", 1}, {"memory", "1Gi"}}}}}};
    ASSERT_TRUE(client_->create(kube::kVirtualMachine, "default", vm).isOk());
  }

  int run(std::vector<std::string> words) {
    auto args = parseArgs(words, {"auto-converge", "post-copy"});
    EXPECT_TRUE(args.isOk());
    Env env{client_, "default", out_, err_, core::systemClock(), false};
    return runPlan(env, *args);
  }

  // Plays the controller and the node-daemon: waits for the dry run, then ends it `phase`.
  std::thread answer(api::MigrationPhase phase) {
    return std::thread([this, phase] {
      ASSERT_TRUE(testing::eventually(
          [&] { return client_->get(kube::kVMMigration, "default", "web-plan").isOk(); }));
      auto m = *api::vmMigrationFromJson(*client_->get(kube::kVMMigration, "default", "web-plan"));
      seen_ = m;
      api::VMMigration done = planned();
      m.status = done.status;
      m.status.phase = phase;
      if (phase == api::MigrationPhase::kFailed) {
        m.status.failureReason = "NoTarget: no hypervisor other than node-a fits the VM";
      }
      ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, "default", api::toJson(m)).isOk());
    });
  }

  std::shared_ptr<testing::FakeClient> client_ = std::make_shared<testing::FakeClient>();
  std::ostringstream out_;
  std::ostringstream err_;
  api::VMMigration seen_;
};

TEST_F(PlanCommandTest, CreatesADryRunAndPrintsThePlan) {
  std::thread t = answer(api::MigrationPhase::kPlanned);
  const int rc = run({"web", "--to", "node-b", "--name", "web-plan", "--bandwidth", "100",
                      "--max-downtime", "200", "--auto-converge", "--compression", "XBZRLE"});
  t.join();
  EXPECT_EQ(rc, 0) << err_.str();
  EXPECT_TRUE(seen_.spec.dryRun);
  EXPECT_EQ(seen_.spec.vmName, "web");
  EXPECT_EQ(seen_.spec.targetHypervisor, "node-b");
  EXPECT_EQ(seen_.spec.options.bandwidthMiBps, 100);
  EXPECT_EQ(seen_.spec.options.maxDowntimeMs, 200);
  EXPECT_TRUE(seen_.spec.options.autoConverge);
  EXPECT_EQ(seen_.spec.options.compression, api::MigrationCompression::kXbzrle);
  EXPECT_THAT(err_.str(), HasSubstr("dry run: nothing moves"));
  EXPECT_THAT(out_.str(), ContainsRegex("VERDICT +will converge"));
}

TEST_F(PlanCommandTest, AFailedPlanExitsOne) {
  std::thread t = answer(api::MigrationPhase::kFailed);
  const int rc = run({"web", "--name", "web-plan"});
  t.join();
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out_.str(), ContainsRegex("FAILED +NoTarget"));
}

TEST_F(PlanCommandTest, UsageErrors) {
  EXPECT_EQ(run({}), 2);
  EXPECT_EQ(run({"web", "--mode", "sideways"}), 2);
  EXPECT_EQ(run({"web", "--bandwidth", "fast"}), 2);
  EXPECT_EQ(run({"missing"}), 1) << "no such VM";
}

}  // namespace
}  // namespace novacron::kubectl_plugin
