// Resource paths and query escaping.
#include "lib/kube/resource.h"

#include <gtest/gtest.h>

namespace novacron::kube {
namespace {

TEST(ResourceTest, CoreGroupPaths) {
  EXPECT_EQ(resourcePath(kConfigMap, "ns", "cfg"), "/api/v1/namespaces/ns/configmaps/cfg");
  EXPECT_EQ(resourcePath(kConfigMap, "ns"), "/api/v1/namespaces/ns/configmaps");
  EXPECT_EQ(resourcePath(kConfigMap, ""), "/api/v1/configmaps");
  EXPECT_EQ(resourcePath(kNamespace, "ignored", "default"), "/api/v1/namespaces/default");
  EXPECT_EQ(kCoreEvent.apiVersion(), "v1");
}

TEST(ResourceTest, NamedGroupPaths) {
  EXPECT_EQ(resourcePath(kVirtualMachine, "default", "vm-1", "status"),
            "/apis/novacron.io/v1alpha1/namespaces/default/virtualmachines/vm-1/status");
  EXPECT_EQ(resourcePath(kHypervisor, "", "node-a"),
            "/apis/novacron.io/v1alpha1/hypervisors/node-a");
  EXPECT_EQ(resourcePath(kLease, "kube-system", "novacron-controller"),
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/novacron-controller");
  EXPECT_EQ(kVMMigration.apiVersion(), "novacron.io/v1alpha1");
  EXPECT_EQ(kVirtualMachine.qualifiedName(), "virtualmachines.novacron.io");
  EXPECT_EQ(kSecret.qualifiedName(), "secrets");
}

TEST(ResourceTest, Escaping) {
  EXPECT_EQ(urlEscape("app=web,tier in (a,b)"), "app%3Dweb%2Ctier%20in%20%28a%2Cb%29");
  EXPECT_EQ(urlEscape("a-b.c_d~e"), "a-b.c_d~e");
  EXPECT_EQ(urlEscape("novacron.io/hypervisor"), "novacron.io%2Fhypervisor");
  EXPECT_EQ(buildQuery({}), "");
  EXPECT_EQ(buildQuery({{"labelSelector", "a=b"}, {"limit", "5"}}), "?labelSelector=a%3Db&limit=5");
  EXPECT_EQ(resourcePath(kConfigMap, "n s", "a/b"), "/api/v1/namespaces/n%20s/configmaps/a%2Fb");
}

}  // namespace
}  // namespace novacron::kube
