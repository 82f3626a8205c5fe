// B4 (issue 15): the resident memory of a real novacron-controller process per cached VM, against
// the VM's JSON text, at a given number of VMs in the dev API server on real etcd.
//
// Starts the controller (its own process, no leader election) on an empty cluster and reads its
// RSS; creates `vms` VMs through the API (`creators` threads; the rate is printed: this is how
// long filling a cluster takes); waits until the controller is idle (etcd's revision stops
// moving: it wrote each VM's status, they are Halted so nothing is placed), reads its RSS again;
// then restarts it, so it fills its cache from paged lists instead of watch events, and reads it
// once more. The VMs are the cloud-init sample (config/samples/virtualmachine_cloudinit.yaml)
// with runStrategy Halted; the JSON size is that of each VM as the API server returns it at the
// end (spec, metadata and the controller's status). Asserts nothing; the last line is
// machine-readable ("RESULT key=value ...") for hack/bench.sh.
//   controller_memory_bench [vms=10000] [creators=8] [linger_s=0]
// With linger_s > 0, each of the two readings is taken once more after the controller stayed
// idle `linger_s` seconds longer: what it holds at rest, once what it keeps only for a while after
// a burst of work (idle keep-alive connections: closed after 90 s) is gone.
// NOVACRON_BENCH_INSPECT=CMD runs `CMD <controller pid> <label>` right after each RSS reading
// (empty, watched, listed), e.g. hack/malloc_stats.sh to see how much of the RSS is free heap.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/api/codec.h"
#include "tests/integration/node-daemon/cluster_helpers.h"
#include "tests/testing/dev_cluster.h"

namespace api = novacron::api;
namespace kube = novacron::kube;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr const char* kNs = "bench-memory";

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A free loopback port (closed again: the controller binds it right after).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// "VmRSS" or "VmHWM" of a process, in bytes (0 if unreadable).
size_t procStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

class ControllerProcess {
public:
  ~ControllerProcess() { stop(); }

  bool start(const std::string& kubeconfig, const std::string& log) {
    port_ = freePort();
    const std::string dir =
        std::getenv("NOVACRON_BINARY_DIR") ? std::getenv("NOVACRON_BINARY_DIR") : ".";
    std::vector<std::string> args = {dir + "/controller/novacron-controller",
                                     "--kubeconfig",
                                     kubeconfig,
                                     "--identity",
                                     "bench-memory",
                                     "--bind-address",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--leader-elect",
                                     "false",
                                     "--log-level",
                                     "warn",
                                     "--log-format",
                                     "text"};
    std::fflush(nullptr);  // or the child's freopen writes our buffered output a second time
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      FILE* out = std::freopen(log.c_str(), "a", stdout);
      (void)out;
      ::dup2(1, 2);
      std::vector<char*> argv;
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid_ > 0;
  }
  // Polls /readyz (leading and caches synced) with curl; false after the timeout or when the
  // process exited. Ready means two answers 200 ms apart with the process alive: on this shared
  // machine another process can take the port between freePort() and the controller's bind,
  // and then answered /readyz at once while our controller exited (a "restarted" reading of an
  // empty cache, ready after 0.0 s).
  bool waitReady(std::chrono::seconds timeout) const {
    const std::string cmd =
        "curl -sf -o /dev/null http://127.0.0.1:" + std::to_string(port_) + "/readyz";
    const auto deadline = Clock::now() + timeout;
    int answers = 0;
    while (Clock::now() < deadline) {
      if (exited()) {
        return false;
      }
      answers = std::system(cmd.c_str()) == 0 ? answers + 1 : 0;
      if (answers == 2 && !exited()) {
        return true;
      }
      std::this_thread::sleep_for(answers > 0 ? 200ms : 100ms);
    }
    return false;
  }
  // True when the process has exited (not reaped: stop() still waits for it).
  bool exited() const {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Waits until etcd's revision has not moved for `quiet` (the controller wrote everything it
// wanted to); returns how long that took.
double waitIdle(novacron::testing::DevCluster& cluster, std::chrono::seconds quiet,
                std::chrono::seconds timeout) {
  const auto start = Clock::now();
  auto last = cluster.currentRevision();
  auto last_change = Clock::now();
  while (Clock::now() - start < timeout) {
    std::this_thread::sleep_for(250ms);
    auto now = cluster.currentRevision();
    if (now.isOk() && last.isOk() && *now != *last) {
      last = now;
      last_change = Clock::now();
    } else if (Clock::now() - last_change >= quiet) {
      break;
    }
  }
  return std::chrono::duration<double>(last_change - start).count();
}

json sampleVm() {
  auto text = [] {
    std::ifstream in(novacron::node::testing::sourceDir() +
                     "/config/samples/virtualmachine_cloudinit.yaml");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }();
  auto parsed = api::yamlToJson(text);
  if (!parsed.isOk()) {
    std::fprintf(stderr, "cannot read the sample: %s\n", parsed.status().toString().c_str());
    std::exit(1);
  }
  json vm = *parsed;
  vm["metadata"]["namespace"] = kNs;
  vm["spec"]["runStrategy"] = "Halted";
  return vm;
}

// Starts the controller and waits until it is ready; a new port up to three times if it exits
// (its port was taken).
bool startReady(ControllerProcess& controller, const std::string& kubeconfig,
                const std::string& log, std::chrono::seconds timeout) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!controller.start(kubeconfig, log)) {
      return false;
    }
    if (controller.waitReady(timeout)) {
      return true;
    }
    const bool exited = controller.exited();
    controller.stop();
    if (!exited) {
      return false;  // alive but not ready in time
    }
    std::fprintf(stderr, "the controller exited before it was ready; starting it again\n");
  }
  return false;
}

