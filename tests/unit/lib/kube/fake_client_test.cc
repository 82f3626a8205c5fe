// Tests for the in-memory FakeClient (tests/mocks/mock_kube_client.h): other components' unit tests
// rely on it behaving like an API server.
#include <mutex>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"

namespace novacron::testing {
namespace {

using kube::Json;
using kube::kConfigMap;
using kube::kVirtualMachine;
using kube::WatchEvent;
using kube::WatchEventType;

Json vm(const std::string& name, Json labels = Json::object()) {
  return Json{{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
              {"spec", {{"cpus", 1}}}};
}

// Collects watch events; waitFor polls with a deadline.
struct Recorder {
  std::mutex mu;
  std::vector<WatchEvent> events;
  kube::WatchCallback callback() {
    return [this](WatchEvent&& e) {
      std::lock_guard lock(mu);
      events.push_back(std::move(e));
      return true;
    };
  }
  bool waitFor(size_t n) {
    return eventually([&] {
      std::lock_guard lock(mu);
      return events.size() >= n;
    });
  }
  std::vector<std::string> summary() {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    for (const auto& e : events) {
      out.push_back(std::string(kube::watchEventTypeName(e.type)) + " " +
                    e.object["metadata"].value("name", std::string()));
    }
    return out;
  }
};

TEST(FakeClientTest, CreateStampsMetadataAndRejectsDuplicates) {
  FakeClient client;
  auto created = client.create(kVirtualMachine, "default", vm("a"));
  ASSERT_TRUE(created.isOk()) << created.status();
  EXPECT_EQ((*created)["metadata"]["resourceVersion"], "1");
  EXPECT_EQ((*created)["metadata"]["generation"], 1);
  EXPECT_EQ((*created)["apiVersion"], "novacron.io/v1alpha1");
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());
  auto again = client.create(kVirtualMachine, "default", vm("a"));
  EXPECT_EQ(again.status().code(), core::StatusCode::kAlreadyExists);
}

TEST(FakeClientTest, UpdateWithStaleResourceVersionConflicts) {
  FakeClient client;
  Json a = *client.create(kVirtualMachine, "default", vm("a"));
  Json first = a;
  first["spec"]["cpus"] = 2;
  auto updated = client.update(kVirtualMachine, "", first);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_EQ((*updated)["metadata"]["generation"], 2);
  Json stale = a;
  stale["spec"]["cpus"] = 3;
  EXPECT_EQ(client.update(kVirtualMachine, "", stale).status().code(), core::StatusCode::kConflict);
  Json unconditional = a;
  unconditional["metadata"].erase("resourceVersion");
  EXPECT_EQ(client.update(kVirtualMachine, "", unconditional).status().code(),
            core::StatusCode::kInvalidArgument);
}

TEST(FakeClientTest, StatusSubresourceSeparatesSpecAndStatus) {
  FakeClient client;
  Json a = *client.create(kVirtualMachine, "default", vm("a"));
  a["status"] = {{"phase", "Running"}};
  a["spec"]["cpus"] = 4;
  Json after = *client.updateStatus(kVirtualMachine, "default", a);
  EXPECT_EQ(after["status"]["phase"], "Running");
  EXPECT_EQ(after["spec"]["cpus"], 1);
  EXPECT_EQ(after["metadata"]["generation"], 1);
  // A no-op update does not bump the resourceVersion.
  Json same = *client.update(kVirtualMachine, "default", after);
  EXPECT_EQ(same["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"]);
}

TEST(FakeClientTest, JsonPatchTestOpFailureIsConflict) {
  FakeClient client;
  Json a = *client.create(kVirtualMachine, "default", vm("a"));
  Json ok_patch = Json::array(
      {{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "1"}},
       {{"op", "add"}, {"path", "/metadata/finalizers"}, {"value", Json::array({"x"})}}});
  auto patched =
      client.patch(kVirtualMachine, "default", "a", kube::PatchType::kJsonPatch, ok_patch);
  ASSERT_TRUE(patched.isOk()) << patched.status();
  EXPECT_EQ((*patched)["metadata"]["finalizers"], Json::array({"x"}));
  auto stale = client.patch(kVirtualMachine, "default", "a", kube::PatchType::kJsonPatch, ok_patch);
  EXPECT_EQ(stale.status().code(), core::StatusCode::kConflict);
  Json missing = Json::array({{{"op", "remove"}, {"path", "/metadata/finalizers/5"}}});
  EXPECT_EQ(client.patch(kVirtualMachine, "default", "a", kube::PatchType::kJsonPatch, missing)
                .status()
                .code(),
            core::StatusCode::kConflict);
  EXPECT_EQ(client
                .patch(kVirtualMachine, "default", "a", kube::PatchType::kJsonPatch,
                       Json::array({{{"op", "bogus"}, {"path", "/x"}}}))
                .status()
                .code(),
            core::StatusCode::kInvalidArgument);
  auto merge = client.patch(kVirtualMachine, "default", "a", kube::PatchType::kMerge,
                            Json{{"status", {{"phase", "Ready"}}}}, "status");
  ASSERT_TRUE(merge.isOk()) << merge.status();
  EXPECT_EQ((*merge)["status"]["phase"], "Ready");
}

TEST(FakeClientTest, FinalizersDelayDeletion) {
  FakeClient client;
  Json obj = vm("a");
  obj["metadata"]["finalizers"] = Json::array({"novacron.io/domain"});
  Json a = *client.create(kVirtualMachine, "default", obj);
  ASSERT_TRUE(client.remove(kVirtualMachine, "default", "a").isOk());
  Json terminating = *client.get(kVirtualMachine, "default", "a");
  EXPECT_TRUE(terminating["metadata"].contains("deletionTimestamp"));
  terminating["metadata"]["finalizers"] = Json::array();
  ASSERT_TRUE(client.update(kVirtualMachine, "default", terminating).isOk());
  EXPECT_EQ(client.get(kVirtualMachine, "default", "a").status().code(),
            core::StatusCode::kNotFound);
}

TEST(FakeClientTest, ListFiltersAndPages) {
  FakeClient client;
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(client.create(kVirtualMachine, "default", vm(name, {{"app", name}})).isOk());
  }
  kube::ListOptions options;
  options.label_selector = "app in (a,c)";
  Json filtered = *client.list(kVirtualMachine, "default", options);
  ASSERT_EQ(filtered["items"].size(), 2u);
  EXPECT_EQ(filtered["metadata"]["resourceVersion"], "3");
  kube::ListOptions page;
  page.limit = 2;
  Json first = *client.list(kVirtualMachine, "", page);
  ASSERT_EQ(first["items"].size(), 2u);
  page.continue_token = first["metadata"]["continue"];
  Json second = *client.list(kVirtualMachine, "", page);
  ASSERT_EQ(second["items"].size(), 1u);
  EXPECT_EQ(second["items"][0]["metadata"]["name"], "c");
  EXPECT_FALSE(second["metadata"].contains("continue"));
}

