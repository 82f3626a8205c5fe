#include "controller/rebalance/rebalancer.h"

#include <map>

#include <spdlog/spdlog.h>

#include "controller/migration/cpu_compat.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/names.h"
#include "lib/core/check.h"
#include "lib/kube/resource.h"

namespace novacron::controller::rebalance {
namespace {

// How often the loop looks again while the caches have not synced yet.
constexpr auto kSyncPoll = std::chrono::seconds(1);

bool movable(const api::VirtualMachine& vm) {
  const api::Condition* migratable =
      api::findCondition(vm.status.conditions, api::kConditionMigratable);
  return vm.status.phase == api::VirtualMachinePhase::kRunning && !vm.status.activeMigration &&
         !vm.metadata.deletionTimestamp &&
         (migratable == nullptr || migratable->status != api::ConditionStatus::kFalse);
}

api::VMMigration migrationFor(const NewMigration& n) {
  api::VMMigration m;
  m.metadata.namespace_ = n.namespace_;
  m.metadata.name = n.name;
  m.metadata.labels[std::string(kInitiatorLabel)] = std::string(kRebalanceInitiator);
  m.metadata.labels[std::string(api::kVmNameLabel)] = n.vm_name;
  m.metadata.annotations[std::string(kSourceAnnotation)] = n.source;
  m.metadata.annotations[std::string(kReasonAnnotation)] = n.reason;
  m.spec.vmName = n.vm_name;
  m.spec.targetHypervisor = n.target;
  m.spec.mode = api::MigrationMode::kLive;
  return m;
}

}  // namespace

PlannerOptions plannerOptionsFor(const config::ControllerConfig& config) {
  const auto& rb = config.rebalance;
  PlannerOptions o;
  o.metric = rb.metric;
  o.max_imbalance_percent = rb.max_imbalance_percent;
  o.cooldown = rb.cooldown;
  o.exclude_namespaces = rb.exclude_namespaces;
  auto selector = kube::Selector::parse(rb.exclude_selector);
  // parseConfig() rejected a bad selector; a config built in code that carries one would
  // otherwise move VMs the operator meant to exclude.
  NOVACRON_CHECK(selector.isOk(), "rebalance.excludeSelector: " + selector.status().toString());
  o.exclude_selector = *selector;
  o.scheduler.policy = config.scheduler.policy;
  o.scheduler.default_overcommit = config.scheduler.default_overcommit;
  return o;
}

Rebalancer::Rebalancer(RebalancerDeps deps)
    : deps_(std::move(deps)), options_(plannerOptionsFor(deps_.config)) {
  if (!deps_.metrics) {
    deps_.metrics = std::make_shared<RebalanceMetrics>();
  }
}

Rebalancer::~Rebalancer() {
  stop();
}

void Rebalancer::start() {
  if (!deps_.config.rebalance.enabled || thread_.joinable()) {
    return;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  spdlog::info(
      "rebalance: enabled, mode {}, metric {}, allowed imbalance {}%, every {}s",
      modeName(deps_.config.rebalance.mode), spreadMetricName(deps_.config.rebalance.metric),
      deps_.config.rebalance.max_imbalance_percent,
      std::chrono::duration_cast<std::chrono::seconds>(deps_.config.rebalance.interval).count());
  thread_ = std::thread([this] { loop(); });
}

void Rebalancer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Rebalancer::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!deps_.cache->synced()) {
      deps_.clock->waitFor(lock, cv_, kSyncPoll, [this] { return stopping_; });
      continue;
    }
    lock.unlock();
    (void)runOnce();
    lock.lock();
    deps_.clock->waitFor(lock, cv_, deps_.config.rebalance.interval, [this] { return stopping_; });
  }
}

