// CRUD, optimistic concurrency (409 on a stale resourceVersion), generateName, delete
// preconditions and deletecollection, on the suite's CRD and on ConfigMaps.
#include <gtest/gtest.h>

#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

Cluster& c() {
  return Cluster::get();
}

std::string rv(const Json& obj) {
  return obj["metadata"].value("resourceVersion", "");
}

TEST(CrudTest, CreateGetUpdateDeleteCustomResource) {
  const std::string name = c().uniqueName("crud");
  Response created = c().api().post(c().widgets(), widgetObject(name, {{"size", 2}}));
  ASSERT_EQ(created.status, 201) << created.raw;
  const Json& meta = created.body["metadata"];
  EXPECT_EQ(meta["name"], name);
  EXPECT_EQ(meta["namespace"], c().ns());
  EXPECT_FALSE(meta.value("uid", "").empty());
  EXPECT_FALSE(rv(created.body).empty());
  EXPECT_FALSE(meta.value("creationTimestamp", "").empty());
  EXPECT_EQ(meta["generation"], 1);
  EXPECT_EQ(created.body["kind"], "Widget");
  EXPECT_EQ(created.body["apiVersion"], kWidgetApiVersion);

  Response again = c().api().post(c().widgets(), widgetObject(name, {{"size", 2}}));
  EXPECT_EQ(again.status, 409) << again.raw;
  EXPECT_EQ(again.body["reason"], "AlreadyExists");
  EXPECT_EQ(again.body["kind"], "Status");

  Response got = c().api().get(c().widget(name));
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(got.body["spec"]["size"], 2);
  EXPECT_EQ(got.body["metadata"]["uid"], meta["uid"]);
  EXPECT_EQ(rv(got.body), rv(created.body));

  Json update = got.body;
  update["spec"]["size"] = 3;
  Response updated = c().api().put(c().widget(name), update);
  ASSERT_EQ(updated.status, 200) << updated.raw;
  EXPECT_EQ(updated.body["spec"]["size"], 3);
  EXPECT_NE(rv(updated.body), rv(got.body));

  // The same write based on the old read is refused.
  update["spec"]["size"] = 4;
  Response stale = c().api().put(c().widget(name), update);
  EXPECT_EQ(stale.status, 409) << stale.raw;
  EXPECT_EQ(stale.body["reason"], "Conflict");
  EXPECT_EQ(c().api().get(c().widget(name)).body["spec"]["size"], 3);

  Response deleted = c().api().del(c().widget(name));
  EXPECT_EQ(deleted.status, 200) << deleted.raw;
  Response gone = c().api().get(c().widget(name));
  EXPECT_EQ(gone.status, 404) << gone.raw;
  EXPECT_EQ(gone.body["reason"], "NotFound");
  EXPECT_EQ(gone.body["details"]["name"], name);
  EXPECT_EQ(c().api().del(c().widget(name)).status, 404);
}

TEST(CrudTest, UpdateOfMissingObjectIsNotFound) {
  Json obj = widgetObject(c().uniqueName("missing"), {{"size", 1}});
  obj["metadata"]["resourceVersion"] = "1";
  Response r = c().api().put(c().widget(obj["metadata"]["name"]), obj);
  EXPECT_EQ(r.status, 404) << r.raw;
}

// Custom resources do not allow unconditional updates (kube: AllowUnconditionalUpdate is false for
// CRs): a PUT without metadata.resourceVersion is refused, never a blind overwrite.
TEST(CrudTest, CustomResourceUpdateWithoutResourceVersionIsRefused) {
  const std::string name = c().uniqueName("uncond");
  ASSERT_EQ(c().api().post(c().widgets(), widgetObject(name, {{"size", 1}})).status, 201);
  Response r = c().api().put(c().widget(name), widgetObject(name, {{"size", 2}}));
  EXPECT_EQ(r.status, 422) << r.raw;
  EXPECT_EQ(r.body.value("reason", ""), "Invalid") << r.raw;
  EXPECT_EQ(c().api().get(c().widget(name)).body["spec"]["size"], 1);
}

TEST(CrudTest, CreateInMissingNamespaceIsNotFound) {
  Response r = c().api().post(
      std::string("/apis/") + kGroup + "/v1/namespaces/" + c().ns() + "-does-not-exist/widgets",
      widgetObject("w", {{"size", 1}}));
  EXPECT_EQ(r.status, 404) << r.raw;
  EXPECT_EQ(r.body.value("reason", ""), "NotFound") << r.raw;
}

TEST(CrudTest, NameInBodyMustMatchPath) {
  const std::string name = c().uniqueName("mismatch");
  ASSERT_EQ(c().api().post(c().widgets(), widgetObject(name, {{"size", 1}})).status, 201);
  Json obj = c().api().get(c().widget(name)).body;
  obj["metadata"]["name"] = name + "-other";
  Response r = c().api().put(c().widget(name), obj);
  EXPECT_EQ(r.status, 400) << r.raw;
}

TEST(CrudTest, GenerateName) {
  Json obj = widgetObject("", {{"size", 1}});
  obj["metadata"].erase("name");
  obj["metadata"]["generateName"] = "gen-";
  Response a = c().api().post(c().widgets(), obj);
  Response b = c().api().post(c().widgets(), obj);
  ASSERT_EQ(a.status, 201) << a.raw;
  ASSERT_EQ(b.status, 201) << b.raw;
  const std::string na = a.body["metadata"]["name"];
  const std::string nb = b.body["metadata"]["name"];
  EXPECT_EQ(na.rfind("gen-", 0), 0u) << na;
  EXPECT_GT(na.size(), 4u);
  EXPECT_NE(na, nb);
  EXPECT_EQ(a.body["metadata"]["generateName"], "gen-");
}

