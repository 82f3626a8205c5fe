// RBAC authorization as kube-apiserver does it, over raw HTTP: 403 Forbidden with kube's exact
// message, Roles/ClusterRoles and their bindings (subresources, resourceNames, service-account
// subjects, namespace scoping), SelfSubjectAccessReview and SubjectAccessReview, impersonation
// (allowed for the suite's administrator, refused to a service account), and service-account
// tokens from the TokenRequest API. The suite's own credentials must be a cluster administrator.
#include <gtest/gtest.h>

#include "lib/kube/config.h"
#include "lib/kube/cpprestsdk_transport.h"
#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

using namespace std::chrono_literals;

Cluster& c() {
  return Cluster::get();
}

const std::string kRbac = "/apis/rbac.authorization.k8s.io/v1";

std::string saUser(const std::string& name) {
  return "system:serviceaccount:" + c().ns() + ":" + name;
}

// A Role in the suite namespace and a RoleBinding of it to ServiceAccount `sa` there.
void grant(const std::string& name, const std::string& sa, const Json& rules) {
  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "Role"},
               {"metadata", {{"name", name}}},
               {"rules", rules}};
  Response r = c().api().post(kRbac + "/namespaces/" + c().ns() + "/roles", role);
  ASSERT_EQ(r.status, 201) << r.raw;
  Json binding = {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "RoleBinding"},
      {"metadata", {{"name", name}}},
      {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name}}},
      {"subjects", {{{"kind", "ServiceAccount"}, {"name", sa}}}}};
  r = c().api().post(kRbac + "/namespaces/" + c().ns() + "/rolebindings", binding);
  ASSERT_EQ(r.status, 201) << r.raw;
}

Json ssar(const Json& resource_attributes) {
  return {{"apiVersion", "authorization.k8s.io/v1"},
          {"kind", "SelfSubjectAccessReview"},
          {"spec", {{"resourceAttributes", resource_attributes}}}};
}

const std::string kSsar = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

TEST(RbacTest, RbacTypesAndAccessReviewsAreDiscoverable) {
  Response r = c().api().get(kRbac);
  ASSERT_EQ(r.status, 200) << r.raw;
  std::set<std::string> names;
  for (const auto& res : r.body["resources"]) {
    names.insert(res["name"].get<std::string>());
  }
  for (const char* n : {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}) {
    EXPECT_TRUE(names.count(n)) << n << " in " << r.raw;
  }
  r = c().api().get("/apis/authorization.k8s.io/v1");
  ASSERT_EQ(r.status, 200) << r.raw;
  bool found = false;
  for (const auto& res : r.body["resources"]) {
    if (res["name"] == "selfsubjectaccessreviews") {
      found = true;
      EXPECT_EQ(res["verbs"], Json::array({"create"}));
    }
  }
  EXPECT_TRUE(found) << r.raw;
}

TEST(RbacTest, AUserWithoutBindingsIsForbiddenInKubesWords) {
  const std::string user = c().uniqueName("conformance-nobody");
  Api nobody = c().api().as(user);
  Response r = nobody.get(c().widgets());
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["kind"], "Status");
  EXPECT_EQ(r.body["reason"], "Forbidden");
  EXPECT_EQ(r.body["message"], "widgets.conformance.novacron.io is forbidden: User \"" + user +
                                   "\" cannot list resource \"widgets\" in API group \"" + kGroup +
                                   "\" in the namespace \"" + c().ns() + "\"");
  EXPECT_EQ(r.body["details"]["group"], kGroup);
  EXPECT_EQ(r.body["details"]["kind"], "widgets");

  r = nobody.get(c().widget("w1"));
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["message"], "widgets.conformance.novacron.io \"w1\" is forbidden: User \"" +
                                   user + "\" cannot get resource \"widgets\" in API group \"" +
                                   kGroup + "\" in the namespace \"" + c().ns() + "\"");
  r = nobody.post(
      "/api/v1/namespaces",
      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "x-" + user}}}});
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["message"], "namespaces is forbidden: User \"" + user +
                                   "\" cannot create resource \"namespaces\" in API group \"\" at "
                                   "the cluster scope");
  r = nobody.get(c().widgets() + "?watch=true");
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.body.value("message", "").find("cannot watch resource \"widgets\""),
            std::string::npos)
      << r.raw;
  // Discovery and /version stay open to every authenticated user (bootstrap policy).
  EXPECT_EQ(nobody.get("/apis").status, 200);
  EXPECT_EQ(nobody.get("/version").status, 200);
}

