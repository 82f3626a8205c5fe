#include "lib/runtime/key_list.h"

#include <gtest/gtest.h>

namespace novacron::runtime {
namespace {

TEST(KeyListTest, KeepsKeysInOrderAndAnswersMembership) {
  KeyList keys;
  EXPECT_FALSE(keys.contains("ns/a"));
  for (const char* key : {"ns/c", "ns/a", "ns/b", "a-longer-namespace/a-longer-name", ""}) {
    keys.add(key);
  }
  ASSERT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys.at(0), "ns/c");
  EXPECT_EQ(keys.at(3), "a-longer-namespace/a-longer-name");
  EXPECT_EQ(keys.at(4), "");
  EXPECT_TRUE(keys.contains("ns/a"));
  EXPECT_TRUE(keys.contains("a-longer-namespace/a-longer-name"));
  EXPECT_FALSE(keys.contains("ns/d"));
  EXPECT_FALSE(keys.contains("ns/"));

  keys.add("ns/d");  // after a lookup
  EXPECT_TRUE(keys.contains("ns/d"));
  EXPECT_EQ(keys.at(5), "ns/d");

  keys.clear();
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_FALSE(keys.contains("ns/a"));
}

}  // namespace
}  // namespace novacron::runtime