TEST(CrudTest, ConfigMapCrudAndConflict) {
  const std::string name = c().uniqueName("cm");
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", name}}},
             {"data", {{"a", "1"}}}};
  Response created = c().api().post(c().core("configmaps"), cm);
  ASSERT_EQ(created.status, 201) << created.raw;
  Json update = created.body;
  update["data"]["a"] = "2";
  Response ok = c().api().put(c().core("configmaps", name), update);
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["data"]["a"], "2");
  update["data"]["a"] = "3";
  EXPECT_EQ(c().api().put(c().core("configmaps", name), update).status, 409);
  EXPECT_EQ(c().api().del(c().core("configmaps", name)).status, 200);
}

TEST(CrudTest, SecretRoundTrip) {
  const std::string name = c().uniqueName("secret");
  Json s = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}}},
            {"type", "Opaque"},
            {"data", {{"k", "aGVsbG8="}}}};
  Response created = c().api().post(c().core("secrets"), s);
  ASSERT_EQ(created.status, 201) << created.raw;
  Response got = c().api().get(c().core("secrets", name));
  ASSERT_EQ(got.status, 200) << got.raw;
  EXPECT_EQ(got.body["data"]["k"], "aGVsbG8=");
}

TEST(CrudTest, DeleteWithPreconditions) {
  const std::string name = c().uniqueName("precond");
  Response created = c().api().post(c().widgets(), widgetObject(name, {{"size", 1}}));
  ASSERT_EQ(created.status, 201) << created.raw;
  Response wrong_rv =
      c().api().del(c().widget(name), {{"apiVersion", "v1"},
                                       {"kind", "DeleteOptions"},
                                       {"preconditions", {{"resourceVersion", "1"}}}});
  EXPECT_EQ(wrong_rv.status, 409) << wrong_rv.raw;
  Response wrong_uid = c().api().del(
      c().widget(name), {{"apiVersion", "v1"},
                         {"kind", "DeleteOptions"},
                         {"preconditions", {{"uid", "00000000-0000-0000-0000-000000000000"}}}});
  EXPECT_EQ(wrong_uid.status, 409) << wrong_uid.raw;
  EXPECT_EQ(c().api().get(c().widget(name)).status, 200);
  Response right = c().api().del(
      c().widget(name),
      {{"apiVersion", "v1"},
       {"kind", "DeleteOptions"},
       {"preconditions",
        {{"resourceVersion", rv(created.body)}, {"uid", created.body["metadata"]["uid"]}}}});
  EXPECT_EQ(right.status, 200) << right.raw;
  EXPECT_EQ(c().api().get(c().widget(name)).status, 404);
}

TEST(CrudTest, DeleteCollectionWithLabelSelector) {
  const std::string group = c().uniqueName("dc");
  for (int i = 0; i < 3; ++i) {
    Json obj = widgetObject(group + "-" + std::to_string(i), {{"size", 1}});
    obj["metadata"]["labels"] = {{"batch", group}, {"keep", i == 2 ? "yes" : "no"}};
    ASSERT_EQ(c().api().post(c().widgets(), obj).status, 201);
  }
  Response r = c().api().del(c().widgets() + "?labelSelector=batch%3D" + group + ",keep%3Dno");
  EXPECT_EQ(r.status, 200) << r.raw;
  Response left = c().api().get(c().widgets() + "?labelSelector=batch%3D" + group);
  ASSERT_EQ(left.status, 200);
  ASSERT_EQ(left.body["items"].size(), 1u) << left.raw;
  EXPECT_EQ(left.body["items"][0]["metadata"]["name"], group + "-2");
}

TEST(CrudTest, ListHasKindAndResourceVersion) {
  Response list = c().api().get(c().widgets());
  ASSERT_EQ(list.status, 200) << list.raw;
  EXPECT_EQ(list.body["kind"], "WidgetList");
  EXPECT_EQ(list.body["apiVersion"], kWidgetApiVersion);
  EXPECT_FALSE(list.body["metadata"].value("resourceVersion", "").empty());
  EXPECT_TRUE(list.body["items"].is_array());
}

TEST(DiscoveryTest, GroupVersionListsWidgetsWithStatusSubresource) {
  Response r = c().api().get(std::string("/apis/") + kGroup + "/v1");
  ASSERT_EQ(r.status, 200) << r.raw;
  bool main = false;
  bool status = false;
  for (const auto& res : r.body["resources"]) {
    if (res["name"] == "widgets") {
      main = true;
      EXPECT_EQ(res["kind"], "Widget");
      EXPECT_EQ(res["namespaced"], true);
      EXPECT_NE(std::find(res["verbs"].begin(), res["verbs"].end(), "watch"), res["verbs"].end());
      EXPECT_NE(std::find(res["shortNames"].begin(), res["shortNames"].end(), "wdg"),
                res["shortNames"].end());
    }
    status = status || res["name"] == "widgets/status";
  }
  EXPECT_TRUE(main) << r.raw;
  EXPECT_TRUE(status) << r.raw;
}

}  // namespace
}  // namespace novacron::conformance
