// Watch: event order, resume from a resourceVersion, initial events, bookmarks, timeoutSeconds,
// and 410 Gone after etcd compaction (only where the suite may compact the cluster's etcd).
#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "lib/kube/config.h"
#include "lib/kube/cpprestsdk_transport.h"
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

unsigned long long rvNumber(const Json& obj) {
  return std::stoull(rv(obj));
}

std::string listRv(const std::string& selector) {
  Response list = c().api().get(c().widgets() + "?labelSelector=" + selector);
  EXPECT_EQ(list.status, 200) << list.raw;
  return list.body["metadata"].value("resourceVersion", "");
}

Json labelled(const std::string& name, const std::string& run, int size = 1) {
  Json obj = widgetObject(name, {{"size", size}});
  obj["metadata"]["labels"] = {{"run", run}};
  return obj;
}

TEST(WatchTest, EventsArriveInOrderWithTheirResourceVersions) {
  const std::string run = c().uniqueName("w-order");
  const std::string from = listRv("run%3D" + run);
  auto w = WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" +
                                                  run + "&resourceVersion=" + from);
  ASSERT_EQ(w->httpStatus(), 200) << w->errorBody();

  const std::string name = run + "-a";
  Response created = c().api().post(c().widgets(), labelled(name, run));
  ASSERT_EQ(created.status, 201) << created.raw;
  Json obj = created.body;
  obj["spec"]["size"] = 2;
  Response updated = c().api().put(c().widget(name), obj);
  ASSERT_EQ(updated.status, 200) << updated.raw;
  ASSERT_EQ(c().api().del(c().widget(name)).status, 200);

  auto added = w->nextNonBookmark(10s);
  ASSERT_TRUE(added);
  EXPECT_EQ((*added)["type"], "ADDED") << *added;
  EXPECT_EQ(rv((*added)["object"]), rv(created.body));
  auto modified = w->nextNonBookmark(10s);
  ASSERT_TRUE(modified);
  EXPECT_EQ((*modified)["type"], "MODIFIED") << *modified;
  EXPECT_EQ(rv((*modified)["object"]), rv(updated.body));
  EXPECT_EQ((*modified)["object"]["spec"]["size"], 2);
  auto deleted = w->nextNonBookmark(10s);
  ASSERT_TRUE(deleted);
  EXPECT_EQ((*deleted)["type"], "DELETED") << *deleted;
  EXPECT_EQ((*deleted)["object"]["metadata"]["name"], name);
  EXPECT_GT(rvNumber((*deleted)["object"]), rvNumber(updated.body));
  EXPECT_EQ((*added)["object"]["kind"], "Widget");
}

// Controllers watch a kind across all namespaces.
TEST(WatchTest, AllNamespacesWatchSeesEventsOfEveryNamespace) {
  const std::string run = c().uniqueName("w-all");
  Response list =
      c().api().get(std::string("/apis/") + kGroup + "/v1/widgets?labelSelector=run%3D" + run);
  ASSERT_EQ(list.status, 200) << list.raw;
  auto w = WatchStream::open(
      c().transport(),
      std::string("/apis/") + kGroup + "/v1/widgets?watch=true&labelSelector=run%3D" + run +
          "&resourceVersion=" + list.body["metadata"].value("resourceVersion", ""));
  ASSERT_EQ(w->httpStatus(), 200) << w->errorBody();
  ASSERT_EQ(c().api().post(c().widgets(), labelled(run + "-a", run)).status, 201);
  auto e = w->nextNonBookmark(10s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "ADDED");
  EXPECT_EQ((*e)["object"]["metadata"]["namespace"], c().ns());
  EXPECT_EQ((*e)["object"]["metadata"]["name"], run + "-a");
}

TEST(WatchTest, ResumesAfterAGivenResourceVersion) {
  const std::string run = c().uniqueName("w-resume");
  const std::string name = run + "-a";
  Response created = c().api().post(c().widgets(), labelled(name, run));
  ASSERT_EQ(created.status, 201);
  Json obj = created.body;
  obj["spec"]["size"] = 3;
  Response u1 = c().api().put(c().widget(name), obj);
  ASSERT_EQ(u1.status, 200);
  obj = u1.body;
  obj["spec"]["size"] = 4;
  Response u2 = c().api().put(c().widget(name), obj);
  ASSERT_EQ(u2.status, 200);

  // Everything after the create: the two updates, nothing before.
  auto w = WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" +
                                                  run + "&resourceVersion=" + rv(created.body));
  ASSERT_EQ(w->httpStatus(), 200) << w->errorBody();
  auto e1 = w->nextNonBookmark(10s);
  auto e2 = w->nextNonBookmark(10s);
  ASSERT_TRUE(e1 && e2);
  EXPECT_EQ((*e1)["type"], "MODIFIED");
  EXPECT_EQ(rv((*e1)["object"]), rv(u1.body));
  EXPECT_EQ((*e2)["type"], "MODIFIED");
  EXPECT_EQ(rv((*e2)["object"]), rv(u2.body));
  EXPECT_FALSE(w->nextNonBookmark(500ms)) << "unexpected extra event";
}

