// List with label and field selectors, and paging with limit/continue.
#include <gtest/gtest.h>

#include "tests/conformance/conformance_env.h"

namespace novacron::conformance {
namespace {

Cluster& c() {
  return Cluster::get();
}

std::vector<std::string> names(const Response& list) {
  std::vector<std::string> out;
  for (const auto& item : list.body["items"]) {
    out.push_back(item["metadata"]["name"]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class SelectorTest : public ::testing::Test {
protected:
  void SetUp() override {
    run_ = c().uniqueName("sel");
    create("a", {{"app", "web"}, {"tier", "front"}});
    create("b", {{"app", "db"}, {"tier", "back"}});
    create("c", {{"app", "web"}});
    create("d", Json::object());
  }
  void create(const std::string& suffix, Json labels) {
    Json obj = widgetObject(run_ + "-" + suffix, {{"size", 1}});
    labels["run"] = run_;
    obj["metadata"]["labels"] = labels;
    Response r = c().api().post(c().widgets(), obj);
    ASSERT_EQ(r.status, 201) << r.raw;
  }
  std::vector<std::string> list(const std::string& selector) {
    Response r = c().api().get(c().widgets() + "?labelSelector=run%3D" + run_ + "," + selector);
    EXPECT_EQ(r.status, 200) << selector << ": " << r.raw;
    return names(r);
  }
  std::vector<std::string> expect(std::initializer_list<const char*> suffixes) {
    std::vector<std::string> out;
    for (const char* s : suffixes) {
      out.push_back(run_ + "-" + s);
    }
    return out;
  }
  std::string run_;
};

TEST_F(SelectorTest, LabelSelectors) {
  EXPECT_EQ(list("app%3Dweb"), expect({"a", "c"}));
  EXPECT_EQ(list("app%3D%3Dweb"), expect({"a", "c"}));
  EXPECT_EQ(list("app!%3Dweb"), expect({"b", "d"}));
  EXPECT_EQ(list("app%20in%20(web,db)"), expect({"a", "b", "c"}));
  EXPECT_EQ(list("app%20notin%20(web)"), expect({"b", "d"}));
  EXPECT_EQ(list("tier"), expect({"a", "b"}));
  EXPECT_EQ(list("!tier"), expect({"c", "d"}));
  EXPECT_EQ(list("app%3Dweb,tier%3Dfront"), expect({"a"}));
}

TEST_F(SelectorTest, InvalidLabelSelectorIsBadRequest) {
  Response r = c().api().get(c().widgets() + "?labelSelector=app%20in%20web");
  EXPECT_EQ(r.status, 400) << r.raw;
}

TEST_F(SelectorTest, FieldSelectors) {
  Response r = c().api().get(c().widgets() + "?fieldSelector=metadata.name%3D" + run_ + "-b");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(names(r), expect({"b"}));
  r = c().api().get(c().widgets() + "?labelSelector=run%3D" + run_ +
                    "&fieldSelector=metadata.name!%3D" + run_ + "-b");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(names(r), expect({"a", "c", "d"}));
  r = c().api().get(c().widgets() + "?labelSelector=run%3D" + run_ +
                    "&fieldSelector=metadata.namespace%3D" + c().ns());
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(names(r).size(), 4u);
  // All namespaces, narrowed by namespace field.
  r = c().api().get(std::string("/apis/") + kGroup + "/v1/widgets?labelSelector=run%3D" + run_ +
                    "&fieldSelector=metadata.namespace%3D" + c().ns());
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(names(r).size(), 4u);
  r = c().api().get(c().widgets() + "?fieldSelector=spec.size%3D1");
  EXPECT_EQ(r.status, 400) << "unsupported field selector must be refused: " << r.raw;
}

TEST(PagingTest, LimitAndContinueVisitEveryObjectOnce) {
  const std::string run = c().uniqueName("page");
  std::vector<std::string> want;
  for (int i = 0; i < 7; ++i) {
    const std::string name = run + "-" + std::to_string(i);
    Json obj = widgetObject(name, {{"size", 1}});
    obj["metadata"]["labels"] = {{"run", run}};
    ASSERT_EQ(c().api().post(c().widgets(), obj).status, 201);
    want.push_back(name);
  }
  std::vector<std::string> seen;
  std::string cont;
  int pages = 0;
  std::string first_rv;
  do {
    std::string path = c().widgets() + "?limit=3&labelSelector=run%3D" + run;
    if (!cont.empty()) {
      path += "&continue=" + urlEncode(cont);
    }
    Response page = c().api().get(path);
    ASSERT_EQ(page.status, 200) << page.raw;
    ASSERT_LE(page.body["items"].size(), 3u);
    for (const auto& item : page.body["items"]) {
      seen.push_back(item["metadata"]["name"]);
    }
    if (pages == 0) {
      first_rv = page.body["metadata"].value("resourceVersion", "");
    } else {
      // Every page of a paged list is a consistent snapshot at the first page's revision.
      EXPECT_EQ(page.body["metadata"].value("resourceVersion", ""), first_rv);
    }
    cont = page.body["metadata"].value("continue", "");
    if (!cont.empty()) {
      EXPECT_EQ(page.body["items"].size(), 3u);
    }
    ++pages;
    ASSERT_LT(pages, 10) << "paging does not terminate";
  } while (!cont.empty());
  EXPECT_EQ(pages, 3);
  std::vector<std::string> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, want);
  EXPECT_EQ(seen, sorted) << "list order is not by name (key order)";
}

TEST(PagingTest, ContinueFromSnapshotIgnoresLaterWrites) {
  const std::string run = c().uniqueName("snap");
  for (int i = 0; i < 4; ++i) {
    Json obj = widgetObject(run + "-" + std::to_string(i), {{"size", 1}});
    obj["metadata"]["labels"] = {{"run", run}};
    ASSERT_EQ(c().api().post(c().widgets(), obj).status, 201);
  }
  Response first = c().api().get(c().widgets() + "?limit=2&labelSelector=run%3D" + run);
  ASSERT_EQ(first.status, 200);
  const std::string cont = first.body["metadata"].value("continue", "");
  ASSERT_FALSE(cont.empty());
  // A later object must not appear in the rest of this snapshot.
  Json late = widgetObject(run + "-9", {{"size", 1}});
  late["metadata"]["labels"] = {{"run", run}};
  ASSERT_EQ(c().api().post(c().widgets(), late).status, 201);
  Response second = c().api().get(c().widgets() + "?limit=10&labelSelector=run%3D" + run +
                                  "&continue=" + urlEncode(cont));
  ASSERT_EQ(second.status, 200) << second.raw;
  EXPECT_EQ(names(second), (std::vector<std::string>{run + "-2", run + "-3"}));
}

}  // namespace
}  // namespace novacron::conformance
