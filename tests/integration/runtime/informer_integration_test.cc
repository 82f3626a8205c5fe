// Informer against the real dev API server (etcd + novacron-dev-apiserver): the cache converges to
// the server's state after the server restarts mid-watch, after an etcd compaction forces 410
// Gone, and under 1,000 rapid updates.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "lib/runtime/event_recorder.h"
#include "lib/runtime/finalizers.h"
#include "lib/runtime/informer.h"
#include "tests/testing/dev_cluster.h"
#include "tests/testing/eventually.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const kube::ResourceType& kRes = kube::kConfigMap;
constexpr const char* kNs = "informer-it";
// Convergence after partitions and restarts on a shared 2-core machine; waits end early.
constexpr std::chrono::seconds kWait{60};

using novacron::testing::eventually;

// Decorator simulating a partition between the informer and a server that keeps working:
// cut() ends every watch it handed out and makes new watch() calls fail with kUnavailable until
// heal().
class GatedClient final : public kube::Client {
public:
  explicit GatedClient(kube::ClientPtr inner) : inner_(std::move(inner)) {}

  void cut() {
    std::lock_guard lock(mu_);
    open_ = false;
    for (auto* handle : handles_) {
      handle->stop();
    }
  }
  void heal() {
    std::lock_guard lock(mu_);
    open_ = true;
  }
  int refused() const {
    std::lock_guard lock(mu_);
    return refused_;
  }

  core::StatusOr<json> get(const kube::ResourceType& r, std::string_view ns,
                           std::string_view name) override {
    return inner_->get(r, ns, name);
  }
  core::StatusOr<json> list(const kube::ResourceType& r, std::string_view ns,
                            const kube::ListOptions& o) override {
    return inner_->list(r, ns, o);
  }
  core::StatusOr<json> create(const kube::ResourceType& r, std::string_view ns,
                              const json& o) override {
    return inner_->create(r, ns, o);
  }
  core::StatusOr<json> update(const kube::ResourceType& r, std::string_view ns,
                              const json& o) override {
    return inner_->update(r, ns, o);
  }
  core::StatusOr<json> updateStatus(const kube::ResourceType& r, std::string_view ns,
                                    const json& o) override {
    return inner_->updateStatus(r, ns, o);
  }
  core::StatusOr<json> patch(const kube::ResourceType& r, std::string_view ns,
                             std::string_view name, kube::PatchType t, const json& p,
                             std::string_view sub) override {
    return inner_->patch(r, ns, name, t, p, sub);
  }
  core::Status remove(const kube::ResourceType& r, std::string_view ns, std::string_view name,
                      const kube::DeleteOptions& o) override {
    return inner_->remove(r, ns, name, o);
  }
  core::StatusOr<kube::WatchHandlePtr> watch(const kube::ResourceType& r, std::string_view ns,
                                             const kube::WatchOptions& o,
                                             kube::WatchCallback cb) override {
    std::lock_guard lock(mu_);
    if (!open_) {
      ++refused_;
      return core::unavailableError("partitioned");
    }
    auto inner = inner_->watch(r, ns, o, std::move(cb));
    if (!inner.isOk()) {
      return inner.status();
    }
    return kube::WatchHandlePtr(std::make_unique<Handle>(this, std::move(inner).value()));
  }

private:
  class Handle final : public kube::WatchHandle {
  public:
    Handle(GatedClient* gate, kube::WatchHandlePtr inner) : gate_(gate), inner_(std::move(inner)) {
      gate_->handles_.insert(this);  // called with gate->mu_ held
    }
    ~Handle() override {
      {
        std::lock_guard lock(gate_->mu_);
        gate_->handles_.erase(this);
      }
      inner_.reset();
    }
    void stop() override { inner_->stop(); }
    core::Status wait() override { return inner_->wait(); }
    bool done() const override { return inner_->done(); }

  private:
    GatedClient* gate_;
    kube::WatchHandlePtr inner_;
  };

  kube::ClientPtr inner_;
  mutable std::mutex mu_;
  bool open_ = true;                      // guarded by mu_
  int refused_ = 0;                       // guarded by mu_
  std::set<kube::WatchHandle*> handles_;  // guarded by mu_
};

class InformerIntegrationTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto cluster = testing::DevCluster::start();
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    cluster_ = std::move(cluster).value();
    auto config = kube::loadKubeconfigFile(cluster_->kubeconfigPath());
    ASSERT_TRUE(config.isOk()) << config.status();
    kube::RestClientOptions options;
    options.qps = 1000;
    options.burst = 1000;
    options.registry = std::make_shared<prometheus::Registry>();
    auto client = kube::newRestClient(*config, options);
    ASSERT_TRUE(client.isOk()) << client.status();
    client_ = *client;
    auto ns = client_->create(
        kube::kNamespace, "",
        json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNs}}}});
    ASSERT_TRUE(ns.isOk()) << ns.status();
  }

  ReflectorOptions options() {
    ReflectorOptions o;
    o.ns = kNs;
    o.registry = std::make_shared<prometheus::Registry>();
    o.backoff = core::BackoffPolicy{milliseconds(50), milliseconds(500), 2.0, 0.1};
    o.page_size = 7;
    // Bookmarks come every second only while the resource changes (as with kube-apiserver); a
    // quiet watch is restarted after 5 s, which the tests tolerate.
    o.watch_idle_timeout = seconds(5);
    return o;
  }

  void create(const std::string& name, const std::string& value) {
    auto r = client_->create(kRes, kNs,
                             json{{"apiVersion", "v1"},
                                  {"kind", "ConfigMap"},
                                  {"metadata", {{"name", name}, {"namespace", kNs}}},
                                  {"data", {{"v", value}}}});
    ASSERT_TRUE(r.isOk()) << r.status();
  }
  // Read-modify-write with conflict retries; returns the new resourceVersion.
  void update(const std::string& name, const std::string& value) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto current = client_->get(kRes, kNs, name);
      ASSERT_TRUE(current.isOk()) << current.status();
      json next = *current;
      next["data"]["v"] = value;
      auto r = client_->update(kRes, kNs, next);
      if (r.isOk()) {
        return;
      }
      ASSERT_EQ(r.status().code(), core::StatusCode::kConflict) << r.status();
    }
    FAIL() << "too many conflicts updating " << name;
  }
  void remove(const std::string& name) {
    auto s = client_->remove(kRes, kNs, name);
    ASSERT_TRUE(s.isOk()) << s;
  }

  // key -> (resourceVersion, data.v)
  using State = std::map<std::string, std::pair<std::string, std::string>>;
  State serverState() {
    State out;
    auto list = client_->list(kRes, kNs, {});
    if (!list.isOk()) {
      return {{"<list failed>", {list.status().toString(), ""}}};
    }
    for (const auto& item : (*list)["items"]) {
      out[objectKeyOf(item)] = {item["metadata"]["resourceVersion"], item["data"].value("v", "")};
    }
    return out;
  }
  static State cacheState(const Informer<json>& informer) {
    State out;
    for (const auto& o : informer.store().list()) {
      out[objectKeyOf(*o)] = {(*o)["metadata"]["resourceVersion"], (*o)["data"].value("v", "")};
    }
    return out;
  }
  bool converged(const Informer<json>& informer) { return cacheState(informer) == serverState(); }

  std::unique_ptr<testing::DevCluster> cluster_;
  kube::ClientPtr client_;
};

TEST_F(InformerIntegrationTest, ConvergesAfterTheApiServerRestartsMidWatch) {
  for (int i = 0; i < 20; ++i) {
    create("cm-" + std::to_string(i), "0");
  }
  Informer<json> informer(client_, kRes, identityDecoder, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(60)));
  EXPECT_EQ(informer.store().size(), 20u);

  // Changes right before the kill race with the watch stream.
  update("cm-0", "1");
  remove("cm-1");
  ASSERT_TRUE(cluster_->stopApiServer().isOk());
  ASSERT_TRUE(eventually([&] { return informer.state() == ReflectorState::kBackoff; }, kWait))
      << reflectorStateName(informer.state());
  ASSERT_TRUE(cluster_->startApiServer().isOk());
  update("cm-2", "2");
  remove("cm-3");
  create("cm-new", "1");
  EXPECT_TRUE(eventually([&] { return converged(informer); }, kWait));
  EXPECT_TRUE(eventually([&] { return informer.state() == ReflectorState::kWatching; }, kWait));

  // A second restart while idle, then more changes.
  ASSERT_TRUE(cluster_->stopApiServer().isOk());
  ASSERT_TRUE(cluster_->startApiServer().isOk());
  update("cm-4", "4");
  EXPECT_TRUE(eventually([&] { return converged(informer); }, kWait));
}

