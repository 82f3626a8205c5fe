#include "kubectl-plugin/plan.h"

#include <chrono>
#include <cstdio>
#include <ostream>

#include "kubectl-plugin/commands.h"
#include "kubectl-plugin/format.h"
#include "kubectl-plugin/migration_request.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"

namespace novacron::kubectl_plugin {
namespace {

using api::MigrationPhase;

std::string rate(int64_t bytes_per_second) {
  return formatBytes(bytes_per_second) + "/s";
}

std::string millis(int64_t ms) {
  if (ms < 1000) {
    return std::to_string(ms) + " ms";
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

std::string formatPlan(const api::VMMigration& m) {
  std::vector<std::vector<std::string>> rows;
  const std::string phase(api::toString(m.status.phase.value_or(MigrationPhase::kPending)));
  rows.push_back({"PLAN", m.metadata.name + " (" + phase + ")"});
  rows.push_back({"VM", m.metadata.namespace_ + "/" + m.spec.vmName +
                            (m.status.sourceHypervisor ? " on " + *m.status.sourceHypervisor
                                                       : std::string())});
  if (m.status.failureReason) {
    rows.push_back({"FAILED", *m.status.failureReason});
  }
  if (!m.status.plan) {
    return formatTable(rows);
  }
  const api::MigrationPlan& p = *m.status.plan;
  if (p.targetHypervisor) {
    rows.push_back({"TARGET", *p.targetHypervisor +
                                  (p.targetReason ? " (" + *p.targetReason + ")" : std::string())});
  }
  if (p.targetCapacityAfter) {
    const api::PlanCapacity& c = *p.targetCapacityAfter;
    std::string free = std::to_string(c.cpus) + " CPUs, " + formatBytes(c.memoryBytes) + " memory";
    if (c.memoryBytes < 0) {
      free = std::to_string(c.cpus) + " CPUs, -" + formatBytes(-c.memoryBytes) + " memory";
    }
    if (c.storageBytes) {
      free += ", " + formatBytes(*c.storageBytes) + " disk";
    }
    rows.push_back({"FREE AFTER", free});
  }
  rows.push_back(
      {"CPU", p.cpuCompatible ? "compatible" : "incompatible: " + p.cpuCompatibility.value_or("")});
  rows.push_back(
      {"TO SEND", formatBytes(p.memoryBytes) + " memory + " + formatBytes(p.diskBytes) + " disks"});
  if (p.dirtyRateBytesPerSecond) {
    rows.push_back({"DIRTY RATE", rate(*p.dirtyRateBytesPerSecond) + " (measured" +
                                      (p.dirtyRateMeasuredTime
                                           ? " " + api::formatTimestamp(*p.dirtyRateMeasuredTime)
                                           : std::string()) +
                                      ")"});
  } else if (p.dirtyRateError) {
    rows.push_back({"DIRTY RATE", "not measured: " + *p.dirtyRateError});
  } else {
    rows.push_back({"DIRTY RATE", "measuring..."});
  }
  rows.push_back(
      {"BANDWIDTH", rate(p.bandwidthBytesPerSecond) +
                        (p.bandwidthSource ? " (" + *p.bandwidthSource + ")" : std::string())});
  if (p.forecast) {
    const api::MigrationForecast& f = *p.forecast;
    rows.push_back({"STRATEGY", std::string(api::toString(f.strategy)) + ", compression " +
                                    std::string(api::toString(f.compression))});
    rows.push_back(
        {"FORECAST", f.converges ? "total " + millis(f.totalMs) + ", downtime " +
                                       millis(f.downtimeMs) + ", " + std::to_string(f.iterations) +
                                       " pre-copy passes, " + formatBytes(f.bytesToSend) + " sent"
                                 : "does not converge"});
    rows.push_back({"VERDICT", f.verdict});
  }
  return formatTable(rows);
}

int runPlan(Env& env, const Args& args) {
  const CreatedMigration created = createMigration(env, args, "-plan-", /*dry_run=*/true);
  if (created.exit_code != 0) {
    return created.exit_code;
  }
  const std::string& name = created.name;
  env.err << "vmmigration/" << name << " created (dry run: nothing moves); waiting for the plan\n";
  const auto deadline = env.clock->now() + std::chrono::minutes(2);
  while (true) {
    auto json = env.client->get(kube::kVMMigration, env.ns, name);
    if (!json.isOk()) {
      return fail(env, json.status().message());
    }
    auto m = api::vmMigrationFromJson(*json);
    if (!m.isOk()) {
      return fail(env, m.status().message());
    }
    const MigrationPhase phase = m->status.phase.value_or(MigrationPhase::kPending);
    if (api::isTerminal(phase)) {
      env.out << formatPlan(*m);
      return phase == MigrationPhase::kPlanned ? 0 : 1;
    }
    if (env.clock->now() >= deadline) {
      env.out << formatPlan(*m);
      return fail(
          env, "timed out waiting for the plan (still " + std::string(api::toString(phase)) + ")");
    }
    env.clock->sleepFor(std::chrono::milliseconds(250));
  }
}

}  // namespace novacron::kubectl_plugin
