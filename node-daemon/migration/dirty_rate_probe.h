// DirtyRateProbe: the source node-daemon's measurement for a plan (a VMMigration with
// spec.dryRun in phase Planning, docs/migration.md "Plans"): how fast the guest dirties its
// memory, from QEMU's calc-dirty-rate through libvirt (virt::Connection::startDirtyRateCalc and
// dirtyRate). The measurement runs in QEMU for `seconds`; step() never blocks for it: it starts
// the measurement, then tells the caller when to look again (the reconciler requeues the key), and
// returns the result once QEMU has it.
// A measurement is ours only after this process started it (a "measured" state left by an earlier
// process or another tool is not taken: QEMU keeps the last result until the next start).
// Thread-safety: safe from any thread (one mutex; no libvirt call while holding it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "lib/core/clock.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::migration {

struct DirtyRateProbeOptions {
  // How long QEMU measures. Page sampling sees 512 pages per GiB of guest memory: a longer
  // period averages more changed samples (tests/bench/README.md, "Migration forecast").
  int seconds = 3;
  // A measurement that has not finished this long after its start is reported as failed.
  std::chrono::milliseconds deadline{std::chrono::seconds(20)};
  std::chrono::milliseconds poll{std::chrono::milliseconds(250)};
};

struct DirtyRateResult {
  std::optional<int64_t> bytes_per_second;  // set on success
  std::string error;                        // set on failure
};

class DirtyRateProbe {
public:
  DirtyRateProbe(virt::Connection& conn, core::ClockPtr clock, DirtyRateProbeOptions options = {});

  struct Step {
    std::optional<DirtyRateResult> result;  // nullopt: call again after `again`
    std::chrono::milliseconds again{0};
  };
  // Advances the measurement of `domain` for `key` (namespace/name of the VMMigration).
  Step step(const std::string& key, const std::string& domain);
  // Drops what is known about `key` (reported, or no longer ours).
  void forget(const std::string& key);

private:
  virt::Connection& conn_;
  core::ClockPtr clock_;
  DirtyRateProbeOptions options_;
  std::mutex mu_;
  std::map<std::string, core::Clock::TimePoint> started_;  // guarded by mu_
};

}  // namespace novacron::node::migration
