// Network-aware choice of a migration target (issue 17): among the hypervisors that can take a
// VM, prefer one in the source's topology zone (label topology.kubernetes.io/zone), then the best
// migration bandwidth measured from the source (Hypervisor status.migrationBandwidth, recorded
// from completed migrations), then the scheduler's spread score, then the name. Measured
// bandwidths are compared in steps of 25 % (a log scale), so links of about the same speed fall
// through to the spread instead of always picking the marginally faster one; a measured link goes
// before an unmeasured one. Every ranked target carries the reasons in words, for Events and for
// a dry-run plan ("why this target").
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace novacron::controller::scheduler {

struct TargetCandidate {
  std::string name;
  std::string zone;                              // empty: the hypervisor has no zone label
  std::optional<int64_t> bandwidth_from_source;  // bytes/s; nullopt: never measured
  int64_t score = 0;                             // the scheduler's score; higher is better
};

struct RankedTarget {
  std::string name;
  bool same_zone = false;  // false as well when either zone is unknown
  std::optional<int64_t> bandwidth_from_source;
  int64_t score = 0;
  std::string why;  // "same zone as the source (z1), measured 118.0 MB/s from the source, score 70"
  bool operator==(const RankedTarget&) const = default;
};

// `candidates` ranked best first. `source_zone` empty: zones play no part.
std::vector<RankedTarget> rankTargets(const std::string& source_zone,
                                      const std::vector<TargetCandidate>& candidates);

// The 25 % step a bandwidth falls in (higher is faster); 0 for zero or less.
int bandwidthStep(int64_t bytes_per_second);

}  // namespace novacron::controller::scheduler
