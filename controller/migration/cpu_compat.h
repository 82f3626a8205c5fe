// CPU compatibility of a migration target with the source (docs/migration.md, "Target choice").
// A running guest keeps the CPU it booted with, so the target must offer at least that CPU. The
// rule, on the Hypervisors' status.cpuModel / status.cpuFeatures as the node-daemons report them
// (libvirt's host CPU):
//   - the source reports neither a model nor features: nothing to compare, compatible;
//   - the same model on both: compatible;
//   - otherwise the target's features must include every feature of the source.
// libvirt still checks the guest CPU definition itself when the migration starts; this rule keeps
// the scheduler from choosing (and reserving on) a target that would refuse it.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace novacron::controller::migration {

struct CpuFacts {
  std::optional<std::string> model;   // status.cpuModel
  std::vector<std::string> features;  // status.cpuFeatures
};

// Why `target` cannot run a guest started on `source` ("lacks CPU features avx512f, pku of the
// source (model Skylake)"), or nullopt when it can.
std::optional<std::string> cpuIncompatibility(const CpuFacts& source, const CpuFacts& target);

}  // namespace novacron::controller::migration
