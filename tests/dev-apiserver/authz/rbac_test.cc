// RBAC evaluation (authz/rbac.h) against kube's rules, and the 403 bodies (authz/forbidden.h).
#include "dev-apiserver/authz/rbac.h"

#include <gtest/gtest.h>

#include "dev-apiserver/authz/forbidden.h"
#include "tests/dev-apiserver/authz/fake_policy_source.h"

namespace novacron::devapi::authz {
namespace {

using nlohmann::json;
using testing::binding;
using testing::FakePolicySource;
using testing::role;

authn::UserInfo serviceAccount(const std::string& ns, const std::string& name) {
  authn::UserInfo u;
  u.name = authn::serviceAccountUsername(ns, name);
  u.groups = authn::serviceAccountGroups(ns);
  u.groups.push_back(authn::kAllAuthenticated);
  return u;
}

authn::UserInfo user(const std::string& name, std::vector<std::string> groups = {}) {
  authn::UserInfo u;
  u.name = name;
  u.groups = std::move(groups);
  return u;
}

Attributes resource(const authn::UserInfo& u, const std::string& verb, const std::string& group,
                    const std::string& res, const std::string& ns = "",
                    const std::string& name = "", const std::string& sub = "") {
  Attributes a;
  a.user = u;
  a.verb = verb;
  a.resource_request = true;
  a.api_group = group;
  a.api_version = "v1";
  a.resource = res;
  a.subresource = sub;
  a.ns = ns;
  a.name = name;
  return a;
}

Attributes nonResource(const authn::UserInfo& u, const std::string& verb, const std::string& path) {
  Attributes a;
  a.user = u;
  a.verb = verb;
  a.path = path;
  return a;
}

PolicyRule rule(std::vector<std::string> verbs, std::vector<std::string> groups,
                std::vector<std::string> resources, std::vector<std::string> names = {}) {
  return {std::move(verbs), std::move(groups), std::move(resources), std::move(names), {}};
}

TEST(RuleAllowsTest, VerbsGroupsResourcesAndWildcards) {
  auto u = user("u");
  auto get_vm = resource(u, "get", "novacron.io", "virtualmachines", "ns", "vm");
  EXPECT_TRUE(ruleAllows(get_vm, rule({"get"}, {"novacron.io"}, {"virtualmachines"})));
  EXPECT_TRUE(ruleAllows(get_vm, rule({"*"}, {"novacron.io"}, {"virtualmachines"})));
  EXPECT_TRUE(ruleAllows(get_vm, rule({"get"}, {"*"}, {"*"})));
  EXPECT_FALSE(ruleAllows(get_vm, rule({"list", "watch"}, {"novacron.io"}, {"virtualmachines"})));
  EXPECT_FALSE(ruleAllows(get_vm, rule({"get"}, {""}, {"virtualmachines"})));
  EXPECT_FALSE(ruleAllows(get_vm, rule({"get"}, {"novacron.io"}, {"hypervisors"})));
  EXPECT_FALSE(ruleAllows(get_vm, rule({}, {"novacron.io"}, {"virtualmachines"})));
  // A wildcard verb is not a prefix match: "get*" is just a strange verb name.
  EXPECT_FALSE(ruleAllows(get_vm, rule({"g*"}, {"novacron.io"}, {"virtualmachines"})));
}

TEST(RuleAllowsTest, SubresourcesMustBeNamed) {
  auto u = user("u");
  auto status = resource(u, "update", "novacron.io", "virtualmachines", "ns", "vm", "status");
  EXPECT_FALSE(ruleAllows(status, rule({"update"}, {"novacron.io"}, {"virtualmachines"})));
  EXPECT_TRUE(ruleAllows(status, rule({"update"}, {"novacron.io"}, {"virtualmachines/status"})));
  EXPECT_TRUE(ruleAllows(status, rule({"update"}, {"novacron.io"}, {"*/status"})));
  EXPECT_TRUE(ruleAllows(status, rule({"update"}, {"novacron.io"}, {"*"})));
  EXPECT_FALSE(ruleAllows(status, rule({"update"}, {"novacron.io"}, {"*/scale"})));
  EXPECT_FALSE(ruleAllows(status, rule({"update"}, {"novacron.io"}, {"virtualmachines/*"})));
  // ... and the status rule does not allow the main resource.
  auto main = resource(u, "update", "novacron.io", "virtualmachines", "ns", "vm");
  EXPECT_FALSE(ruleAllows(main, rule({"update"}, {"novacron.io"}, {"virtualmachines/status"})));
  EXPECT_FALSE(ruleAllows(main, rule({"update"}, {"novacron.io"}, {"*/status"})));
}

TEST(RuleAllowsTest, ResourceNamesLimitNamedRequestsOnly) {
  auto u = user("u");
  auto r = rule({"get", "list", "update"}, {"coordination.k8s.io"}, {"leases"}, {"leader"});
  EXPECT_TRUE(ruleAllows(resource(u, "get", "coordination.k8s.io", "leases", "ns", "leader"), r));
  EXPECT_FALSE(ruleAllows(resource(u, "get", "coordination.k8s.io", "leases", "ns", "other"), r));
  // A list has no name, so a rule with resourceNames never allows it (as in kube).
  EXPECT_FALSE(ruleAllows(resource(u, "list", "coordination.k8s.io", "leases", "ns"), r));
}

TEST(RuleAllowsTest, NonResourceUrls) {
  auto u = user("u");
  PolicyRule r{{"get"}, {}, {}, {}, {"/healthz", "/apis/*"}};
  EXPECT_TRUE(ruleAllows(nonResource(u, "get", "/healthz"), r));
  EXPECT_FALSE(ruleAllows(nonResource(u, "get", "/healthz/etcd"), r));
  EXPECT_TRUE(ruleAllows(nonResource(u, "get", "/apis/novacron.io/v1alpha1"), r));
  EXPECT_FALSE(ruleAllows(nonResource(u, "get", "/apis"), r));
  EXPECT_FALSE(ruleAllows(nonResource(u, "post", "/healthz"), r));
  PolicyRule all{{"*"}, {}, {}, {}, {"*"}};
  EXPECT_TRUE(ruleAllows(nonResource(u, "delete", "/anything"), all));
  // Resource rules never allow non-resource requests and vice versa.
  EXPECT_FALSE(ruleAllows(nonResource(u, "get", "/healthz"), rule({"*"}, {"*"}, {"*"})));
  EXPECT_FALSE(ruleAllows(resource(u, "get", "", "pods", "ns", "p"), r));
}

TEST(AppliesToTest, SubjectsOfEachKind) {
  auto sa = serviceAccount("novacron-system", "node-daemon");
  EXPECT_TRUE(appliesTo(sa, {"ServiceAccount", "node-daemon", "novacron-system"}, ""));
  EXPECT_FALSE(appliesTo(sa, {"ServiceAccount", "node-daemon", "other"}, ""));
  // A ServiceAccount subject without a namespace takes the RoleBinding's; in a
  // ClusterRoleBinding it matches no one.
  EXPECT_TRUE(appliesTo(sa, {"ServiceAccount", "node-daemon", ""}, "novacron-system"));
  EXPECT_FALSE(appliesTo(sa, {"ServiceAccount", "node-daemon", ""}, ""));
  EXPECT_TRUE(appliesTo(sa, {"Group", "system:serviceaccounts", ""}, ""));
  EXPECT_TRUE(appliesTo(sa, {"Group", "system:serviceaccounts:novacron-system", ""}, ""));
  EXPECT_FALSE(appliesTo(sa, {"Group", "system:serviceaccounts:default", ""}, ""));
  EXPECT_TRUE(appliesTo(sa, {"Group", "system:authenticated", ""}, ""));
  EXPECT_TRUE(appliesTo(sa, {"User", "system:serviceaccount:novacron-system:node-daemon", ""}, ""));
  EXPECT_FALSE(appliesTo(user("alice"), {"User", "bob", ""}, ""));
  EXPECT_FALSE(appliesTo(user("alice"), {"Robot", "alice", ""}, ""));
}

class RbacAuthorizerTest : public ::testing::Test {
protected:
  void SetUp() override {
    source_ = std::make_shared<FakePolicySource>();
    authorizer_ = std::make_unique<RbacAuthorizer>(source_);
  }
  Decision authorize(const Attributes& a) { return authorizer_->authorize(a); }

