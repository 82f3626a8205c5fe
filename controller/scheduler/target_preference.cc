#include "controller/scheduler/target_preference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace novacron::controller::scheduler {
namespace {

std::string megabytesPerSecond(int64_t bytes_per_second) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB/s", static_cast<double>(bytes_per_second) / 1e6);
  return text;
}

std::string whyOf(const RankedTarget& t, const std::string& source_zone, const std::string& zone) {
  std::string why;
  if (source_zone.empty()) {
    why = "the source has no zone";
  } else if (t.same_zone) {
    why = "same zone as the source (" + source_zone + ")";
  } else {
    why = "other zone (" + (zone.empty() ? std::string("none") : zone) + ", source in " +
          source_zone + ")";
  }
  why += t.bandwidth_from_source
             ? ", measured " + megabytesPerSecond(*t.bandwidth_from_source) + " from the source"
             : ", no bandwidth measured from the source";
  why += ", score " + std::to_string(t.score);
  return why;
}

}  // namespace

int bandwidthStep(int64_t bytes_per_second) {
  if (bytes_per_second <= 0) {
    return 0;
  }
  return 1 + static_cast<int>(
                 std::floor(std::log(static_cast<double>(bytes_per_second)) / std::log(1.25)));
}

std::vector<RankedTarget> rankTargets(const std::string& source_zone,
                                      const std::vector<TargetCandidate>& candidates) {
  struct Keyed {
    RankedTarget target;
    int step;  // -1: not measured
  };
  std::vector<Keyed> keyed;
  keyed.reserve(candidates.size());
  for (const auto& c : candidates) {
    RankedTarget t;
    t.name = c.name;
    t.same_zone = !source_zone.empty() && c.zone == source_zone;
    t.bandwidth_from_source = c.bandwidth_from_source;
    t.score = c.score;
    t.why = whyOf(t, source_zone, c.zone);
    const int step = c.bandwidth_from_source ? bandwidthStep(*c.bandwidth_from_source) : -1;
    keyed.push_back({std::move(t), step});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    // Better first: same zone, faster step, higher score; then the smaller name.
    return std::make_tuple(!a.target.same_zone, -a.step, -a.target.score, a.target.name) <
           std::make_tuple(!b.target.same_zone, -b.step, -b.target.score, b.target.name);
  });
  std::vector<RankedTarget> out;
  out.reserve(keyed.size());
  for (auto& k : keyed) {
    out.push_back(std::move(k.target));
  }
  return out;
}

}  // namespace novacron::controller::scheduler