TEST(WatchTest, WithoutResourceVersionStartsWithExistingObjects) {
  const std::string run = c().uniqueName("w-initial");
  for (const char* n : {"a", "b"}) {
    ASSERT_EQ(c().api().post(c().widgets(), labelled(run + "-" + n, run)).status, 201);
  }
  auto w =
      WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" + run);
  ASSERT_EQ(w->httpStatus(), 200) << w->errorBody();
  std::set<std::string> names;
  for (int i = 0; i < 2; ++i) {
    auto e = w->nextNonBookmark(10s);
    ASSERT_TRUE(e);
    EXPECT_EQ((*e)["type"], "ADDED");
    names.insert((*e)["object"]["metadata"]["name"].get<std::string>());
  }
  EXPECT_EQ(names, (std::set<std::string>{run + "-a", run + "-b"}));
}

TEST(WatchTest, LabelSelectorFiltersEvents) {
  const std::string run = c().uniqueName("w-sel");
  const std::string from = listRv("run%3D" + run);
  auto w = WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" +
                                                  run + "&resourceVersion=" + from);
  ASSERT_EQ(w->httpStatus(), 200);
  ASSERT_EQ(c().api().post(c().widgets(), labelled(run + "-other", run + "-x")).status, 201);
  ASSERT_EQ(c().api().post(c().widgets(), labelled(run + "-mine", run)).status, 201);
  auto e = w->nextNonBookmark(10s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["object"]["metadata"]["name"], run + "-mine");
}

TEST(WatchTest, FieldSelectorOnName) {
  const std::string run = c().uniqueName("w-field");
  const std::string from = listRv("run%3D" + run);
  auto w = WatchStream::open(c().transport(), c().widgets() +
                                                  "?watch=true&fieldSelector=metadata.name%3D" +
                                                  run + "-b&resourceVersion=" + from);
  ASSERT_EQ(w->httpStatus(), 200);
  ASSERT_EQ(c().api().post(c().widgets(), labelled(run + "-a", run)).status, 201);
  ASSERT_EQ(c().api().post(c().widgets(), labelled(run + "-b", run)).status, 201);
  auto e = w->nextNonBookmark(10s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["object"]["metadata"]["name"], run + "-b");
}

// A label change that moves an object out of a selector shows up as DELETED for that watcher
// (kube's cacher does this; informers rely on it).
TEST(WatchTest, ObjectLeavingTheSelectorIsDeletedForTheWatcher) {
  const std::string run = c().uniqueName("w-leave");
  const std::string name = run + "-a";
  Response created = c().api().post(c().widgets(), labelled(name, run));
  ASSERT_EQ(created.status, 201);
  auto w = WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" +
                                                  run + "&resourceVersion=" + rv(created.body));
  ASSERT_EQ(w->httpStatus(), 200);
  Response moved =
      c().api().patch(c().widget(name), {{"metadata", {{"labels", {{"run", "elsewhere"}}}}}});
  ASSERT_EQ(moved.status, 200) << moved.raw;
  auto e = w->nextNonBookmark(10s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "DELETED") << *e;
}

// Every event of a watch until the server ends it (at most `within`).
std::vector<Json> drain(WatchStream& w, std::chrono::milliseconds within) {
  std::vector<Json> events;
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto e = w.next(200ms)) {
      events.push_back(*e);
    } else if (w.endedAndDrained()) {
      return events;
    }
  }
  ADD_FAILURE() << "watch still open after " << within.count() << " ms";
  return events;
}

// kube-apiserver's watch cache sends a bookmark 2 s before a watch's timeout (and once a minute),
// carrying the last resourceVersion it has seen for the resource, in any namespace and whatever
// the watch's selectors. After a change the bookmark carries at least that change's version.
TEST(WatchTest, BookmarksCarryTheLastChangeOfTheResource) {
  const std::string run = c().uniqueName("w-bookmark");
  const std::string start = listRv("run%3D" + run);
  auto w = WatchStream::open(c().transport(),
                             c().widgets() +
                                 "?watch=true&allowWatchBookmarks=true&timeoutSeconds=8&"
                                 "labelSelector=run%3D" +
                                 run + "&resourceVersion=" + start);
  ASSERT_EQ(w->httpStatus(), 200) << w->errorBody();
  Response created = c().api().post(c().widgets(), labelled(run + "-a", run));
  ASSERT_EQ(created.status, 201) << created.raw;

  auto added = w->nextNonBookmark(10s);
  ASSERT_TRUE(added) << "no ADDED event";
  EXPECT_EQ((*added)["type"], "ADDED") << *added;
  std::optional<Json> bookmark;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!bookmark && std::chrono::steady_clock::now() < deadline && !w->endedAndDrained()) {
    if (auto e = w->next(200ms); e && (*e)["type"] == "BOOKMARK") {
      bookmark = e;
    }
  }
  ASSERT_TRUE(bookmark) << "no BOOKMARK before the watch ended";
  EXPECT_EQ((*bookmark)["object"]["kind"], "Widget");
  EXPECT_EQ((*bookmark)["object"]["apiVersion"], kWidgetApiVersion);
  const std::string brv = rv((*bookmark)["object"]);
  ASSERT_FALSE(brv.empty());
  EXPECT_GE(std::stoull(brv), rvNumber(created.body));
  EXPECT_GT(std::stoull(brv), std::stoull(start));
}

