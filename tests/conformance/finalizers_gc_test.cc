// Finalizers and deletionTimestamp, background garbage collection by ownerReferences.
#include <gtest/gtest.h>

#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

using namespace std::chrono_literals;

Cluster& c() {
  return Cluster::get();
}

std::string rv(const Json& obj) {
  return obj["metadata"].value("resourceVersion", "");
}

TEST(FinalizerTest, DeleteWaitsForFinalizersThenFiresDeleted) {
  const std::string name = c().uniqueName("fin");
  Json obj = widgetObject(name, {{"size", 1}});
  obj["metadata"]["finalizers"] = {"conformance.novacron.io/a", "conformance.novacron.io/b"};
  Response created = c().api().post(c().widgets(), obj);
  ASSERT_EQ(created.status, 201) << created.raw;

  auto w = WatchStream::open(c().transport(), c().widgets() +
                                                  "?watch=true&fieldSelector=metadata.name%3D" +
                                                  name + "&resourceVersion=" + rv(created.body));
  ASSERT_EQ(w->httpStatus(), 200);

  Response del = c().api().del(c().widget(name));
  ASSERT_TRUE(del.status == 200 || del.status == 202) << del.raw;
  Response got = c().api().get(c().widget(name));
  ASSERT_EQ(got.status, 200) << "object with finalizers vanished on delete";
  EXPECT_FALSE(got.body["metadata"].value("deletionTimestamp", "").empty()) << got.raw;
  EXPECT_EQ(got.body["metadata"]["finalizers"].size(), 2u);

  auto marked = w->nextNonBookmark(10s);
  ASSERT_TRUE(marked);
  EXPECT_EQ((*marked)["type"], "MODIFIED");
  EXPECT_TRUE((*marked)["object"]["metadata"].contains("deletionTimestamp"));

  // A second delete does not remove it either.
  Response del2 = c().api().del(c().widget(name));
  EXPECT_TRUE(del2.status == 200 || del2.status == 202) << del2.raw;
  EXPECT_EQ(c().api().get(c().widget(name)).status, 200);

  // Spec stays writable while terminating; removing one finalizer keeps the object.
  Response one = c().api().patch(
      c().widget(name),
      Json::parse(
          R"([{"op":"test","path":"/metadata/finalizers/0","value":"conformance.novacron.io/a"},
                      {"op":"remove","path":"/metadata/finalizers/0"}])"),
      kJsonPatch);
  ASSERT_EQ(one.status, 200) << one.raw;
  EXPECT_EQ(c().api().get(c().widget(name)).status, 200);

  // Removing the last one deletes it: DELETED is the last event.
  Json last = one.body;
  last["metadata"]["finalizers"] = Json::array();
  Response cleared = c().api().put(c().widget(name), last);
  ASSERT_EQ(cleared.status, 200) << cleared.raw;
  EXPECT_TRUE(eventually([&] { return c().api().get(c().widget(name)).status == 404; }, 10s));

  std::optional<Json> deleted;
  while (auto e = w->nextNonBookmark(10s)) {
    if ((*e)["type"] == "DELETED") {
      deleted = e;
      break;
    }
  }
  ASSERT_TRUE(deleted) << "no DELETED event after the last finalizer was removed";
  EXPECT_EQ((*deleted)["object"]["metadata"]["name"], name);
}

TEST(FinalizerTest, NoNewFinalizersWhileTerminating) {
  const std::string name = c().uniqueName("fin-new");
  Json obj = widgetObject(name, {{"size", 1}});
  obj["metadata"]["finalizers"] = {"conformance.novacron.io/a"};
  ASSERT_EQ(c().api().post(c().widgets(), obj).status, 201);
  ASSERT_EQ(c().api().del(c().widget(name)).status, 200);
  Json got = c().api().get(c().widget(name)).body;
  got["metadata"]["finalizers"].push_back("conformance.novacron.io/late");
  Response r = c().api().put(c().widget(name), got);
  EXPECT_EQ(r.status, 422) << r.raw;
  // Clean up.
  got = c().api().get(c().widget(name)).body;
  got["metadata"]["finalizers"] = Json::array();
  EXPECT_EQ(c().api().put(c().widget(name), got).status, 200);
}

TEST(GarbageCollectionTest, DependentsOfADeletedOwnerAreRemoved) {
  const std::string owner_name = c().uniqueName("owner");
  Response owner = c().api().post(c().widgets(), widgetObject(owner_name, {{"size", 1}}));
  ASSERT_EQ(owner.status, 201) << owner.raw;
  const std::string cm_name = c().uniqueName("dependent");
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata",
              {{"name", cm_name},
               {"ownerReferences",
                {{{"apiVersion", kWidgetApiVersion},
                  {"kind", "Widget"},
                  {"name", owner_name},
                  {"uid", owner.body["metadata"]["uid"]}}}}}},
             {"data", {{"k", "v"}}}};
  ASSERT_EQ(c().api().post(c().core("configmaps"), cm).status, 201);
  ASSERT_EQ(c().api().del(c().widget(owner_name)).status, 200);
  // kube-controller-manager's garbage collector learns of new resources (this suite's CRD) only at
  // its discovery resync, every 30 s; until then the dependent's owner reference does not resolve
  // and the dependent is retried with exponential back-off (5 ms doubling, so a retry may come
  // another ~40 s after the resync). Allow for both; the dev server collects within a second.
  EXPECT_TRUE(eventually(
      [&] { return c().api().get(c().core("configmaps", cm_name)).status == 404; }, 180s, 500ms))
      << "dependent ConfigMap still exists 180s after its owner was deleted";
}

}  // namespace
}  // namespace novacron::conformance
