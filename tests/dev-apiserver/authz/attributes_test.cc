// Request attributes as kube-apiserver's RequestInfoFactory derives them.
#include "dev-apiserver/authz/attributes.h"

#include <gtest/gtest.h>

namespace novacron::devapi::authz {
namespace {

Attributes attrs(const std::string& method, const std::string& path,
                 std::map<std::string, std::string> query = {}) {
  return requestAttributes(method, path, query);
}

TEST(AttributesTest, VerbsFromMethodsAndQuery) {
  const std::string vms = "/apis/novacron.io/v1alpha1/namespaces/default/virtualmachines";
  EXPECT_EQ(attrs("GET", vms + "/a").verb, "get");
  EXPECT_EQ(attrs("HEAD", vms + "/a").verb, "get");
  EXPECT_EQ(attrs("GET", vms).verb, "list");
  EXPECT_EQ(attrs("GET", vms, {{"watch", "true"}}).verb, "watch");
  EXPECT_EQ(attrs("GET", vms, {{"watch", "1"}}).verb, "watch");
  EXPECT_EQ(attrs("GET", vms, {{"watch", ""}}).verb, "watch");  // kube: only 0/false are false
  EXPECT_EQ(attrs("GET", vms, {{"watch", "false"}}).verb, "list");
  EXPECT_EQ(attrs("GET", vms, {{"watch", "0"}}).verb, "list");
  EXPECT_EQ(attrs("POST", vms).verb, "create");
  EXPECT_EQ(attrs("PUT", vms + "/a").verb, "update");
  EXPECT_EQ(attrs("PATCH", vms + "/a").verb, "patch");
  EXPECT_EQ(attrs("DELETE", vms + "/a").verb, "delete");
  EXPECT_EQ(attrs("DELETE", vms).verb, "deletecollection");
  EXPECT_EQ(
      attrs("GET", "/apis/novacron.io/v1alpha1/watch/namespaces/default/virtualmachines").verb,
      "watch");
}

TEST(AttributesTest, ResourcePathsWithNamespacesNamesAndSubresources) {
  Attributes a =
      attrs("PUT", "/apis/novacron.io/v1alpha1/namespaces/ns1/virtualmachines/vm/status");
  EXPECT_TRUE(a.resource_request);
  EXPECT_EQ(a.api_group, "novacron.io");
  EXPECT_EQ(a.api_version, "v1alpha1");
  EXPECT_EQ(a.ns, "ns1");
  EXPECT_EQ(a.resource, "virtualmachines");
  EXPECT_EQ(a.name, "vm");
  EXPECT_EQ(a.subresource, "status");

  a = attrs("GET", "/apis/novacron.io/v1alpha1/hypervisors");
  EXPECT_EQ(a.ns, "");
  EXPECT_EQ(a.resource, "hypervisors");
  EXPECT_EQ(a.verb, "list");

  a = attrs("POST", "/api/v1/namespaces");
  EXPECT_EQ(a.api_group, "");
  EXPECT_EQ(a.resource, "namespaces");
  EXPECT_EQ(a.ns, "");
  EXPECT_EQ(a.verb, "create");

  // A namespace is in itself; status and finalize are its subresources.
  a = attrs("PUT", "/api/v1/namespaces/ns1/finalize");
  EXPECT_EQ(a.resource, "namespaces");
  EXPECT_EQ(a.name, "ns1");
  EXPECT_EQ(a.ns, "ns1");
  EXPECT_EQ(a.subresource, "finalize");

  a = attrs("POST", "/api/v1/namespaces/ns1/serviceaccounts/sa/token");
  EXPECT_EQ(a.resource, "serviceaccounts");
  EXPECT_EQ(a.subresource, "token");
  EXPECT_EQ(a.verb, "create");
}

TEST(AttributesTest, FieldSelectorOnTheNameNamesTheObject) {
  Attributes a = attrs("GET", "/api/v1/namespaces/ns/configmaps",
                       {{"watch", "true"}, {"fieldSelector", "metadata.name=cm1"}});
  EXPECT_EQ(a.verb, "watch");
  EXPECT_EQ(a.name, "cm1");
  a = attrs("GET", "/api/v1/namespaces/ns/configmaps", {{"fieldSelector", "metadata.name!=cm1"}});
  EXPECT_EQ(a.name, "");
}

TEST(AttributesTest, EverythingElseIsANonResourceRequest) {
  for (const char* p : {"/version", "/healthz", "/api", "/api/v1", "/apis", "/apis/novacron.io",
                        "/apis/novacron.io/v1alpha1", "/openapi/v3", "/"}) {
    Attributes a = attrs("GET", p);
    EXPECT_FALSE(a.resource_request) << p;
    EXPECT_EQ(a.verb, "get") << p;
    EXPECT_EQ(a.path, p);
  }
  EXPECT_EQ(attrs("POST", "/logs").verb, "post");
}

}  // namespace
}  // namespace novacron::devapi::authz
