#include "lib/core/termination.h"

#include <pthread.h>
#include <signal.h>

namespace novacron::core {
namespace {

sigset_t terminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

TerminationSignals::TerminationSignals() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t set = terminationSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this, set] {
    int sig = 0;
    sigwait(&set, &sig);
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      if (closing_) {
        return;
      }
      received_ = true;
      fn = std::move(on_signal_);
    }
    if (fn) {
      fn();
    }
    {
      std::lock_guard lock(mu_);
      handled_ = true;
    }
    handled_cv_.notify_all();
  });
}

TerminationSignals::~TerminationSignals() {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (!received_) {
      closing_ = true;
      wake = true;
    }
  }
  if (wake) {
    pthread_kill(waiter_.native_handle(), SIGTERM);  // consumed by sigwait(); nothing else runs
  }
  waiter_.join();
}

void TerminationSignals::onSignal(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!received_) {
      on_signal_ = std::move(fn);
      return;
    }
  }
  fn();
}

void TerminationSignals::wait() {
  std::unique_lock lock(mu_);
  handled_cv_.wait(lock, [this] { return handled_; });
}

bool TerminationSignals::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

}  // namespace novacron::core