TEST_F(InformerIntegrationTest, RelistsAfterCompactionForcesGone) {
  for (int i = 0; i < 10; ++i) {
    create("cm-" + std::to_string(i), "0");
  }
  auto gated = std::make_shared<GatedClient>(client_);
  Informer<json> informer(gated, kRes, identityDecoder, options());
  int deletes = 0;
  std::mutex mu;
  informer.addEventHandler(
      EventHandlers<json>{nullptr, nullptr, [&](const std::string&, const auto&) {
                            std::lock_guard lock(mu);
                            ++deletes;
                          }});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(60)));
  ASSERT_EQ(informer.reflector().listCount(), 1);

  // Partition the informer: its watch ends and cannot be re-opened; meanwhile the world changes
  // and etcd compacts away the history it would need to resume.
  gated->cut();
  ASSERT_TRUE(eventually([&] { return gated->refused() >= 1; }, kWait))
      << reflectorStateName(informer.state());
  remove("cm-0");
  remove("cm-1");
  update("cm-2", "2");
  create("cm-new", "1");
  auto compacted = cluster_->compact();
  ASSERT_TRUE(compacted.isOk()) << compacted.status();
  gated->heal();

  EXPECT_TRUE(eventually([&] { return converged(informer); }, kWait));
  EXPECT_GE(informer.reflector().listCount(), 2);  // resumed watch got 410, then relisted
  std::lock_guard lock(mu);
  EXPECT_EQ(deletes, 2);  // vanished objects are reported by the relist
}

TEST_F(InformerIntegrationTest, NoLostFinalStateUnderAThousandRapidUpdates) {
  constexpr int kObjects = 10;
  constexpr int kUpdatesPerObject = 100;
  for (int i = 0; i < kObjects; ++i) {
    create("cm-" + std::to_string(i), "0");
  }
  Informer<json> informer(client_, kRes, identityDecoder, options());
  std::mutex mu;
  std::map<std::string, std::string> last_handled;
  auto remember = [&](const std::string& key, const std::shared_ptr<const json>& obj) {
    std::lock_guard lock(mu);
    last_handled[key] = (*obj)["data"].value("v", "");
  };
  informer.addEventHandler(EventHandlers<json>{
      remember, [&](const std::string& key, const auto&, const auto& obj) { remember(key, obj); },
      nullptr});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(60)));

  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 1; n <= kUpdatesPerObject; ++n) {
        for (int i = w; i < kObjects; i += 2) {
          update("cm-" + std::to_string(i), std::to_string(n));
        }
      }
    });
  }
  for (auto& t : writers) {
    t.join();
  }
  EXPECT_TRUE(eventually([&] { return converged(informer); }, kWait));
  std::lock_guard lock(mu);
  for (int i = 0; i < kObjects; ++i) {
    EXPECT_EQ(last_handled[std::string(kNs) + "/cm-" + std::to_string(i)],
              std::to_string(kUpdatesPerObject));
  }
}

TEST_F(InformerIntegrationTest, FinalizerPatchesAreConditionalOnTheServer) {
  create("guarded", "0");
  auto stale = client_->get(kRes, kNs, "guarded");
  ASSERT_TRUE(stale.isOk());
  auto added = addFinalizer(*client_, kRes, *stale, "novacron.io/test");
  ASSERT_TRUE(added.isOk()) << added.status();
  EXPECT_TRUE(hasFinalizer(*client_->get(kRes, kNs, "guarded"), "novacron.io/test"));
  // The view we added from is now stale: a second writer based on it must get a conflict.
  auto again = addFinalizer(*client_, kRes, *stale, "novacron.io/other");
  EXPECT_EQ(again.status().code(), core::StatusCode::kConflict) << again.status();
  // Deletion waits for the finalizer; removing it (from a fresh view) lets the object go.
  remove("guarded");
  auto deleting = client_->get(kRes, kNs, "guarded");
  ASSERT_TRUE(deleting.isOk());
  auto removed = removeFinalizer(*client_, kRes, *deleting, "novacron.io/test");
  ASSERT_TRUE(removed.isOk()) << removed.status();
  EXPECT_TRUE(eventually(
      [&] {
        return client_->get(kRes, kNs, "guarded").status().code() == core::StatusCode::kNotFound;
      },
      kWait));
}

TEST_F(InformerIntegrationTest, EventRecorderCreatesAndAggregatesEventsOnTheServer) {
  create("subject", "0");
  auto subject = client_->get(kRes, kNs, "subject");
  ASSERT_TRUE(subject.isOk());
  EventRecorderOptions options;
  options.component = "runtime-it";
  options.host = "localhost";
  options.registry = std::make_shared<prometheus::Registry>();
  EventRecorder recorder(client_, options);
  for (int i = 0; i < 3; ++i) {
    recorder.event(*subject, "Warning", "Flapping", "same message");
  }
  ASSERT_TRUE(recorder.flush(seconds(30)));
  auto events = client_->list(kube::kCoreEvent, kNs, {});
  ASSERT_TRUE(events.isOk()) << events.status();
  ASSERT_EQ((*events)["items"].size(), 1u) << events->dump();
  const json& e = (*events)["items"][0];
  EXPECT_EQ(e["count"], 3);
  EXPECT_EQ(e["involvedObject"]["name"], "subject");
  EXPECT_EQ(e["involvedObject"]["uid"], (*subject)["metadata"]["uid"]);
}

}  // namespace
}  // namespace novacron::runtime
