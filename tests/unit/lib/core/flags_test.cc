#include "lib/core/flags.h"

#include <vector>

#include <gtest/gtest.h>

namespace novacron::core {
namespace {

StatusOr<FlagSet> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "prog");
  return FlagSet::parse(static_cast<int>(args.size()), args.data());
}

TEST(FlagSetTest, BothFormsAndTakeRemoves) {
  auto flags = parse({"--a=1", "--b", "two", "--empty="});
  ASSERT_TRUE(flags.isOk()) << flags.status();
  EXPECT_FALSE(flags->helpRequested());
  EXPECT_EQ(flags->take("a"), "1");
  EXPECT_EQ(flags->take("a"), std::nullopt);
  EXPECT_EQ(flags->take("b"), "two");
  EXPECT_EQ(flags->take("empty"), "");
  EXPECT_EQ(flags->take("missing"), std::nullopt);
  EXPECT_TRUE(flags->checkAllTaken().isOk());
}

TEST(FlagSetTest, UnknownFlagIsNamed) {
  auto flags = parse({"--kubeconfig=x", "--typo=1"});
  ASSERT_TRUE(flags.isOk());
  (void)flags->take("kubeconfig");
  Status s = flags->checkAllTaken();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown flag --typo");
}

TEST(FlagSetTest, BadArgumentsAreRefused) {
  EXPECT_EQ(parse({"positional"}).status().message(), "unexpected argument positional");
  EXPECT_EQ(parse({"--"}).status().message(), "unexpected argument --");
  EXPECT_EQ(parse({"--a"}).status().message(), "flag --a needs a value");
}

TEST(FlagSetTest, HelpIsRecognised) {
  auto flags = parse({"--x=1", "-h"});
  ASSERT_TRUE(flags.isOk());
  EXPECT_TRUE(flags->helpRequested());
}

}  // namespace
}  // namespace novacron::core
