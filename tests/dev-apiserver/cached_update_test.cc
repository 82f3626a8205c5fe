// Writes that start from the watch hub's copy of an object (ApiServer::updateObject, as
// kube-apiserver's GuaranteedUpdate starts from its watch cache) while that copy is behind etcd:
// every answer must still be the one the current object gives. The ApiServer runs in-process on
// the DevCluster's etcd with a WatchHub that is stopped after it has seen the object, so its copy
// is stale for certain; the object is then changed straight in etcd.
#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "dev-apiserver/api_server.h"
#include "dev-apiserver/etcd_client.h"
#include "dev-apiserver/registry.h"
#include "dev-apiserver/watch_hub.h"
#include "tests/testing/dev_cluster.h"

namespace novacron::devapi {
namespace {

using nlohmann::json;

constexpr char kPath[] = "/api/v1/namespaces/default/configmaps";
constexpr char kKey[] = "/registry/configmaps/default/cm";

class CachedUpdateTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto cluster = testing::DevCluster::start();
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto etcd = EtcdClient::create(cluster_->etcdEndpoint());
    ASSERT_TRUE(etcd.isOk()) << etcd.status();
    etcd_ = std::move(*etcd);
    hub_ = std::make_unique<WatchHub>(*etcd_, "/registry/", 10000);
    api_ = std::make_unique<ApiServer>(*etcd_, registry_, *hub_, ApiServerOptions{});
    ASSERT_TRUE(api_->bootstrap().isOk());
    ASSERT_TRUE(hub_->start().isOk());
  }
  void TearDown() override {
    if (hub_) {
      hub_->stop();
    }
  }

  Response call(const std::string& method, const std::string& path, const json& body,
                const std::string& content_type = "application/json") {
    Request req;
    req.method = method;
    req.path = path;
    req.content_type = content_type;
    req.body = body.is_null() ? "" : body.dump();
    return api_->handle(std::move(req));
  }

  // Creates the ConfigMap {a: "1"}, waits until the hub saw it, then stops the hub (its copy
  // stays as it is) and sets a: "2" straight in etcd. Returns the resourceVersion of the create
  // and the revision of the etcd write.
  std::pair<int64_t, int64_t> staleCopy() {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", "cm"}}},
               {"data", {{"a", "1"}}}};
    Response created = call("POST", kPath, cm);
    EXPECT_EQ(created.code, 201) << created.body;
    int64_t created_rv =
        std::stoll(json::parse(created.body)["metadata"]["resourceVersion"].get<std::string>());
    EXPECT_TRUE(hub_->waitForRevision(created_rv, std::chrono::seconds(10)));
    hub_->stop();
    auto stored = etcd_->get(kKey);
    EXPECT_TRUE(stored.isOk() && stored->has_value());
    json obj = json::parse((*stored)->value);
    obj["data"]["a"] = "2";
    auto written = etcd_->update(kKey, obj.dump(), (*stored)->mod_revision);
    EXPECT_TRUE(written.isOk() && written->succeeded);
    EXPECT_EQ(hub_->cached(kKey)->obj["data"]["a"], "1");  // the hub's copy is stale
    return {created_rv, written->revision};
  }

  static int64_t rvOf(const Response& r) {
    return std::stoll(json::parse(r.body)["metadata"]["resourceVersion"].get<std::string>());
  }

  std::unique_ptr<testing::DevCluster> cluster_;
  std::unique_ptr<EtcdClient> etcd_;
  Registry registry_;
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<ApiServer> api_;
};

