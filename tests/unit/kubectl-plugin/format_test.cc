// The strings kubectl-novacron prints: sizes, durations, the progress bar and tables.
#include "kubectl-plugin/format.h"

#include <gtest/gtest.h>

namespace novacron::kubectl_plugin {
namespace {

TEST(FormatTest, BytesAndDurations) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(1023), "1023 B");
  EXPECT_EQ(formatBytes(1536), "1.5 KiB");
  EXPECT_EQ(formatBytes(512LL << 20), "512.0 MiB");
  EXPECT_EQ(formatBytes(3LL << 30), "3.0 GiB");
  EXPECT_EQ(formatDuration(9), "9s");
  EXPECT_EQ(formatDuration(75), "1m15s");
  EXPECT_EQ(formatDuration(3700), "1h01m");
  EXPECT_EQ(percent(1, 4), "25%");
  EXPECT_EQ(percent(1, 0), "-");
}

TEST(FormatTest, ProgressLine) {
  api::MigrationProgress p;
  p.percent = 50;
  p.dataProcessedBytes = 512LL << 20;
  p.dataTotalBytes = 1LL << 30;
  p.etaSeconds = 12;
  EXPECT_EQ(progressLine(p, "Migrating", 10),
            "[#####-----]  50%  512.0 MiB / 1.0 GiB  ETA 12s  Migrating");
  api::MigrationProgress empty;
  EXPECT_EQ(progressLine(empty, "Pending", 4), "[----]   0%  Pending");
  api::MigrationProgress over;
  over.percent = 140;  // never drawn past the end
  over.downtimeMs = 240;
  EXPECT_EQ(progressLine(over, "Succeeded", 4), "[####] 100%  downtime 240 ms  Succeeded");
}

TEST(FormatTest, TableAlignsColumns) {
  EXPECT_EQ(formatTable({{"NAME", "CPU"}, {"node-long", "1/2"}}),
            "NAME        CPU\nnode-long   1/2\n");
}

}  // namespace
}  // namespace novacron::kubectl_plugin
