// eventually: the one poll-until-deadline helper for tests that wait for something another thread,
// process or server does (an informer syncing, a watch event arriving, a daemon answering).
//
//   ASSERT_TRUE(eventually([&] { return log.has("ADDED w"); }));            // plain bool
//   EXPECT_EVENTUALLY(cache.size() == 3u);                                   // prints the
//   condition EXPECT_TRUE(eventuallyEq([&] { return cache.size(); }, 3u));             // prints
//   last value EXPECT_TRUE(eventuallyThat([&] { return get(); }, [](auto& v) { ... })); // any
//   predicate
//
// The condition is checked at once, then every `interval` until `timeout` has passed, and once more
// at the deadline, so a condition that becomes true just in time is not reported as a failure.
// Timeouts are upper bounds, not expectations: a passing test returns as soon as the condition
// holds, so they can be generous without slowing the suite. Unit tests with an injected clock
// should advance the clock instead of polling real time.
// Thread-safety: the helpers keep no state; the condition runs on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace novacron::testing {

inline constexpr std::chrono::milliseconds kEventuallyTimeout{10'000};
inline constexpr std::chrono::milliseconds kEventuallyInterval{10};

// True as soon as `condition()` returns true; false when it still does not after `timeout`.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = kEventuallyTimeout,
                       std::chrono::milliseconds interval = kEventuallyInterval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(interval);
  }
  return condition();
}

// Polls `observe()` until `accept(value)` holds. On timeout the failure names the last value seen
// (printed with gtest's printer), which usually says why the wait failed.
template <typename Observe, typename Accept>
::testing::AssertionResult eventuallyThat(
    Observe observe, Accept accept, std::chrono::milliseconds timeout = kEventuallyTimeout,
    std::chrono::milliseconds interval = kEventuallyInterval) {
  std::string last = "(never observed)";
  const bool ok = eventually(
      [&] {
        auto value = observe();
        if (accept(value)) {
          return true;
        }
        last = ::testing::PrintToString(value);
        return false;
      },
      timeout, interval);
  if (ok) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "condition not met within " << timeout.count() << " ms; last observed: " << last;
}

// Polls `observe()` until it equals `expected`; on timeout prints both.
template <typename Observe, typename T>
::testing::AssertionResult eventuallyEq(Observe observe, const T& expected,
                                        std::chrono::milliseconds timeout = kEventuallyTimeout,
                                        std::chrono::milliseconds interval = kEventuallyInterval) {
  auto result = eventuallyThat(
      observe, [&](const auto& value) { return value == expected; }, timeout, interval);
  if (!result) {
    result << "; expected: " << ::testing::PrintToString(expected);
  }
  return result;
}

}  // namespace novacron::testing

// EXPECT/ASSERT that a boolean expression becomes true within kEventuallyTimeout; the failure
// message quotes the expression. Use eventuallyEq/eventuallyThat to also see the last value.
#define NOVACRON_EVENTUALLY_IMPL_(cond, fail)                                                \
  if (::novacron::testing::eventually([&]() -> bool { return static_cast<bool>(cond); })) {  \
  } else                                                                                     \
    fail() << "never became true within " << ::novacron::testing::kEventuallyTimeout.count() \
           << " ms: " #cond
#define EXPECT_EVENTUALLY(cond) NOVACRON_EVENTUALLY_IMPL_(cond, ADD_FAILURE)
#define ASSERT_EVENTUALLY(cond) NOVACRON_EVENTUALLY_IMPL_(cond, GTEST_FAIL)
