// FaultInjector: faults the dev API server injects into its own answers, for the fault suite
// (tests/e2e/reliability/fault_suite.py, issue 18). Off unless --fault-file is given.
//
// The file is JSON, re-read whenever it changes (checked at most every 100 ms), so a test turns
// faults on and off by rewriting it; a missing or empty file means no faults:
//   {"latencyMs": 300,            // every request waits this long before it is served (slow API)
//    "conflictFraction": 0.3,     // this fraction of updates (PUT) is answered 409 Conflict, as
//                                 // kube-apiserver answers an update based on a stale
//                                 // resourceVersion (a 409 storm of many writers)
//    "rules": [{"method": "PUT",  // "" or absent: any method
//               "path":
//               "^/apis/coordination.k8s.io/v1/namespaces/novacron-node-lease/leases/node-1$",
//               "status": 503,    // answered with this code (a metav1.Status body) ...
//               "fraction": 1.0}]}//   ... for this fraction of matching requests (default 1)
// A rule with status 503 on a node's Lease is "heartbeat loss" without any process fault.
// Injected answers never reach etcd: the request did not happen, as with a real conflict.
// Only the server given the injector applies it (main.cc: the TLS port that components use, not
// the plain test port the suite reads the truth from).
// Thread-safety: intercept() from any number of connection threads.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "dev-apiserver/http_types.h"
#include "lib/core/statusor.h"

namespace novacron::devapi {

struct FaultRule {
  std::string method;  // empty: any
  std::string path_pattern;
  std::regex path;
  int status = 503;
  double fraction = 1.0;
};

struct FaultConfig {
  std::chrono::milliseconds latency{0};
  double conflict_fraction = 0;
  std::vector<FaultRule> rules;
};

// InvalidArgument for malformed JSON, a bad regex, a status outside 400..599 or a fraction
// outside [0, 1]. Empty text: no faults.
core::StatusOr<FaultConfig> parseFaultConfig(std::string_view text);

// What the injector decided for one request.
struct FaultDecision {
  std::chrono::milliseconds delay{0};
  std::optional<Response> answer;  // set: answer this instead of serving the request
};

// The decision for `req` under `config`; `roll` returns uniform numbers in [0, 1).
FaultDecision decideFault(const FaultConfig& config, const Request& req,
                          const std::function<double()>& roll);

class FaultInjector {
public:
  explicit FaultInjector(std::filesystem::path file);
  // Sleeps for the configured latency, then returns the injected answer, if any.
  std::optional<Response> intercept(const Request& req);

private:
  std::shared_ptr<const FaultConfig> current();

  const std::filesystem::path file_;
  std::mutex mu_;
  std::shared_ptr<const FaultConfig> config_;        // guarded by mu_
  std::filesystem::file_time_type loaded_mtime_{};   // guarded by mu_
  bool loaded_exists_ = false;                       // guarded by mu_
  std::chrono::steady_clock::time_point checked_{};  // guarded by mu_
  std::mt19937_64 rng_{std::random_device{}()};      // guarded by mu_
};

}  // namespace novacron::devapi
