#include "controller/scheduler/resources.h"

#include <limits>

#include <gtest/gtest.h>

namespace novacron::controller::scheduler {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kGi = int64_t{1} << 30;

TEST(ApplyRatioTest, OneIsIdentity) {
  EXPECT_EQ(applyRatio(0, Ratio{}), 0);
  EXPECT_EQ(applyRatio(7, Ratio{}), 7);
  EXPECT_EQ(applyRatio(kMax, Ratio{}), kMax);
}

TEST(ApplyRatioTest, WholeAndFractionalRatios) {
  EXPECT_EQ(applyRatio(16, Ratio{4000}), 64);
  EXPECT_EQ(applyRatio(16, Ratio{1500}), 24);
  EXPECT_EQ(applyRatio(64 * kGi, Ratio{1250}), 80 * kGi);
}

TEST(ApplyRatioTest, RoundsDownNeverUp) {
  EXPECT_EQ(applyRatio(3, Ratio{1500}), 4);      // 4.5 -> 4
  EXPECT_EQ(applyRatio(1, Ratio{1999}), 1);      // 1.999 -> 1
  EXPECT_EQ(applyRatio(7, Ratio{333}), 2);       // 2.331 -> 2
  EXPECT_EQ(applyRatio(1, Ratio{999}), 0);       // 0.999 -> 0
  EXPECT_EQ(applyRatio(1001, Ratio{999}), 999);  // 999.999 -> 999
}

TEST(ApplyRatioTest, SaturatesInsteadOfOverflowing) {
  EXPECT_EQ(applyRatio(kMax, Ratio{2000}), kMax);
  EXPECT_EQ(applyRatio(kMax / 2 + 1, Ratio{2000}), kMax);
  EXPECT_EQ(applyRatio(kMax / 2, Ratio{2000}), kMax - 1);
  EXPECT_EQ(applyRatio(kMax, Ratio{Ratio::kMax}), kMax);
  // Large but exact: 2^62 * 1.5 = 3 * 2^61 fits.
  EXPECT_EQ(applyRatio(int64_t{1} << 62, Ratio{1500}), 3 * (int64_t{1} << 61));
}

TEST(ApplyRatioTest, NegativeInputsOfferNothing) {
  EXPECT_EQ(applyRatio(-5, Ratio{2000}), 0);
  EXPECT_EQ(applyRatio(5, Ratio{-1000}), 0);
  EXPECT_EQ(applyRatio(5, Ratio{0}), 0);
}

TEST(EffectiveCapacityTest, AppliesEachRatioToItsDimension) {
  Resources cap{8, 16 * kGi};
  EXPECT_EQ(effectiveCapacity(cap, OvercommitRatios{Ratio{2000}, Ratio{1500}}),
            (Resources{16, 24 * kGi}));
  // Defaults: cpu 4.0, memory 1.0.
  EXPECT_EQ(effectiveCapacity(cap, OvercommitRatios{}), (Resources{32, 16 * kGi}));
}

TEST(FitsWithinTest, Boundaries) {
  EXPECT_TRUE(fitsWithin(0, 10, 10));
  EXPECT_TRUE(fitsWithin(6, 4, 10));
  EXPECT_FALSE(fitsWithin(7, 4, 10));
  EXPECT_FALSE(fitsWithin(11, 0, 10));  // already over: nothing fits, not even zero
  EXPECT_TRUE(fitsWithin(10, 0, 10));
  EXPECT_FALSE(fitsWithin(0, 1, 0));
}

TEST(FitsWithinTest, NeverOverflows) {
  EXPECT_FALSE(fitsWithin(kMax, kMax, kMax));
  EXPECT_FALSE(fitsWithin(kMax - 1, 2, kMax));
  EXPECT_TRUE(fitsWithin(kMax - 1, 1, kMax));
  EXPECT_FALSE(fitsWithin(1, kMax, kMax));
}

TEST(FitsWithinTest, NegativeLedgerDoesNotMakeRoom) {
  EXPECT_FALSE(fitsWithin(-100, 11, 10));
  EXPECT_TRUE(fitsWithin(-100, 10, 10));
}

TEST(FormatRatioTest, ShortestDecimal) {
  EXPECT_EQ(formatRatio(Ratio{1000}), "1");
  EXPECT_EQ(formatRatio(Ratio{1500}), "1.5");
  EXPECT_EQ(formatRatio(Ratio{1001}), "1.001");
  EXPECT_EQ(formatRatio(Ratio{4250}), "4.25");
  EXPECT_EQ(formatRatio(Ratio{50}), "0.05");
}

}  // namespace
}  // namespace novacron::controller::scheduler
