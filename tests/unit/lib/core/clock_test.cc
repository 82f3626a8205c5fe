#include "lib/core/clock.h"

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"

using namespace std::chrono_literals;

namespace novacron::core {
namespace {

TEST(ClockTest, SystemClockIsMonotonicAndShared) {
  ClockPtr c = systemClock();
  EXPECT_EQ(c.get(), systemClock().get());
  auto a = c->now();
  auto b = c->now();
  EXPECT_LE(a, b);
  // Wall time is near the real calendar time (after 2020-01-01).
  EXPECT_GT(c->wallNow().time_since_epoch(), std::chrono::seconds(1'577'836'800));
}

TEST(ClockTest, FakeClockMovesOnlyWhenAdvanced) {
  testing::FakeClock fake;
  auto t0 = fake.now();
  auto w0 = fake.wallNow();
  EXPECT_EQ(fake.now(), t0);
  fake.advance(1500ms);
  EXPECT_EQ(fake.now() - t0, 1500ms);
  EXPECT_EQ(fake.wallNow() - w0, 1500ms);
}

}  // namespace
}  // namespace novacron::core