// kube-apiserver drops a bookmark that is not newer than the resourceVersion the watch started
// from, so a watch during which its resource does not change ends without one. The attempt is
// observable: the watch's own end (timeoutSeconds=3, the pre-timeout point at 1 s). It watches
// widgets in every namespace, so a change left over from an earlier test shows up as an event;
// such an attempt only checks that no bookmark was older than the start, and is repeated.
TEST(WatchTest, NoBookmarkWhenTheResourceDoesNotChange) {
  const std::string all = std::string("/apis/") + kGroup + "/v1/widgets";
  bool quiet = false;
  for (int attempt = 0; attempt < 5 && !quiet; ++attempt) {
    Response list = c().api().get(all);
    ASSERT_EQ(list.status, 200) << list.raw;
    const std::string start = rv(list.body);
    auto w = WatchStream::open(c().transport(), all +
                                                    "?watch=true&allowWatchBookmarks=true&"
                                                    "timeoutSeconds=3&resourceVersion=" +
                                                    start);
    ASSERT_EQ(w->httpStatus(), 200) << w->errorBody();
    std::vector<Json> events = drain(*w, 20s);
    quiet = std::none_of(events.begin(), events.end(),
                         [](const Json& e) { return e["type"] != "BOOKMARK"; });
    for (const Json& e : events) {
      if (e["type"] == "BOOKMARK") {
        EXPECT_FALSE(quiet) << "bookmark on a watch whose resource did not change: " << e;
        EXPECT_GT(std::stoull(rv(e["object"])), std::stoull(start)) << e;
      }
    }
  }
  EXPECT_TRUE(quiet) << "widgets kept changing; the no-bookmark case was never observed";
}

TEST(WatchTest, TimeoutSecondsEndsTheStream) {
  const auto start = std::chrono::steady_clock::now();
  auto w = WatchStream::open(c().transport(), c().widgets() +
                                                  "?watch=true&timeoutSeconds=1&"
                                                  "labelSelector=run%3Dnothing");
  ASSERT_EQ(w->httpStatus(), 200);
  EXPECT_TRUE(w->waitEnded(20s)) << "watch with timeoutSeconds=1 still open after 20s";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(WatchTest, GoneAfterCompaction) {
  if (!c().etcdEndpoint()) {
    GTEST_SKIP() << "needs the cluster's etcd to compact it: set NOVACRON_CONFORMANCE_ETCD="
                    "http://127.0.0.1:PORT (set automatically for the dev API server)";
  }
  const std::string run = c().uniqueName("w-gone");
  const std::string name = run + "-a";
  Response created = c().api().post(c().widgets(), labelled(name, run));
  ASSERT_EQ(created.status, 201);
  Json obj = created.body;
  Response latest;
  for (int i = 2; i <= 4; ++i) {
    obj["spec"]["size"] = i;
    latest = c().api().put(c().widget(name), obj);
    ASSERT_EQ(latest.status, 200) << latest.raw;
    obj = latest.body;
  }

  kube::Config etcd_config;
  etcd_config.server = *c().etcdEndpoint();
  auto etcd = kube::newCpprestsdkTransport(etcd_config);
  ASSERT_TRUE(etcd.isOk()) << etcd.status();
  Api etcd_api(**etcd);
  Response compact =
      etcd_api.post("/v3/kv/compaction", {{"revision", rv(latest.body)}, {"physical", true}});
  ASSERT_EQ(compact.status, 200) << compact.raw;

  // Watching from before the compaction: 410 Gone, either as the HTTP status or (kube-apiserver)
  // as an ERROR event carrying a Status with code 410.
  const bool gone = eventually(
      [&] {
        auto w =
            WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" +
                                                   run + "&resourceVersion=" + rv(created.body));
        if (w->httpStatus() == 410) {
          return true;
        }
        if (w->httpStatus() != 200) {
          return false;
        }
        auto e = w->next(5s);
        return e && (*e)["type"] == "ERROR" && (*e)["object"]["code"] == 410 &&
               (*e)["object"]["reason"] == "Expired";
      },
      30s, 500ms);
  EXPECT_TRUE(gone) << "watch from a compacted resourceVersion did not answer 410 Gone";

  // A watch from the current resourceVersion still works.
  auto w = WatchStream::open(c().transport(), c().widgets() + "?watch=true&labelSelector=run%3D" +
                                                  run + "&resourceVersion=" + rv(latest.body));
  ASSERT_EQ(w->httpStatus(), 200);
  ASSERT_EQ(c().api().del(c().widget(name)).status, 200);
  auto e = w->nextNonBookmark(10s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "DELETED");
}

}  // namespace
}  // namespace novacron::conformance