TEST_F(CachedUpdateTest, AnUpdateOnTheCachedResourceVersionIsAConflictOnceEtcdMovedOn) {
  auto [created_rv, etcd_rv] = staleCopy();
  json put = {{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", "cm"}, {"resourceVersion", std::to_string(created_rv)}}},
              {"data", {{"a", "3"}}}};
  EXPECT_EQ(call("PUT", std::string(kPath) + "/cm", put).code, 409);
  put["metadata"]["resourceVersion"] = std::to_string(etcd_rv);
  Response current = call("PUT", std::string(kPath) + "/cm", put);
  ASSERT_EQ(current.code, 200) << current.body;
  EXPECT_GT(rvOf(current), etcd_rv);
}

TEST_F(CachedUpdateTest, APatchTestingTheCurrentValueAppliesAndOneTestingTheCachedValueFails) {
  auto [created_rv, etcd_rv] = staleCopy();
  (void)created_rv;
  const std::string path = std::string(kPath) + "/cm";
  json on_cached = json::array({{{"op", "test"}, {"path", "/data/a"}, {"value", "1"}},
                                {{"op", "replace"}, {"path", "/data/a"}, {"value", "9"}}});
  EXPECT_EQ(call("PATCH", path, on_cached, "application/json-patch+json").code, 422);
  json on_current = json::array({{{"op", "test"}, {"path", "/data/a"}, {"value", "2"}},
                                 {{"op", "replace"}, {"path", "/data/a"}, {"value", "3"}}});
  Response patched = call("PATCH", path, on_current, "application/json-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body;
  EXPECT_EQ(json::parse(patched.body)["data"]["a"], "3");
  EXPECT_GT(rvOf(patched), etcd_rv);
}

// A patch that changes nothing on the cached copy changes the current object: it must be
// written, not answered as a no-op with the cached copy.
TEST_F(CachedUpdateTest, APatchThatIsANoOpOnlyOnTheCachedCopyIsWritten) {
  auto [created_rv, etcd_rv] = staleCopy();
  (void)created_rv;
  Response patched = call("PATCH", std::string(kPath) + "/cm", json{{"data", {{"a", "1"}}}},
                          "application/merge-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body;
  EXPECT_GT(rvOf(patched), etcd_rv);
  EXPECT_FALSE(patched.unchanged);  // the audit log counts it as a write
  auto stored = etcd_->get(kKey);
  ASSERT_TRUE(stored.isOk() && stored->has_value());
  EXPECT_EQ(json::parse((*stored)->value)["data"]["a"], "1");

  // The same patch again changes nothing: answered without a write, and marked so for the
  // audit log (the benchmarks count such requests: B2, "no write that changes nothing").
  Response again = call("PATCH", std::string(kPath) + "/cm", json{{"data", {{"a", "1"}}}},
                        "application/merge-patch+json");
  ASSERT_EQ(again.code, 200) << again.body;
  EXPECT_EQ(rvOf(again), rvOf(patched));
  EXPECT_TRUE(again.unchanged);
}

// The server's own writes are found by the next write before the watch delivers them.
TEST_F(CachedUpdateTest, TheServersOwnWriteIsTheCopyTheNextWriteStartsFrom) {
  auto [created_rv, etcd_rv] = staleCopy();
  (void)created_rv;
  (void)etcd_rv;
  const std::string path = std::string(kPath) + "/cm";
  Response first =
      call("PATCH", path, json{{"data", {{"b", "x"}}}}, "application/merge-patch+json");
  ASSERT_EQ(first.code, 200) << first.body;
  auto cached = hub_->cached(kKey);
  ASSERT_NE(cached, nullptr);
  EXPECT_EQ(cached->mod_revision, rvOf(first));
  EXPECT_EQ(cached->obj["data"]["b"], "x");
}

// Creates check their namespace the way kube-apiserver's NamespaceLifecycle admission does: from
// the cache (the hub's copy) when it has the namespace, else from etcd.
TEST_F(CachedUpdateTest, ACreateInAMissingNamespaceIsNotFound) {
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}};
  Response r = call("POST", "/api/v1/namespaces/nowhere/configmaps", cm);
  EXPECT_EQ(r.code, 404) << r.body;
}

TEST_F(CachedUpdateTest, ACreateInANamespaceTheHubHasNotSeenReadsItFromEtcd) {
  hub_->stop();  // the hub will never see the namespace
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", "fresh"}, {"uid", "uid-fresh"}}}};
  auto written = etcd_->create("/registry/namespaces/fresh", ns.dump());
  ASSERT_TRUE(written.isOk() && written->succeeded);
  ASSERT_EQ(hub_->cached("/registry/namespaces/fresh"), nullptr);
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}};
  Response r = call("POST", "/api/v1/namespaces/fresh/configmaps", cm);
  EXPECT_EQ(r.code, 201) << r.body;
}

// The hub still shows the namespace Active (it stopped before the deletion): the server knows it
// deleted a namespace after the hub's last revision and reads etcd.
TEST_F(CachedUpdateTest, ACreateRightAfterItsNamespaceWasDeletedIsForbiddenEvenIfTheHubLags) {
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", "doomed"}, {"finalizers", {"novacron.io/test-hold"}}}}};
  Response created = call("POST", "/api/v1/namespaces", ns);
  ASSERT_EQ(created.code, 201) << created.body;
  ASSERT_TRUE(hub_->waitForRevision(rvOf(created), std::chrono::seconds(10)));
  hub_->stop();
  Response deleted = call("DELETE", "/api/v1/namespaces/doomed", json());
  ASSERT_LT(deleted.code, 300) << deleted.body;
  ASSERT_FALSE(hub_->cached("/registry/namespaces/doomed")
                   ->obj["metadata"]
                   .contains("deletionTimestamp"));  // the hub's copy is stale
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}};
  Response r = call("POST", "/api/v1/namespaces/doomed/configmaps", cm);
  EXPECT_EQ(r.code, 403) << r.body;
}

TEST_F(CachedUpdateTest, ACreateInATerminatingNamespaceIsForbidden) {
  json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", "doomed"}, {"finalizers", {"novacron.io/test-hold"}}}}};
  Response created = call("POST", "/api/v1/namespaces", ns);
  ASSERT_EQ(created.code, 201) << created.body;
  Response deleted = call("DELETE", "/api/v1/namespaces/doomed", json());
  ASSERT_LT(deleted.code, 300) << deleted.body;
  // Wait until the hub's copy shows the deletion (the finalizer keeps the namespace).
  auto current = etcd_->get("/registry/namespaces/doomed");
  ASSERT_TRUE(current.isOk() && current->has_value());
  ASSERT_TRUE(hub_->waitForRevision((*current)->mod_revision, std::chrono::seconds(10)));
  ASSERT_TRUE(
      hub_->cached("/registry/namespaces/doomed")->obj["metadata"].contains("deletionTimestamp"));
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cm"}}}};
  Response r = call("POST", "/api/v1/namespaces/doomed/configmaps", cm);
  EXPECT_EQ(r.code, 403) << r.body;
  EXPECT_NE(r.body.find("NamespaceTerminating"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace novacron::devapi
