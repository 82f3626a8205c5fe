#include "lib/core/exit_deadline.h"

#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace novacron::core {

ExitDeadline::ExitDeadline(ClockPtr clock, ExitFn exit)
    : clock_(std::move(clock)), exit_(std::move(exit)) {}

ExitDeadline::~ExitDeadline() {
  {
    std::lock_guard lock(mu_);
    disarmed_ = true;
  }
  cv_.notify_all();
  if (waiter_.joinable()) {
    waiter_.join();
  }
}

void ExitDeadline::arm(Clock::Duration grace, int code, std::string reason) {
  std::lock_guard lock(mu_);
  if (armed_ || disarmed_) {
    return;
  }
  armed_ = true;
  waiter_ = std::thread([this, deadline = clock_->now() + grace, code,
                         reason = std::move(reason)]() mutable { wait(deadline, code, reason); });
}

bool ExitDeadline::armed() const {
  std::lock_guard lock(mu_);
  return armed_;
}

void ExitDeadline::wait(Clock::TimePoint deadline, int code, std::string reason) {
  {
    std::unique_lock lock(mu_);
    if (clock_->waitUntil(lock, cv_, deadline, [this] { return disarmed_; })) {
      return;
    }
  }
  spdlog::error("{}: orderly shutdown did not finish in time; exiting with code {}", reason, code);
  exit_(code);
}

void ExitDeadline::hardExit(int code) {
  if (auto logger = spdlog::default_logger()) {
    logger->flush();
  }
  std::fflush(nullptr);
  std::_Exit(code);
}

}  // namespace novacron::core
