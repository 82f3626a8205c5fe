// TerminationSignals with real signals sent to this test process (a real process boundary: no
// fake can stand in for the kernel's signal delivery).
#include "lib/core/termination.h"

#include <atomic>
#include <cerrno>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

namespace novacron::core {
namespace {

TEST(TerminationSignalsTest, AWriteToAPeerThatHungUpIsAnErrorNotTheEndOfTheProcess) {
  TerminationSignals signals;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);  // the reader is gone, as a killed libvirtd's end of a socket
  const char byte = 'x';
  EXPECT_EQ(write(fds[1], &byte, 1), -1);  // with SIGPIPE's default action this process dies here
  EXPECT_EQ(errno, EPIPE);
  close(fds[1]);
}

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
