#include "kubectl-plugin/format.h"

#include <algorithm>
#include <cstdio>

namespace novacron::kubectl_plugin {

std::string formatBytes(int64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) {
    return std::to_string(std::max<int64_t>(bytes, 0)) + " B";
  }
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", value, kUnits[unit]);
  return buf;
}

std::string formatDuration(int64_t seconds) {
  if (seconds < 0) {
    seconds = 0;
  }
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(seconds));
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                  static_cast<long long>((seconds % 3600) / 60));
  }
  return buf;
}

std::string progressLine(const api::MigrationProgress& progress, std::string_view phase,
                         int width) {
  const int pct = std::clamp(progress.percent, 0, 100);
  const int filled = width * pct / 100;
  std::string line = "[" + std::string(static_cast<size_t>(filled), '#') +
                     std::string(static_cast<size_t>(width - filled), '-') + "] ";
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%3d%%", pct);
  line += buf;
  if (progress.dataProcessedBytes && progress.dataTotalBytes) {
    line += "  " + formatBytes(*progress.dataProcessedBytes) + " / " +
            formatBytes(*progress.dataTotalBytes);
  } else if (progress.dataProcessedBytes) {
    line += "  " + formatBytes(*progress.dataProcessedBytes);
  }
  if (progress.etaSeconds) {
    line += "  ETA " + formatDuration(*progress.etaSeconds);
  }
  if (progress.downtimeMs) {
    line += "  downtime " + std::to_string(*progress.downtimeMs) + " ms";
  }
  if (!phase.empty()) {
    line += "  ";
    line += phase;
  }
  return line;
}

std::string formatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 3, ' ');
      }
    }
    out += line + "\n";
  }
  return out;
}

std::string percent(int64_t used, int64_t total) {
  if (total <= 0) {
    return "-";
  }
  return std::to_string(used * 100 / total) + "%";
}

}  // namespace novacron::kubectl_plugin
