// DomainInventory against libvirt's test driver: only active NovaCron domains are exported, and a
// domain that stops disappears from the series.
#include "node-daemon/domain_inventory.h"

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "node-daemon/domain/naming.h"
#include "node-daemon/virt/libvirt_connection.h"

namespace novacron::node {
namespace {

std::set<std::string> exported(prometheus::Registry& registry) {
  std::set<std::string> out;
  for (const auto& family : registry.Collect()) {
    if (family.name != "novacron_node_domain_active") {
      continue;
    }
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "uuid" && metric.gauge.value == 1) {
          out.insert(label.value);
        }
      }
    }
  }
  return out;
}

TEST(DomainInventory, ExportsActiveNovaCronDomainsOnly) {
  virt::LibvirtOptions lo;
  lo.uri = "test:///default";  // has a running domain "test" that is not NovaCron's
  lo.keepalive_interval_s = -1;
  auto conn = virt::openLibvirt(lo);
  ASSERT_TRUE(conn.isOk()) << conn.status();
  auto registry = std::make_shared<prometheus::Registry>();
  DomainInventory inventory(**conn, registry, nullptr, std::chrono::seconds(1));

  auto name = domain::domainName("ns", "vm-a");
  ASSERT_TRUE(name.isOk()) << name.status();
  const std::string uuid = "0e5b0a3c-8f7d-4a51-9d1e-3c2b1a0f9e8d";
  auto defined = (*conn)->defineDomain(
      "<domain type='test'><name>" + *name + "</name><uuid>" + uuid +
      "</uuid><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>");
  ASSERT_TRUE(defined.isOk()) << defined.status();

  ASSERT_TRUE(inventory.pollOnce().isOk());
  EXPECT_TRUE(exported(*registry).empty()) << "defined, not started; or a foreign domain leaked";

  ASSERT_TRUE((*conn)->startDomain(*name).isOk());
  ASSERT_TRUE(inventory.pollOnce().isOk());
  EXPECT_EQ(exported(*registry), std::set<std::string>{uuid});

  ASSERT_TRUE((*conn)->destroyDomain(*name).isOk());
  ASSERT_TRUE(inventory.pollOnce().isOk());
  EXPECT_TRUE(exported(*registry).empty());
}

}  // namespace
}  // namespace novacron::node
