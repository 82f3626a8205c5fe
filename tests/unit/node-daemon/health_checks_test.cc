// Regression (issue 18): a libvirtd restart must not fail the node-daemon's liveness probe (the
// kubelet would kill it and its heartbeat would stop); it fails readiness instead.
#include "node-daemon/health_checks.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "node-daemon/virt/libvirt_connection.h"
#include "tests/mocks/fake_libvirt.h"

namespace novacron::node {
namespace {

class RecordingEndpoint final : public metrics::HttpEndpoint {
public:
  uint16_t port() const override { return 0; }
  void addLivenessCheck(std::string name, metrics::HealthCheck check) override {
    liveness[name] = std::move(check);
  }
  void addReadinessCheck(std::string name, metrics::HealthCheck check) override {
    readiness[name] = std::move(check);
  }
  void stop() override {}

  static bool allPass(const std::map<std::string, metrics::HealthCheck>& checks) {
    for (const auto& [name, check] : checks) {
      if (!check().isOk()) {
        return false;
      }
    }
    return true;
  }
  std::map<std::string, metrics::HealthCheck> liveness;
  std::map<std::string, metrics::HealthCheck> readiness;
};

TEST(HealthChecks, LibvirtDownFailsReadinessNotLiveness) {
  virt::LibvirtOptions lo;
  lo.uri = "test:///default";
  lo.keepalive_interval_s = -1;
  auto conn = virt::openLibvirt(lo);
  ASSERT_TRUE(conn.isOk()) << conn.status();
  testing::FakeLibvirt libvirt(**conn);
  RecordingEndpoint endpoint;
  addHealthChecks(endpoint, libvirt, [] { return true; });
  EXPECT_TRUE(RecordingEndpoint::allPass(endpoint.liveness));
  EXPECT_TRUE(RecordingEndpoint::allPass(endpoint.readiness));

  libvirt.failNext("ping", core::unavailableError("libvirtd restarting"), 1000);
  EXPECT_TRUE(RecordingEndpoint::allPass(endpoint.liveness)) << "liveness depends on libvirt";
  EXPECT_FALSE(RecordingEndpoint::allPass(endpoint.readiness));
  EXPECT_GE(libvirt.calls("ping"), 2);  // the readiness check did look at libvirt
}

TEST(HealthChecks, UnsyncedInformerFailsReadiness) {
  virt::LibvirtOptions lo;
  lo.uri = "test:///default";
  lo.keepalive_interval_s = -1;
  auto conn = virt::openLibvirt(lo);
  ASSERT_TRUE(conn.isOk()) << conn.status();
  RecordingEndpoint endpoint;
  addHealthChecks(endpoint, **conn, [] { return false; });
  EXPECT_TRUE(RecordingEndpoint::allPass(endpoint.liveness));
  EXPECT_FALSE(RecordingEndpoint::allPass(endpoint.readiness));
}

}  // namespace
}  // namespace novacron::node
