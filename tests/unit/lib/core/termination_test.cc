// TerminationSignals with real signals sent to this test process (a real process boundary: no
// fake can stand in for the kernel's signal delivery).
#include "lib/core/termination.h"

#include <atomic>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

namespace novacron::core {
namespace {

TEST(TerminationSignalsTest, RunsTheHandlerOnceOnSigterm) {
  TerminationSignals signals;
  std::atomic<int> calls{0};
  signals.onSignal([&] { ++calls; });
  EXPECT_FALSE(signals.received());
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);  // blocked here, taken by the signal thread
  signals.wait();
  EXPECT_TRUE(signals.received());
  EXPECT_EQ(calls.load(), 1);
}

TEST(TerminationSignalsTest, HandlerSetAfterTheSignalRunsAtOnce) {
  TerminationSignals signals;
  ASSERT_EQ(kill(getpid(), SIGINT), 0);
  signals.wait();
  std::atomic<int> calls{0};
  signals.onSignal([&] { ++calls; });
  EXPECT_EQ(calls.load(), 1);
}

TEST(TerminationSignalsTest, DestroyedWithoutASignalReturns) {
  std::atomic<int> calls{0};
  {
    TerminationSignals signals;
    signals.onSignal([&] { ++calls; });
  }
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace novacron::core
