// VmMetrics and VmStatsPoller: what /metrics shows for given domain statistics, and the poller
// over FakeLibvirt (scripted statistics) and libvirt's test driver (real bulk-stats call).
#include "node-daemon/vm_metrics.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "node-daemon/virt/libvirt_connection.h"
#include "node-daemon/vm_stats_poller.h"
#include "tests/mocks/fake_libvirt.h"
#include "tests/testing/eventually.h"

namespace novacron::node {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string scrape(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

virt::DomainStats running(const std::string& domain, std::uint64_t cpu_ns) {
  virt::DomainStats s;
  s.name = domain;
  s.state = virt::DomainState::kRunning;
  s.cpu_time_ns = cpu_ns;
  s.vcpus = 2;
  s.balloon_current_kib = 131072;
  s.balloon_rss_kib = 65536;
  s.block_read_bytes = 4096;
  s.block_write_bytes = 8192;
  s.block_read_requests = 3;
  s.block_write_requests = 5;
  s.net_rx_bytes = 1000;
  s.net_tx_bytes = 2000;
  s.net_rx_packets = 10;
  s.net_tx_packets = 20;
  return s;
}

class VmMetricsTest : public ::testing::Test {
protected:
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  NodeMetricsPtr node_ = std::make_shared<NodeMetrics>(registry_);
};

TEST_F(VmMetricsTest, ExportsEveryStatisticLabelledByNamespaceAndName) {
  VmMetrics m(registry_, node_);
  m.update({running("default_web-1", 1'500'000'000)});
  std::string text = scrape(*registry_);
  const std::string labels = R"({name="web-1",namespace="default"})";
  EXPECT_THAT(text, HasSubstr("novacron_vm_cpu_seconds_total" + labels + " 1.5\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_vcpus" + labels + " 2\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_memory_actual_bytes" + labels + " 134217728\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_memory_resident_bytes" + labels + " 67108864\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_block_read_bytes_total" + labels + " 4096\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_block_write_bytes_total" + labels + " 8192\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_block_read_requests_total" + labels + " 3\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_block_write_requests_total" + labels + " 5\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_network_receive_bytes_total" + labels + " 1000\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_network_transmit_bytes_total" + labels + " 2000\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_network_receive_packets_total" + labels + " 10\n"));
  EXPECT_THAT(text, HasSubstr("novacron_vm_network_transmit_packets_total" + labels + " 20\n"));
  // Without the guest's balloon driver there is no guest view of memory: nothing is invented.
  EXPECT_THAT(text, Not(HasSubstr("novacron_vm_memory_available_bytes{")));
  EXPECT_THAT(text, Not(HasSubstr("novacron_vm_memory_used_bytes{")));
}

TEST_F(VmMetricsTest, GuestMemoryWhenTheBalloonDriverReportsIt) {
  VmMetrics m(registry_, node_);
  auto s = running("default_web-1", 1);
  s.balloon_available_kib = 100000;
  s.balloon_unused_kib = 40000;
  m.update({s});
  std::string text = scrape(*registry_);
  EXPECT_THAT(
      text,
      HasSubstr(
          R"(novacron_vm_memory_available_bytes{name="web-1",namespace="default"} 102400000)"));
  EXPECT_THAT(
      text,
      HasSubstr(R"(novacron_vm_memory_used_bytes{name="web-1",namespace="default"} 61440000)"));
  // The driver stops reporting: the series goes away instead of freezing at an old value.
  m.update({running("default_web-1", 2)});
  EXPECT_THAT(scrape(*registry_), Not(HasSubstr("novacron_vm_memory_used_bytes{")));
}

TEST_F(VmMetricsTest, CountersStayMonotonicWhenQemuRestarts) {
  VmMetrics m(registry_, node_);
  const std::string series = R"(novacron_vm_network_receive_bytes_total{name="a",namespace="ns"} )";
  auto s = running("ns_a", 0);
  s.net_rx_bytes = 10;
  m.update({s});
  EXPECT_THAT(scrape(*registry_), HasSubstr(series + "10\n"));
  s.net_rx_bytes = 4;  // the domain restarted: libvirt counts from zero again
  m.update({s});
  EXPECT_THAT(scrape(*registry_), HasSubstr(series + "14\n"));
  s.net_rx_bytes = 6;
  m.update({s});
  EXPECT_THAT(scrape(*registry_), HasSubstr(series + "16\n"));
  // Shut off: libvirt reports no counters; the exported counter keeps its value.
  virt::DomainStats off;
  off.name = "ns_a";
  off.state = virt::DomainState::kShutOff;
  m.update({off});
  std::string text = scrape(*registry_);
  EXPECT_THAT(text, HasSubstr(series + "16\n"));
  EXPECT_THAT(text, Not(HasSubstr("novacron_vm_vcpus{")));
}

TEST_F(VmMetricsTest, VmsThatLeaveTheNodeAndForeignDomainsHaveNoSeries) {
  VmMetrics m(registry_, node_);
  m.update({running("default_web-1", 1), running("default_web-2", 1), running("test", 1),
            running("Not_A_Vm", 1)});
  EXPECT_EQ(m.trackedVms(), 2u);
  std::string text = scrape(*registry_);
  EXPECT_THAT(text, HasSubstr(R"(name="web-2")"));
  EXPECT_THAT(text, Not(HasSubstr(R"(name="test")")));
  m.update({running("default_web-1", 2)});
  EXPECT_EQ(m.trackedVms(), 1u);
  text = scrape(*registry_);
  EXPECT_THAT(text, HasSubstr(R"(name="web-1")"));
  EXPECT_THAT(text, Not(HasSubstr(R"(name="web-2")")));
}

TEST_F(VmMetricsTest, CardinalityIsCapped) {
  VmMetrics m(registry_, node_, /*max_vms=*/2);
  m.update({running("ns_a", 1), running("ns_b", 1), running("ns_c", 1)});
  EXPECT_EQ(m.trackedVms(), 2u);
  std::string text = scrape(*registry_);
  EXPECT_THAT(text, Not(HasSubstr(R"(name="c")")));
  EXPECT_THAT(text, HasSubstr(R"(novacron_node_degraded_total{reason="vm_metrics_limit"} 1)"));
  // A slot frees up: the VM left out is exported from the next poll on.
  m.update({running("ns_b", 1), running("ns_c", 1)});
  EXPECT_THAT(scrape(*registry_), HasSubstr(R"(name="c")"));
}

virt::ConnectionPtr openTestDriver() {
  virt::LibvirtOptions options;
  options.uri = "test:///default";
  options.keepalive_interval_s = -1;
  auto conn = virt::openLibvirt(options);
  EXPECT_TRUE(conn.isOk()) << conn.status();
  return std::move(conn).value();
}

TEST(LibvirtDomainStats, TheTestDriverAnswersTheBulkCall) {
  auto conn = openTestDriver();
  auto stats = conn->allDomainStats();
  ASSERT_TRUE(stats.isOk()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);  // test:///default has one running domain, "test"
  EXPECT_EQ((*stats)[0].name, "test");
  EXPECT_EQ((*stats)[0].state, virt::DomainState::kRunning);
}

TEST_F(VmMetricsTest, PollerFeedsTheMetricsAndKeepsThemWhenLibvirtFails) {
  auto inner = openTestDriver();
  testing::FakeLibvirt fake(*inner);
  fake.domain_stats_hook = [] {
    return core::StatusOr<std::vector<virt::DomainStats>>(
        std::vector<virt::DomainStats>{running("default_web-1", 3'000'000'000)});
  };
  auto vm_metrics = std::make_shared<VmMetrics>(registry_, node_);
  VmStatsPoller poller(fake, vm_metrics, node_, std::chrono::hours(1));
  poller.start();  // polls at once, then hourly
  ASSERT_TRUE(testing::eventually([&] { return vm_metrics->trackedVms() == 1; }));
  poller.stop();  // does not wait for the hour
  EXPECT_EQ(fake.calls("domainStats"), 1);

  fake.failNext("domainStats", core::unavailableError("libvirtd went away"));
  EXPECT_FALSE(poller.pollOnce().isOk());
  std::string text = scrape(*registry_);
  EXPECT_THAT(text,
              HasSubstr(R"(novacron_vm_cpu_seconds_total{name="web-1",namespace="default"} 3)"));
  EXPECT_THAT(text, HasSubstr(R"(novacron_node_degraded_total{reason="vm_stats_unavailable"} 1)"));
}

}  // namespace
}  // namespace novacron::node
