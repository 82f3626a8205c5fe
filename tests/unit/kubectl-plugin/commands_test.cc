// kubectl-novacron's commands against the in-memory FakeClient: the spec fields each power command
// writes, cancel finding a VM's active migration, and the rows of top and explain.
#include "kubectl-plugin/commands.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/api/codec.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::kubectl_plugin {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CommandsTest : public ::testing::Test {
protected:
  void SetUp() override {
    createVm("web", 2, "1Gi");
    addHypervisor("node-a", 8, "16Gi", 2, "1Gi", 1);
    addHypervisor("node-b", 2, "2Gi", 0, "0", 0);
  }

  void createVm(const std::string& name, int cpus, const std::string& memory) {
    kube::Json vm = {{"apiVersion", "novacron.io/v1alpha1"},
                     {"kind", "VirtualMachine"},
                     {"metadata", {{"name", name}, {"namespace", "default"}}},
                     {"spec", {{"resources", {{"cpus", cpus}, {"memory", memory}}}}}};
    ASSERT_TRUE(client_->create(kube::kVirtualMachine, "default", vm).isOk());
  }
  void setVmStatus(const std::string& name, const kube::Json& status) {
    auto vm = *client_->get(kube::kVirtualMachine, "default", name);
    vm["status"] = status;
    ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", vm).isOk());
  }
  void addHypervisor(const std::string& name, int cpus, const std::string& mem, int used_cpus,
                     const std::string& used_mem, int vms) {
    kube::Json hv = {{"apiVersion", "novacron.io/v1alpha1"},
                     {"kind", "Hypervisor"},
                     {"metadata", {{"name", name}}},
                     {"spec", kube::Json::object()}};
    auto created = client_->create(kube::kHypervisor, "", hv);
    ASSERT_TRUE(created.isOk()) << created.status();
    kube::Json obj = *created;
    obj["status"] = {{"allocatable", {{"cpus", cpus}, {"memory", mem}}},
                     {"allocated", {{"cpus", used_cpus}, {"memory", used_mem}, {"vms", vms}}},
                     {"conditions",
                      {{{"type", "Ready"},
                        {"status", "True"},
                        {"reason", "Heartbeat"},
                        {"message", ""},
                        {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}};
    ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", obj).isOk());
  }

  int run(int (*command)(Env&, const Args&), std::vector<std::string> words) {
    out_.str("");
    err_.str("");
    auto args = parseArgs(words, {"wait", "no-wait"});
    EXPECT_TRUE(args.isOk());
    Env env{client_, "default", out_, err_, core::systemClock(), false};
    return command(env, *args);
  }
  api::VirtualMachine vm(const std::string& name) {
    return *api::virtualMachineFromJson(*client_->get(kube::kVirtualMachine, "default", name));
  }

  std::shared_ptr<testing::FakeClient> client_ = std::make_shared<testing::FakeClient>();
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CommandsTest, PowerCommandsWriteSpecFields) {
  EXPECT_EQ(run(runStop, {"web"}), 0) << err_.str();
  EXPECT_EQ(vm("web").spec.runStrategy, api::RunStrategy::kHalted);
  EXPECT_EQ(run(runStart, {"web", "--run-strategy", "RerunOnFailure"}), 0) << err_.str();
  EXPECT_EQ(vm("web").spec.runStrategy, api::RunStrategy::kRerunOnFailure);
  EXPECT_EQ(run(runStart, {"web", "--run-strategy", "Halted"}), 2);
  EXPECT_EQ(run(runPause, {"web"}), 0);
  EXPECT_EQ(vm("web").spec.paused, true);
  EXPECT_EQ(run(runUnpause, {"web"}), 0);
  EXPECT_FALSE(vm("web").spec.paused.has_value());
  EXPECT_EQ(run(runPause, {"missing"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("error:"));
  EXPECT_EQ(run(runPause, {}), 2);
}

TEST_F(CommandsTest, RestartRequestsATimeAfterTheLastStart) {
  // A start time far in the future (a node clock ahead of ours): the request still follows it.
  setVmStatus("web", {{"phase", "Running"}, {"startTime", "2099-01-01T00:00:00Z"}});
  EXPECT_EQ(run(runRestart, {"web"}), 0) << err_.str();
  EXPECT_EQ(api::formatTimestamp(*vm("web").spec.restartRequestedAt), "2099-01-01T00:00:01Z");
  EXPECT_EQ(run(runStop, {"web"}), 0);
  EXPECT_EQ(run(runRestart, {"web"}), 1) << "a stopped VM is started, not restarted";
  EXPECT_THAT(err_.str(), HasSubstr("use start"));
}

TEST_F(CommandsTest, CancelByVmNameFindsItsActiveMigration) {
  kube::Json m = {{"apiVersion", "novacron.io/v1alpha1"},
                  {"kind", "VMMigration"},
                  {"metadata", {{"name", "web-move"}, {"namespace", "default"}}},
                  {"spec", {{"vmName", "web"}}}};
  ASSERT_TRUE(client_->create(kube::kVMMigration, "default", m).isOk());
  EXPECT_EQ(run(runCancel, {"web"}), 1) << "no active migration yet";
  setVmStatus("web", {{"activeMigration", "web-move"}});
  EXPECT_EQ(run(runCancel, {"web"}), 0) << err_.str();
  EXPECT_EQ((*client_->get(kube::kVMMigration, "default", "web-move"))["spec"]["cancel"], true);
}

TEST_F(CommandsTest, TopShowsEveryHypervisorAndATotal) {
  EXPECT_EQ(run(runTop, {}), 0) << err_.str();
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("NAME"));
  EXPECT_THAT(out, HasSubstr("CPU(ALLOC/AVAIL)"));
  EXPECT_THAT(out, ::testing::ContainsRegex("node-a +True +Unknown +2/8 +25% +1Gi/16Gi +6% +1"));
  EXPECT_THAT(out, ::testing::ContainsRegex("node-b +True +Unknown +0/2 +0%"));
  EXPECT_THAT(out, ::testing::ContainsRegex("TOTAL +2/10"));
}

TEST_F(CommandsTest, ExplainUnplacedVmRunsTheSchedulerFilters) {
  createVm("big", 2, "4Gi");
  setVmStatus("big", {{"phase", "Pending"},
                      {"conditions",
                       {{{"type", "Scheduled"},
                         {"status", "False"},
                         {"reason", "Unschedulable"},
                         {"message", "0/2 hypervisors available: 1 insufficient memory"},
                         {"lastTransitionTime", "2026-01-01T00:00:00Z"}}}}});
  EXPECT_EQ(run(runExplain, {"big"}), 0) << err_.str();
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("Hypervisor:  (not placed)"));
  EXPECT_THAT(out, HasSubstr("Unschedulable: 0/2 hypervisors available"));
  EXPECT_THAT(out, ::testing::ContainsRegex("node-a +yes +would fit"));
  EXPECT_THAT(out, ::testing::ContainsRegex("node-b +no +insufficient memory"));
  EXPECT_THAT(out, Not(HasSubstr("bound")));

  setVmStatus("web", {{"phase", "Running"}, {"hypervisor", "node-a"}});
  EXPECT_EQ(run(runExplain, {"web"}), 0) << err_.str();
  EXPECT_THAT(out_.str(), ::testing::ContainsRegex("node-a +bound +runs here"));
}

}  // namespace
}  // namespace novacron::kubectl_plugin
