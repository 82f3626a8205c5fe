// novacron_migration_* metrics (docs/migration.md):
//   novacron_migration_in_flight                 migrations between admission and a terminal phase
//   novacron_migration_waiting_for_source        migrations whose controller waits for a live
//                                                source to answer its abort (WaitingForSource)
//   novacron_migration_duration_seconds{result}  creation (or start) to completion
//   novacron_migration_downtime_seconds          measured switch-over pause of successful ones
//   novacron_migration_bytes_total{result}       data the source sent (status.progress)
//   novacron_migration_results_total{result}     Succeeded | Failed | Cancelled
//   novacron_migration_target_cleanup_skipped_total  deleted migrations released without their
//                                                    target's cleanup (fenced or gone: orphans)
// Observed once per migration, when the controller writes its terminal bookkeeping.
// Thread-safety: prometheus-cpp metrics are thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include "lib/api/vm_migration.h"
#include "lib/metrics/registry.h"

namespace novacron::controller::migration {

class MigrationMetrics {
public:
  explicit MigrationMetrics(metrics::RegistryPtr registry = nullptr);
  ~MigrationMetrics();

  void setInFlight(double count);
  void setWaitingForSource(double count);
  // `migration` carries its terminal phase, completionTime and progress.
  void finished(const api::VMMigration& migration);
  // A deleted migration was released without its target's cleanup report (target_cleanup.h).
  void targetCleanupSkipped();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::controller::migration
