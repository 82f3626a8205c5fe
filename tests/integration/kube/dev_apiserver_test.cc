// lib/kube against the dev API server (real etcd + novacron-dev-apiserver, HTTPS): kubeconfig
// loading for both auth forms, CRUD with optimistic concurrency, error mapping on real answers,
// paging, watches that deliver events while the stream is open, 410 after compaction, a server
// restart under an open watch, and the NovaCron CRDs through TypedClient.
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "lib/api/codec.h"
#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "lib/kube/typed_client.h"
#include "tests/testing/dev_cluster.h"
#include "tests/testing/eventually.h"

namespace novacron::kube {
namespace {

using novacron::testing::eventually;
using ::testing::HasSubstr;

constexpr std::chrono::seconds kWait{15};

// Records watch events (type + object name) as they arrive.
class EventLog {
public:
  WatchCallback callback() {
    return [this](WatchEvent&& e) {
      std::lock_guard lock(mu_);
      std::string name;
      if (e.object.contains("metadata")) {
        name = e.object["metadata"].value("name", std::string());
        last_rv_ = e.object["metadata"].value("resourceVersion", last_rv_);
      }
      events_.push_back(std::string(watchEventTypeName(e.type)) + " " + name);
      return true;
    };
  }
  bool has(const std::string& entry) {
    std::lock_guard lock(mu_);
    return std::find(events_.begin(), events_.end(), entry) != events_.end();
  }
  bool hasType(WatchEventType type) {
    std::lock_guard lock(mu_);
    std::string prefix = std::string(watchEventTypeName(type)) + " ";
    for (const auto& e : events_) {
      if (e.rfind(prefix, 0) == 0) {
        return true;
      }
    }
    return false;
  }
  std::vector<std::string> withoutBookmarks() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& e : events_) {
      if (e.rfind("BOOKMARK", 0) != 0) {
        out.push_back(e);
      }
    }
    return out;
  }
  std::string lastResourceVersion() {
    std::lock_guard lock(mu_);
    return last_rv_;
  }

private:
  std::mutex mu_;
  std::vector<std::string> events_;
  std::string last_rv_;
};

Json configMap(const std::string& name, Json labels = Json::object()) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
              {"data", {{"key", "v1"}}}};
}

class DevApiServerTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto cluster = testing::DevCluster::start();
    if (!cluster.isOk()) {
      start_error_ = new std::string(cluster.status().toString());
      return;
    }
    cluster_ = cluster->release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "DevCluster did not start: " << *start_error_;
    auto config = loadKubeconfigFile(cluster_->kubeconfigPath());
    ASSERT_TRUE(config.isOk()) << config.status();
    config_ = *config;
    RestClientOptions options;
    options.registry = std::make_shared<prometheus::Registry>();
    auto client = newRestClient(config_, options);
    ASSERT_TRUE(client.isOk()) << client.status();
    client_ = *client;
    ns_ = "kube-it-" + std::to_string(counter_++);
    auto created = client_->create(kNamespace, "", Json{{"metadata", {{"name", ns_}}}});
    ASSERT_TRUE(created.isOk()) << created.status();
  }

  static testing::DevCluster* cluster_;
  static std::string* start_error_;
  static int counter_;
  Config config_;
  ClientPtr client_;
  std::string ns_;
};

testing::DevCluster* DevApiServerTest::cluster_ = nullptr;
std::string* DevApiServerTest::start_error_ = nullptr;
int DevApiServerTest::counter_ = 0;

TEST_F(DevApiServerTest, KubeconfigIsHttpsWithToken) {
  EXPECT_EQ(config_.server, cluster_->serverUrl());
  EXPECT_EQ(config_.server.rfind("https://", 0), 0u);
  EXPECT_EQ(config_.token, cluster_->token());
  EXPECT_FALSE(config_.ca_pem.empty());
  EXPECT_EQ(config_.default_namespace, "default");
}

