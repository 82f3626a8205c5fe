// EtcdClient against a real etcd (the DevCluster's): every call the dev API server makes, over
// etcd's gRPC API, with the answers the server relies on — conditional writes that fail with the
// current value, compacted revisions as kGone (ranges and watches), watch events in order with
// their previous values, a cancel from another thread, and bad endpoints refused up front.
#include "dev-apiserver/etcd_client.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/dev_cluster.h"

namespace novacron::devapi {
namespace {

class EtcdClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto cluster = testing::DevCluster::start();
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto etcd = EtcdClient::create(cluster_->etcdEndpoint());
    ASSERT_TRUE(etcd.isOk()) << etcd.status();
    etcd_ = std::move(*etcd);
  }

  std::unique_ptr<testing::DevCluster> cluster_;
  std::unique_ptr<EtcdClient> etcd_;
};

TEST(EtcdClientCreateTest, RefusesEndpointsThatAreNotHttpHostPort) {
  EXPECT_EQ(EtcdClient::create("127.0.0.1:2379").status().code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(EtcdClient::create("http://127.0.0.1").status().code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(EtcdClient::create("http://127.0.0.1:").status().code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_TRUE(EtcdClient::create("http://127.0.0.1:2379/").isOk());
}

TEST(EtcdClientCreateTest, AnUnreachableEtcdIsUnavailableNotAHang) {
  // Port 1 on loopback: nothing listens there.
  auto etcd = EtcdClient::create("http://127.0.0.1:1");
  ASSERT_TRUE(etcd.isOk());
  const auto start = std::chrono::steady_clock::now();
  auto r = (*etcd)->get("/test/k");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kUnavailable) << r.status();
  // Fails fast (a refused connection), not at the 60 s call deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(EtcdClientTest, CreateOnlyWhenAbsentAndUpdateOnlyOnTheGivenRevision) {
  const std::string key = "/test/a";
  auto created = etcd_->create(key, "v1");
  ASSERT_TRUE(created.isOk()) << created.status();
  EXPECT_TRUE(created->succeeded);
  EXPECT_GT(created->revision, 0);

  // A second create fails and carries the current value.
  auto again = etcd_->create(key, "v2");
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_FALSE(again->succeeded);
  ASSERT_TRUE(again->current.has_value());
  EXPECT_EQ(again->current->value, "v1");
  EXPECT_EQ(again->current->mod_revision, created->revision);

  auto updated = etcd_->update(key, "v2", created->revision);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_TRUE(updated->succeeded);
  EXPECT_GT(updated->revision, created->revision);

  // The old revision no longer matches: nothing is written, the current value comes back.
  auto stale = etcd_->update(key, "v3", created->revision);
  ASSERT_TRUE(stale.isOk()) << stale.status();
  EXPECT_FALSE(stale->succeeded);
  ASSERT_TRUE(stale->current.has_value());
  EXPECT_EQ(stale->current->value, "v2");

  auto got = etcd_->get(key);
  ASSERT_TRUE(got.isOk()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "v2");
  EXPECT_EQ((*got)->create_revision, created->revision);
  EXPECT_EQ((*got)->mod_revision, updated->revision);
}

TEST_F(EtcdClientTest, KeysAndValuesAreBytes) {
  const std::string key = std::string("/test/bin\0\xff", 11);
  const std::string value = std::string("\0\x01\x80\xfe\xff", 5);
  ASSERT_TRUE(etcd_->create(key, value).isOk());
  auto got = etcd_->get(key);
  ASSERT_TRUE(got.isOk()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->key, key);
  EXPECT_EQ((*got)->value, value);
}

TEST_F(EtcdClientTest, RangesPageAndCount) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(etcd_->create("/test/r/" + std::to_string(i), std::to_string(i)).isOk());
  }
  auto page = etcd_->range("/test/r/", prefixEnd("/test/r/"), 2);
  ASSERT_TRUE(page.isOk()) << page.status();
  ASSERT_EQ(page->kvs.size(), 2u);
  EXPECT_EQ(page->kvs[0].key, "/test/r/0");
  EXPECT_EQ(page->kvs[1].key, "/test/r/1");
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->count, 5);

  // The rest, at the first page's revision.
  auto rest = etcd_->range(page->kvs[1].key + '\0', prefixEnd("/test/r/"), 0, page->revision);
  ASSERT_TRUE(rest.isOk()) << rest.status();
  ASSERT_EQ(rest->kvs.size(), 3u);
  EXPECT_FALSE(rest->more);
  EXPECT_EQ(rest->revision, page->revision);

  auto count = etcd_->range("/test/r/", prefixEnd("/test/r/"), 0, 0, true);
  ASSERT_TRUE(count.isOk()) << count.status();
  EXPECT_TRUE(count->kvs.empty());
  EXPECT_EQ(count->count, 5);

  auto rev = etcd_->currentRevision();
  ASSERT_TRUE(rev.isOk()) << rev.status();
  EXPECT_EQ(*rev, count->revision);
}

