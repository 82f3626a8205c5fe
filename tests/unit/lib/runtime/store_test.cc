#include "lib/runtime/store.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace novacron::runtime {
namespace {

using nlohmann::json;

struct Vm {
  struct {
    std::map<std::string, std::string> labels;
  } metadata;
  std::string hypervisor;
  int version = 0;
};

std::shared_ptr<const Vm> vm(std::string hypervisor, std::string app, int version = 0) {
  auto v = std::make_shared<Vm>();
  v->hypervisor = std::move(hypervisor);
  if (!app.empty()) {
    v->metadata.labels["app"] = std::move(app);
  }
  v->version = version;
  return v;
}

TEST(ObjectKeyTest, NamespacedAndClusterScoped) {
  EXPECT_EQ(objectKey("ns", "a"), "ns/a");
  EXPECT_EQ(objectKey("", "h1"), "h1");
  EXPECT_EQ(objectKeyOf(json{{"metadata", {{"namespace", "ns"}, {"name", "a"}}}}), "ns/a");
  EXPECT_EQ(objectKeyOf(json{{"metadata", {{"name", "h1"}}}}), "h1");
  EXPECT_EQ(objectKeyOf(json::object()), "");
  EXPECT_EQ(splitObjectKey("ns/a"), (std::pair<std::string, std::string>{"ns", "a"}));
  EXPECT_EQ(splitObjectKey("h1"), (std::pair<std::string, std::string>{"", "h1"}));
}

TEST(StoreTest, UpsertGetRemoveReturnPreviousSnapshots) {
  Store<Vm> store;
  EXPECT_EQ(store.upsert("ns/a", vm("h1", "web", 1)), nullptr);
  auto first = store.get("ns/a");
  ASSERT_NE(first, nullptr);
  auto old = store.upsert("ns/a", vm("h1", "web", 2));
  EXPECT_EQ(old, first);
  // A reader's snapshot is immutable and stays valid after the cache moved on.
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(store.get("ns/a")->version, 2);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.remove("ns/a")->version, 2);
  EXPECT_EQ(store.remove("ns/a"), nullptr);
  EXPECT_EQ(store.get("ns/a"), nullptr);
  EXPECT_TRUE(store.list().empty());
}

TEST(StoreTest, IndexersFollowUpdatesAndRemovals) {
  Store<Vm> store;
  store.addIndexer("app", labelIndexer<Vm>("app"));
  store.addIndexer("hypervisor",
                   [](const Vm& v) { return std::vector<std::string>{v.hypervisor}; });
  store.upsert("ns/a", vm("h1", "web"));
  store.upsert("ns/b", vm("h1", "db"));
  store.upsert("ns/c", vm("h2", ""));
  EXPECT_EQ(store.byIndex("hypervisor", "h1").size(), 2u);
  EXPECT_EQ(store.indexKeys("app", "web"), std::vector<std::string>{"ns/a"});
  EXPECT_TRUE(store.byIndex("app", "none").empty());

  store.upsert("ns/a", vm("h2", "web"));  // migrated
  EXPECT_EQ(store.indexKeys("hypervisor", "h1"), std::vector<std::string>{"ns/b"});
  EXPECT_EQ(store.indexKeys("hypervisor", "h2"), (std::vector<std::string>{"ns/a", "ns/c"}));
  store.remove("ns/b");
  EXPECT_TRUE(store.byIndex("hypervisor", "h1").empty());
  EXPECT_TRUE(store.byIndex("app", "db").empty());
}

// The indexes point to the store's own keys: they must stay right while the table grows and
// shrinks (rehashing) and keys are removed and added again.
TEST(StoreTest, IndexesStayRightThroughRehashesAndReinsertions) {
  Store<Vm> store;
  store.addIndexer("hypervisor",
                   [](const Vm& v) { return std::vector<std::string>{v.hypervisor}; });
  for (int i = 0; i < 2000; ++i) {
    store.upsert("ns/vm-" + std::to_string(i), vm(i % 2 == 0 ? "even" : "odd", ""));
  }
  for (int i = 0; i < 2000; i += 4) {
    EXPECT_NE(store.remove("ns/vm-" + std::to_string(i)), nullptr);
  }
  store.upsert("ns/vm-0", vm("odd", ""));  // back, elsewhere
  EXPECT_EQ(store.byIndex("hypervisor", "even").size(), 500u);
  const auto odd = store.indexKeys("hypervisor", "odd");
  ASSERT_EQ(odd.size(), 1001u);
  EXPECT_EQ(odd.front(), "ns/vm-0");  // key order, as before
  EXPECT_TRUE(std::is_sorted(odd.begin(), odd.end()));
  for (const auto& key : odd) {
    ASSERT_NE(store.get(key), nullptr) << key;
    EXPECT_EQ(store.get(key)->hypervisor, "odd") << key;
  }
}

TEST(StoreTest, IndexerAddedLaterIndexesExistingObjects) {
  Store<json> store;
  store.upsert("ns/a", std::make_shared<const json>(
                           json{{"metadata", {{"name", "a"}, {"labels", {{"tier", "gold"}}}}}}));
  store.addIndexer("tier", labelIndexer<json>("tier"));
  EXPECT_EQ(store.indexKeys("tier", "gold"), std::vector<std::string>{"ns/a"});
}

TEST(StoreTest, ConcurrentReadersSeeWholeSnapshots) {
  Store<Vm> store;
  store.addIndexer("hypervisor",
                   [](const Vm& v) { return std::vector<std::string>{v.hypervisor}; });
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) {
      store.upsert("ns/" + std::to_string(i % 50), vm("h" + std::to_string(i % 3), "x", i));
      if (i % 7 == 0) {
        store.remove("ns/" + std::to_string((i / 7) % 50));
      }
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        for (const auto& v : store.byIndex("hypervisor", "h1")) {
          if (v->hypervisor != "h1") {
            ++bad;
          }
        }
        (void)store.list();
      }
    });
  }
  writer.join();
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace novacron::runtime