// Runs $NOVACRON_BENCH_INSPECT with the controller's pid and the label of the reading, if set.
void inspect(pid_t pid, const char* label) {
  if (const char* cmd = std::getenv("NOVACRON_BENCH_INSPECT"); cmd != nullptr && *cmd != '\0') {
    std::fflush(nullptr);
    const std::string line = std::string(cmd) + " " + std::to_string(pid) + " " + label;
    if (std::system(line.c_str()) != 0) {
      std::fprintf(stderr, "inspect command failed: %s\n", line.c_str());
    }
  }
}

// After `linger_s` more seconds (none: 0): the controller's RSS then, and the inspect hook.
size_t rssAtRest(pid_t pid, int linger_s, const char* label) {
  if (linger_s <= 0) {
    return 0;
  }
  std::this_thread::sleep_for(std::chrono::seconds(linger_s));
  const size_t rss = procStatusBytes(pid, "VmRSS");
  inspect(pid, label);
  return rss;
}

}  // namespace

int main(int argc, char** argv) {
  const int vms = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int creators = argc > 2 ? std::atoi(argv[2]) : 8;
  const int linger_s = argc > 3 ? std::atoi(argv[3]) : 0;
  double load[1] = {0};
  if (getloadavg(load, 1) != 1) {
    load[0] = -1;
  }
  std::printf(
      "controller memory bench: %d VMs (cloud-init sample, Halted), %d creator threads, "
      "%u hardware threads, load average %.1f, linger %d s\n",
      vms, creators, std::thread::hardware_concurrency(), load[0], linger_s);

  auto cluster = novacron::testing::DevCluster::start();
  if (!cluster.isOk()) {
    std::fprintf(stderr, "dev cluster: %s\n", cluster.status().toString().c_str());
    return 1;
  }
  auto config = kube::loadKubeconfigFile((*cluster)->kubeconfigPath());
  kube::RestClientOptions rest;
  rest.registry = std::make_shared<prometheus::Registry>();
  rest.qps = 100000;
  rest.burst = 100000;
  auto client = kube::newRestClient(*config, rest);
  if (!client.isOk() || !novacron::node::testing::installCrds(**client, kNs).isOk()) {
    std::fprintf(stderr, "cannot install CRDs\n");
    return 1;
  }
  const std::string log = (*cluster)->dir() + "/controller.log";
  ControllerProcess controller;
  if (!startReady(controller, (*cluster)->kubeconfigPath(), log, 60s)) {
    std::fprintf(stderr, "the controller did not become ready (log: %s)\n", log.c_str());
    return 1;
  }
  waitIdle(**cluster, 2s, 30s);
  const size_t rss_empty = procStatusBytes(controller.pid(), "VmRSS");
  inspect(controller.pid(), "empty");

  const json base = sampleVm();
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  const auto create_start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < creators; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < vms; i = next++) {
        json vm = base;
        vm["metadata"]["name"] = "vm-" + std::to_string(i);
        if (!(*client)->create(kube::kVirtualMachine, kNs, vm).isOk()) {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const double create_s = secondsSince(create_start);
  std::printf("created %d VMs (%d failed) through the API in %.1f s = %.0f VMs/s\n", vms,
              failed.load(), create_s, vms / create_s);
  const double settle_s = waitIdle(**cluster, 3s, 600s);
  const size_t rss_watched = procStatusBytes(controller.pid(), "VmRSS");
  const size_t hwm_watched = procStatusBytes(controller.pid(), "VmHWM");
  inspect(controller.pid(), "watched");
  std::printf("controller idle %.1f s after the last create (status written for every VM)\n",
              settle_s);
  const size_t rss_watched_rest = rssAtRest(controller.pid(), linger_s, "watched-rest");

  // The JSON the controller caches: every VM as the API server serves it now.
  size_t json_bytes = 0;
  int listed = 0;
  kube::ListOptions page;
  page.limit = 500;
  do {
    auto list = (*client)->list(kube::kVirtualMachine, kNs, page);
    if (!list.isOk()) {
      std::fprintf(stderr, "list: %s\n", list.status().toString().c_str());
      return 1;
    }
    for (const auto& item : (*list)["items"]) {
      json_bytes += item.dump().size();
      ++listed;
    }
    page.continue_token = (*list)["metadata"].value("continue", "");
  } while (!page.continue_token.empty());
  const double json_per_vm = static_cast<double>(json_bytes) / std::max(listed, 1);

  controller.stop();
  const auto restart = Clock::now();
  if (!startReady(controller, (*cluster)->kubeconfigPath(), log, 600s)) {
    std::fprintf(stderr, "the restarted controller did not become ready (log: %s)\n", log.c_str());
    return 1;
  }
  const double ready_s = secondsSince(restart);
  waitIdle(**cluster, 3s, 600s);
  const size_t rss_listed = procStatusBytes(controller.pid(), "VmRSS");
  const size_t hwm_listed = procStatusBytes(controller.pid(), "VmHWM");
  inspect(controller.pid(), "listed");
  const size_t rss_listed_rest = rssAtRest(controller.pid(), linger_s, "listed-rest");
  controller.stop();

  auto mib = [](size_t b) { return static_cast<double>(b) / (1 << 20); };
  auto per_vm = [&](size_t rss) {
    if (rss == 0) {
      return 0.0;  // not read (linger_s = 0)
    }
    return (static_cast<double>(rss) - static_cast<double>(rss_empty)) / std::max(listed, 1);
  };
  std::printf("JSON text per VM as served: %.0f B (%d VMs)\n", json_per_vm, listed);
  std::printf("controller RSS: %.1f MiB empty\n", mib(rss_empty));
  std::printf(
      "  after watching the VMs arrive: %.1f MiB (peak %.1f MiB) = %.0f B/VM over empty "
      "= %.2fx the JSON text\n",
      mib(rss_watched), mib(hwm_watched), per_vm(rss_watched), per_vm(rss_watched) / json_per_vm);
  std::printf(
      "  restarted, cache filled by paged lists: %.1f MiB (peak %.1f MiB) = %.0f B/VM "
      "= %.2fx the JSON text; ready (synced) %.1f s after start\n",
      mib(rss_listed), mib(hwm_listed), per_vm(rss_listed), per_vm(rss_listed) / json_per_vm,
      ready_s);
  if (linger_s > 0) {
    std::printf(
        "  %d s later, at rest: watched %.1f MiB = %.0f B/VM = %.2fx; restarted %.1f MiB = "
        "%.0f B/VM = %.2fx\n",
        linger_s, mib(rss_watched_rest), per_vm(rss_watched_rest),
        per_vm(rss_watched_rest) / json_per_vm, mib(rss_listed_rest), per_vm(rss_listed_rest),
        per_vm(rss_listed_rest) / json_per_vm);
  }
  std::printf(
      "RESULT vms=%d create_s=%.1f create_per_s=%.0f json_per_vm=%.0f rss_empty_mib=%.1f "
      "rss_watched_mib=%.1f rss_listed_mib=%.1f per_vm_watched=%.0f per_vm_listed=%.0f "
      "ratio_watched=%.2f ratio_listed=%.2f linger_s=%d ratio_watched_rest=%.2f "
      "ratio_listed_rest=%.2f\n",
      vms, create_s, vms / create_s, json_per_vm, mib(rss_empty), mib(rss_watched), mib(rss_listed),
      per_vm(rss_watched), per_vm(rss_listed), per_vm(rss_watched) / json_per_vm,
      per_vm(rss_listed) / json_per_vm, linger_s, per_vm(rss_watched_rest) / json_per_vm,
      per_vm(rss_listed_rest) / json_per_vm);
  return 0;
}
