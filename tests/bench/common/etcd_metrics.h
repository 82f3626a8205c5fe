// A few counters of etcd's /metrics (fetched with curl), so a benchmark can say how many etcd
// requests, reads and raft proposals an API write costs: figures that do not depend on the
// machine's load, unlike times. Thread-safety: plain functions and values.
#pragma once

#include <cstdio>
#include <map>
#include <sstream>
#include <string>

namespace novacron::bench {

// The counters below, by name; empty when etcd could not be reached.
inline std::map<std::string, double> etcdCounters(const std::string& endpoint) {
  static const char* const kNames[] = {
      "etcd_debugging_mvcc_range_total",
      "etcd_debugging_mvcc_put_total",
      "etcd_debugging_mvcc_txn_total",
      "etcd_server_proposals_committed_total",
      "etcd_disk_wal_fsync_duration_seconds_count",
  };
  std::map<std::string, double> out;
  std::string cmd = "curl -sf --max-time 10 '" + endpoint + "/metrics'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    return out;
  }
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string text(line);
    for (const char* name : kNames) {
      std::string prefix = std::string(name) + " ";
      if (text.rfind(prefix, 0) == 0) {
        out[name] = std::stod(text.substr(prefix.size()));
      }
    }
    // gRPC requests handled, by method (the dev API server calls these directly).
    const std::string grpc = "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"";
    if (text.rfind(grpc, 0) == 0) {
      auto end = text.find('"', grpc.size());
      auto space = text.rfind(' ');
      if (end != std::string::npos && space != std::string::npos) {
        out["grpc " + text.substr(grpc.size(), end - grpc.size())] +=
            std::stod(text.substr(space + 1));
      }
    }
  }
  ::pclose(pipe);
  return out;
}

// Prints after - before per `per` (e.g. per VM), skipping counters that did not move.
inline void printEtcdCounterDeltas(const std::map<std::string, double>& before,
                                   const std::map<std::string, double>& after, double per) {
  for (const auto& [name, value] : after) {
    auto it = before.find(name);
    double delta = value - (it == before.end() ? 0 : it->second);
    if (delta > 0) {
      std::printf("    %-44s %8.2f\n", name.c_str(), delta / per);
    }
  }
}

}  // namespace novacron::bench
