#include "controller/controller_app.h"

#include <spdlog/spdlog.h>

#include "controller/hypervisor/relevance.h"
#include "controller/vm/placement_inputs.h"
#include "lib/runtime/store.h"

namespace novacron::controller {
namespace {

std::optional<std::string> renewalOf(const nlohmann::json& lease) {
  std::string rv = lease.value("/metadata/resourceVersion"_json_pointer, std::string());
  std::string renew = lease.contains("/spec/renewTime"_json_pointer)
                          ? lease.at("/spec/renewTime"_json_pointer).dump()
                          : std::string();
  return renew + "@" + rv;
}

void enqueueFollowUp(runtime::WorkQueue& queue, const std::string& hypervisor, FollowUp follow_up) {
  if (hypervisor.empty() || follow_up == FollowUp::kNone) {
    return;
  }
  if (follow_up == FollowUp::kNow) {
    queue.add(hypervisor);
  } else {
    queue.addAfter(hypervisor, kFollowUpDelay);
  }
}

}  // namespace

ControllerApp::ControllerApp(kube::ClientPtr client, ControllerAppOptions options)
    : client_(std::move(client)), options_(std::move(options)) {
  const auto& config = options_.config;
  cache_ = std::make_shared<InformerClusterCache>(client_, options_.registry);
  heartbeats_ =
      std::make_shared<health::HeartbeatTracker>(options_.clock, config.health.heartbeat_timeout);
  metrics_ = std::make_shared<SchedulerMetrics>(options_.registry);
  fleet_ = std::make_shared<FleetMetrics>(options_.registry);
  runtime::EventRecorderOptions event_options;
  event_options.component = "novacron-controller";
  event_options.host = options_.identity;
  event_options.clock = options_.clock;
  event_options.registry = options_.registry;
  events_ = std::make_shared<runtime::EventRecorder>(client_, event_options);

  std::vector<runtime::SyncWait> synced = {
      [cache = cache_](std::chrono::milliseconds timeout) { return cache->waitForSync(timeout); }};
  auto controllerOptions = [&](std::string name, int workers) {
    runtime::ControllerOptions o;
    o.name = std::move(name);
    o.workers = workers;
    o.synced = synced;
    o.clock = options_.clock;
    o.registry = options_.registry;
    return o;
  };

  vm_reconciler_ = std::make_unique<VmReconciler>(
      VmReconcilerDeps{client_, cache_, heartbeats_, metrics_, events_, options_.clock, config});
  vm_controller_ = std::make_unique<runtime::Controller>(
      controllerOptions("virtualmachine", config.workers.vm),
      [this](const std::string& key) { return vm_reconciler_->reconcile(key); });
  runtime::WorkQueue& vm_queue = vm_controller_->queue();
  HypervisorReconcilerDeps hypervisor_deps{
      client_,
      cache_,
      heartbeats_,
      metrics_,
      events_,
      options_.clock,
      config,
      [&vm_queue](const std::string& key) { vm_queue.add(key); },
      std::make_shared<evacuation::EvacuationMetrics>(options_.registry)};
  hypervisor_deps.waiting_vms = [this] { return vm_reconciler_->waitingForCapacity(); };
  hypervisor_reconciler_ = std::make_unique<HypervisorReconciler>(std::move(hypervisor_deps));
  hypervisor_controller_ = std::make_unique<runtime::Controller>(
      controllerOptions("hypervisor", config.workers.hypervisor),
      [this](const std::string& key) { return hypervisor_reconciler_->reconcile(key); });
  runtime::WorkQueue& hv_queue = hypervisor_controller_->queue();
  migration_reconciler_ =
      std::make_unique<migration::MigrationReconciler>(migration::MigrationReconcilerDeps{
          client_, cache_, heartbeats_,
          std::make_shared<migration::MigrationMetrics>(options_.registry), events_, options_.clock,
          config});
  migration_controller_ = std::make_unique<runtime::Controller>(
      controllerOptions("vmmigration", config.workers.migration),
      [this](const std::string& key) { return migration_reconciler_->reconcile(key); });
  runtime::WorkQueue& mig_queue = migration_controller_->queue();
  rebalancer_ = std::make_unique<rebalance::Rebalancer>(
      rebalance::RebalancerDeps{client_, cache_, heartbeats_, events_, options_.clock, config,
                                std::make_shared<rebalance::RebalanceMetrics>(options_.registry)});
  // Migrations of one VM (a VM's deletion or phase decides a Pending migration).
  auto enqueueMigrationsOf = [&mig_queue, cache = cache_.get()](const api::VirtualMachine& vm) {
    for (const auto& m : cache->migrations()) {
      if (m->metadata.namespace_ == vm.metadata.namespace_ && m->spec.vmName == vm.metadata.name) {
        mig_queue.add(m->metadata.namespace_ + "/" + m->metadata.name);
      }
    }
  };

  // Handlers only enqueue keys (and note heartbeat arrival times).
  using VmPtr = VirtualMachinePtr;
  cache_->vmInformer().addEventHandler(runtime::EventHandlers<api::VirtualMachine>{
      [&vm_queue, &hv_queue, enqueueMigrationsOf](const std::string& key, const VmPtr& vm) {
        vm_queue.add(key);
        enqueueMigrationsOf(*vm);
        if (auto bound = boundHypervisor(*vm); !bound.empty()) {
          hv_queue.add(bound);
        }
      },
      [&vm_queue, &hv_queue, enqueueMigrationsOf](const std::string& key, const VmPtr& old_vm,
                                                  const VmPtr& vm) {
        vm_queue.add(key);
        enqueueMigrationsOf(*vm);
        auto before = boundHypervisor(*old_vm);
        auto after = boundHypervisor(*vm);
        // Only a change its hypervisor's reconcile can see, as soon as it needs to
        // (hypervisor/relevance.h).
        enqueueFollowUp(hv_queue, after, followUpOf(*old_vm, *vm));
        if (!before.empty() && before != after) {
          hv_queue.add(before);
        }
      },
      [&vm_queue, &hv_queue, enqueueMigrationsOf, cache = cache_.get()](const std::string& key,
                                                                        const VmPtr& vm) {
        vm_queue.add(key);
        enqueueMigrationsOf(*vm);
        if (auto bound = boundHypervisor(*vm); !bound.empty()) {
          hv_queue.add(bound);
        }
        // Reservations of an unbound VM may sit on any hypervisor.
        for (const auto& hv : cache->hypervisors()) {
          auto entries = sharedLedgerOf(*hv);
          if (entries.isOk() && (*entries)->contains(key)) {
            hv_queue.add(hv->metadata.name);
          }
        }
      }});
  cache_->hypervisorInformer().addEventHandler(runtime::EventHandlers<api::Hypervisor>{
      [&hv_queue](const std::string& key, const HypervisorPtr&) { hv_queue.add(key); },
      [&hv_queue](const std::string& key, const HypervisorPtr& old_hv, const HypervisorPtr& hv) {
        enqueueFollowUp(hv_queue, key, followUpOf(*old_hv, *hv));
      },
      [&hv_queue](const std::string& key, const HypervisorPtr&) { hv_queue.add(key); }});
  // A migration's change may free a limit slot (every Pending one is looked at again, FIFO is
  // decided per reconcile) and changes what the ledgers of its source and target keep.
  using MigPtr = VMMigrationPtr;
  auto onMigration = [&mig_queue, &hv_queue, cache = cache_.get()](
                         const std::string& key, const MigPtr& m, bool phase_changed) {
    mig_queue.add(key);
    for (const auto& hv : {m->status.sourceHypervisor, m->status.targetHypervisor}) {
      if (hv) {
        hv_queue.add(*hv);
      }
    }
    // An evacuation's migration reports to the hypervisor in maintenance (controller/evacuation/).
    if (auto it = m->metadata.labels.find(std::string(api::kEvacuatingHypervisorLabel));
        it != m->metadata.labels.end()) {
      hv_queue.add(it->second);
    }
    if (!phase_changed) {
      return;
    }
    for (const auto& other : cache->migrations()) {
      if (other->status.phase.value_or(api::MigrationPhase::kPending) ==
          api::MigrationPhase::kPending) {
        mig_queue.add(other->metadata.namespace_ + "/" + other->metadata.name);
      }
    }
  };
  cache_->migrationInformer().addEventHandler(runtime::EventHandlers<api::VMMigration>{
      [onMigration](const std::string& key, const MigPtr& m) { onMigration(key, m, true); },
      [onMigration](const std::string& key, const MigPtr& old_m, const MigPtr& m) {
        onMigration(key, m, old_m->status.phase != m->status.phase);
      },
      [onMigration](const std::string& key, const MigPtr& m) { onMigration(key, m, true); }});
  // Fleet gauges (fleet_metrics.h): O(1) bookkeeping per event, no I/O, no lock a worker holds.
  cache_->vmInformer().addEventHandler(runtime::EventHandlers<api::VirtualMachine>{
      [fleet = fleet_](const std::string&, const VmPtr& vm) {
        fleet->vmChanged(nullptr, vm.get());
      },
      [fleet = fleet_](const std::string&, const VmPtr& old_vm, const VmPtr& vm) {
        fleet->vmChanged(old_vm.get(), vm.get());
      },
      [fleet = fleet_](const std::string&, const VmPtr& vm) {
        fleet->vmChanged(vm.get(), nullptr);
      }});
  cache_->hypervisorInformer().addEventHandler(runtime::EventHandlers<api::Hypervisor>{
      [fleet = fleet_](const std::string&, const HypervisorPtr& hv) {
        fleet->hypervisorChanged(*hv);
      },
      [fleet = fleet_](const std::string&, const HypervisorPtr&, const HypervisorPtr& hv) {
        fleet->hypervisorChanged(*hv);
      },
      [fleet = fleet_](const std::string&, const HypervisorPtr& hv) {
        fleet->hypervisorDeleted(hv->metadata.name);
      }});
  auto heartbeats = heartbeats_;
  cache_->leaseInformer().addEventHandler(runtime::EventHandlers<nlohmann::json>{
      [&hv_queue, heartbeats](const std::string& key, const auto& lease) {
        auto name = runtime::splitObjectKey(key).second;
        heartbeats->observe(name, renewalOf(*lease));
        hv_queue.add(name);
      },
      [&hv_queue, heartbeats](const std::string& key, const auto&, const auto& lease) {
        auto name = runtime::splitObjectKey(key).second;
        if (heartbeats->observe(name, renewalOf(*lease))) {
          hv_queue.add(name);  // back from the dead: restore Ready now
        }
      },
      [&hv_queue](const std::string& key, const auto&) {
        hv_queue.add(runtime::splitObjectKey(key).second);
      }});
}

ControllerApp::~ControllerApp() {
  stopLeading();
}

void ControllerApp::startLeading() {
  if (leading_) {
    return;
  }
  leading_ = true;
  spdlog::info("{}: leading; starting informers and workers", options_.identity);
  cache_->start();
  hypervisor_controller_->start();
  vm_controller_->start();
  migration_controller_->start();
  rebalancer_->start();
}

void ControllerApp::stopLeading() {
  if (!leading_) {
    return;
  }
  leading_ = false;
  spdlog::info("{}: stopping workers and informers", options_.identity);
  rebalancer_->stop();
  migration_controller_->stop();
  vm_controller_->stop();
  hypervisor_controller_->stop();
  cache_->stop();
  (void)events_->flush(std::chrono::seconds(2));
}

bool ControllerApp::ready() const {
  return vm_controller_->running() && hypervisor_controller_->running() &&
         migration_controller_->running();
}

}  // namespace novacron::controller
