// The migration bandwidth measured per host pair (issue 17, network-aware targets): when a
// VMMigration Succeeds, the controller records data sent / migration time in the source
// Hypervisor's status.migrationBandwidth (one entry per target, the newest measurement wins), so
// later target choices (target_preference.h) can prefer the fastest link. etcd is the only store.
// Thread-safety: the pure functions are; recordBandwidth() does I/O and may run concurrently.
#pragma once

#include <optional>
#include <vector>

#include "controller/cache/cluster_cache.h"
#include "lib/api/hypervisor.h"
#include "lib/api/vm_migration.h"
#include "lib/core/status.h"
#include "lib/kube/client.h"

namespace novacron::controller::migration {

// The measurement a Succeeded migration yields: target, bytes/s (status.progress
// dataProcessedBytes, else dataTotalBytes, over libvirt's job time progress.elapsedMs; without
// it over completionTime - startTime, at least 1 s since timestamps have second resolution),
// observed at completionTime. nullopt when a part is missing, and for a migration with
// spec.options.bandwidthMiBps: it measured its own cap, and a later uncapped plan would take
// that for the path's speed.
std::optional<api::MigrationBandwidth> measuredBandwidth(const api::VMMigration& m);

// `list` with `sample` recorded: replaces the entry for its target unless that entry is newer;
// nullopt when nothing changes.
std::optional<std::vector<api::MigrationBandwidth>> withSample(
    const std::vector<api::MigrationBandwidth>& list, const api::MigrationBandwidth& sample);

// The last bandwidth measured from `source` to `target`, in bytes/s.
std::optional<int64_t> measuredBandwidth(const api::Hypervisor& source, const std::string& target);

// The Hypervisor's topology.kubernetes.io/zone label; empty when unset.
std::string zoneOf(const api::Hypervisor& hv);

// Writes the measurement of Succeeded `m` into its source's status (read-modify-write through the
// status subresource, retried on conflict). OK when there is nothing to record.
[[nodiscard]] core::Status recordBandwidth(kube::Client& client, const ClusterCache& cache,
                                           const api::VMMigration& m);

}  // namespace novacron::controller::migration
