// TerminationSignals: SIGTERM and SIGINT taken by sigwait() on a dedicated thread, so a binary's
// shutdown neither polls a flag nor runs code inside a signal handler.
//
//   core::TerminationSignals signals;          // first thing in main, before any thread starts
//   ... start endpoints, build the manager ...
//   signals.onSignal([&] { manager.stop(); });  // runs at once if a signal already came
//   manager.run();
//
// The constructor blocks both signals in the calling thread; threads created afterwards inherit
// the mask, so only the waiting thread receives them. It also ignores SIGPIPE for the process: a
// peer that hangs up mid-write (a libvirtd killed during a call, an API server restarted) is an
// EPIPE error on that call, never the silent death of the process (the fault suite in depth found
// a node-daemon gone without a log line each time its host's libvirtd was killed during a call).
// Thread-safety: construct and destroy on the main thread; onSignal() from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace novacron::core {

class TerminationSignals {
public:
  TerminationSignals();
  // Releases the waiting thread if no signal arrived.
  ~TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // `fn` runs once on the first SIGTERM/SIGINT (on the waiting thread), or right away on the
  // calling thread if one already arrived.
  void onSignal(std::function<void()> fn);
  bool received() const;
  // Blocks until a signal arrived and the onSignal() function (if any) has returned.
  void wait();

private:
  mutable std::mutex mu_;
  std::function<void()> on_signal_;  // guarded by mu_
  bool received_ = false;            // guarded by mu_
  bool closing_ = false;             // guarded by mu_
  bool handled_ = false;             // guarded by mu_; the handler has returned
  std::condition_variable handled_cv_;
  std::thread waiter_;
};

}  // namespace novacron::core
