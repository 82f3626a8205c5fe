#include "controller/migration/bandwidth_record.h"

#include <algorithm>

#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/kube/resource.h"

namespace novacron::controller::migration {

std::optional<api::MigrationBandwidth> measuredBandwidth(const api::VMMigration& m) {
  if (m.status.phase != api::MigrationPhase::kSucceeded || !m.status.targetHypervisor ||
      !m.status.startTime || !m.status.completionTime || !m.status.progress) {
    return std::nullopt;
  }
  if (m.spec.options.bandwidthMiBps && *m.spec.options.bandwidthMiBps > 0) {
    return std::nullopt;  // it measured its own cap, not the path between the hosts
  }
  const auto& p = *m.status.progress;
  const std::optional<int64_t> bytes =
      p.dataProcessedBytes ? p.dataProcessedBytes : p.dataTotalBytes;
  if (!bytes || *bytes <= 0) {
    return std::nullopt;
  }
  api::MigrationBandwidth sample;
  sample.target = *m.status.targetHypervisor;
  if (p.elapsedMs && *p.elapsedMs > 0) {
    sample.bytesPerSecond = *bytes * 1000 / *p.elapsedMs;  // libvirt's own job time
  } else {
    const int64_t seconds =
        std::max<int64_t>(1, (*m.status.completionTime - *m.status.startTime).count());
    sample.bytesPerSecond = *bytes / seconds;
  }
  sample.observedTime = m.status.completionTime;
  return sample;
}

std::optional<std::vector<api::MigrationBandwidth>> withSample(
    const std::vector<api::MigrationBandwidth>& list, const api::MigrationBandwidth& sample) {
  std::vector<api::MigrationBandwidth> out = list;
  auto it = std::find_if(out.begin(), out.end(), [&](const api::MigrationBandwidth& b) {
    return b.target == sample.target;
  });
  if (it == out.end()) {
    out.push_back(sample);
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.target < b.target; });
    return out;
  }
  if (it->observedTime && sample.observedTime && *it->observedTime > *sample.observedTime) {
    return std::nullopt;  // a newer measurement is already there
  }
  if (it->bytesPerSecond == sample.bytesPerSecond && it->observedTime == sample.observedTime) {
    return std::nullopt;
  }
  it->bytesPerSecond = sample.bytesPerSecond;
  it->observedTime = sample.observedTime;
  return out;
}

std::optional<int64_t> measuredBandwidth(const api::Hypervisor& source, const std::string& target) {
  for (const auto& b : source.status.migrationBandwidth) {
    if (b.target == target) {
      return b.bytesPerSecond;
    }
  }
  return std::nullopt;
}

std::string zoneOf(const api::Hypervisor& hv) {
  auto it = hv.metadata.labels.find(std::string(api::kZoneLabel));
  return it == hv.metadata.labels.end() ? std::string() : it->second;
}

core::Status recordBandwidth(kube::Client& client, const ClusterCache& cache,
                             const api::VMMigration& m) {
  const auto sample = measuredBandwidth(m);
  if (!sample || !m.status.sourceHypervisor) {
    return core::okStatus();
  }
  const std::string& source = *m.status.sourceHypervisor;
  HypervisorPtr cached = cache.hypervisor(source);
  if (!cached) {
    return core::okStatus();
  }
  api::Hypervisor current = *cached;
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto list = withSample(current.status.migrationBandwidth, *sample);
    if (!list) {
      return core::okStatus();
    }
    api::Hypervisor updated = current;
    updated.status.migrationBandwidth = std::move(*list);
    auto written = client.updateStatus(kube::kHypervisor, "", api::toJson(updated));
    if (written.isOk() || written.status().code() == core::StatusCode::kNotFound) {
      return core::okStatus();
    }
    if (written.status().code() != core::StatusCode::kConflict) {
      return written.status().withContext("recording bandwidth on " + source);
    }
    auto live = client.get(kube::kHypervisor, "", source);
    if (!live.isOk()) {
      return live.status().withContext("re-reading hypervisor " + source);
    }
    NOVACRON_ASSIGN_OR_RETURN(current, api::hypervisorFromJson(*live));
  }
  return core::conflictError("hypervisor " + source + " kept changing while recording bandwidth");
}

}  // namespace novacron::controller::migration
