// ExitDeadline: ends the process if an orderly shutdown takes longer than a bound.
//
// A controller that lost its lease must stop acting before another candidate can lead, and its
// process must then exit so a fresh one (fresh caches) competes again. An orderly shutdown joins
// workers and threads that may sit in an HTTP request to a frozen API server for as long as the
// client library lets them (issue 18, seed 2017: 97 s). kube-controller-manager exits at once on
// a lost lease (klog.FlushAndExit in OnStoppedLeading); we first try the orderly way, but only
// for `grace`:
//
//   core::ExitDeadline deadline;                 // early in main: destroyed after everything else
//   options.on_lost_leadership = [&] { deadline.arm(std::chrono::seconds(5), 1, "lost lease"); };
//   ... orderly shutdown ...                     // if it outlasts the grace: logs flushed,
//   _exit(1)
//
// The exit function is injected so tests can observe it; the default flushes the logs and calls
// std::_Exit (no destructors: they are what hangs).
// Thread-safety: arm() from any thread; construct and destroy on one thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "lib/core/clock.h"

namespace novacron::core {

class ExitDeadline {
public:
  using ExitFn = std::function<void(int code)>;

  explicit ExitDeadline(ClockPtr clock = systemClock(), ExitFn exit = hardExit);
  // Disarms: an orderly shutdown that got this far finished in time.
  ~ExitDeadline();
  ExitDeadline(const ExitDeadline&) = delete;
  ExitDeadline& operator=(const ExitDeadline&) = delete;

  // Starts the countdown: unless this object is destroyed within `grace`, `exit(code)` runs (after
  // an error log naming `reason`). Only the first call counts.
  void arm(Clock::Duration grace, int code, std::string reason);
  bool armed() const;

  // Flushes the logs and ends the process at once with `code`.
  static void hardExit(int code);

private:
  void wait(Clock::TimePoint deadline, int code, std::string reason);

  ClockPtr clock_;
  ExitFn exit_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool armed_ = false;     // guarded by mu_
  bool disarmed_ = false;  // guarded by mu_
  std::thread waiter_;     // started by the first arm()
};

}  // namespace novacron::core
