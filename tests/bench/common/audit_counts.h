// Reads the dev API server's audit log (--audit-log, dev-apiserver/audit_log.h) and counts the
// writes by component (User-Agent up to its first '/': novacron-controller, novacron-node-daemon)
// and verb ("PUT virtualmachines/status", "POST events", "PATCH hypervisors"), plus the conflicts
// (409s, and 422s of JSON patches whose `test` failed) and the no-ops (answered without a write:
// the update or patch changed nothing).
// Used by the benchmarks to say where the API writes go. Thread-safety: plain values.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace novacron::bench {

struct AuditCounts {
  using Counts = std::map<std::string, std::map<std::string, long>>;  // component -> verb -> count
  // Every answered request, successful or not.
  Counts writes;
  // The conflicts among them: 409s, and 422s of JSON patches (a failed `test` op: the object
  // changed under the writer, kube-apiserver's answer for it).
  Counts conflicts;
  // The no-ops among them (audit field `noop`).
  Counts noops;
  long total = 0;
  long total_conflicts = 0;
  long total_noops = 0;

  static long countOf(const Counts& counts, const std::string& component, const std::string& verb) {
    auto c = counts.find(component);
    if (c == counts.end()) {
      return 0;
    }
    auto v = c->second.find(verb);
    return v == c->second.end() ? 0 : v->second;
  }
  long conflictsOf(const std::string& component, const std::string& verb) const {
    return countOf(conflicts, component, verb);
  }
  long noopsOf(const std::string& component, const std::string& verb) const {
    return countOf(noops, component, verb);
  }
};

// "/apis/novacron.io/v1alpha1/namespaces/ns/virtualmachines/vm-1/status" ->
// "virtualmachines/status"
inline std::string auditResourceOf(const std::string& path) {
  std::vector<std::string> seg;
  std::stringstream in(path);
  for (std::string s; std::getline(in, s, '/');) {
    if (!s.empty()) {
      seg.push_back(s);
    }
  }
  std::size_t i = seg.size() > 0 && seg[0] == "api" ? 2 : 3;  // past api/v1 or apis/<g>/<v>
  if (i < seg.size() && seg[i] == "namespaces" && i + 2 < seg.size()) {
    i += 2;
  }
  if (i >= seg.size()) {
    return path;
  }
  std::string out = seg[i];
  if (i + 2 < seg.size()) {
    out += "/" + seg[i + 2];  // subresource
  }
  return out;
}

// Counts the lines of `file` from byte `from` (an earlier size of the file) to its end.
inline AuditCounts readAudit(const std::string& file, std::streamoff from = 0) {
  AuditCounts counts;
  std::ifstream in(file);
  in.seekg(from);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string s; std::getline(fields, s, '\t');) {
      f.push_back(s);
    }
    if (f.size() < 4) {
      continue;
    }
    std::string component = f[0].substr(0, f[0].find('/'));
    std::string verb = f[1] + " " + auditResourceOf(f[2]);
    counts.writes[component][verb]++;
    counts.total++;
    if (f[3] == "409" || (f[1] == "PATCH" && f[3] == "422")) {
      counts.conflicts[component][verb]++;
      counts.total_conflicts++;
    }
    if (f.size() >= 6 && f[5] == "noop") {
      counts.noops[component][verb]++;
      counts.total_noops++;
    }
  }
  return counts;
}

inline std::streamoff auditSize(const std::string& file) {
  std::ifstream in(file, std::ios::ate);
  return in ? static_cast<std::streamoff>(in.tellg()) : 0;
}

}  // namespace novacron::bench
