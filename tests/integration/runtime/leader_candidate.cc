// runtime_leader_candidate: one leader-election candidate process for
// leader_election_integration_test. While it believes it leads (LeaderElector::isLeader() checked
// right before each write) it appends "<identity> <CLOCK_MONOTONIC ns>\n" to a log shared by all
// candidates every 10 ms: the "leader work" the test checks never overlaps.
//
// Exit codes: 0 after SIGTERM/SIGINT (lease released), 2 when leadership was lost, 1 on bad
// arguments or configuration.
//
//   runtime_leader_candidate KUBECONFIG IDENTITY LOG_FILE LEASE_MS RENEW_MS RETRY_MS
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "lib/runtime/leader_election.h"

namespace {

std::atomic<novacron::runtime::LeaderElector*> g_elector{nullptr};

void onSignal(int) {
  // stop() only takes a mutex and notifies; good enough for a test helper.
  if (auto* e = g_elector.load()) {
    e->stop();
  }
}

int64_t monotonicNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace novacron;
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s KUBECONFIG IDENTITY LOG_FILE LEASE_MS RENEW_MS RETRY_MS\n",
                 argv[0]);
    return 1;
  }
  const std::string identity = argv[2];
  const int log_fd = ::open(argv[3], O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log_fd < 0) {
    std::perror("open log");
    return 1;
  }
  auto config = kube::loadKubeconfigFile(argv[1]);
  if (!config.isOk()) {
    std::fprintf(stderr, "%s\n", config.status().toString().c_str());
    return 1;
  }
  auto client = kube::newRestClient(*config);
  if (!client.isOk()) {
    std::fprintf(stderr, "%s\n", client.status().toString().c_str());
    return 1;
  }
  runtime::LeaderElectionConfig le;
  le.lease_namespace = "default";
  le.lease_name = "runtime-it";
  le.identity = identity;
  le.lease_duration = std::chrono::milliseconds(std::atoi(argv[4]));
  le.renew_deadline = std::chrono::milliseconds(std::atoi(argv[5]));
  le.retry_period = std::chrono::milliseconds(std::atoi(argv[6]));

  runtime::LeaderElector* self = nullptr;
  runtime::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      if (self->isLeader()) {
        const std::string line = identity + " " + std::to_string(monotonicNanos()) + "\n";
        if (self->isLeader()) {
          (void)!::write(log_fd, line.data(), line.size());
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  runtime::LeaderElector elector(*client, le, callbacks);
  self = &elector;
  g_elector = &elector;
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  core::Status result = elector.run();
  g_elector = nullptr;
  ::close(log_fd);
  return result.isOk() ? 0 : 2;
}
