// Label and field selector parsing and matching.
#include "lib/kube/selector.h"

#include <gtest/gtest.h>

namespace novacron::kube {
namespace {

Json labeled(Json labels) {
  return Json{{"metadata", {{"name", "a"}, {"namespace", "ns"}, {"labels", std::move(labels)}}},
              {"spec", {{"nodeName", "n1"}, {"cpus", 2}}}};
}

TEST(SelectorTest, EqualityAndSets) {
  auto s = Selector::parse("app=web, tier!=db,env in (prod, staging),!legacy,owner");
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_EQ(s->requirements().size(), 5u);
  EXPECT_TRUE(s->matchesLabels(labeled({{"app", "web"}, {"env", "prod"}, {"owner", "x"}})));
  EXPECT_FALSE(s->matchesLabels(labeled({{"app", "web"}, {"env", "dev"}, {"owner", "x"}})));
  EXPECT_FALSE(s->matchesLabels(
      labeled({{"app", "web"}, {"env", "prod"}, {"owner", "x"}, {"legacy", "1"}})));
  EXPECT_FALSE(s->matchesLabels(labeled({{"app", "web"}, {"env", "prod"}})));
  EXPECT_FALSE(s->matchesLabels(labeled({{"app", "web"}, {"tier", "db"}, {"env", "prod"}})));
}

TEST(SelectorTest, EmptyMatchesEverything) {
  auto s = Selector::parse("");
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(s->empty());
  EXPECT_TRUE(s->matchesLabels(Json::object()));
}

TEST(SelectorTest, Fields) {
  auto s = Selector::parse("metadata.name=a,spec.nodeName!=n2,spec.cpus==2");
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(s->matchesFields(labeled(Json::object())));
  auto other = Selector::parse("metadata.namespace=other");
  EXPECT_FALSE(other->matchesFields(labeled(Json::object())));
}

TEST(SelectorTest, Errors) {
  EXPECT_FALSE(Selector::parse("a in b").isOk());
  EXPECT_FALSE(Selector::parse("a,,b").isOk());
  EXPECT_FALSE(Selector::parse("a in ()").isOk());
  EXPECT_FALSE(Selector::parse("bad key=1").isOk());
}

}  // namespace
}  // namespace novacron::kube