TEST_F(EtcdClientTest, RemoveIsConditionalAndRemoveRangeDeletesThePrefix) {
  auto a = etcd_->create("/test/d/a", "a");
  ASSERT_TRUE(a.isOk());
  ASSERT_TRUE(etcd_->create("/test/d/b", "b").isOk());
  ASSERT_TRUE(etcd_->create("/test/e", "e").isOk());
  ASSERT_TRUE(etcd_->update("/test/d/a", "a2", a->revision).isOk());

  auto stale = etcd_->remove("/test/d/a", a->revision);
  ASSERT_TRUE(stale.isOk()) << stale.status();
  EXPECT_FALSE(stale->succeeded);
  ASSERT_TRUE(stale->current.has_value());
  EXPECT_EQ(stale->current->value, "a2");

  auto removed = etcd_->remove("/test/d/a", stale->current->mod_revision);
  ASSERT_TRUE(removed.isOk()) << removed.status();
  EXPECT_TRUE(removed->succeeded);
  ASSERT_EQ(removed->deleted.size(), 1u);
  EXPECT_EQ(removed->deleted[0].value, "a2");

  auto n = etcd_->removeRange("/test/d/", prefixEnd("/test/d/"));
  ASSERT_TRUE(n.isOk()) << n.status();
  EXPECT_EQ(*n, 1);
  auto left = etcd_->range("/test/", prefixEnd("/test/"));
  ASSERT_TRUE(left.isOk());
  ASSERT_EQ(left->kvs.size(), 1u);
  EXPECT_EQ(left->kvs[0].key, "/test/e");
}

TEST_F(EtcdClientTest, CompactedRevisionsAreGoneForRangesAndWatches) {
  auto first = etcd_->create("/test/c", "1");
  ASSERT_TRUE(first.isOk());
  ASSERT_TRUE(etcd_->update("/test/c", "2", first->revision).isOk());
  auto now = etcd_->currentRevision();
  ASSERT_TRUE(now.isOk());
  ASSERT_TRUE(etcd_->compact(*now).isOk());

  auto old = etcd_->range("/test/c", "", 0, first->revision);
  ASSERT_FALSE(old.isOk());
  EXPECT_EQ(old.status().code(), core::StatusCode::kGone) << old.status();

  auto future = etcd_->range("/test/c", "", 0, *now + 1000);
  ASSERT_FALSE(future.isOk());
  EXPECT_EQ(future.status().code(), core::StatusCode::kInvalidArgument) << future.status();

  // A watch from before the compaction: created, then told the history is gone.
  auto w = etcd_->watch("/test/", prefixEnd("/test/"), first->revision);
  if (!w.isOk()) {
    EXPECT_EQ(w.status().code(), core::StatusCode::kGone) << w.status();
    return;
  }
  auto events = (*w)->next();
  ASSERT_FALSE(events.isOk());
  EXPECT_EQ(events.status().code(), core::StatusCode::kGone) << events.status();
}

TEST_F(EtcdClientTest, AWatchDeliversEveryChangeInOrderWithThePreviousValue) {
  auto start = etcd_->currentRevision();
  ASSERT_TRUE(start.isOk());
  auto created = etcd_->create("/test/w/x", "1");
  ASSERT_TRUE(created.isOk());
  auto updated = etcd_->update("/test/w/x", "2", created->revision);
  ASSERT_TRUE(updated.isOk());
  auto removed = etcd_->remove("/test/w/x", updated->revision);
  ASSERT_TRUE(removed.isOk());
  ASSERT_TRUE(etcd_->create("/test/other", "not watched").isOk());

  // From the revision after `start`: the three changes happened before the watch began.
  auto w = etcd_->watch("/test/w/", prefixEnd("/test/w/"), *start + 1);
  ASSERT_TRUE(w.isOk()) << w.status();
  std::vector<WatchEvent> seen;
  while (seen.size() < 3) {
    auto batch = (*w)->next();
    ASSERT_TRUE(batch.isOk()) << batch.status();
    seen.insert(seen.end(), batch->begin(), batch->end());
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].is_delete);
  EXPECT_EQ(seen[0].kv.value, "1");
  EXPECT_EQ(seen[0].kv.mod_revision, created->revision);
  EXPECT_FALSE(seen[0].prev_kv.has_value());
  EXPECT_FALSE(seen[1].is_delete);
  EXPECT_EQ(seen[1].kv.value, "2");
  ASSERT_TRUE(seen[1].prev_kv.has_value());
  EXPECT_EQ(seen[1].prev_kv->value, "1");
  EXPECT_TRUE(seen[2].is_delete);
  EXPECT_EQ(seen[2].kv.key, "/test/w/x");
  EXPECT_EQ(seen[2].kv.mod_revision, removed->revision);
  ASSERT_TRUE(seen[2].prev_kv.has_value());
  EXPECT_EQ(seen[2].prev_kv->value, "2");

  // A live event, after the history.
  ASSERT_TRUE(etcd_->create("/test/w/y", "live").isOk());
  auto live = (*w)->next();
  ASSERT_TRUE(live.isOk()) << live.status();
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].kv.value, "live");
}

TEST_F(EtcdClientTest, CancelFromAnotherThreadEndsABlockedNext) {
  auto w = etcd_->watch("/test/idle/", prefixEnd("/test/idle/"), 0);
  ASSERT_TRUE(w.isOk()) << w.status();
  EtcdWatch* watch = w->get();
  auto blocked = std::async(std::launch::async, [watch] { return watch->next(); });
  // Nothing is written under the prefix: next() stays blocked until the cancel.
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  watch->cancel();
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = blocked.get();
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kCancelled) << r.status();
}

}  // namespace
}  // namespace novacron::devapi
