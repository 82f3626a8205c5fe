// Tests of the shared poll-until helper (tests/testing/eventually.h).
#include "tests/testing/eventually.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace novacron::testing {
namespace {

using std::chrono::milliseconds;

TEST(EventuallyTest, ReturnsAsSoonAsTheConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(eventually([&] { return ++calls == 3; }, milliseconds(10'000), milliseconds(1)));
  EXPECT_EQ(calls, 3);
}

TEST(EventuallyTest, SeesAChangeMadeByAnotherThread) {
  std::atomic<bool> flag{false};
  std::thread setter([&] { flag = true; });
  EXPECT_TRUE(eventually([&] { return flag.load(); }));
  setter.join();
}

TEST(EventuallyTest, GivesUpAfterTheTimeoutAndChecksOnceMoreAtTheDeadline) {
  int calls = 0;
  EXPECT_FALSE(eventually([&] { return ++calls < 0; }, milliseconds(30), milliseconds(5)));
  EXPECT_GE(calls, 2);  // the first check and the one at the deadline
}

TEST(EventuallyTest, EqReportsTheLastObservedValue) {
  int value = 0;
  auto result = eventuallyEq([&] { return ++value; }, -1, milliseconds(20), milliseconds(5));
  ASSERT_FALSE(result);
  std::string message = result.message();
  EXPECT_NE(message.find("last observed: " + std::to_string(value)), std::string::npos) << message;
  EXPECT_NE(message.find("expected: -1"), std::string::npos) << message;
  EXPECT_TRUE(eventuallyEq([&] { return value; }, value));
}

TEST(EventuallyTest, ThatAcceptsAnyPredicate) {
  std::vector<int> seen;
  EXPECT_TRUE(eventuallyThat(
      [&] {
        seen.push_back(1);
        return seen;
      },
      [](const std::vector<int>& v) { return v.size() >= 2; }, milliseconds(1'000),
      milliseconds(1)));
}

TEST(EventuallyTest, MacrosPollTheCondition) {
  int n = 0;
  EXPECT_EVENTUALLY(++n == 2);
  ASSERT_EVENTUALLY(++n == 4);
  EXPECT_EQ(n, 4);
}

}  // namespace
}  // namespace novacron::testing
