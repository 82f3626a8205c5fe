#include "lib/runtime/informer.h"

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClient;

const kube::ResourceType& kRes = kube::kConfigMap;

// Polls `cond` until true or 10 s pass.
using testing::eventually;

json configMap(const std::string& name, const std::string& value,
               std::map<std::string, std::string> labels = {}) {
  json o = {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", name}, {"namespace", "ns"}}},
            {"data", {{"v", value}}}};
  if (!labels.empty()) {
    o["metadata"]["labels"] = labels;
  }
  return o;
}

// Forwards to a FakeClient; while closed, watch() fails with kUnavailable (an outage the test
// controls exactly).
class GatedClient final : public kube::Client {
public:
  explicit GatedClient(std::shared_ptr<FakeClient> inner) : inner_(std::move(inner)) {}
  std::atomic<bool> open{true};
  std::atomic<int> refused{0};

  core::StatusOr<kube::Json> get(const kube::ResourceType& r, std::string_view ns,
                                 std::string_view name) override {
    return inner_->get(r, ns, name);
  }
  core::StatusOr<kube::Json> list(const kube::ResourceType& r, std::string_view ns,
                                  const kube::ListOptions& o) override {
    return inner_->list(r, ns, o);
  }
  core::StatusOr<kube::Json> create(const kube::ResourceType& r, std::string_view ns,
                                    const kube::Json& o) override {
    return inner_->create(r, ns, o);
  }
  core::StatusOr<kube::Json> update(const kube::ResourceType& r, std::string_view ns,
                                    const kube::Json& o) override {
    return inner_->update(r, ns, o);
  }
  core::StatusOr<kube::Json> updateStatus(const kube::ResourceType& r, std::string_view ns,
                                          const kube::Json& o) override {
    return inner_->updateStatus(r, ns, o);
  }
  core::StatusOr<kube::Json> patch(const kube::ResourceType& r, std::string_view ns,
                                   std::string_view name, kube::PatchType t, const kube::Json& p,
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
    if (!open) {
      ++refused;
      return core::unavailableError("gate closed");
    }
    return inner_->watch(r, ns, o, std::move(cb));
  }

private:
  std::shared_ptr<FakeClient> inner_;
};

// Records handler calls: key -> last value seen ("" after delete).
struct Recorder {
  std::mutex mu;
  std::map<std::string, std::string> state;
  int adds = 0, updates = 0, deletes = 0;

  EventHandlers<json> handlers() {
    auto value = [](const std::shared_ptr<const json>& o) {
      return (*o)["data"]["v"].get<std::string>();
    };
    return EventHandlers<json>{[this, value](const std::string& key, const auto& obj) {
                                 std::lock_guard lock(mu);
                                 ++adds;
                                 state[key] = value(obj);
                               },
                               [this, value](const std::string& key, const auto&, const auto& obj) {
                                 std::lock_guard lock(mu);
                                 ++updates;
                                 state[key] = value(obj);
                               },
                               [this](const std::string& key, const auto&) {
                                 std::lock_guard lock(mu);
                                 ++deletes;
                                 state.erase(key);
                               }};
  }
  std::map<std::string, std::string> snapshot() {
    std::lock_guard lock(mu);
    return state;
  }
};

std::map<std::string, std::string> serverState(FakeClient& fake) {
  std::map<std::string, std::string> out;
  for (const auto& o : fake.objects(kRes)) {
    out[objectKeyOf(o)] = o["data"]["v"].get<std::string>();
  }
  return out;
}

std::map<std::string, std::string> cacheState(const Informer<json>& informer) {
  std::map<std::string, std::string> out;
  for (const auto& o : informer.store().list()) {
    out[objectKeyOf(*o)] = (*o)["data"]["v"].get<std::string>();
  }
  return out;
}

class InformerTest : public ::testing::Test {
protected:
  ReflectorOptions options() {
    ReflectorOptions o;
    o.ns = "ns";
    o.registry = registry_;
    o.page_size = 2;  // exercise paging
    o.backoff = core::BackoffPolicy{milliseconds(5), milliseconds(20), 2.0, 0.0};
    return o;
  }
  void create(const std::string& name, const std::string& value,
              std::map<std::string, std::string> labels = {}) {
    ASSERT_TRUE(fake_->create(kRes, "ns", configMap(name, value, std::move(labels))).isOk());
  }
  void update(const std::string& name, const std::string& value) {
    auto current = fake_->get(kRes, "ns", name);
    ASSERT_TRUE(current.isOk());
    json next = *current;
    next["data"]["v"] = value;
    ASSERT_TRUE(fake_->update(kRes, "ns", next).isOk());
  }

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<FakeClient> fake_ = std::make_shared<FakeClient>();
};

