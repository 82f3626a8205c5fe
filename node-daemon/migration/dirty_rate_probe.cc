#include "node-daemon/migration/dirty_rate_probe.h"

namespace novacron::node::migration {

DirtyRateProbe::DirtyRateProbe(virt::Connection& conn, core::ClockPtr clock,
                               DirtyRateProbeOptions options)
    : conn_(conn), clock_(std::move(clock)), options_(options) {}

DirtyRateProbe::Step DirtyRateProbe::step(const std::string& key, const std::string& domain) {
  std::optional<core::Clock::TimePoint> started;
  {
    std::lock_guard lock(mu_);
    if (auto it = started_.find(key); it != started_.end()) {
      started = it->second;
    }
  }
  const auto now = clock_->now();
  if (!started) {
    core::Status s = conn_.startDirtyRateCalc(domain, options_.seconds);
    if (!s.isOk()) {
      return Step{DirtyRateResult{std::nullopt, "starting the measurement: " + s.toString()}, {}};
    }
    std::lock_guard lock(mu_);
    started_[key] = now;
    return Step{std::nullopt, std::chrono::seconds(options_.seconds) + options_.poll};
  }
  auto rate = conn_.dirtyRate(domain);
  if (!rate.isOk()) {
    forget(key);
    return Step{
        DirtyRateResult{std::nullopt, "reading the measurement: " + rate.status().toString()}, {}};
  }
  if (rate->state == virt::DirtyRate::State::kMeasured) {
    forget(key);
    constexpr int64_t kMiB = int64_t{1} << 20;
    return Step{DirtyRateResult{static_cast<int64_t>(rate->megabytes_per_second) * kMiB, {}}, {}};
  }
  if (now - *started >= options_.deadline) {
    forget(key);
    return Step{DirtyRateResult{std::nullopt,
                                "QEMU did not finish the " + std::to_string(options_.seconds) +
                                    " s measurement within " +
                                    std::to_string(options_.deadline.count() / 1000) + " s"},
                {}};
  }
  return Step{std::nullopt, options_.poll};
}

void DirtyRateProbe::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  started_.erase(key);
}

}  // namespace novacron::node::migration
