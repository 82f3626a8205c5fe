// End to end with a real libvirtd and QEMU (TCG) against the dev API server:
//   - the novacron-node-daemon binary registers its Hypervisor; a VM bound to it by label boots
//     the tiny guest (hack/build-guest.sh), whose boot marker appears in the serial log, and the
//     VM reports Running on that hypervisor;
//   - kill -9 of the node-daemon and a restart leave the guest alone: same QEMU pid, the ticker
//     keeps counting;
//   - deleting the VM removes the domain and its disks.
// Starts (and afterwards stops) libvirtd/virtlogd through hack/libvirtd.sh unless they already run.
// Needs root (libvirtd), like the node-daemon itself.
#include <filesystem>
#include <fstream>
#include <regex>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node-daemon/storage/process.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "tests/integration/node-daemon/cluster_helpers.h"

extern char** environ;

namespace novacron::node {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::pollUntil;

constexpr const char* kNs = "e2e-node";
constexpr const char* kNode = "e2e-hv";
constexpr const char* kVm = "tiny";
constexpr const char* kMarker = "NOVACRON-GUEST-BOOTED";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The highest "tick N" in the serial log, or -1.
int lastTick(const std::string& log) {
  static const std::regex re("tick ([0-9]+)");
  int last = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it) {
    last = std::max(last, std::stoi((*it)[1]));
  }
  return last;
}

