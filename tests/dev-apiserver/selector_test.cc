#include "dev-apiserver/selector.h"

#include <gtest/gtest.h>

namespace novacron::devapi {
namespace {

using Labels = std::map<std::string, std::string>;

TEST(LabelSelectorTest, EqualityAndInequality) {
  auto s = LabelSelector::parse("app=web,tier!=db,env==prod");
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_TRUE(s->matches(Labels{{"app", "web"}, {"env", "prod"}}));
  EXPECT_TRUE(s->matches(Labels{{"app", "web"}, {"env", "prod"}, {"tier", "fe"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}, {"env", "prod"}, {"tier", "db"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "api"}, {"env", "prod"}}));
}

TEST(LabelSelectorTest, SetBasedAndExistence) {
  auto s = LabelSelector::parse("env in (a, b),zone notin (x),owner,!legacy");
  ASSERT_TRUE(s.isOk()) << s.status();
  ASSERT_EQ(s->requirements().size(), 4u);
  EXPECT_EQ(s->requirements()[0].values, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(s->matches(Labels{{"env", "b"}, {"owner", "me"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "c"}, {"owner", "me"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "a"}, {"owner", "me"}, {"zone", "x"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "a"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "a"}, {"owner", "me"}, {"legacy", "1"}}));
}

TEST(LabelSelectorTest, NotEqualsMatchesMissingKey) {
  auto s = LabelSelector::parse("tier!=db");
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(s->matches(Labels{}));
}

TEST(LabelSelectorTest, EmptyMatchesEverything) {
  auto s = LabelSelector::parse("  ");
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(s->empty());
  EXPECT_TRUE(s->matches(Labels{{"a", "b"}}));
}

TEST(LabelSelectorTest, RejectsMalformed) {
  EXPECT_FALSE(LabelSelector::parse("env in (a,b").isOk());
  EXPECT_FALSE(LabelSelector::parse("env foo (a)").isOk());
  EXPECT_FALSE(LabelSelector::parse("a=b c").isOk());
  EXPECT_FALSE(LabelSelector::parse("=x").isOk());
}

TEST(FieldSelectorTest, SupportedFields) {
  std::vector<std::string> supported = {"metadata.name", "metadata.namespace"};
  auto s = FieldSelector::parse("metadata.name=a,metadata.namespace!=kube-system", supported);
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_TRUE(s->matches({{"metadata.name", "a"}, {"metadata.namespace", "default"}}));
  EXPECT_FALSE(s->matches({{"metadata.name", "a"}, {"metadata.namespace", "kube-system"}}));
  EXPECT_FALSE(s->matches({{"metadata.name", "b"}, {"metadata.namespace", "default"}}));
}

TEST(FieldSelectorTest, UnsupportedFieldIsNamed) {
  auto s = FieldSelector::parse("spec.cpu=2", {"metadata.name"});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().message(), "field label not supported: spec.cpu");
}

}  // namespace
}  // namespace novacron::devapi