TEST_F(InformerTest, ListsThenWatchesAndDispatchesHandlers) {
  create("a", "1");
  create("b", "1");
  create("c", "1");
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  Recorder rec;
  informer.addEventHandler(rec.handlers());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  // Synced means the initial list is in the cache and its handlers have run.
  EXPECT_EQ(informer.store().size(), 3u);
  EXPECT_EQ(rec.snapshot().size(), 3u);
  EXPECT_EQ(informer.reflector().listCount(), 1);
  // Items from a list get apiVersion/kind filled in.
  EXPECT_EQ((*informer.store().get("ns/a"))["kind"], "ConfigMap");

  update("a", "2");
  ASSERT_TRUE(fake_->remove(kRes, "ns", "b").isOk());
  create("d", "1");
  ASSERT_TRUE(eventually([&] { return cacheState(informer) == serverState(*fake_); }));
  EXPECT_TRUE(eventually([&] { return rec.snapshot() == serverState(*fake_); }));
  EXPECT_EQ(informer.state(), ReflectorState::kWatching);
  informer.stop();
  EXPECT_EQ(informer.state(), ReflectorState::kStopped);
}

// The first list's objects are reported once all of them are stored (what handlers allocate per
// key must not sit between the cached objects: issue 15 B4), in server order, each once.
TEST_F(InformerTest, ReportsTheFirstListOnceItIsStoredInServerOrder) {
  for (const char* name : {"a", "b", "c", "d", "e"}) {  // three pages of two
    create(name, "1");
  }
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  std::mutex mu;
  std::vector<std::pair<std::string, size_t>> adds;  // key, objects stored when reported
  informer.addEventHandler(EventHandlers<json>{[&](const std::string& key, const auto&) {
                                                 std::lock_guard lock(mu);
                                                 adds.emplace_back(key, informer.store().size());
                                               },
                                               nullptr, nullptr});
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  std::lock_guard lock(mu);
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"ns/a", 5}, {"ns/b", 5}, {"ns/c", 5}, {"ns/d", 5}, {"ns/e", 5}};
  EXPECT_EQ(adds, expected);
}

TEST_F(InformerTest, ResumesANormallyEndedWatchFromTheLastVersionWithoutRelisting) {
  create("a", "1");
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(eventually([&] { return fake_->activeWatches() == 1; }));
    fake_->endWatches();  // e.g. the server's watch timeout
    update("a", std::to_string(round + 2));
  }
  ASSERT_TRUE(eventually([&] { return cacheState(informer) == serverState(*fake_); }));
  EXPECT_EQ(informer.reflector().listCount(), 1);
  EXPECT_EQ(fake_->countActions(FakeClient::Verb::kList, "configmaps"), 1u);
  EXPECT_GE(fake_->countActions(FakeClient::Verb::kWatch, "configmaps"), 6u);
}

TEST_F(InformerTest, RelistsOnGoneAndReportsObjectsThatVanishedMeanwhile) {
  create("keep", "1");
  create("gone", "1");
  auto gated = std::make_shared<GatedClient>(fake_);
  Informer<json> informer(gated, kRes, identityDecoder, options());
  Recorder rec;
  informer.addEventHandler(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  ASSERT_TRUE(eventually([&] { return fake_->activeWatches() == 1; }));

  // Outage: the watch breaks and cannot be re-established while the world changes and the
  // history is compacted away.
  gated->open = false;
  fake_->endWatches(core::unavailableError("connection reset"));
  ASSERT_TRUE(eventually([&] { return gated->refused.load() >= 1; }));
  ASSERT_TRUE(fake_->remove(kRes, "ns", "gone").isOk());
  update("keep", "2");
  create("new", "1");
  fake_->compact();
  gated->open = true;

  // The resumed watch gets 410 Gone; the relist brings the cache back in line.
  ASSERT_TRUE(eventually([&] { return cacheState(informer) == serverState(*fake_); }));
  EXPECT_TRUE(eventually([&] { return rec.snapshot() == serverState(*fake_); }));
  EXPECT_EQ(informer.reflector().listCount(), 2);
  EXPECT_EQ(rec.deletes, 1);
  EXPECT_EQ(informer.store().get("ns/gone"), nullptr);
}

// A relist arrives page by page (page_size 2 here: three pages) and each page is stored as it
// comes; only an object that was in no page is removed, once the last page is in.
TEST_F(InformerTest, ARelistOverSeveralPagesRemovesOnlyWhatNoPageListed) {
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    create(name, "1");
  }
  auto gated = std::make_shared<GatedClient>(fake_);
  Informer<json> informer(gated, kRes, identityDecoder, options());
  Recorder rec;
  informer.addEventHandler(rec.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  EXPECT_EQ(informer.store().size(), 5u);
  ASSERT_TRUE(eventually([&] { return fake_->activeWatches() == 1; }));

  gated->open = false;
  fake_->endWatches(core::unavailableError("connection reset"));
  ASSERT_TRUE(eventually([&] { return gated->refused.load() >= 1; }));
  ASSERT_TRUE(fake_->remove(kRes, "ns", "c").isOk());
  update("e", "2");
  fake_->compact();
  gated->open = true;

  ASSERT_TRUE(eventually([&] { return informer.reflector().listCount() == 2; }));
  ASSERT_TRUE(eventually([&] { return cacheState(informer) == serverState(*fake_); }));
  EXPECT_EQ(informer.store().size(), 4u);
  EXPECT_EQ(rec.deletes, 1);
  EXPECT_EQ(informer.store().get("ns/c"), nullptr);
  EXPECT_EQ((*informer.store().get("ns/e"))["data"]["v"], "2");
}

TEST_F(InformerTest, GoneAsAnErrorEventMidWatchRelists) {
  create("a", "1");
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  ASSERT_TRUE(eventually([&] { return fake_->activeWatches() == 1; }));
  fake_->endWatches(core::goneError("too old resource version"));
  ASSERT_TRUE(eventually([&] { return informer.reflector().listCount() == 2; }));
  update("a", "2");
  EXPECT_TRUE(eventually([&] { return cacheState(informer) == serverState(*fake_); }));
}

TEST_F(InformerTest, BacksOffOnListFailuresThenSyncs) {
  create("a", "1");
  fake_->failNext(FakeClient::Verb::kList, "configmaps", core::unavailableError("down"), 3);
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  EXPECT_EQ(informer.store().size(), 1u);
  EXPECT_EQ(fake_->countActions(FakeClient::Verb::kList, "configmaps"), 1u);
}

TEST_F(InformerTest, BookmarksAdvanceTheResourceVersion) {
  create("a", "1");
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  ASSERT_TRUE(eventually([&] { return fake_->activeWatches() == 1; }));
  // Changes to another resource move the cluster version but send this watch nothing.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        fake_->create(kube::kSecret, "ns", json{{"metadata", {{"name", "s" + std::to_string(i)}}}})
            .isOk());
  }
  const std::string latest = std::to_string(fake_->resourceVersion());
  EXPECT_NE(informer.reflector().lastSyncResourceVersion(), latest);
  fake_->sendBookmarks();
  EXPECT_TRUE(eventually([&] { return informer.reflector().lastSyncResourceVersion() == latest; }));
}

