// Label and field selector parsing and matching (the one parser the fake client, client-side
// filtering and the dev API server share).
#include "lib/kube/selector.h"

#include <map>
#include <string>

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
  auto s = Selector::parseFields("metadata.name=a,spec.nodeName!=n2,spec.cpus==2");
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

using Labels = std::map<std::string, std::string>;

TEST(SelectorTest, EqualityAndInequalityOnALabelMap) {
  auto s = Selector::parse("app=web,tier!=db,env==prod");
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_TRUE(s->matches(Labels{{"app", "web"}, {"env", "prod"}}));
  EXPECT_TRUE(s->matches(Labels{{"app", "web"}, {"env", "prod"}, {"tier", "fe"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "web"}, {"env", "prod"}, {"tier", "db"}}));
  EXPECT_FALSE(s->matches(Labels{{"app", "api"}, {"env", "prod"}}));
}

TEST(SelectorTest, SetBasedAndExistenceOnALabelMap) {
  auto s = Selector::parse("env in (a, b),zone notin (x),owner,!legacy");
  ASSERT_TRUE(s.isOk()) << s.status();
  ASSERT_EQ(s->requirements().size(), 4u);
  EXPECT_EQ(s->requirements()[0].values, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s->requirements()[1].op, Selector::Op::kNotIn);
  EXPECT_EQ(s->requirements()[2].op, Selector::Op::kExists);
  EXPECT_EQ(s->requirements()[3].op, Selector::Op::kDoesNotExist);
  EXPECT_TRUE(s->matches(Labels{{"env", "b"}, {"owner", "me"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "c"}, {"owner", "me"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "a"}, {"owner", "me"}, {"zone", "x"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "a"}}));
  EXPECT_FALSE(s->matches(Labels{{"env", "a"}, {"owner", "me"}, {"legacy", "1"}}));
}

TEST(SelectorTest, NotEqualsMatchesAMissingKey) {
  auto s = Selector::parse("tier!=db");
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(s->matches(Labels{}));
  EXPECT_TRUE(s->matchesLabels(Json::object()));
}

TEST(SelectorTest, BlankMatchesEverything) {
  auto s = Selector::parse("  ");
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(s->empty());
  EXPECT_TRUE(s->matches(Labels{{"a", "b"}}));
}

TEST(SelectorTest, PrefixedKeysAndEmptyValues) {
  auto s = Selector::parse("novacron.io/hypervisor=node-1,kubernetes.io/metadata.name,gone=");
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_TRUE(s->matches(Labels{
      {"novacron.io/hypervisor", "node-1"}, {"kubernetes.io/metadata.name", "x"}, {"gone", ""}}));
  EXPECT_FALSE(s->matches(Labels{
      {"novacron.io/hypervisor", "node-1"}, {"kubernetes.io/metadata.name", "x"}, {"gone", "y"}}));
}

// Malformed label selectors are refused with the offending term named, as kube-apiserver does.
TEST(SelectorTest, RejectsMalformedLabelSelectors) {
  EXPECT_FALSE(Selector::parse("env in (a,b").isOk());    // unbalanced
  EXPECT_FALSE(Selector::parse("env in (a)),b").isOk());  // unbalanced
  EXPECT_FALSE(Selector::parse("env foo (a)").isOk());    // unknown operator
  EXPECT_FALSE(Selector::parse("a=b c").isOk());          // a value with a space
  EXPECT_FALSE(Selector::parse("=x").isOk());             // no key
  EXPECT_FALSE(Selector::parse("a=-x").isOk());           // value must begin alphanumeric
  EXPECT_FALSE(Selector::parse("a=" + std::string(64, 'v')).isOk());  // value too long
  EXPECT_FALSE(Selector::parse("/a=b").isOk());                       // empty key prefix
  EXPECT_FALSE(Selector::parse("p/=b").isOk());                       // empty key name
  auto s = Selector::parse("app=web,a=b c");
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("a=b c"), std::string::npos) << s.status();
}

TEST(SelectorTest, FieldSelectorsOnAFieldMap) {
  auto s = Selector::parseFields("metadata.name=a,metadata.namespace!=kube-system");
  ASSERT_TRUE(s.isOk()) << s.status();
  using Fields = std::map<std::string, std::string>;
  EXPECT_TRUE(s->matches(Fields{{"metadata.name", "a"}, {"metadata.namespace", "default"}}));
  EXPECT_FALSE(s->matches(Fields{{"metadata.name", "a"}, {"metadata.namespace", "kube-system"}}));
  EXPECT_FALSE(s->matches(Fields{{"metadata.name", "b"}, {"metadata.namespace", "default"}}));
}

// Field values are not label values: anything after the operator is the value.
TEST(SelectorTest, FieldSelectorValuesAreTakenAsWritten) {
  auto s = Selector::parseFields("involvedObject.uid=0f9e-_/:x,spec.nodeName==");
  ASSERT_TRUE(s.isOk()) << s.status();
  EXPECT_EQ(s->requirements()[0].values, (std::vector<std::string>{"0f9e-_/:x"}));
  EXPECT_EQ(s->requirements()[1].values, (std::vector<std::string>{""}));
}

TEST(SelectorTest, FieldSelectorsTakeEqualityOnly) {
  EXPECT_FALSE(Selector::parseFields("metadata.name in (a)").isOk());
  EXPECT_FALSE(Selector::parseFields("metadata.name").isOk());
  EXPECT_FALSE(Selector::parseFields("!metadata.name").isOk());
  EXPECT_FALSE(Selector::parseFields("=a").isOk());
  EXPECT_TRUE(Selector::parseFields("").isOk());
}

}  // namespace
}  // namespace novacron::kube
