// TerminationSignals with real signals sent to this test process (a real process boundary: no
// fake can stand in for the kernel's signal delivery).
#include "lib/core/termination.h"

#include <atomic>
#include <cerrno>

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "lib/core/process.h"

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

// What this process set up for itself is not handed to the programs it runs (exec credential
// plugins, qemu-img): they start with SIGPIPE at its default and nothing blocked.
TEST(TerminationSignalsTest, ChildProcessesStartWithDefaultSignals) {
  TerminationSignals signals;
  auto out = newProcessRunner()->run(ProcessSpec{.argv = {"cat", "/proc/self/status"}});
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  auto mask = [&](const std::string& field) {
    auto at = out->stdout_text.find(field + ":\t");
    EXPECT_NE(at, std::string::npos) << field;
    return std::stoull(out->stdout_text.substr(at + field.size() + 2, 16), nullptr, 16);
  };
  EXPECT_EQ(mask("SigIgn") & (1ULL << (SIGPIPE - 1)), 0u) << "SIGPIPE ignored in the child";
  EXPECT_EQ(mask("SigBlk"), 0u) << "signals blocked in the child";
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