TEST(RbacTest, RoleRulesAreEnforcedVerbByVerbWithSubresourcesAndNames) {
  const std::string sa = c().uniqueName("conformance-sa");
  grant(sa, sa,
        {{{"apiGroups", {kGroup}}, {"resources", {"widgets"}}, {"verbs", {"get", "list"}}},
         {{"apiGroups", {kGroup}}, {"resources", {"widgets/status"}}, {"verbs", {"update"}}},
         {{"apiGroups", {""}},
          {"resources", {"configmaps"}},
          {"resourceNames", {sa + "-mine"}},
          {"verbs", {"get", "delete"}}}});
  const std::string w = c().uniqueName("rbac-w");
  Response created = c().api().post(c().widgets(), widgetObject(w, {{"size", 1}}));
  ASSERT_EQ(created.status, 201) << created.raw;
  for (const char* cm : {"-mine", "-other"}) {
    Response r = c().api().post(
        c().core("configmaps"),
        {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", sa + cm}}}});
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  Api as_sa = c().api().as(saUser(sa));
  // Bindings may take a moment to reach a real API server's authorizer cache.
  ASSERT_TRUE(eventually([&] { return as_sa.get(c().widget(w)).status == 200; }, 30s));
  EXPECT_EQ(as_sa.get(c().widgets()).status, 200);
  Json obj = as_sa.get(c().widget(w)).body;

  Response r = as_sa.put(c().widget(w), obj);
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["message"], "widgets.conformance.novacron.io \"" + w +
                                   "\" is forbidden: User \"" + saUser(sa) +
                                   "\" cannot update resource \"widgets\" in API group \"" +
                                   kGroup + "\" in the namespace \"" + c().ns() + "\"");
  EXPECT_EQ(as_sa.patch(c().widget(w), {{"spec", {{"size", 2}}}}).status, 403);
  EXPECT_EQ(as_sa.del(c().widget(w)).status, 403);
  EXPECT_EQ(as_sa.del(c().widgets()).status, 403);  // deletecollection
  EXPECT_EQ(as_sa.post(c().widgets(), widgetObject(w + "-2", {{"size", 1}})).status, 403);
  r = as_sa.patch(c().widget(w) + "/status", {{"status", {{"phase", "Up"}}}});
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.body.value("message", "").find("cannot patch resource \"widgets/status\""),
            std::string::npos)
      << r.raw;
  obj["status"] = {{"phase", "Up"}};
  r = as_sa.put(c().widget(w) + "/status", obj);
  EXPECT_EQ(r.status, 200) << r.raw;

  // resourceNames: only the named ConfigMap, and never a list.
  EXPECT_EQ(as_sa.get(c().core("configmaps", sa + "-mine")).status, 200);
  EXPECT_EQ(as_sa.get(c().core("configmaps", sa + "-other")).status, 403);
  EXPECT_EQ(as_sa.get(c().core("configmaps")).status, 403);
  EXPECT_EQ(as_sa.del(c().core("configmaps", sa + "-other")).status, 403);
  EXPECT_EQ(as_sa.del(c().core("configmaps", sa + "-mine")).status, 200);

  // The Role is namespaced: the same service account name in another namespace gets nothing,
  // and cluster-wide requests are not covered.
  EXPECT_EQ(as_sa.get("/apis/" + std::string(kGroup) + "/v1/widgets").status, 403);
  EXPECT_EQ(c().api().as("system:serviceaccount:default:" + sa).get(c().widget(w)).status, 403);

  // Removing the binding revokes the rights.
  EXPECT_EQ(c().api().del(kRbac + "/namespaces/" + c().ns() + "/rolebindings/" + sa).status, 200);
  EXPECT_TRUE(eventually([&] { return as_sa.get(c().widget(w)).status == 403; }, 30s));
}

TEST(RbacTest, ClusterRoleBindingToAServiceAccountGroup) {
  const std::string name = c().uniqueName("conformance-crb");
  Json role = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
               {"kind", "ClusterRole"},
               {"metadata", {{"name", name}}},
               {"rules", {{{"apiGroups", {kGroup}}, {"resources", {"*"}}, {"verbs", {"*"}}}}}};
  ASSERT_EQ(c().api().post(kRbac + "/clusterroles", role).status, 201);
  Json binding = {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "ClusterRoleBinding"},
      {"metadata", {{"name", name}}},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
      {"subjects",
       {{{"apiGroup", "rbac.authorization.k8s.io"},
         {"kind", "Group"},
         {"name", "system:serviceaccounts:" + c().ns()}}}}};
  ASSERT_EQ(c().api().post(kRbac + "/clusterrolebindings", binding).status, 201);
  // Impersonating a service account without groups gives it its service-account groups.
  Api any_sa = c().api().as(saUser(c().uniqueName("any")));
  EXPECT_TRUE(eventually(
      [&] { return any_sa.get("/apis/" + std::string(kGroup) + "/v1/widgets").status == 200; },
      30s));
  Api other_ns = c().api().as("system:serviceaccount:default:x");
  EXPECT_EQ(other_ns.get(c().widgets()).status, 403);
  EXPECT_EQ(any_sa.get(c().core("configmaps")).status, 403);
  EXPECT_EQ(c().api().del(kRbac + "/clusterrolebindings/" + name).status, 200);
  EXPECT_EQ(c().api().del(kRbac + "/clusterroles/" + name).status, 200);
}

