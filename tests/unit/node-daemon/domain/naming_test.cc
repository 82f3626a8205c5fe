#include "node-daemon/domain/naming.h"

#include <regex>

#include <gtest/gtest.h>

#include "node-daemon/domain/metadata.h"

namespace novacron::node::domain {
namespace {

TEST(DomainName, JoinsValidatedNamespaceAndName) {
  EXPECT_EQ(*domainName("default", "web-1"), "default_web-1");
  EXPECT_EQ(*domainName("prod", "db.primary"), "prod_db.primary");
}

TEST(DomainName, RejectsNamesThatCouldCollideOrEscape) {
  for (auto [ns, name] : std::vector<std::pair<std::string, std::string>>{{"a_b", "c"},
                                                                          {"a", "b_c"},
                                                                          {"..", "x"},
                                                                          {"x", ".."},
                                                                          {"x", "../etc"},
                                                                          {"", "x"},
                                                                          {"x", ""},
                                                                          {"Default", "x"},
                                                                          {"x", "a/b"},
                                                                          {"x", "a b"}}) {
    auto n = domainName(ns, name);
    ASSERT_FALSE(n.isOk()) << ns << " " << name;
    EXPECT_EQ(n.status().code(), core::StatusCode::kInvalidArgument);
  }
}

TEST(DomainName, ParseIsTheInverse) {
  auto parsed = parseDomainName("default_web-1");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "default");
  EXPECT_EQ(parsed->second, "web-1");
  EXPECT_FALSE(parseDomainName("test"));
  EXPECT_FALSE(parseDomainName("UPPER_case"));
}

TEST(DomainUuid, StableWellFormedAndDistinct) {
  auto a = domainUuid("0b6c5a3e-1111-4222-8333-444455556666");
  auto b = domainUuid("0b6c5a3e-1111-4222-8333-444455556667");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(*a, *domainUuid("0b6c5a3e-1111-4222-8333-444455556666"));
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(std::regex_match(
      *a, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << *a;
  EXPECT_FALSE(domainUuid("").isOk());
}

TEST(MacAddress, QemuPrefixStablePerNetwork) {
  std::string m = macAddress("uid-1", "net0");
  EXPECT_TRUE(std::regex_match(m, std::regex("52:54:00(:[0-9a-f]{2}){3}"))) << m;
  EXPECT_EQ(m, macAddress("uid-1", "net0"));
  EXPECT_NE(m, macAddress("uid-1", "net1"));
  EXPECT_NE(m, macAddress("uid-2", "net0"));
}

TEST(Metadata, ParsesAnyPrefixAndRejectsOthers) {
  auto md = parseMetadata(
      "<nc:vm xmlns:nc='https://novacron.io/xmlns/domain/1'><nc:namespace>default</nc:namespace>"
      "<nc:name>web</nc:name><nc:uid>u1</nc:uid></nc:vm>");
  ASSERT_TRUE(md.isOk()) << md.status();
  EXPECT_EQ(md->vm_namespace, "default");
  EXPECT_EQ(md->vm_name, "web");
  EXPECT_EQ(md->vm_uid, "u1");
  EXPECT_FALSE(parseMetadata("<other/>").isOk());
  EXPECT_FALSE(parseMetadata("<vm><name>x</name></vm>").isOk());
  EXPECT_FALSE(parseMetadata("not xml <").isOk());
}

}  // namespace
}  // namespace novacron::node::domain