class NodeDaemonE2eTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root to run libvirtd";
    }
    const std::string src = testing::sourceDir();
    const char* bin = std::getenv("NOVACRON_BINARY_DIR");
    binary_dir_ = bin != nullptr ? bin : ".";
    daemon_binary_ = binary_dir_ + "/node-daemon/novacron-node-daemon";
    ASSERT_TRUE(fs::exists(daemon_binary_)) << daemon_binary_;

    // The guest is cached in the build tree; building it needs apt's package lists.
    guest_dir_ = binary_dir_ + "/guest";
    auto built = storage::runProcess({src + "/hack/build-guest.sh", guest_dir_}, 300s);
    ASSERT_TRUE(built.isOk() && built->exit_code == 0)
        << (built.isOk() ? built->output : built.status().toString());

    auto status = storage::runProcess({src + "/hack/libvirtd.sh", "status"}, 30s);
    ASSERT_TRUE(status.isOk());
    if (status->exit_code != 0) {
      auto started = storage::runProcess({src + "/hack/libvirtd.sh", "start"}, 90s);
      ASSERT_TRUE(started.isOk() && started->exit_code == 0)
          << (started.isOk() ? started->output : started.status().toString());
      started_libvirtd_ = true;
    }

    char tmpl[] = "/tmp/novacron-node-e2e-XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ + "/images/named");
    fs::copy_file(guest_dir_ + "/vmlinuz", root_ + "/images/named/tiny-vmlinuz");
    fs::copy_file(guest_dir_ + "/initrd.img", root_ + "/images/named/tiny-initrd");

    auto cluster = novacron::testing::DevCluster::start();
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    cluster_ = std::move(cluster).value();
    auto client = testing::clientFor(*cluster_);
    ASSERT_TRUE(client.isOk()) << client.status();
    client_ = *client;
    ASSERT_TRUE(testing::installCrds(*client_, kNs).isOk());

    virt::LibvirtOptions lo;
    lo.uri = "qemu:///system";
    auto conn = virt::openLibvirt(lo);
    ASSERT_TRUE(conn.isOk()) << conn.status();
    conn_ = std::move(conn).value();
    metrics_port_ = novacron::testing::pickFreePort();
  }

  void TearDown() override {
    stopDaemon(SIGTERM);
    if (conn_) {
      // Never leave a guest running, whatever happened above.
      std::string dname = std::string(kNs) + "_" + kVm;
      (void)conn_->destroyDomain(dname);
      (void)conn_->undefineDomain(dname);
      conn_.reset();
    }
    cluster_.reset();
    if (started_libvirtd_) {
      (void)storage::runProcess({testing::sourceDir() + "/hack/libvirtd.sh", "stop"}, 60s);
    }
    if (!root_.empty()) {
      fs::remove_all(root_);
    }
  }

  void startDaemon() {
    std::vector<std::string> args = {daemon_binary_,
                                     "--node-name=" + std::string(kNode),
                                     "--kubeconfig=" + cluster_->kubeconfigPath(),
                                     "--libvirt-uri=qemu:///system",
                                     "--domain-type=qemu",
                                     "--vm-root=" + root_ + "/vms",
                                     "--image-root=" + root_ + "/images",
                                     "--metrics-address=127.0.0.1",
                                     "--metrics-port=" + std::to_string(metrics_port_),
                                     "--resync-seconds=3",
                                     "--heartbeat-seconds=2",
                                     "--log-format=text"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = root_ + "/node-daemon.log";
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    ASSERT_EQ(posix_spawn(&daemon_pid_, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
  }

  void stopDaemon(int sig) {
    if (daemon_pid_ <= 0) {
      return;
    }
    kill(daemon_pid_, sig);
    int status = 0;
    waitpid(daemon_pid_, &status, 0);
    daemon_pid_ = -1;
  }

  bool daemonReady() {
    auto r = storage::runProcess(
        {"curl", "-sf", "http://127.0.0.1:" + std::to_string(metrics_port_) + "/readyz"}, 5s);
    return r.isOk() && r->exit_code == 0;
  }

  // The VM's files live under its uid: <vm_root>/<ns>/<name>/<uid>/.
  std::string vmDir() {
    auto vm = testing::getVm(*client_, kNs, kVm);
    return root_ + "/vms/" + kNs + "/" + kVm + "/" + (vm ? vm->metadata.uid : "no-such-vm");
  }
  std::string serialLog() { return readFile(vmDir() + "/serial.log"); }

  int qemuPid() {
    std::string pid = readFile("/run/libvirt/qemu/" + std::string(kNs) + "_" + kVm + ".pid");
    return pid.empty() ? -1 : std::stoi(pid);
  }

  std::string binary_dir_, daemon_binary_, guest_dir_, root_;
  bool started_libvirtd_ = false;
  std::unique_ptr<novacron::testing::DevCluster> cluster_;
  kube::ClientPtr client_;
  virt::ConnectionPtr conn_;
  int metrics_port_ = 0;
  pid_t daemon_pid_ = -1;
};

TEST_F(NodeDaemonE2eTest, BootSurviveRestartAndDelete) {
  startDaemon();
  ASSERT_TRUE(pollUntil([&] { return daemonReady(); }, 60s))
      << readFile(root_ + "/node-daemon.log");
  auto hv = client_->get(kube::kHypervisor, "", kNode);
  ASSERT_TRUE(hv.isOk()) << hv.status();
  EXPECT_EQ((*hv)["status"]["virtualization"], "emulated");
  EXPECT_TRUE((*hv)["status"].contains("qemuVersion"));

  api::VirtualMachine vm;
  vm.metadata.namespace_ = kNs;
  vm.metadata.name = kVm;
  vm.metadata.labels[std::string(api::kHypervisorLabel)] = kNode;
  vm.spec.resources.cpus = 1;
  vm.spec.resources.memory = api::Quantity::fromBytes(128LL << 20);
  vm.spec.terminationGracePeriodSeconds = 5;
  api::KernelBoot kb;
  kb.kernel.url = "image:tiny-vmlinuz";
  kb.initrd = api::ImageSource{};
  kb.initrd->url = "image:tiny-initrd";
  kb.cmdline = "console=ttyS0 quiet";
  vm.spec.kernelBoot = kb;
  api::Disk data;
  data.name = "data";
  data.emptyDisk = api::EmptyDiskSource{};
  data.emptyDisk->size = api::Quantity::fromBytes(64LL << 20);
  vm.spec.disks = {data};
  auto created = client_->create(kube::kVirtualMachine, kNs, api::toJson(vm));
  ASSERT_TRUE(created.isOk()) << created.status();
  // The test plays the controller: bind by label and status.hypervisor (the controller's fields).
  auto bound = api::fromJson<api::VirtualMachine>(*created);
  ASSERT_TRUE(bound.isOk());
  bound->status.hypervisor = kNode;
  bound->status.phase = api::VirtualMachinePhase::kScheduled;
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto written = client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(*bound));
    if (written.isOk()) {
      break;
    }
    ASSERT_EQ(written.status().code(), core::StatusCode::kConflict) << written.status();
    auto fresh = testing::getVm(*client_, kNs, kVm);
    ASSERT_TRUE(fresh);
    bound = *fresh;
    bound->status.hypervisor = kNode;
  }

  ASSERT_TRUE(pollUntil(
      [&] {
        auto v = testing::getVm(*client_, kNs, kVm);
        return v && v->status.phase == api::VirtualMachinePhase::kRunning;
      },
      60s))
      << readFile(root_ + "/node-daemon.log");
  auto running = testing::getVm(*client_, kNs, kVm);
  EXPECT_EQ(running->status.hypervisor, kNode);
  EXPECT_TRUE(api::isConditionTrue(running->status.conditions, api::kConditionReady));

  ASSERT_TRUE(pollUntil([&] { return serialLog().find(kMarker) != std::string::npos; }, 90s))
      << "serial log:\n"
      << serialLog();
  ASSERT_TRUE(pollUntil([&] { return lastTick(serialLog()) >= 2; }, 30s)) << serialLog();
  const int pid = qemuPid();
  ASSERT_GT(pid, 0);

  // kill -9 and restart: the guest must not notice.
  stopDaemon(SIGKILL);
  const int tick_at_kill = lastTick(serialLog());
  startDaemon();
  ASSERT_TRUE(pollUntil([&] { return daemonReady(); }, 60s))
      << readFile(root_ + "/node-daemon.log");
  ASSERT_TRUE(pollUntil([&] { return lastTick(serialLog()) >= tick_at_kill + 3; }, 30s))
      << serialLog();
  EXPECT_EQ(qemuPid(), pid) << "the guest was restarted";
  EXPECT_EQ(kill(pid, 0), 0);
  auto info = conn_->lookupByName(std::string(kNs) + "_" + kVm);
  ASSERT_TRUE(info.isOk());
  EXPECT_EQ(info->state, virt::DomainState::kRunning);
  auto after = testing::getVm(*client_, kNs, kVm);
  EXPECT_EQ(after->status.phase, api::VirtualMachinePhase::kRunning);
  EXPECT_EQ(after->status.startTime, running->status.startTime);

  // Delete: domain and disks go, then the VM object.
  const std::string vm_dir = vmDir();
  EXPECT_TRUE(fs::exists(vm_dir + "/disk-data.qcow2"));
  ASSERT_TRUE(client_->remove(kube::kVirtualMachine, kNs, kVm).isOk());
  ASSERT_TRUE(pollUntil([&] { return !testing::getVm(*client_, kNs, kVm); }, 60s))
      << readFile(root_ + "/node-daemon.log");
  EXPECT_EQ(conn_->lookupByName(std::string(kNs) + "_" + kVm).status().code(),
            core::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(vm_dir));
  EXPECT_FALSE(fs::exists(root_ + "/vms/" + kNs + "/" + kVm)) << "empty name folder left";
  EXPECT_NE(kill(pid, 0), 0) << "QEMU still running after delete";
}

}  // namespace
}  // namespace novacron::node
