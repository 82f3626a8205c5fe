#include "lib/core/exit_deadline.h"

#include <atomic>
#include <memory>

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"
#include "tests/testing/eventually.h"

using namespace std::chrono_literals;

namespace novacron::core {
namespace {

// Issue 18, seed 2017: a controller whose orderly shutdown after a lost lease hung (a thread in a
// request to a frozen API server) stayed alive, not leading, for 97 s. The deadline ends it.
TEST(ExitDeadlineTest, ExitsWhenTheShutdownOutlastsTheGrace) {
  auto clock = std::make_shared<testing::FakeClock>();
  std::atomic<int> exited{-1};
  ExitDeadline deadline(clock, [&](int code) { exited = code; });
  deadline.arm(5s, 1, "lost lease");
  EXPECT_TRUE(deadline.armed());
  clock->awaitWaiters(1);
  clock->advance(4s);
  clock->awaitWaiters(1);  // still waiting: the grace has not passed
  EXPECT_EQ(exited.load(), -1);
  clock->advance(1s);
  EXPECT_TRUE(testing::eventually([&] { return exited.load() == 1; }));
}

TEST(ExitDeadlineTest, AShutdownThatFinishesInTimeDoesNotExit) {
  auto clock = std::make_shared<testing::FakeClock>();
  std::atomic<int> exited{-1};
  {
    ExitDeadline deadline(clock, [&](int code) { exited = code; });
    deadline.arm(5s, 1, "lost lease");
    clock->awaitWaiters(1);
  }  // destroyed before the grace passed: disarmed
  clock->advance(10s);
  EXPECT_EQ(exited.load(), -1);
}

TEST(ExitDeadlineTest, OnlyTheFirstArmCounts) {
  auto clock = std::make_shared<testing::FakeClock>();
  std::atomic<int> exited{-1};
  ExitDeadline deadline(clock, [&](int code) { exited = code; });
  deadline.arm(5s, 1, "first");
  deadline.arm(1h, 2, "second");
  clock->awaitWaiters(1);
  clock->advance(5s);
  EXPECT_TRUE(testing::eventually([&] { return exited.load() == 1; }));
}

TEST(ExitDeadlineTest, UnarmedDoesNothing) {
  auto clock = std::make_shared<testing::FakeClock>();
  std::atomic<int> exited{-1};
  {
    ExitDeadline deadline(clock, [&](int code) { exited = code; });
    EXPECT_FALSE(deadline.armed());
  }
  EXPECT_EQ(exited.load(), -1);
}

}  // namespace
}  // namespace novacron::core
