// novacron-controller: parses flags and configuration, wires a ControllerApp into a
// runtime::Manager (leader election) and runs it until SIGTERM/SIGINT or until leadership is lost.
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <malloc.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "controller/config/config.h"
#include "controller/controller_app.h"
#include "lib/core/exit_deadline.h"
#include "lib/core/flags.h"
#include "lib/core/heap_scavenger.h"
#include "lib/core/logging.h"
#include "lib/core/termination.h"
#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/runtime/manager.h"

namespace {

constexpr const char* kUsage = R"(usage: novacron-controller [flags]
  --config PATH            controller configuration YAML (a mounted ConfigMap); defaults if unset
  --kubeconfig PATH        kubeconfig (default $KUBECONFIG, else in-cluster)
  --identity NAME          leader-election identity (default $POD_NAME, else hostname_pid)
  --bind-address ADDR:PORT /metrics, /healthz, /readyz (overrides server.bindAddress)
  --leader-elect BOOL      true|false (overrides leaderElection.enabled)
  --log-level LEVEL        trace|debug|info|warn|error
  --log-format FORMAT      auto|text|json
)";

int usageError(const std::string& message) {
  std::fprintf(stderr, "novacron-controller: %s\n%s", message.c_str(), kUsage);
  return 2;
}

std::string defaultIdentity() {
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') {
    return pod;
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + "_" + std::to_string(::getpid());
}

// How long an orderly shutdown may take after the lease was lost before the process just exits.
constexpr std::chrono::seconds kLostLeadershipExitGrace{5};

