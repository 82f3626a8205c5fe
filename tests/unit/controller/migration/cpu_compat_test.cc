// cpuIncompatibility(): same model, or the target's features include the source's.
#include "controller/migration/cpu_compat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::controller::migration {
namespace {

using ::testing::HasSubstr;

CpuFacts cpu(std::optional<std::string> model, std::vector<std::string> features) {
  return CpuFacts{std::move(model), std::move(features)};
}

TEST(CpuCompatTest, SameModelIsCompatible) {
  EXPECT_EQ(cpuIncompatibility(cpu("Skylake", {"avx2", "pku"}), cpu("Skylake", {"avx2"})),
            std::nullopt);
}

TEST(CpuCompatTest, SupersetOfFeaturesIsCompatibleAcrossModels) {
  EXPECT_EQ(cpuIncompatibility(cpu("Haswell", {"avx2", "aes"}),
                               cpu("Skylake", {"aes", "avx2", "avx512f"})),
            std::nullopt);
  EXPECT_EQ(cpuIncompatibility(cpu(std::nullopt, {"aes"}), cpu(std::nullopt, {"aes"})),
            std::nullopt);
}

TEST(CpuCompatTest, MissingFeaturesAreNamedSortedAndCapped) {
  auto why = cpuIncompatibility(cpu("Skylake", {"pku", "avx512f", "aes"}), cpu("Haswell", {"aes"}));
  ASSERT_TRUE(why);
  EXPECT_THAT(*why,
              HasSubstr("lacks CPU features avx512f, pku of the source's CPU (model Skylake)"));
  auto many = cpuIncompatibility(cpu("X", {"a", "b", "c", "d", "e", "f", "g"}), cpu("Y", {}));
  ASSERT_TRUE(many);
  EXPECT_THAT(*many, HasSubstr("a, b, c, d, e and 2 more"));
}

TEST(CpuCompatTest, ASourceThatReportsNothingIsCompatibleWithAnything) {
  EXPECT_EQ(cpuIncompatibility(cpu(std::nullopt, {}), cpu("Haswell", {"aes"})), std::nullopt);
  EXPECT_EQ(cpuIncompatibility(cpu("", {}), cpu(std::nullopt, {})), std::nullopt);
}

TEST(CpuCompatTest, ATargetThatReportsNothingIsNotCompatibleWithAKnownSource) {
  EXPECT_TRUE(cpuIncompatibility(cpu("Skylake", {"aes"}), cpu(std::nullopt, {})));
  // Only models to compare, and they differ.
  auto why = cpuIncompatibility(cpu("Skylake", {}), cpu("Haswell", {"aes"}));
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, HasSubstr("different CPU model (Haswell)"));
}

}  // namespace
}  // namespace novacron::controller::migration