TEST_F(InformerTest, RestartsAWatchThatWentSilent) {
  create("a", "1");
  auto o = options();
  o.watch_idle_timeout = milliseconds(30);  // the fake sends nothing unless told to
  Informer<json> informer(fake_, kRes, identityDecoder, o);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  ASSERT_TRUE(
      eventually([&] { return fake_->countActions(FakeClient::Verb::kWatch, "configmaps") >= 3; }));
  EXPECT_EQ(informer.reflector().listCount(), 1);  // resumed, not relisted
  update("a", "2");
  EXPECT_TRUE(eventually([&] { return cacheState(informer) == serverState(*fake_); }));
}

struct Decoded {
  std::string value;
};

TEST_F(InformerTest, CachesDecodedObjectsAndKeepsTheLastGoodOneOnDecodeErrors) {
  create("a", "1");
  Informer<Decoded>::Decoder decode = [](const json& j) -> core::StatusOr<Decoded> {
    const std::string v = j["data"]["v"];
    if (v == "bad") {
      return core::invalidArgumentError("data.v: bad");
    }
    return Decoded{v};
  };
  Informer<Decoded> informer(fake_, kRes, decode, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  EXPECT_EQ(informer.store().get("ns/a")->value, "1");
  update("a", "bad");
  create("b", "2");  // ordered after the bad update
  ASSERT_TRUE(eventually([&] { return informer.store().get("ns/b") != nullptr; }));
  EXPECT_EQ(informer.store().get("ns/a")->value, "1");
  double errors = 0;
  for (const auto& f : registry_->Collect()) {
    if (f.name == "novacron_informer_decode_errors_total") {
      errors = f.metric.at(0).counter.value;
    }
  }
  EXPECT_EQ(errors, 1);
}

TEST_F(InformerTest, IndexesByLabelAndEnqueuesKeys) {
  create("a", "1", {{"app", "web"}});
  create("b", "1", {{"app", "db"}});
  WorkQueue queue(WorkQueueOptions{});
  Informer<json> informer(fake_, kRes, identityDecoder, options());
  informer.addIndexer("app", labelIndexer<json>("app"));
  informer.addEventHandler(enqueueKeys<json>(queue));
  informer.start();
  ASSERT_TRUE(informer.waitForSync(seconds(10)));
  EXPECT_EQ(informer.store().indexKeys("app", "web"), std::vector<std::string>{"ns/a"});
  EXPECT_EQ(queue.len(), 2u);
  create("c", "1", {{"app", "web"}});
  ASSERT_TRUE(eventually([&] { return informer.store().indexKeys("app", "web").size() == 2; }));
  EXPECT_TRUE(eventually([&] { return queue.len() == 3; }));
}

}  // namespace
}  // namespace novacron::runtime