TEST_F(DevApiServerTest, CrudWithOptimisticConcurrency) {
  auto created = client_->create(kConfigMap, ns_, configMap("cm"));
  ASSERT_TRUE(created.isOk()) << created.status();
  std::string rv1 = (*created)["metadata"]["resourceVersion"];
  EXPECT_FALSE(rv1.empty());

  auto again = client_->create(kConfigMap, ns_, configMap("cm"));
  EXPECT_EQ(again.status().code(), core::StatusCode::kAlreadyExists) << again.status();

  auto got = client_->get(kConfigMap, ns_, "cm");
  ASSERT_TRUE(got.isOk()) << got.status();
  EXPECT_EQ((*got)["data"]["key"], "v1");

  Json changed = *got;
  changed["data"]["key"] = "v2";
  auto updated = client_->update(kConfigMap, ns_, changed);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], rv1);

  // The copy read before the update is stale now: 409.
  Json stale = *got;
  stale["data"]["key"] = "v3";
  auto conflict = client_->update(kConfigMap, ns_, stale);
  EXPECT_EQ(conflict.status().code(), core::StatusCode::kConflict) << conflict.status();

  auto merged =
      client_->patch(kConfigMap, ns_, "cm", PatchType::kMerge, Json{{"data", {{"extra", "x"}}}});
  ASSERT_TRUE(merged.isOk()) << merged.status();
  EXPECT_EQ((*merged)["data"]["extra"], "x");
  EXPECT_EQ((*merged)["data"]["key"], "v2");

  Json stale_test =
      Json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", rv1}},
                   {{"op", "replace"}, {"path", "/data/key"}, {"value", "v4"}}});
  auto failed = client_->patch(kConfigMap, ns_, "cm", PatchType::kJsonPatch, stale_test);
  // A failed "test" op is a resourceVersion precondition failing: the client reports kConflict.
  EXPECT_EQ(failed.status().code(), core::StatusCode::kConflict) << failed.status();

  DeleteOptions wrong;
  wrong.precondition_resource_version = rv1;
  EXPECT_EQ(client_->remove(kConfigMap, ns_, "cm", wrong).code(), core::StatusCode::kConflict);
  ASSERT_TRUE(client_->remove(kConfigMap, ns_, "cm").isOk());
  EXPECT_EQ(client_->get(kConfigMap, ns_, "cm").status().code(), core::StatusCode::kNotFound);
  EXPECT_EQ(client_->remove(kConfigMap, ns_, "cm").code(), core::StatusCode::kNotFound);
}

TEST_F(DevApiServerTest, ListWithSelectorsAndPaging) {
  for (int i = 0; i < 5; ++i) {
    Json labels = {{"app", i % 2 == 0 ? "even" : "odd"}};
    ASSERT_TRUE(
        client_->create(kConfigMap, ns_, configMap("cm-" + std::to_string(i), labels)).isOk());
  }
  ListOptions even;
  even.label_selector = "app=even";
  auto filtered = client_->list(kConfigMap, ns_, even);
  ASSERT_TRUE(filtered.isOk()) << filtered.status();
  EXPECT_EQ((*filtered)["items"].size(), 3u);
  EXPECT_FALSE((*filtered)["metadata"]["resourceVersion"].get<std::string>().empty());

  ListOptions page;
  page.limit = 2;
  size_t total = 0;
  int pages = 0;
  do {
    auto result = client_->list(kConfigMap, ns_, page);
    ASSERT_TRUE(result.isOk()) << result.status();
    total += (*result)["items"].size();
    ++pages;
    page.continue_token = (*result)["metadata"].value("continue", std::string());
  } while (!page.continue_token.empty() && pages < 10);
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(pages, 3);
}

TEST_F(DevApiServerTest, WatchDeliversEventsAsTheyHappen) {
  auto list = client_->list(kConfigMap, ns_, {});
  ASSERT_TRUE(list.isOk()) << list.status();
  EventLog log;
  WatchOptions options;
  options.resource_version = (*list)["metadata"]["resourceVersion"];
  auto watch = client_->watch(kConfigMap, ns_, options, log.callback());
  ASSERT_TRUE(watch.isOk()) << watch.status();

  // Each event must arrive while the watch stays open, before the next change is made.
  auto created = client_->create(kConfigMap, ns_, configMap("w"));
  ASSERT_TRUE(created.isOk()) << created.status();
  ASSERT_TRUE(eventually([&] { return log.has("ADDED w"); }, kWait));
  Json changed = *created;
  changed["data"]["key"] = "v2";
  ASSERT_TRUE(client_->update(kConfigMap, ns_, changed).isOk());
  ASSERT_TRUE(eventually([&] { return log.has("MODIFIED w"); }, kWait));
  ASSERT_TRUE(client_->remove(kConfigMap, ns_, "w").isOk());
  ASSERT_TRUE(eventually([&] { return log.has("DELETED w"); }, kWait));
  // The resource changed since the watch began, so the cluster sends it bookmarks (every second).
  EXPECT_TRUE(eventually([&] { return log.hasType(WatchEventType::kBookmark); }, kWait));
  EXPECT_FALSE((*watch)->done());
  (*watch)->stop();
  EXPECT_EQ((*watch)->wait().code(), core::StatusCode::kCancelled);
  EXPECT_EQ(log.withoutBookmarks(),
            (std::vector<std::string>{"ADDED w", "MODIFIED w", "DELETED w"}));
}

TEST_F(DevApiServerTest, WatchFromCompactedVersionIsGone) {
  auto first = client_->create(kConfigMap, ns_, configMap("old"));
  ASSERT_TRUE(first.isOk());
  std::string old_rv = (*first)["metadata"]["resourceVersion"];
  for (int i = 0; i < 3; ++i) {
    Json next = *client_->get(kConfigMap, ns_, "old");
    next["data"]["key"] = "v" + std::to_string(i);
    ASSERT_TRUE(client_->update(kConfigMap, ns_, next).isOk());
  }
  ASSERT_TRUE(cluster_->compact().isOk());
  EventLog log;
  WatchOptions options;
  options.resource_version = old_rv;
  auto watch = client_->watch(kConfigMap, ns_, options, log.callback());
  // Either refused at once (HTTP 410) or an ERROR event with code 410 on the stream.
  core::Status end = watch.isOk() ? (*watch)->wait() : watch.status();
  EXPECT_EQ(end.code(), core::StatusCode::kGone) << end;
}