TEST(FakeClientTest, WatchReplaysFromVersionAndStreamsLive) {
  FakeClient client;
  ASSERT_TRUE(client.create(kVirtualMachine, "default", vm("a")).isOk());
  ASSERT_TRUE(client.create(kVirtualMachine, "default", vm("b")).isOk());
  Recorder rec;
  kube::WatchOptions options;
  options.resource_version = "1";
  auto handle = client.watch(kVirtualMachine, "default", options, rec.callback());
  ASSERT_TRUE(handle.isOk()) << handle.status();
  ASSERT_TRUE(client.remove(kVirtualMachine, "default", "a").isOk());
  ASSERT_TRUE(rec.waitFor(2));
  EXPECT_THAT(rec.summary(), ::testing::ElementsAre("ADDED b", "DELETED a"));
  client.endWatches();
  EXPECT_TRUE((*handle)->wait().isOk());
}

TEST(FakeClientTest, WatchSelectorTransitionsAndGone) {
  FakeClient client;
  Json a = *client.create(kVirtualMachine, "default", vm("a", {{"node", "n1"}}));
  Recorder rec;
  kube::WatchOptions options;
  options.resource_version = a["metadata"]["resourceVersion"];
  options.label_selector = "node=n2";
  auto handle = client.watch(kVirtualMachine, "default", options, rec.callback());
  ASSERT_TRUE(handle.isOk());
  a["metadata"]["labels"]["node"] = "n2";
  a = *client.update(kVirtualMachine, "default", a);
  a["metadata"]["labels"]["node"] = "n3";
  a = *client.update(kVirtualMachine, "default", a);
  ASSERT_TRUE(rec.waitFor(2));
  EXPECT_THAT(rec.summary(), ::testing::ElementsAre("ADDED a", "DELETED a"));

  client.compact();
  client.endWatches(core::goneError("compacted"));
  EXPECT_EQ((*handle)->wait().code(), core::StatusCode::kGone);

  // By default a watch from a compacted version opens and ends with an ERROR 410 event, as from
  // kube-apiserver.
  Recorder errors;
  auto late = client.watch(kVirtualMachine, "default", options, errors.callback());
  ASSERT_TRUE(late.isOk());
  EXPECT_EQ((*late)->wait().code(), core::StatusCode::kGone);
  ASSERT_EQ(errors.events.size(), 1u);
  EXPECT_EQ(errors.events[0].type, WatchEventType::kError);
  EXPECT_EQ(errors.events[0].object["code"], 410);

  client.setGoneAsErrorEvent(false);
  EXPECT_EQ(client.watch(kVirtualMachine, "default", options, rec.callback()).status().code(),
            core::StatusCode::kGone);
}

TEST(FakeClientTest, InjectedFailuresAndStop) {
  FakeClient client;
  client.failNext(FakeClient::Verb::kGet, "configmaps", core::unavailableError("boom"), 2);
  EXPECT_EQ(client.get(kConfigMap, "default", "x").status().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(client.get(kConfigMap, "default", "x").status().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(client.get(kConfigMap, "default", "x").status().code(), core::StatusCode::kNotFound);
  Recorder rec;
  auto handle = client.watch(kConfigMap, "default", {}, rec.callback());
  ASSERT_TRUE(handle.isOk());
  EXPECT_EQ(client.activeWatches(), 1);
  (*handle)->stop();
  EXPECT_EQ((*handle)->wait().code(), core::StatusCode::kCancelled);
  EXPECT_EQ(client.activeWatches(), 0);
}

}  // namespace
}  // namespace novacron::testing