  std::shared_ptr<FakePolicySource> source_;
  std::unique_ptr<RbacAuthorizer> authorizer_;
};

TEST_F(RbacAuthorizerTest, NothingIsAllowedWithoutABinding) {
  Decision d = authorize(resource(user("alice"), "get", "", "configmaps", "ns", "cm"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "");
}

TEST_F(RbacAuthorizerTest, ClusterRoleBindingAppliesEverywhereWithItsReason) {
  source_->add(role("ClusterRole", "vm-reader", "",
                    {{{"apiGroups", {"novacron.io"}},
                      {"resources", {"virtualmachines"}},
                      {"verbs", {"get", "list", "watch"}}}}));
  source_->add(binding("ClusterRoleBinding", "nd", "", "ClusterRole", "vm-reader",
                       {{{"kind", "ServiceAccount"}, {"name", "nd"}, {"namespace", "sys"}}}));
  auto sa = serviceAccount("sys", "nd");
  Decision d = authorize(resource(sa, "list", "novacron.io", "virtualmachines"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: allowed by ClusterRoleBinding \"nd\" of ClusterRole \"vm-reader\" to "
            "ServiceAccount \"nd/sys\"");
  EXPECT_TRUE(authorize(resource(sa, "get", "novacron.io", "virtualmachines", "t1", "v")).allowed);
  EXPECT_FALSE(
      authorize(resource(sa, "update", "novacron.io", "virtualmachines", "t1", "v")).allowed);
  EXPECT_FALSE(
      authorize(resource(serviceAccount("other", "nd"), "list", "novacron.io", "virtualmachines"))
          .allowed);
}

TEST_F(RbacAuthorizerTest, RoleBindingsApplyOnlyInTheirNamespace) {
  source_->add(role("Role", "leases", "lease-ns",
                    {{{"apiGroups", {"coordination.k8s.io"}},
                      {"resources", {"leases"}},
                      {"verbs", {"get", "create", "update"}}}}));
  source_->add(binding("RoleBinding", "hb", "lease-ns", "Role", "leases",
                       {{{"kind", "ServiceAccount"}, {"name", "nd"}}}));
  source_->add(binding("RoleBinding", "hb", "lease-ns-2", "Role", "leases",
                       {{{"kind", "ServiceAccount"}, {"name", "nd"}}}));
  auto in_ns = serviceAccount("lease-ns", "nd");
  Decision d =
      authorize(resource(in_ns, "update", "coordination.k8s.io", "leases", "lease-ns", "n"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: allowed by RoleBinding \"hb/lease-ns\" of Role \"leases\" to ServiceAccount "
            "\"nd/lease-ns\"");
  EXPECT_FALSE(
      authorize(resource(in_ns, "update", "coordination.k8s.io", "leases", "other", "n")).allowed);
  // Cluster-wide (all namespaces) requests are never allowed by a RoleBinding.
  EXPECT_FALSE(authorize(resource(in_ns, "list", "coordination.k8s.io", "leases")).allowed);
  // The binding in lease-ns-2 points at a Role that does not exist there: the reason says so.
  auto sa2 = serviceAccount("lease-ns-2", "nd");
  d = authorize(resource(sa2, "get", "coordination.k8s.io", "leases", "lease-ns-2", "n"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "RBAC: role.rbac.authorization.k8s.io \"leases\" not found");
}

TEST_F(RbacAuthorizerTest, RoleBindingToAClusterRoleIsLimitedToItsNamespace) {
  source_->add(role(
      "ClusterRole", "edit-vms", "",
      {{{"apiGroups", {"novacron.io"}}, {"resources", {"virtualmachines"}}, {"verbs", {"*"}}}}));
  source_->add(binding("RoleBinding", "alice-edit", "team-a", "ClusterRole", "edit-vms",
                       {{{"kind", "User"}, {"name", "alice"}}}));
  source_->add(binding("ClusterRoleBinding", "broken", "", "ClusterRole", "missing",
                       {{{"kind", "Group"}, {"name", "devs"}}}));
  auto alice = user("alice", {"devs"});
  EXPECT_TRUE(authorize(resource(alice, "delete", "novacron.io", "virtualmachines", "team-a", "v"))
                  .allowed);
  Decision d =
      authorize(resource(alice, "delete", "novacron.io", "virtualmachines", "team-b", "v"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "RBAC: clusterrole.rbac.authorization.k8s.io \"missing\" not found");
}

TEST_F(RbacAuthorizerTest, GroupsIncludingServiceAccountGroups) {
  source_->add(
      role("ClusterRole", "discovery", "",
           {{{"nonResourceURLs", {"/api", "/api/*", "/apis", "/apis/*"}}, {"verbs", {"get"}}}}));
  source_->add(binding("ClusterRoleBinding", "discovery", "", "ClusterRole", "discovery",
                       {{{"kind", "Group"}, {"name", "system:serviceaccounts:sys"}}}));
  EXPECT_TRUE(
      authorize(nonResource(serviceAccount("sys", "a"), "get", "/apis/novacron.io")).allowed);
  EXPECT_FALSE(authorize(nonResource(serviceAccount("app", "a"), "get", "/apis")).allowed);
}

TEST(PrivilegedGroupsTest, SystemMastersBypassesRbac) {
  auto source = std::make_shared<FakePolicySource>();
  PrivilegedGroupsThen authorizer(std::make_shared<RbacAuthorizer>(source));
  EXPECT_TRUE(
      authorizer
          .authorize(resource(authn::adminUser("admin"), "delete", "", "namespaces", "x", "x"))
          .allowed);
  EXPECT_FALSE(
      authorizer.authorize(resource(user("admin"), "delete", "", "namespaces", "x", "x")).allowed);
}

TEST(ForbiddenTest, KubeApiserverWording) {
  auto sa = serviceAccount("novacron-system", "novacron-node-daemon");
  json s = forbiddenStatus(
      resource(sa, "update", "novacron.io", "virtualmachines", "default", "vm1"), "");
  EXPECT_EQ(s["code"], 403);
  EXPECT_EQ(s["reason"], "Forbidden");
  EXPECT_EQ(s["status"], "Failure");
  EXPECT_EQ(s["message"],
            "virtualmachines.novacron.io \"vm1\" is forbidden: User "
            "\"system:serviceaccount:novacron-system:novacron-node-daemon\" cannot update "
            "resource \"virtualmachines\" in API group \"novacron.io\" in the namespace "
            "\"default\"");
  EXPECT_EQ(s["details"],
            (json{{"name", "vm1"}, {"group", "novacron.io"}, {"kind", "virtualmachines"}}));

  s = forbiddenStatus(resource(sa, "create", "", "namespaces"), "");
  EXPECT_EQ(s["message"],
            "namespaces is forbidden: User "
            "\"system:serviceaccount:novacron-system:novacron-node-daemon\" cannot create "
            "resource \"namespaces\" in API group \"\" at the cluster scope");
  EXPECT_EQ(s["details"], (json{{"kind", "namespaces"}}));

  s = forbiddenStatus(resource(sa, "update", "novacron.io", "hypervisors", "", "hv-1", "status"),
                      "RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found");
  EXPECT_EQ(s["message"],
            "hypervisors.novacron.io \"hv-1\" is forbidden: User "
            "\"system:serviceaccount:novacron-system:novacron-node-daemon\" cannot update "
            "resource \"hypervisors/status\" in API group \"novacron.io\" at the cluster scope: "
            "RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found");

  s = forbiddenStatus(nonResource(user("bob"), "get", "/metrics"), "");
  EXPECT_EQ(s["message"], "forbidden: User \"bob\" cannot get path \"/metrics\"");
  EXPECT_EQ(s["details"], json::object());
}

}  // namespace
}  // namespace novacron::devapi::authz