TEST_F(DevApiServerTest, ClientCertificateContext) {
  auto config = loadKubeconfigFile(cluster_->kubeconfigPath(), "novacron-dev-cert");
  ASSERT_TRUE(config.isOk()) << config.status();
  EXPECT_TRUE(config->token.empty());
  EXPECT_FALSE(config->client_cert_pem.empty());
  RestClientOptions options;
  options.registry = std::make_shared<prometheus::Registry>();
  auto client = newRestClient(*config, options);
  ASSERT_TRUE(client.isOk()) << client.status();
  auto created = (*client)->create(kConfigMap, ns_, configMap("by-cert"));
  ASSERT_TRUE(created.isOk()) << created.status();
  EXPECT_TRUE((*client)->get(kConfigMap, ns_, "by-cert").isOk());
}

TEST_F(DevApiServerTest, UnauthenticatedWithWrongToken) {
  Config bad = config_;
  bad.token = "wrong-token";
  RestClientOptions options;
  options.registry = std::make_shared<prometheus::Registry>();
  auto client = newRestClient(bad, options);
  ASSERT_TRUE(client.isOk());
  EXPECT_EQ((*client)->get(kConfigMap, ns_, "x").status().code(),
            core::StatusCode::kUnauthenticated);
}

TEST_F(DevApiServerTest, NovaCronKindsThroughTypedClient) {
  for (const char* file : {"novacron.io_virtualmachines.yaml", "novacron.io_hypervisors.yaml",
                           "novacron.io_vmmigrations.yaml"}) {
    std::ifstream in(std::string(std::getenv("NOVACRON_SOURCE_DIR")) + "/crds/" + file);
    std::stringstream text;
    text << in.rdbuf();
    auto crd = api::yamlToJson(text.str());
    ASSERT_TRUE(crd.isOk()) << crd.status();
    auto created = client_->create(kCustomResourceDefinition, "", *crd);
    ASSERT_TRUE(created.isOk() || created.status().code() == core::StatusCode::kAlreadyExists)
        << created.status();
  }
  std::ifstream in(std::string(std::getenv("NOVACRON_SOURCE_DIR")) +
                   "/config/samples/virtualmachine_kernelboot.yaml");
  std::stringstream text;
  text << in.rdbuf();
  auto json = api::yamlToJson(text.str());
  ASSERT_TRUE(json.isOk());
  auto vm = api::virtualMachineFromJson(*json);
  ASSERT_TRUE(vm.isOk()) << vm.status();
  vm->metadata.namespace_ = ns_;

  VirtualMachineClient vms(client_);
  // The CRD may need a moment to be served.
  core::StatusOr<api::VirtualMachine> created = core::notFoundError("not yet");
  ASSERT_TRUE(eventually(
      [&] {
        created = vms.create(*vm);
        return created.status().code() != core::StatusCode::kNotFound;
      },
      kWait));
  ASSERT_TRUE(created.isOk()) << created.status();
  EXPECT_EQ(created->metadata.generation, 1);

  api::VirtualMachine status = *created;
  status.status.observedGeneration = 1;
  auto written = vms.updateStatus(status);
  ASSERT_TRUE(written.isOk()) << written.status();
  EXPECT_EQ(written->status.observedGeneration, 1);
  EXPECT_EQ(vms.update(*created).status().code(), core::StatusCode::kConflict);

  Json invalid = api::toJson(*vm);
  invalid["metadata"]["name"] = "invalid-vm";
  invalid["spec"]["resources"]["cpus"] = 100000;
  auto rejected = client_->create(kVirtualMachine, ns_, invalid);
  EXPECT_EQ(rejected.status().code(), core::StatusCode::kInvalidArgument) << rejected.status();
  EXPECT_THAT(rejected.status().message(), HasSubstr("spec.resources.cpus"));
}

// Last: restarts the API server under an open watch.
TEST_F(DevApiServerTest, ZzWatchEndsWhenServerRestartsAndClientRecovers) {
  EventLog log;
  auto watch = client_->watch(kConfigMap, ns_, {}, log.callback());
  ASSERT_TRUE(watch.isOk()) << watch.status();
  ASSERT_TRUE(cluster_->stopApiServer().isOk());
  ASSERT_TRUE(eventually([&] { return (*watch)->done(); }, kWait));
  core::Status end = (*watch)->wait();
  // A server going away ends the stream: normally (EOF) or as a transport error, never Cancelled.
  EXPECT_NE(end.code(), core::StatusCode::kCancelled) << end;
  EXPECT_EQ(client_->get(kConfigMap, ns_, "x").status().code(), core::StatusCode::kUnavailable);
  ASSERT_TRUE(cluster_->startApiServer().isOk());
  EXPECT_TRUE(eventually(
      [&] {
        return client_->get(kConfigMap, ns_, "x").status().code() == core::StatusCode::kNotFound;
      },
      kWait));
}

}  // namespace
}  // namespace novacron::kube
