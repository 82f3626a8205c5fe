// The dev API server's audit log (--audit-log): one tab-separated line per write, none for reads;
// the benchmarks count API writes by component and verb from it (tests/bench/common).
#include "dev-apiserver/audit_log.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/bench/common/audit_counts.h"

namespace novacron::devapi {
namespace {

TEST(AuditLogTest, RecordsWritesNotReadsAndTheBenchmarksCountThemByComponentAndVerb) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("novacron-audit-test-" + std::to_string(::getpid()) + ".log"))
                               .string();
  std::filesystem::remove(path);
  {
    auto log = AuditLog::open(path);
    ASSERT_TRUE(log.isOk()) << log.status().toString();
    const std::string vm = "/apis/novacron.io/v1alpha1/namespaces/ns/virtualmachines/vm-1";
    (*log)->record("novacron-node-daemon/node-0", "GET", vm, 200);
    (*log)->record("novacron-node-daemon/node-0", "PUT", vm + "/status", 409);
    (*log)->record("novacron-node-daemon/node-1", "PUT", vm + "/status", 200);
    (*log)->record("novacron-controller", "PATCH", "/apis/novacron.io/v1alpha1/hypervisors/hv-a",
                   422);
    (*log)->record("novacron-controller", "POST", "/api/v1/namespaces/ns/events", 201);
    (*log)->record("novacron-controller", "PATCH",
                   "/apis/novacron.io/v1alpha1/hypervisors/hv-a/status", 200, /*unchanged=*/true);
  }
  const bench::AuditCounts counts = bench::readAudit(path);
  EXPECT_EQ(counts.total, 5);
  EXPECT_EQ(counts.total_conflicts, 2);
  EXPECT_EQ(counts.total_noops, 1);
  EXPECT_EQ(counts.noopsOf("novacron-controller", "PATCH hypervisors/status"), 1);
  EXPECT_EQ(counts.noopsOf("novacron-controller", "PATCH hypervisors"), 0);
  EXPECT_EQ(counts.writes.at("novacron-node-daemon").at("PUT virtualmachines/status"), 2);
  EXPECT_EQ(counts.conflicts.at("novacron-node-daemon").at("PUT virtualmachines/status"), 1);
  EXPECT_EQ(counts.conflicts.at("novacron-controller").at("PATCH hypervisors"), 1);
  EXPECT_EQ(counts.writes.at("novacron-controller").at("POST events"), 1);
  std::filesystem::remove(path);
}

TEST(AuditLogTest, AnUnwritablePathIsAnError) {
  EXPECT_FALSE(AuditLog::open("/nonexistent-dir/audit.log").isOk());
}

}  // namespace
}  // namespace novacron::devapi
