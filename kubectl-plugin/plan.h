// plan: a dry run of a migration (VMMigration spec.dryRun): creates it, waits for the controller
// and the source node-daemon to fill status.plan, and prints the plan as a table (target and why,
// capacity after the move, CPU compatibility, bytes to send, the measured dirty rate, the
// bandwidth, and the forecast with its verdict). Nothing moves.
// Thread-safety: pure formatting; runPlan (commands.h) on the calling thread.
#pragma once

#include <string>

#include "lib/api/vm_migration.h"

namespace novacron::kubectl_plugin {

// The plan of `m` as a two-column table; rows for figures not known (yet) are left out.
std::string formatPlan(const api::VMMigration& m);

}  // namespace novacron::kubectl_plugin
