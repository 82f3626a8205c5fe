// novacron-controller: parses flags and configuration, then runs a ControllerApp under leader
// election (lib/runtime) until SIGTERM/SIGINT or until leadership is lost.
#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "controller/config/config.h"
#include "controller/controller_app.h"
#include "lib/core/flags.h"
#include "lib/core/logging.h"
#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/runtime/leader_election.h"

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

std::atomic<bool> g_stop{false};

void onSignal(int) {
  g_stop = true;
}

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

}  // namespace

int main(int argc, char** argv) {
  namespace ctl = novacron::controller;
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

  ::signal(SIGTERM, onSignal);
  ::signal(SIGINT, onSignal);
  spdlog::info("novacron-controller {} starting: policy {}, heartbeat timeout {} ms, failover {}",
               identity, ctl::scheduler::policyName(config->scheduler.policy),
               config->health.heartbeat_timeout.count(),
               ctl::config::failoverPolicyName(config->health.failover));

  if (!config->leader_election.enabled) {
    app.startLeading();
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    app.stopLeading();
    return 0;
  }

  const auto& le = config->leader_election;
  novacron::runtime::LeaderElectionConfig election;
  election.lease_namespace = le.namespace_;
  election.lease_name = le.lease_name;
  election.identity = identity;
  election.lease_duration = le.lease_duration;
  election.renew_deadline = le.renew_deadline;
  election.retry_period = le.retry_period;
  novacron::runtime::LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&app](std::stop_token stop) {
    app.startLeading();
    while (!stop.stop_requested() && !g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    app.stopLeading();
  };
  callbacks.on_new_leader = [&identity](const std::string& leader) {
    spdlog::info("{}: leader is now {}", identity, leader);
  };
  novacron::runtime::LeaderElector elector(*client, election, callbacks);
  std::thread stopper([&elector] {
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    elector.stop();
  });
  novacron::core::Status result = elector.run();
  g_stop = true;
  stopper.join();
  if (!result.isOk()) {
    // Lost the lease: exit so a fresh process (with fresh caches) competes again.
    spdlog::error("{}: leadership lost: {}", identity, result.toString());
    return 1;
  }
  return 0;
}
