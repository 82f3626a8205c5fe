// Status subresource isolation and metadata.generation rules for custom resources.
#include <gtest/gtest.h>

#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

Cluster& c() {
  return Cluster::get();
}

Json create(const std::string& name) {
  Response r = c().api().post(c().widgets(), widgetObject(name, {{"size", 1}}));
  EXPECT_EQ(r.status, 201) << r.raw;
  return r.body;
}

TEST(StatusSubresourceTest, StatusInCreateIsIgnored) {
  Json obj = widgetObject(c().uniqueName("st-create"), {{"size", 1}});
  obj["status"] = {{"phase", "Bogus"}};
  Response r = c().api().post(c().widgets(), obj);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_FALSE(r.body.contains("status") && r.body["status"].contains("phase")) << r.raw;
}

TEST(StatusSubresourceTest, WritesToStatusChangeOnlyStatus) {
  const std::string name = c().uniqueName("st");
  Json obj = create(name);
  obj["spec"]["size"] = 9;
  obj["metadata"]["labels"] = {{"sneaky", "yes"}};
  obj["status"] = {{"phase", "Running"}, {"observedGeneration", 1}};
  Response r = c().api().put(c().widget(name) + "/status", obj);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["status"]["phase"], "Running");
  EXPECT_EQ(r.body["spec"]["size"], 1);
  EXPECT_FALSE(r.body["metadata"].contains("labels") &&
               r.body["metadata"]["labels"].contains("sneaky"));
  EXPECT_EQ(r.body["metadata"]["generation"], 1);

  Response got = c().api().get(c().widget(name));
  EXPECT_EQ(got.body["status"]["phase"], "Running");
  EXPECT_EQ(got.body["spec"]["size"], 1);

  Response patched = c().api().patch(c().widget(name) + "/status",
                                     {{"spec", {{"size", 7}}}, {"status", {{"phase", "Stopped"}}}});
  ASSERT_EQ(patched.status, 200) << patched.raw;
  EXPECT_EQ(patched.body["status"]["phase"], "Stopped");
  EXPECT_EQ(patched.body["spec"]["size"], 1);
  EXPECT_EQ(patched.body["metadata"]["generation"], 1);

  Response get_status = c().api().get(c().widget(name) + "/status");
  ASSERT_EQ(get_status.status, 200) << get_status.raw;
  EXPECT_EQ(get_status.body["status"]["phase"], "Stopped");
}

TEST(StatusSubresourceTest, WritesToMainResourceNeverChangeStatus) {
  const std::string name = c().uniqueName("main");
  create(name);
  Json with_status = c().api()
                         .put(c().widget(name) + "/status",
                              [&] {
                                Json o = c().api().get(c().widget(name)).body;
                                o["status"] = {{"phase", "Running"}};
                                return o;
                              }())
                         .body;
  ASSERT_EQ(with_status["status"]["phase"], "Running");

  Json obj = with_status;
  obj["spec"]["size"] = 2;
  obj["status"] = {{"phase", "Hacked"}};
  Response r = c().api().put(c().widget(name), obj);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["spec"]["size"], 2);
  EXPECT_EQ(r.body["status"]["phase"], "Running");

  obj = r.body;
  obj.erase("status");
  r = c().api().put(c().widget(name), obj);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["status"]["phase"], "Running");

  r = c().api().patch(c().widget(name), {{"status", {{"phase", "Patched"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["status"]["phase"], "Running");
}

TEST(StatusSubresourceTest, StatusWriteWithStaleResourceVersionConflicts) {
  const std::string name = c().uniqueName("st-rv");
  Json obj = create(name);
  Json newer = obj;
  newer["spec"]["size"] = 2;
  ASSERT_EQ(c().api().put(c().widget(name), newer).status, 200);
  obj["status"] = {{"phase", "Running"}};
  Response r = c().api().put(c().widget(name) + "/status", obj);
  EXPECT_EQ(r.status, 409) << r.raw;
}

TEST(GenerationTest, BumpsOnlyOnSpecChanges) {
  const std::string name = c().uniqueName("gen");
  Json obj = create(name);
  ASSERT_EQ(obj["metadata"]["generation"], 1);

  obj["metadata"]["labels"] = {{"a", "b"}};
  obj["metadata"]["annotations"] = {{"note", "x"}};
  Response r = c().api().put(c().widget(name), obj);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["metadata"]["generation"], 1) << "metadata-only change bumped generation";

  // An update that changes nothing keeps generation (and, in kube, the resourceVersion).
  r = c().api().put(c().widget(name), r.body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["metadata"]["generation"], 1);

  Json spec_change = r.body;
  spec_change["spec"]["size"] = 5;
  r = c().api().put(c().widget(name), spec_change);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["metadata"]["generation"], 2);

  r = c().api().patch(c().widget(name), {{"spec", {{"size", 6}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["metadata"]["generation"], 3);

  r = c().api().patch(c().widget(name) + "/status", {{"status", {{"phase", "Running"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["metadata"]["generation"], 3);

  // Client-supplied generation is ignored.
  Json forged = r.body;
  forged["metadata"]["generation"] = 42;
  r = c().api().put(c().widget(name), forged);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["metadata"]["generation"], 3);
}

TEST(GenerationTest, ServerOwnedMetadataCannotBeChanged) {
  const std::string name = c().uniqueName("meta");
  Json obj = create(name);
  Json forged = obj;
  forged["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000";
  forged["metadata"]["creationTimestamp"] = "2001-01-01T00:00:00Z";
  forged["spec"]["size"] = 2;
  Response r = c().api().put(c().widget(name), forged);
  if (r.status == 200) {
    EXPECT_EQ(r.body["metadata"]["uid"], obj["metadata"]["uid"]);
    EXPECT_EQ(r.body["metadata"]["creationTimestamp"], obj["metadata"]["creationTimestamp"]);
  } else {
    // kube refuses a changed uid with 422 (field is immutable) or 409 (precondition).
    EXPECT_TRUE(r.status == 422 || r.status == 409) << r.raw;
  }
}

}  // namespace
}  // namespace novacron::conformance