RoundInput Rebalancer::observe() const {
  RoundInput in;
  in.now = deps_.clock->wallNow();
  for (const auto& hv : deps_.cache->hypervisors()) {
    const std::string& name = hv->metadata.name;
    in.hypervisors.push_back(hypervisorView(*hv, deps_.heartbeats->fresh(name)));
    for (const auto& vm : deps_.cache->vmsOn(name)) {
      if (boundHypervisor(*vm) != name) {
        continue;
      }
      VmCandidate c;
      c.namespace_ = vm->metadata.namespace_;
      c.name = vm->metadata.name;
      c.labels = vm->metadata.labels;
      c.hypervisor = name;
      c.request = vmRequest(*vm);
      c.movable = movable(*vm);
      c.resource_version = vm->metadata.resourceVersion;
      in.vms.push_back(std::move(c));
    }
  }
  for (const auto& m : deps_.cache->migrations()) {
    in.migrations.push_back(recordOf(*m));
  }
  // What admission checks beyond the scheduler's filters (docs/migration.md, "Admission").
  struct Facts {
    migration::CpuFacts cpu;
    bool has_address = false;
  };
  auto facts = std::make_shared<std::map<std::string, Facts>>();
  for (const auto& hv : deps_.cache->hypervisors()) {
    (*facts)[hv->metadata.name] =
        Facts{migration::CpuFacts{hv->status.cpuModel, hv->status.cpuFeatures},
              hv->spec.migration && hv->spec.migration->address.has_value()};
  }
  in.can_migrate = [facts](const std::string& source, const std::string& target) {
    auto s = facts->find(source);
    auto t = facts->find(target);
    return s != facts->end() && t != facts->end() && t->second.has_address &&
           !migration::cpuIncompatibility(s->second.cpu, t->second.cpu).has_value();
  };
  return in;
}

RoundDecision Rebalancer::runOnce() {
  RoundDecision decision = decideRound(observe(), deps_.config.rebalance, options_);
  act(decision);
  return decision;
}

void Rebalancer::act(const RoundDecision& d) {
  const auto& rb = deps_.config.rebalance;
  deps_.metrics->round(d, rb.max_imbalance_percent);
  spdlog::info("rebalance round ({}, {}): {}", modeName(rb.mode), roundStateName(d.state),
               d.message);
  if (d.state == RoundState::kPaused && d.failed) {
    if (auto m = deps_.cache->migration(d.failed->namespace_ + "/" + d.failed->name)) {
      deps_.events->event(api::toJson(*m), "Warning", "RebalancePaused", d.message);
    }
    return;
  }
  for (const auto& n : d.create) {
    auto vm = deps_.cache->vm(n.namespace_ + "/" + n.vm_name);
    if (rb.mode == Mode::kPropose) {
      spdlog::info("rebalance: propose {}/{} {} -> {}: {}", n.namespace_, n.vm_name, n.source,
                   n.target, n.reason);
      if (vm) {
        deps_.events->event(api::toJson(*vm), "Normal", "RebalanceProposed",
                            "would migrate to " + n.target + ": " + n.reason);
      }
      continue;
    }
    auto created =
        deps_.client->create(kube::kVMMigration, n.namespace_, api::toJson(migrationFor(n)));
    if (!created.isOk() && created.status().code() != core::StatusCode::kAlreadyExists) {
      // The rest waits for the next round, which reads the budget back from the API.
      spdlog::warn("rebalance: cannot create VMMigration {}/{}: {}", n.namespace_, n.name,
                   created.status().toString());
      deps_.metrics->error();
      break;
    }
    if (created.isOk()) {
      deps_.metrics->created();
    }
    spdlog::info("rebalance: VMMigration {}/{} moves {} {} -> {}: {}", n.namespace_, n.name,
                 n.vm_name, n.source, n.target, n.reason);
    if (vm) {
      deps_.events->event(api::toJson(*vm), "Normal", "RebalanceMigrationCreated",
                          "VMMigration " + n.name + " moves it from " + n.source + " to " +
                              n.target + ": " + n.reason);
    }
  }
}

}  // namespace novacron::controller::rebalance