TEST(RbacTest, SelfSubjectAccessReviewAnswersForTheImpersonatedUser) {
  const std::string sa = c().uniqueName("conformance-ssar");
  grant(sa, sa,
        {{{"apiGroups", {kGroup}}, {"resources", {"widgets/status"}}, {"verbs", {"update"}}}});
  Api as_sa = c().api().as(saUser(sa));
  Json allowed = {{"namespace", c().ns()},
                  {"verb", "update"},
                  {"group", kGroup},
                  {"resource", "widgets"},
                  {"subresource", "status"}};
  ASSERT_TRUE(eventually(
      [&] {
        Response r = as_sa.post(kSsar, ssar(allowed));
        return r.status == 201 && r.body["status"].value("allowed", false);
      },
      30s));
  Response r = as_sa.post(kSsar, ssar(allowed));
  EXPECT_EQ(r.body["kind"], "SelfSubjectAccessReview");
  Json main = allowed;
  main.erase("subresource");
  r = as_sa.post(kSsar, ssar(main));
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_FALSE(r.body["status"].value("allowed", true)) << r.raw;
  Json all_ns = allowed;
  all_ns["namespace"] = "";
  EXPECT_FALSE(as_sa.post(kSsar, ssar(all_ns)).body["status"].value("allowed", true));
  // Non-resource: health endpoints are open to everyone, the root of the API tree is not.
  Json health = {{"apiVersion", "authorization.k8s.io/v1"},
                 {"kind", "SelfSubjectAccessReview"},
                 {"spec", {{"nonResourceAttributes", {{"path", "/healthz"}, {"verb", "get"}}}}}};
  EXPECT_TRUE(as_sa.post(kSsar, health).body["status"].value("allowed", false));
  // An invalid spec.
  r = as_sa.post(kSsar, {{"apiVersion", "authorization.k8s.io/v1"},
                         {"kind", "SelfSubjectAccessReview"},
                         {"spec", Json::object()}});
  EXPECT_EQ(r.status, 422) << r.raw;
  // The administrator may do anything.
  r = c().api().post(kSsar, ssar({{"verb", "delete"}, {"resource", "namespaces"}}));
  EXPECT_TRUE(r.body["status"].value("allowed", false)) << r.raw;

  // SubjectAccessReview: the administrator asks about the service account.
  Json sar = {{"apiVersion", "authorization.k8s.io/v1"},
              {"kind", "SubjectAccessReview"},
              {"spec",
               {{"user", saUser(sa)},
                {"groups", {"system:serviceaccounts", "system:serviceaccounts:" + c().ns()}},
                {"resourceAttributes", allowed}}}};
  r = c().api().post("/apis/authorization.k8s.io/v1/subjectaccessreviews", sar);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_TRUE(r.body["status"].value("allowed", false)) << r.raw;
  sar["spec"]["resourceAttributes"] = main;
  r = c().api().post("/apis/authorization.k8s.io/v1/subjectaccessreviews", sar);
  EXPECT_FALSE(r.body["status"].value("allowed", true)) << r.raw;
}