int run(int argc, char** argv) {
  namespace ctl = novacron::controller;
  // Two malloc arenas instead of glibc's 8 per core: the informers' threads decode JSON pages and
  // events into long-lived cache objects, and with an arena per thread the freed JSON left holes
  // in several heaps that stayed resident (a restarted controller at 10,000 VMs: 81 MiB with the
  // default, 67 MiB with 2; tests/bench/controller/memory_bench.cc, issue 15 B4).
  mallopt(M_ARENA_MAX, 2);
  // Before any thread starts: SIGTERM/SIGINT are then only seen by the signal thread.
  novacron::core::TerminationSignals signals;
  // Destroyed last: it bounds the whole shutdown after a lost lease, destructors included.
  novacron::core::ExitDeadline exit_deadline;
  // Freed heap back to the system once the process grew (a relist's pages, a burst of
  // reconciles): what an operator's memory limit sees (issue 15 B4; lib/core/heap_scavenger.h).
  novacron::core::HeapScavenger heap_scavenger;
  auto parsed = novacron::core::FlagSet::parse(argc, argv);
  if (!parsed.isOk()) {
    return usageError(parsed.status().message());
  }
  if (parsed->helpRequested()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto take = [&](const std::string& name) { return parsed->take(name); };
  auto config_path = take("config");
  auto kubeconfig = take("kubeconfig");
  auto identity = take("identity").value_or(defaultIdentity());
  auto bind_address = take("bind-address");
  auto leader_elect = take("leader-elect");
  auto log_level = take("log-level");
  auto log_format = take("log-format");
  if (auto unknown = parsed->checkAllTaken(); !unknown.isOk()) {
    return usageError(unknown.message());
  }

  auto log_options = novacron::core::resolveLogOptions("controller", log_level, log_format);
  if (!log_options.isOk()) {
    return usageError(log_options.status().message());
  }
  if (auto s = novacron::core::initLogging(*log_options); !s.isOk()) {
    return usageError(s.message());
  }

  auto config =
      config_path ? ctl::config::loadConfigFile(*config_path) : ctl::config::parseConfig("");
  if (!config.isOk()) {
    spdlog::critical("{}", config.status().toString());
    return 1;
  }
  if (bind_address) {
    config->server.bind_address = *bind_address;
  }
  if (leader_elect) {
    if (*leader_elect != "true" && *leader_elect != "false") {
      return usageError("--leader-elect must be true or false");
    }
    config->leader_election.enabled = *leader_elect == "true";
  }

  auto kube_config =
      novacron::kube::loadConfig(novacron::kube::configSourcesFromEnvironment(kubeconfig));
  if (!kube_config.isOk()) {
    spdlog::critical("kube config: {}", kube_config.status().toString());
    return 1;
  }
  novacron::kube::RestClientOptions rest_options;
  rest_options.user_agent = "novacron-controller";
  rest_options.qps = novacron::controller::kClientQps;
  rest_options.burst = novacron::controller::kClientBurst;
  auto client = novacron::kube::newRestClient(*kube_config, rest_options);
  if (!client.isOk()) {
    spdlog::critical("kube client: {}", client.status().toString());
    return 1;
  }

  const std::string& bind = config->server.bind_address;
  const auto colon = bind.rfind(':');
  novacron::metrics::HttpEndpointOptions endpoint_options;
  try {
    endpoint_options.address = colon == std::string::npos ? "0.0.0.0" : bind.substr(0, colon);
    endpoint_options.port = static_cast<uint16_t>(
        std::stoi(colon == std::string::npos ? bind : bind.substr(colon + 1)));
  } catch (const std::exception&) {
    return usageError("bad bind address " + bind);
  }
  if (endpoint_options.address.empty()) {
    endpoint_options.address = "0.0.0.0";
  }
  auto endpoint = novacron::metrics::startHttpEndpoint(endpoint_options);
  if (!endpoint.isOk()) {
    spdlog::critical("metrics endpoint {}: {}", bind, endpoint.status().toString());
    return 1;
  }

  ctl::ControllerAppOptions app_options;
  app_options.config = *config;
  app_options.identity = identity;
  ctl::ControllerApp app(*client, app_options);
  (*endpoint)->addReadinessCheck("caches-synced", [&app] {
    return app.ready() ? novacron::core::okStatus()
                       : novacron::core::unavailableError("not leading or caches not synced");
  });

  const auto& le = config->leader_election;
  novacron::runtime::ManagerOptions manager_options;
  manager_options.leader_elect = le.enabled;
  manager_options.election.lease_namespace = le.namespace_;
  manager_options.election.lease_name = le.lease_name;
  manager_options.election.identity = identity;
  manager_options.election.lease_duration = le.lease_duration;
  manager_options.election.renew_deadline = le.renew_deadline;
  manager_options.election.retry_period = le.retry_period;
  // Leases get their own client whose requests end by the renew deadline: with the default 30 s
  // request timeout a hung renewal would outlive the 15 s lease (issue 18).
  novacron::kube::RestClientOptions lease_options = rest_options;
  lease_options.user_agent = "novacron-controller-leader-election";
  lease_options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(le.renew_deadline);
  auto lease_client = novacron::kube::newRestClient(*kube_config, lease_options);
  if (!lease_client.isOk()) {
    spdlog::critical("kube client for leases: {}", lease_client.status().toString());
    return 1;
  }
  // A lost lease: stop in order if that is quick, else exit anyway (a worker or a renewal can sit
  // in a request to a frozen API server far longer than the lease; issue 18, seed 2017).
  manager_options.on_lost_leadership = [&exit_deadline] {
    exit_deadline.arm(kLostLeadershipExitGrace, 1, "leadership lost");
  };
  novacron::runtime::Manager manager(*lease_client, manager_options);
  manager.add(
      "controllers", [&app] { app.startLeading(); }, [&app] { app.stopLeading(); });

  spdlog::info("novacron-controller {} starting: policy {}, heartbeat timeout {} ms, failover {}",
               identity, ctl::scheduler::policyName(config->scheduler.policy),
               config->health.heartbeat_timeout.count(),
               ctl::config::failoverPolicyName(config->health.failover));
  signals.onSignal([&manager] { manager.stop(); });
  // Lost the lease: exit non-zero so a fresh process (with fresh caches) competes again.
  return manager.run().isOk() ? 0 : 1;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Library code reports errors as Status values; anything thrown this far is a bug.
    std::fprintf(stderr, "%s: fatal: %s\n", "novacron-controller", e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: fatal: unknown exception\n", "novacron-controller");
  }
  return 1;
}
