// InformerClusterCache's change log of Hypervisors (ClusterCache::hypervisorChanges()), on the
// FakeClient's watches: what PlacementState relies on to re-read only the changed hypervisors.
#include "controller/cache/informer_cluster_cache.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;

bool reports(const HypervisorChanges& changes, const std::string& name) {
  return changes.names &&
         std::find(changes.names->begin(), changes.names->end(), name) != changes.names->end();
}

TEST(InformerClusterCacheTest, ReportsChangedHypervisorsOnlyOnceTheCacheHoldsTheChange) {
  auto client = std::make_shared<novacron::testing::FakeClient>();
  ASSERT_TRUE(
      ctltest::registerHypervisor(*client, ctltest::makeHypervisor("hv-a", 8, 16 * kGi)).isOk());
  InformerClusterCache cache(client);
  cache.start();
  ASSERT_TRUE(cache.waitForSync(std::chrono::seconds(10)));

  const HypervisorChanges first = cache.hypervisorChanges(0);
  EXPECT_FALSE(first.names.has_value());  // a first look reads them all
  EXPECT_GT(first.cursor, 0U);
  const HypervisorChanges none = cache.hypervisorChanges(first.cursor);
  ASSERT_TRUE(none.names.has_value());
  EXPECT_TRUE(none.names->empty());
  EXPECT_EQ(none.cursor, first.cursor);

  ASSERT_TRUE(
      ctltest::registerHypervisor(*client, ctltest::makeHypervisor("hv-b", 8, 16 * kGi)).isOk());
  HypervisorChanges added;
  // registerHypervisor() writes twice (create, then status): wait for both reports, or the second
  // could come after `added` and be taken for the deletion's below (it was, 2 runs in 80 under
  // load).
  ASSERT_TRUE(novacron::testing::eventually([&] {
    added = cache.hypervisorChanges(first.cursor);
    return added.names && std::count(added.names->begin(), added.names->end(), "hv-b") >= 2;
  }));
  ASSERT_NE(cache.hypervisor("hv-b"), nullptr);  // reported after the store holds it
  EXPECT_TRUE(cache.hypervisor("hv-b")->status.capacity.has_value());
  EXPECT_FALSE(reports(added, "hv-a"));

  ASSERT_TRUE(client->remove(kube::kHypervisor, "", "hv-b").isOk());
  HypervisorChanges removed;
  ASSERT_TRUE(novacron::testing::eventually([&] {
    removed = cache.hypervisorChanges(added.cursor);
    return reports(removed, "hv-b");
  }));
  EXPECT_EQ(cache.hypervisor("hv-b"), nullptr);

  EXPECT_FALSE(cache.hypervisorChanges(removed.cursor + 5).names.has_value());  // unknown cursor
  cache.stop();
}

}  // namespace
}  // namespace novacron::controller