TEST(RbacTest, ServiceAccountTokensAuthenticateAndMayNotImpersonate) {
  const std::string sa = c().uniqueName("conformance-token");
  Response r = c().api().post(
      c().core("serviceaccounts"),
      {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", sa}}}});
  ASSERT_EQ(r.status, 201) << r.raw;
  r = c().api().post(c().core("serviceaccounts", sa) + "/token",
                     {{"apiVersion", "authentication.k8s.io/v1"},
                      {"kind", "TokenRequest"},
                      {"spec", {{"expirationSeconds", 600}}}});
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["kind"], "TokenRequest");
  std::string token = r.body["status"].value("token", "");
  ASSERT_FALSE(token.empty()) << r.raw;
  EXPECT_EQ(c().api()
                .post(c().core("serviceaccounts", sa) + "/token",
                      {{"apiVersion", "authentication.k8s.io/v1"},
                       {"kind", "TokenRequest"},
                       {"spec", {{"expirationSeconds", 60}}}})
                .status,
            422);
  EXPECT_EQ(
      c().api().post(c().core("serviceaccounts", "no-such-sa") + "/token", Json::object()).status,
      404);

  kube::ConfigSources sources;
  sources.kubeconfig_flag = c().kubeconfigPath();
  auto config = kube::loadConfig(sources);
  ASSERT_TRUE(config.isOk()) << config.status();
  kube::Config with_token = *config;
  with_token.token = token;
  with_token.token_file.clear();
  with_token.client_cert_pem.clear();
  with_token.client_key_pem.clear();
  auto transport = kube::newCpprestsdkTransport(with_token);
  ASSERT_TRUE(transport.isOk()) << transport.status();
  Api as_sa(**transport);
  r = as_sa.post(kSsar, ssar({{"namespace", c().ns()}, {"verb", "list"}, {"resource", "pods"}}));
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_FALSE(r.body["status"].value("allowed", true));
  r = as_sa.get(c().widgets());
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_NE(r.body.value("message", "").find("User \"" + saUser(sa) + "\""), std::string::npos)
      << r.raw;
  // A service account may not impersonate anyone.
  r = as_sa.as("admin", {"system:masters"}).get(c().widgets());
  ASSERT_EQ(r.status, 403) << r.raw;
  EXPECT_EQ(r.body["message"], "users \"admin\" is forbidden: User \"" + saUser(sa) +
                                   "\" cannot impersonate resource \"users\" in API group \"\" at "
                                   "the cluster scope");
  // Deleting the ServiceAccount revokes its tokens.
  ASSERT_EQ(c().api().del(c().core("serviceaccounts", sa)).status, 200);
  EXPECT_TRUE(eventually([&] { return as_sa.get(c().widgets()).status == 401; }, 30s));
}

}  // namespace
}  // namespace novacron::conformance
