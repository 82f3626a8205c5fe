// kubectl-style argument parsing: flags anywhere, declared booleans never eat a positional.
#include "kubectl-plugin/args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::kubectl_plugin {
namespace {

using ::testing::ElementsAre;

TEST(ArgsTest, FlagsAnywhereAndBooleans) {
  auto a = parseArgs({"migrate", "--wait", "web", "-n", "prod", "--to=node-b", "--timeout", "5m"},
                     {"wait"});
  ASSERT_TRUE(a.isOk()) << a.status();
  EXPECT_THAT(a->positional, ElementsAre("migrate", "web"));
  EXPECT_EQ(a->get("namespace"), "prod");
  EXPECT_EQ(a->get("to"), "node-b");
  EXPECT_EQ(a->get("timeout"), "5m");
  EXPECT_EQ(a->get("wait"), "true");
  EXPECT_TRUE(a->checkKnown({"namespace", "to", "timeout", "wait"}).isOk());
  EXPECT_FALSE(a->checkKnown({"namespace"}).isOk());
}

TEST(ArgsTest, ShortFormsDoubleDashAndMissingValue) {
  auto a = parseArgs({"-nprod", "-h", "top", "--", "--not-a-flag"}, {"help"});
  ASSERT_TRUE(a.isOk()) << a.status();
  EXPECT_EQ(a->get("namespace"), "prod");
  EXPECT_TRUE(a->has("help"));
  EXPECT_THAT(a->positional, ElementsAre("top", "--not-a-flag"));
  EXPECT_FALSE(parseArgs({"top", "--context"}, {}).isOk());
}

}  // namespace
}  // namespace novacron::kubectl_plugin
