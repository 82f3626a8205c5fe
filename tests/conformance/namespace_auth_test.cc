// Namespace deletion, deletion propagation policies, events.k8s.io/v1, /version, and that the API
// refuses unauthenticated clients.
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

Json configMap(const std::string& name, const Json& owner = Json()) {
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", name}}},
             {"data", {{"k", "v"}}}};
  if (!owner.is_null()) {
    cm["metadata"]["ownerReferences"] = {{{"apiVersion", kWidgetApiVersion},
                                          {"kind", "Widget"},
                                          {"name", owner["metadata"]["name"]},
                                          {"uid", owner["metadata"]["uid"]}}};
  }
  return cm;
}

TEST(VersionTest, ServesVersionInfo) {
  Response r = c().api().get("/version");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_FALSE(r.body.value("gitVersion", "").empty()) << r.raw;
  EXPECT_FALSE(r.body.value("major", "").empty()) << r.raw;
}

TEST(AuthTest, UnauthenticatedRequestsAreRefused) {
  kube::ConfigSources sources;
  sources.kubeconfig_flag = c().kubeconfigPath();
  auto config = kube::loadConfig(sources);
  ASSERT_TRUE(config.isOk()) << config.status();
  kube::Config anonymous = *config;
  anonymous.token.clear();
  anonymous.token_file.clear();
  anonymous.client_cert_pem.clear();
  anonymous.client_key_pem.clear();
  auto transport = kube::newCpprestsdkTransport(anonymous);
  ASSERT_TRUE(transport.isOk()) << transport.status();
  Api api(**transport);
  Response r = api.get(c().widgets());
  // 401 without anonymous auth; 403 where anonymous requests are enabled but not authorized.
  EXPECT_TRUE(r.status == 401 || r.status == 403) << r.status << " " << r.raw;
  EXPECT_EQ(r.body.value("kind", ""), "Status") << r.raw;
}

TEST(EventsTest, EventsK8sIoV1) {
  const std::string name = c().uniqueName("ev");
  Json ev = {{"apiVersion", "events.k8s.io/v1"},
             {"kind", "Event"},
             {"metadata", {{"name", name}}},
             {"eventTime", "2026-01-01T00:00:00.000000Z"},
             {"reportingController", "novacron.io/conformance"},
             {"reportingInstance", "conformance-1"},
             {"action", "Testing"},
             {"reason", "Tested"},
             {"type", "Normal"},
             {"note", "hello"},
             {"regarding",
              {{"apiVersion", kWidgetApiVersion},
               {"kind", "Widget"},
               {"name", "w"},
               {"namespace", c().ns()}}}};
  const std::string path = "/apis/events.k8s.io/v1/namespaces/" + c().ns() + "/events";
  Response r = c().api().post(path, ev);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["note"], "hello");
  Response got = c().api().get(path + "/" + name);
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(got.body["reason"], "Tested");
}

TEST(PropagationTest, OrphanKeepsDependentsAndDropsTheirOwnerReference) {
  Response owner =
      c().api().post(c().widgets(), widgetObject(c().uniqueName("orphan-owner"), {{"size", 1}}));
  ASSERT_EQ(owner.status, 201) << owner.raw;
  const std::string cm = c().uniqueName("orphan-dep");
  ASSERT_EQ(c().api().post(c().core("configmaps"), configMap(cm, owner.body)).status, 201);
  Response del = c().api().del(
      c().widget(owner.body["metadata"]["name"]),
      {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"propagationPolicy", "Orphan"}});
  ASSERT_TRUE(del.status == 200 || del.status == 202) << del.raw;
  EXPECT_TRUE(eventually(
      [&] { return c().api().get(c().widget(owner.body["metadata"]["name"])).status == 404; },
      60s));
  EXPECT_TRUE(eventually(
      [&] {
        Response dep = c().api().get(c().core("configmaps", cm));
        return dep.status == 200 &&
               dep.body["metadata"].value("ownerReferences", Json::array()).empty();
      },
      60s))
      << "orphaned dependent was deleted or kept its ownerReference";
  EXPECT_EQ(c().api().get(c().core("configmaps", cm)).status, 200);
}

TEST(PropagationTest, ForegroundDeletesDependentsFirst) {
  Response owner =
      c().api().post(c().widgets(), widgetObject(c().uniqueName("fg-owner"), {{"size", 1}}));
  ASSERT_EQ(owner.status, 201) << owner.raw;
  const std::string cm = c().uniqueName("fg-dep");
  Json dep = configMap(cm, owner.body);
  dep["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = true;
  ASSERT_EQ(c().api().post(c().core("configmaps"), dep).status, 201);
  Response del = c().api().del(
      c().widget(owner.body["metadata"]["name"]),
      {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"propagationPolicy", "Foreground"}});
  ASSERT_TRUE(del.status == 200 || del.status == 202) << del.raw;
  EXPECT_TRUE(eventually(
      [&] {
        return c().api().get(c().core("configmaps", cm)).status == 404 &&
               c().api().get(c().widget(owner.body["metadata"]["name"])).status == 404;
      },
      60s))
      << "foreground deletion did not remove both dependent and owner";
}

TEST(NamespaceTest, DeletingANamespaceRemovesItsObjects) {
  const std::string ns = c().ns() + "-x";
  Response created =
      c().api().post("/api/v1/namespaces",
                     {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string widgets = std::string("/apis/") + kGroup + "/v1/namespaces/" + ns + "/widgets";
  ASSERT_EQ(c().api().post(widgets, widgetObject("w", {{"size", 1}})).status, 201);
  ASSERT_EQ(c().api().post("/api/v1/namespaces/" + ns + "/configmaps", configMap("cm")).status,
            201);
  Response del = c().api().del("/api/v1/namespaces/" + ns);
  ASSERT_EQ(del.status, 200) << del.raw;
  Response terminating = c().api().get("/api/v1/namespaces/" + ns);
  if (terminating.status == 200) {
    EXPECT_EQ(terminating.body["status"]["phase"], "Terminating") << terminating.raw;
    // No new objects in a terminating namespace.
    Response refused =
        c().api().post("/api/v1/namespaces/" + ns + "/configmaps", configMap("late"));
    EXPECT_EQ(refused.status, 403) << refused.raw;
  }
  EXPECT_TRUE(eventually([&] { return c().api().get("/api/v1/namespaces/" + ns).status == 404; },
                         60s, 250ms))
      << "namespace still exists 60s after deletion";
  EXPECT_EQ(c().api().get(widgets + "/w").status, 404);
  EXPECT_EQ(c().api().get("/api/v1/namespaces/" + ns + "/configmaps/cm").status, 404);
}

}  // namespace
}  // namespace novacron::conformance
