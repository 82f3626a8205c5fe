// Pure text formatting for kubectl-novacron: byte sizes, durations, the migration progress bar and
// aligned tables. No I/O, so every string the plugin prints is unit-tested.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/api/vm_migration.h"

namespace novacron::kubectl_plugin {

// 1536 -> "1.5 KiB", 0 -> "0 B".
std::string formatBytes(int64_t bytes);
// 75 -> "1m15s", 3700 -> "1h01m", 9 -> "9s".
std::string formatDuration(int64_t seconds);

// One line: "[##########----------]  50%  512.0 MiB / 1.0 GiB  ETA 12s  Migrating".
// `width` is the bar's width in characters. Missing numbers are left out.
std::string progressLine(const api::MigrationProgress& progress, std::string_view phase,
                         int width = 30);

// Columns padded to the widest cell, separated by three spaces (kubectl's table style).
std::string formatTable(const std::vector<std::vector<std::string>>& rows);

// "42%" of used/total; "-" when total is 0.
std::string percent(int64_t used, int64_t total);

}  // namespace novacron::kubectl_plugin
