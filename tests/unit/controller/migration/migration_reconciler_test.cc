// MigrationReconciler on the FakeClient: the controller's phases of a VMMigration, with the
// source node-daemon simulated by status writes (docs/migration.md).
#include "controller/migration/migration_reconciler.h"

#include <map>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "controller/ledger/ledger.h"
#include "controller/ledger/ledger_status.h"
#include "controller/migration/ledger_facts.h"
#include "controller/migration/plan.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/codec.h"
#include "lib/api/migration_target.h"
#include "lib/api/names.h"
#include "lib/kube/resource.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/unit/controller/cluster_objects.h"
#include "tests/unit/controller/snapshot_cluster_cache.h"

namespace novacron::controller::migration {
namespace {

using api::ConditionStatus;
using api::MigrationPhase;
using ctltest::kGi;
using novacron::testing::FakeClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Verb = FakeClient::Verb;

constexpr const char* kNs = "ns";

class MigrationReconcilerTest : public ::testing::Test {
protected:
  void SetUp() override {
    clock_ = std::make_shared<novacron::testing::FakeClock>();
    client_ = std::make_shared<FakeClient>(clock_);
    cache_ = std::make_shared<ctltest::SnapshotClusterCache>();
    reconciler_ = newReconciler(nullptr, registry_);
  }

  // A reconciler on the fixture's client, cache and clock with nothing in memory (as after a
  // controller restart), its metrics in `registry`, its Events through `events` (may be null).
  std::unique_ptr<MigrationReconciler> newReconciler(
      std::shared_ptr<runtime::EventRecorder> events,
      const std::shared_ptr<prometheus::Registry>& registry) {
    config::ControllerConfig config;
    config.scheduler.default_overcommit = {scheduler::Ratio{1000}, scheduler::Ratio{1000}};
    config.migrations.max_parallel = 5;
    return std::make_unique<MigrationReconciler>(MigrationReconcilerDeps{
        client_, cache_,
        std::make_shared<health::HeartbeatTracker>(clock_, std::chrono::seconds(40)),
        std::make_shared<MigrationMetrics>(registry), std::move(events), clock_, config});
  }

  void addHypervisor(const std::string& name, std::optional<std::string> address,
                     int max_inbound = 2, int max_outbound = 2) {
    api::Hypervisor hv = ctltest::makeHypervisor(name, 16, 64 * kGi);
    api::HypervisorMigrationSpec migration;
    migration.address = std::move(address);
    migration.maxInbound = max_inbound;
    migration.maxOutbound = max_outbound;
    hv.spec.migration = migration;
    ASSERT_TRUE(ctltest::registerHypervisor(*client_, hv).isOk());
  }

  // A Running VM bound to `on`, counted in `on`'s ledger.
  void addVm(const std::string& name, const std::string& on) {
    auto created = client_->create(kube::kVirtualMachine, kNs,
                                   api::toJson(ctltest::makeVm(kNs, name, 2, 2 * kGi)));
    ASSERT_TRUE(created.isOk()) << created.status();
    api::VirtualMachine vm = api::virtualMachineFromJson(*created).value();
    vm.status.hypervisor = on;
    vm.status.allocated = vm.spec.resources;
    vm.status.phase = api::VirtualMachinePhase::kRunning;
    auto written = client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(vm));
    ASSERT_TRUE(written.isOk()) << written.status();
    vm = api::virtualMachineFromJson(*written).value();
    vm.metadata.labels[std::string(api::kHypervisorLabel)] = on;
    ASSERT_TRUE(client_->update(kube::kVirtualMachine, kNs, api::toJson(vm)).isOk());
    api::Hypervisor hv = hypervisor(on);
    ledger::Ledger entries = ledgerOf(hv).value();
    entries[std::string(kNs) + "/" + name] = ledger::LedgerEntry{vm.metadata.uid, {2, 2 * kGi}, ""};
    ledger::putLedger(hv.status, entries);
    ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(hv)).isOk());
  }

  void addMigration(const std::string& name, const std::string& vm,
                    std::optional<std::string> target = std::nullopt) {
    clock_->advance(std::chrono::seconds(1));  // distinct creationTimestamps: FIFO order
    api::VMMigration m;
    m.metadata.namespace_ = kNs;
    m.metadata.name = name;
    m.spec.vmName = vm;
    m.spec.targetHypervisor = std::move(target);
    auto created = client_->create(kube::kVMMigration, kNs, api::toJson(m));
    ASSERT_TRUE(created.isOk()) << created.status();
  }

  // hv-a runs web-1; m1 moves it to hv-b (with `target_inbound` inbound slots), reconciled once.
  // web-1 on hv-a; hv-b and hv-c fit equally, hv-c shares hv-a's zone z1 (hv-b has none).
  void addWeb1OnHvAWithHvCInItsZone() {
    addHypervisor("hv-a", "10.0.0.1");
    addHypervisor("hv-b", "10.0.0.2");
    addHypervisor("hv-c", "10.0.0.3");
    for (const char* name : {"hv-a", "hv-c"}) {
      api::Hypervisor hv = hypervisor(name);
      hv.metadata.labels[std::string(api::kZoneLabel)] = "z1";
      ASSERT_TRUE(client_->update(kube::kHypervisor, "", api::toJson(hv)).isOk());
    }
    addVm("web-1", "hv-a");
  }
  void migrateWeb1ToHvB(int target_inbound = 2) {
    addHypervisor("hv-a", "10.0.0.1");
    addHypervisor("hv-b", "10.0.0.2", target_inbound);
    addVm("web-1", "hv-a");
    addMigration("m1", "web-1", "hv-b");
    reconcileOk("m1");
  }

  core::StatusOr<runtime::ReconcileResult> reconcile(const std::string& name) {
    cache_->refresh(*client_);
    return reconciler_->reconcile(std::string(kNs) + "/" + name);
  }

  void reconcileOk(const std::string& name) {
    auto result = reconcile(name);
    ASSERT_TRUE(result.isOk()) << name << ": " << result.status();
  }
  // migrateWeb1ToHvB, then hv-a heartbeats (a Lease) and reports that it started the job
  // (progress 10%), reconciled once: a live source that picked the migration up.
  void sourceStartedTheJob() {
    migrateWeb1ToHvB();
    ASSERT_TRUE(
        client_->create(kube::kLease, "novacron-node-lease", ctltest::makeLease("hv-a", "t0"))
            .isOk());
    api::VMMigration m = migration("m1");
    m.status.progress = api::MigrationProgress{};
    m.status.progress->percent = 10;
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
    reconcileOk("m1");
  }

  // Ten seconds on, hv-a's heartbeat renewed (it stays alive, silent about m1), m1 reconciled.
  void tenSecondsOfALiveSilentSource() {
    clock_->advance(std::chrono::seconds(10));
    auto lease = client_->get(kube::kLease, "novacron-node-lease", "hv-a");
    ASSERT_TRUE(lease.isOk());
    (*lease)["spec"]["renewTime"] = "t" + std::to_string(++renewals_);
    ASSERT_TRUE(client_->update(kube::kLease, "novacron-node-lease", *lease).isOk());
    reconcileOk("m1");
  }

  size_t writes() const {
    size_t n = 0;
    for (Verb verb :
         {Verb::kCreate, Verb::kUpdate, Verb::kUpdateStatus, Verb::kPatch, Verb::kDelete}) {
      n += client_->countActions(verb);
    }
    return n;
  }

  // The source node-daemon's report.
  void nodeReports(const std::string& name, MigrationPhase phase,
                   std::optional<std::string> why = std::nullopt) {
    api::VMMigration m = migration(name);
    m.status.phase = phase;
    m.status.failureReason = std::move(why);
    api::MigrationProgress progress;
    progress.percent = 100;
    progress.dataProcessedBytes = 2 * kGi;
    progress.downtimeMs = 120;
    m.status.progress = progress;
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  }

  // The target node-daemon's report: it removed what it prepared (or found nothing to remove).
  void targetReportsCleanedUp(const std::string& name) {
    api::VMMigration m = migration(name);
    api::setCondition(m.status.conditions,
                      api::Condition{.type = std::string(api::kConditionTargetPrepared),
                                     .status = ConditionStatus::kFalse,
                                     .reason = std::string(api::kReasonTargetCleanedUp),
                                     .message = "nothing of this migration on node-b"},
                      api::toTimestamp(clock_->wallNow()));
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  }
  bool gone(const std::string& name) {
    return client_->get(kube::kVMMigration, kNs, name).status().code() ==
           core::StatusCode::kNotFound;
  }

  // Asserts that `name` ended Failed with condition Succeeded=False of this reason; returns that
  // condition (its message says why), or an empty one when it is missing.
  api::Condition expectFailed(const std::string& name, std::string_view reason) {
    api::VMMigration m = migration(name);
    EXPECT_EQ(m.status.phase, MigrationPhase::kFailed) << name;
    const api::Condition* succeeded = cond(m.status.conditions, api::kConditionSucceeded);
    EXPECT_NE(succeeded, nullptr) << name << ": no Succeeded condition";
    if (succeeded == nullptr) {
      return {};
    }
    EXPECT_EQ(succeeded->status, ConditionStatus::kFalse) << name;
    EXPECT_EQ(succeeded->reason, reason) << name;
    return *succeeded;
  }

  api::VMMigration migration(const std::string& name) {
    auto json = client_->get(kube::kVMMigration, kNs, name);
    EXPECT_TRUE(json.isOk()) << name << ": " << json.status();
    return json.isOk() ? api::vmMigrationFromJson(*json).value() : api::VMMigration{};
  }
  api::VirtualMachine vm(const std::string& name) {
    return api::virtualMachineFromJson(client_->get(kube::kVirtualMachine, kNs, name).value())
        .value();
  }
  api::Hypervisor hypervisor(const std::string& name) {
    return api::hypervisorFromJson(client_->get(kube::kHypervisor, "", name).value()).value();
  }
  bool inLedger(const std::string& hv, const std::string& vm_name) {
    return ledgerOf(hypervisor(hv)).value().contains(std::string(kNs) + "/" + vm_name);
  }
  static const api::Condition* cond(const std::vector<api::Condition>& conditions,
                                    std::string_view type) {
    return api::findCondition(conditions, type);
  }

  // The value of a metric (counter, gauge, or a histogram's sample count) with these labels.
  double metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    for (const auto& family : registry_->Collect()) {
      if (family.name != name) {
        continue;
      }
      for (const auto& sample : family.metric) {
        std::map<std::string, std::string> have;
        for (const auto& label : sample.label) {
          have[label.name] = label.value;
        }
        if (have == labels) {
          return family.type == prometheus::MetricType::Histogram
                     ? static_cast<double>(sample.histogram.sample_count)
                 : family.type == prometheus::MetricType::Gauge ? sample.gauge.value
                                                                : sample.counter.value;
        }
      }
    }
    return -1;
  }

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  int renewals_ = 0;  // hv-a's Lease renewals (tenSecondsOfALiveSilentSource)
  std::shared_ptr<novacron::testing::FakeClock> clock_;
  std::shared_ptr<FakeClient> client_;
  std::shared_ptr<ctltest::SnapshotClusterCache> cache_;
  std::unique_ptr<MigrationReconciler> reconciler_;
};

TEST_F(MigrationReconcilerTest, HappyPathHandsTheVmOverToTheTarget) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2:16509");
  addVm("web-1", "hv-a");
  addMigration("m1", "web-1");  // the scheduler picks: hv-b is the only other one

  reconcileOk("m1");
  api::VMMigration m = migration("m1");
  ASSERT_EQ(m.status.phase, MigrationPhase::kMigrating);
  EXPECT_EQ(m.status.sourceHypervisor, "hv-a");
  EXPECT_EQ(m.status.targetHypervisor, "hv-b");
  EXPECT_EQ(m.status.targetAddress, "10.0.0.2:16509");
  EXPECT_TRUE(m.status.startTime.has_value());
  EXPECT_EQ(m.metadata.labels[std::string(kSourceHypervisorLabel)], "hv-a");
  EXPECT_EQ(m.metadata.labels[std::string(api::kVmNameLabel)], "web-1");
  EXPECT_THAT(m.metadata.finalizers, ::testing::Contains(std::string(api::kControllerFinalizer)));
  const api::Condition* progressing = cond(m.status.conditions, api::kConditionProgressing);
  ASSERT_NE(progressing, nullptr);
  EXPECT_EQ(progressing->status, ConditionStatus::kTrue);
  EXPECT_EQ(progressing->reason, "Migrating");

  api::VirtualMachine locked = vm("web-1");
  EXPECT_EQ(locked.status.activeMigration, "m1");
  EXPECT_EQ(locked.status.hypervisor, "hv-a");  // the binding moves only at the end
  const api::Condition* migrating = cond(locked.status.conditions, kConditionMigrating);
  ASSERT_NE(migrating, nullptr);
  EXPECT_EQ(migrating->status, ConditionStatus::kTrue);
  EXPECT_THAT(migrating->message, HasSubstr("VMMigration m1"));
  EXPECT_THAT(migrating->message, HasSubstr("hv-b"));
  EXPECT_TRUE(inLedger("hv-a", "web-1"));
  EXPECT_TRUE(inLedger("hv-b", "web-1"));  // the reservation on the target

  // The ledger reconciler keeps the reservation while the migration runs.
  cache_->refresh(*client_);
  ledger::VmFacts facts = ledgerFacts(*cache_, locked);
  EXPECT_TRUE(facts.migratingTo("hv-b"));
  EXPECT_FALSE(facts.migratingTo("hv-c"));

  // Migrating belongs to the node-daemon: reconciling again writes nothing.
  client_->clearActions();
  reconcileOk("m1");
  EXPECT_EQ(writes(), 0u);
  EXPECT_EQ(metric("novacron_migration_in_flight"), 1);

  nodeReports("m1", MigrationPhase::kFinalizing);
  reconcileOk("m1");
  m = migration("m1");
  EXPECT_EQ(m.status.phase, MigrationPhase::kSucceeded);
  EXPECT_TRUE(m.status.completionTime.has_value());
  progressing = cond(m.status.conditions, api::kConditionProgressing);
  ASSERT_NE(progressing, nullptr);
  EXPECT_EQ(progressing->status, ConditionStatus::kFalse);
  EXPECT_EQ(progressing->reason, "Succeeded");
  const api::Condition* succeeded = cond(m.status.conditions, api::kConditionSucceeded);
  ASSERT_NE(succeeded, nullptr);
  EXPECT_EQ(succeeded->status, ConditionStatus::kTrue);

  api::VirtualMachine moved = vm("web-1");
  EXPECT_EQ(moved.status.hypervisor, "hv-b");
  EXPECT_EQ(moved.metadata.labels[std::string(api::kHypervisorLabel)], "hv-b");
  EXPECT_FALSE(moved.status.activeMigration.has_value());
  migrating = cond(moved.status.conditions, kConditionMigrating);
  ASSERT_NE(migrating, nullptr);
  EXPECT_EQ(migrating->status, ConditionStatus::kFalse);
  EXPECT_EQ(migrating->reason, "Succeeded");
  EXPECT_FALSE(inLedger("hv-a", "web-1"));  // the source's entry is released
  EXPECT_TRUE(inLedger("hv-b", "web-1"));   // the target's entry now counts the bound VM

  client_->clearActions();
  reconcileOk("m1");
  EXPECT_EQ(writes(), 0u);

  EXPECT_EQ(metric("novacron_migration_results_total", {{"result", "Succeeded"}}), 1);
  EXPECT_EQ(metric("novacron_migration_bytes_total", {{"result", "Succeeded"}}), 2.0 * kGi);
  EXPECT_EQ(metric("novacron_migration_downtime_seconds"), 1);  // one observation (120 ms)
  EXPECT_EQ(metric("novacron_migration_duration_seconds", {{"result", "Succeeded"}}), 1);
  EXPECT_EQ(metric("novacron_migration_in_flight"), 0);
}

TEST_F(MigrationReconcilerTest, NodeReportedFailureReleasesTheReservationAndUnlocksTheVm) {
  migrateWeb1ToHvB();
  ASSERT_TRUE(inLedger("hv-b", "web-1"));

  nodeReports("m1", MigrationPhase::kFailed, "remaining data did not shrink for 150s");
  reconcileOk("m1");
  EXPECT_THAT(expectFailed("m1", "Failed").message, HasSubstr("did not shrink"));
  EXPECT_TRUE(migration("m1").status.completionTime.has_value());
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
  EXPECT_TRUE(inLedger("hv-a", "web-1"));
  api::VirtualMachine stayed = vm("web-1");
  EXPECT_EQ(stayed.status.hypervisor, "hv-a");
  EXPECT_FALSE(stayed.status.activeMigration.has_value());
  const api::Condition* migrating = cond(stayed.status.conditions, kConditionMigrating);
  ASSERT_NE(migrating, nullptr);
  EXPECT_EQ(migrating->status, ConditionStatus::kFalse);
  EXPECT_EQ(migrating->reason, "Failed");

  client_->clearActions();
  reconcileOk("m1");
  EXPECT_EQ(writes(), 0u);
}

TEST_F(MigrationReconcilerTest, InboundLimitRunsMigrationsOneAtATimeInFifoOrder) {
  addHypervisor("hv-s", "10.0.0.1", 2, 5);
  addHypervisor("hv-t", "10.0.0.2", 1, 2);
  for (const char* name : {"vm-1", "vm-2", "vm-3"}) {
    addVm(name, "hv-s");
  }
  addMigration("m1", "vm-1", "hv-t");
  addMigration("m2", "vm-2", "hv-t");
  addMigration("m3", "vm-3", "hv-t");

  // Reconciled youngest first: still only the oldest starts.
  for (const char* name : {"m3", "m2", "m1"}) {
    reconcileOk(name);
  }
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
  for (const char* name : {"m2", "m3"}) {
    api::VMMigration waiting = migration(name);
    EXPECT_EQ(waiting.status.phase, MigrationPhase::kPending) << name;
    const api::Condition* progressing = cond(waiting.status.conditions, api::kConditionProgressing);
    ASSERT_NE(progressing, nullptr) << name;
    EXPECT_EQ(progressing->reason, "WaitingForLimit");
    EXPECT_THAT(progressing->message, HasSubstr("inbound limit of hypervisor hv-t"));
    EXPECT_FALSE(vm(name == std::string("m2") ? "vm-2" : "vm-3").status.activeMigration);
  }
  client_->clearActions();
  reconcileOk("m3");  // waiting again with the same reason writes nothing
  EXPECT_EQ(writes(), 0u);

  nodeReports("m1", MigrationPhase::kFinalizing);
  reconcileOk("m1");
  ASSERT_EQ(migration("m1").status.phase, MigrationPhase::kSucceeded);
  for (const char* name : {"m3", "m2"}) {
    reconcileOk(name);
  }
  EXPECT_EQ(migration("m2").status.phase, MigrationPhase::kMigrating);
  EXPECT_EQ(migration("m3").status.phase, MigrationPhase::kPending);

  nodeReports("m2", MigrationPhase::kFailed, "target unreachable");
  reconcileOk("m2");
  reconcileOk("m3");
  EXPECT_EQ(migration("m3").status.phase, MigrationPhase::kMigrating);
}

// A VMMigration created right after its VM became Running is decided on a cache that may not show
// it yet: Failed is final, so the VM is read live first, and a stale copy means "look again".
TEST_F(MigrationReconcilerTest, AStaleCopyOfTheVmDoesNotFailAPendingMigration) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addVm("web-1", "hv-a");
  api::VirtualMachine starting = vm("web-1");
  starting.status.phase = api::VirtualMachinePhase::kScheduled;
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(starting)).isOk());
  addMigration("m1", "web-1", "hv-b");
  cache_->refresh(*client_);  // the cache sees web-1 Scheduled ...
  api::VirtualMachine running = vm("web-1");
  running.status.phase = api::VirtualMachinePhase::kRunning;  // ... the API server Running
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(running)).isOk());

  auto stale = reconciler_->reconcile(std::string(kNs) + "/m1");
  ASSERT_TRUE(stale.isOk()) << stale.status();
  EXPECT_EQ(stale->requeue_after, MigrationReconciler::kStaleVmRecheck);
  EXPECT_NE(migration("m1").status.phase, MigrationPhase::kFailed);

  reconcileOk("m1");  // the cache caught up
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);

  // A VM that really is not Running still fails it.
  addVm("db-1", "hv-a");
  api::VirtualMachine stopped = vm("db-1");
  stopped.status.phase = api::VirtualMachinePhase::kScheduled;
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(stopped)).isOk());
  addMigration("m2", "db-1", "hv-b");
  reconcileOk("m2");
  expectFailed("m2", "VMNotRunning");
}

TEST_F(MigrationReconcilerTest, SecondMigrationOfTheSameVmIsRefused) {
  migrateWeb1ToHvB();
  addMigration("m2", "web-1", "hv-b");
  reconcileOk("m2");
  expectFailed("m2", "AlreadyMigrating");
  // The refusal released nothing of the running migration.
  EXPECT_EQ(vm("web-1").status.activeMigration, "m1");
  EXPECT_TRUE(inLedger("hv-b", "web-1"));
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
}

TEST_F(MigrationReconcilerTest, LoserOfTheVmLockReleasesNothingOfTheWinner) {
  migrateWeb1ToHvB();
  // m2 was admitted on a stale view and recorded Scheduling before m1 locked the VM.
  addMigration("m2", "web-1", "hv-b");
  api::VMMigration m2 = migration("m2");
  m2.status.phase = MigrationPhase::kScheduling;
  m2.status.sourceHypervisor = "hv-a";
  m2.status.targetHypervisor = "hv-b";
  ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m2)).isOk());
  reconcileOk("m2");
  EXPECT_EQ(migration("m2").status.phase, MigrationPhase::kFailed);
  EXPECT_TRUE(inLedger("hv-b", "web-1"));  // m1's reservation
  EXPECT_EQ(vm("web-1").status.activeMigration, "m1");
}

TEST_F(MigrationReconcilerTest, CancelBeforeMigratingEndsCancelled) {
  migrateWeb1ToHvB(0);  // no inbound slot on hv-b: m1 waits
  ASSERT_EQ(migration("m1").status.phase, MigrationPhase::kPending);

  api::VMMigration m = migration("m1");
  m.spec.cancel = true;
  ASSERT_TRUE(client_->update(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  reconcileOk("m1");
  m = migration("m1");
  EXPECT_EQ(m.status.phase, MigrationPhase::kCancelled);
  EXPECT_TRUE(m.status.completionTime.has_value());
  const api::Condition* progressing = cond(m.status.conditions, api::kConditionProgressing);
  ASSERT_NE(progressing, nullptr);
  EXPECT_EQ(progressing->status, ConditionStatus::kFalse);
  EXPECT_EQ(progressing->reason, "Cancelled");
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
  EXPECT_FALSE(vm("web-1").status.activeMigration.has_value());
}

TEST_F(MigrationReconcilerTest, DeletingAPendingMigrationRemovesIt) {
  migrateWeb1ToHvB(0);
  ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, "m1").isOk());
  ASSERT_TRUE(client_->get(kube::kVMMigration, kNs, "m1").isOk());  // held by the finalizer
  reconcileOk("m1");
  auto gone = client_->get(kube::kVMMigration, kNs, "m1");
  ASSERT_FALSE(gone.isOk());
  EXPECT_EQ(gone.status().code(), core::StatusCode::kNotFound);
}

TEST_F(MigrationReconcilerTest, DeletingARunningMigrationAbortsAndWaitsForTheNodeDaemon) {
  migrateWeb1ToHvB();
  ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, "m1").isOk());
  EXPECT_FALSE(reconcile("m1").isOk());  // retried until the node-daemon reports
  api::VMMigration m = migration("m1");
  EXPECT_TRUE(m.spec.cancel);  // the abort signal the node-daemon watches
  EXPECT_EQ(m.status.phase, MigrationPhase::kMigrating);
  EXPECT_TRUE(inLedger("hv-b", "web-1"));

  nodeReports("m1", MigrationPhase::kCancelled);
  EXPECT_FALSE(reconcile("m1").isOk()) << "hv-b may have prepared disks: it reports first";
  EXPECT_FALSE(inLedger("hv-b", "web-1"));  // released without waiting
  EXPECT_FALSE(vm("web-1").status.activeMigration.has_value());
  targetReportsCleanedUp("m1");
  reconcileOk("m1");
  EXPECT_TRUE(gone("m1"));
}

// Regression (issue 18, fault suite seed 9031): a cold evacuation to hv-b failed after hv-b
// prepared the VM's folder, and the evacuation deleted the VMMigration a second later — before
// hv-b's target reconciler saw the failure. It cleans up only migrations it still sees, so the
// folder stayed for good. The finalizer now holds the migration until hv-b reports.
TEST_F(MigrationReconcilerTest, ADeletedFailedMigrationWaitsForItsTargetToCleanUp) {
  migrateWeb1ToHvB();
  nodeReports("m1", MigrationPhase::kFailed, "ColdMigrationFailed: no libvirtd at the target");
  reconcileOk("m1");
  expectFailed("m1", "Failed");
  ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, "m1").isOk());

  auto waiting = reconcile("m1");
  ASSERT_FALSE(waiting.isOk());
  EXPECT_EQ(waiting.status().code(), core::StatusCode::kUnavailable);
  EXPECT_THAT(waiting.status().message(), HasSubstr("waiting for hypervisor hv-b"));
  EXPECT_FALSE(gone("m1"));
  client_->clearActions();
  EXPECT_FALSE(reconcile("m1").isOk());
  EXPECT_EQ(writes(), 0u) << "waiting writes nothing";
  EXPECT_EQ(metric("novacron_migration_results_total", {{"result", "Failed"}}), 1)
      << "the end is counted once, however long the finalizer waits";

  targetReportsCleanedUp("m1");
  reconcileOk("m1");
  EXPECT_TRUE(gone("m1"));
  EXPECT_EQ(metric("novacron_migration_target_cleanup_skipped_total"), 0);
}

// Deleted while Migrating, then ended by the controller itself (the source stayed silent): the
// target acts on the phase it reads, so the terminal phase is written although the object is
// being deleted, and the finalizer waits for the target as above.
TEST_F(MigrationReconcilerTest,
       AnEndTheControllerDecidesForADeletedMigrationIsWrittenForTheTarget) {
  migrateWeb1ToHvB();
  ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, "m1").isOk());
  EXPECT_FALSE(reconcile("m1").isOk());  // abort requested; the source never answers
  ASSERT_TRUE(migration("m1").spec.cancel);
  clock_->advance(std::chrono::seconds(121));
  EXPECT_FALSE(reconcile("m1").isOk());
  expectFailed("m1", "SourceNotResponding");
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
  targetReportsCleanedUp("m1");
  reconcileOk("m1");
  EXPECT_TRUE(gone("m1"));
}

// A fenced (or deleted) target will not report: the migration goes, and what the target may have
// prepared is a reported orphan (docs/reliability.md, "Known orphans").
TEST_F(MigrationReconcilerTest, ADeletedFailedMigrationIsReleasedWhenItsTargetIsFenced) {
  migrateWeb1ToHvB();
  nodeReports("m1", MigrationPhase::kFailed, "ColdMigrationFailed");
  reconcileOk("m1");
  ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, "m1").isOk());
  EXPECT_FALSE(reconcile("m1").isOk());

  api::Hypervisor hv = hypervisor("hv-b");
  hv.metadata.annotations[std::string(api::kFencedAnnotation)] = "true";
  ASSERT_TRUE(client_->update(kube::kHypervisor, "", api::toJson(hv)).isOk());
  reconcileOk("m1");
  EXPECT_TRUE(gone("m1"));
  EXPECT_EQ(metric("novacron_migration_target_cleanup_skipped_total"), 1);
}

// Nothing can be on the target of a live migration over shared storage (copyStorage Never): the
// target never prepares nor reports, and the deletion does not wait for it.
TEST_F(MigrationReconcilerTest, ADeletedMigrationOverSharedStorageDoesNotWaitForItsTarget) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addVm("web-1", "hv-a");
  addMigration("m1", "web-1", "hv-b");
  api::VMMigration shared = migration("m1");
  shared.spec.options.copyStorage = api::CopyStorage::kNever;
  ASSERT_TRUE(client_->update(kube::kVMMigration, kNs, api::toJson(shared)).isOk());
  reconcileOk("m1");
  ASSERT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
  nodeReports("m1", MigrationPhase::kFailed, "the target refused the guest");
  reconcileOk("m1");
  ASSERT_TRUE(client_->remove(kube::kVMMigration, kNs, "m1").isOk());
  reconcileOk("m1");
  EXPECT_TRUE(gone("m1"));
}

TEST_F(MigrationReconcilerTest, ASilentSourceIsAskedToAbortThenTheMigrationFails) {
  migrateWeb1ToHvB();  // Migrating; the source node-daemon never picks it up
  ASSERT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
  ASSERT_TRUE(inLedger("hv-b", "web-1"));
  auto result = reconcile("m1");
  ASSERT_TRUE(result.isOk()) << result.status();
  EXPECT_EQ(result->requeue_after, std::chrono::seconds(60));  // sourceTimeout: look again then

  clock_->advance(std::chrono::seconds(30));
  result = reconcile("m1");
  ASSERT_TRUE(result.isOk()) << result.status();
  EXPECT_EQ(result->requeue_after, std::chrono::seconds(30));
  EXPECT_FALSE(migration("m1").spec.cancel);

  clock_->advance(std::chrono::seconds(30));
  reconcileOk("m1");
  api::VMMigration m = migration("m1");
  EXPECT_TRUE(m.spec.cancel);  // the abort request: a late pick-up never starts the job
  EXPECT_EQ(m.status.phase, MigrationPhase::kMigrating);
  EXPECT_TRUE(inLedger("hv-b", "web-1"));

  clock_->advance(std::chrono::seconds(60));
  reconcileOk("m1");
  EXPECT_THAT(expectFailed("m1", "SourceNotResponding").message, HasSubstr("never started"));
  EXPECT_FALSE(inLedger("hv-b", "web-1"));  // the target's reservation is released
  api::VirtualMachine stayed = vm("web-1");
  EXPECT_EQ(stayed.status.hypervisor, "hv-a");
  EXPECT_FALSE(stayed.status.activeMigration.has_value());
}

TEST_F(MigrationReconcilerTest, AColdMigrationPastColdTimeoutIsAbortedWithItsReasonThenFails) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addVm("web-1", "hv-a");
  addMigration("m1", "web-1", "hv-b");
  api::VMMigration cold = migration("m1");
  cold.spec.mode = api::MigrationMode::kCold;
  ASSERT_TRUE(client_->update(kube::kVMMigration, kNs, api::toJson(cold)).isOk());
  reconcileOk("m1");
  ASSERT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
  // The source reports progress every 50 s (never silent) for the whole default hour.
  for (int64_t step = 1; step <= 72; ++step) {
    ASSERT_FALSE(migration("m1").spec.cancel) << "aborted after " << (step - 1) * 50 << " s";
    clock_->advance(std::chrono::seconds(50));
    api::VMMigration m = migration("m1");
    api::MigrationProgress progress;
    progress.dataProcessedBytes = step * kGi / 100;
    m.status.progress = progress;
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
    reconcileOk("m1");
  }
  api::VMMigration m = migration("m1");
  EXPECT_TRUE(m.spec.cancel);
  EXPECT_THAT(m.metadata.annotations[std::string(api::kAbortReasonAnnotation)],
              StartsWith("ColdMigrationTimeout: the Cold migration has run for 3600 s"))
      << "the source reports its abort as Failed with this";
  EXPECT_EQ(m.status.phase, MigrationPhase::kMigrating);

  clock_->advance(std::chrono::seconds(60));  // no answer within sourceTimeout
  reconcileOk("m1");
  expectFailed("m1", "ColdMigrationTimeout");
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
  EXPECT_EQ(vm("web-1").status.hypervisor, "hv-a");
}

// A live source that started the job and does not answer the abort is never failed (decide.h),
// but the wait is visible: condition WaitingForSource naming the source and since when, one
// Warning Event, the gauge novacron_migration_waiting_for_source; all cleared once it answers.
TEST_F(MigrationReconcilerTest, WaitingForALiveSourceIsVisibleUntilItAnswers) {
  runtime::EventRecorderOptions options;
  options.component = "novacron-controller";
  options.host = "test";
  options.clock = clock_;
  options.registry = std::make_shared<prometheus::Registry>();
  auto events = std::make_shared<runtime::EventRecorder>(client_, options);
  reconciler_ = newReconciler(events, registry_);
  sourceStartedTheJob();  // then goes silent
  api::VMMigration m;
  const auto waiting = [&]() -> const api::Condition* {
    m = migration("m1");
    return cond(m.status.conditions, kConditionWaitingForSource);
  };
  for (int i = 0; i < 60 && !waiting(); ++i) {
    tenSecondsOfALiveSilentSource();
  }
  ASSERT_NE(waiting(), nullptr) << "no WaitingForSource after 10 minutes of silence";
  EXPECT_TRUE(m.spec.cancel) << "asked to abort first";
  api::Condition c = *waiting();
  EXPECT_EQ(c.status, ConditionStatus::kTrue);
  EXPECT_EQ(c.reason, "SourceNotResponding");
  EXPECT_THAT(c.message, HasSubstr("hypervisor hv-a"));
  EXPECT_THAT(c.message, HasSubstr("waiting since " + api::formatTimestamp(c.lastTransitionTime)));
  EXPECT_EQ(m.status.phase, MigrationPhase::kMigrating);
  EXPECT_TRUE(inLedger("hv-b", "web-1"));

  for (int i = 0; i < 30; ++i) {  // five more minutes: the same condition, no second Event
    tenSecondsOfALiveSilentSource();
  }
  EXPECT_EQ(*waiting(), c);
  EXPECT_EQ(m.status.phase, MigrationPhase::kMigrating);
  EXPECT_EQ(metric("novacron_migration_waiting_for_source"), 1);
  ASSERT_TRUE(events->flush(std::chrono::seconds(10)));
  int warnings = 0;
  for (const auto& event : client_->objects(kube::kCoreEvent)) {
    if (event.value("reason", "") == "WaitingForSource") {
      EXPECT_EQ(event.value("type", ""), "Warning");
      EXPECT_THAT(event.value("message", ""), HasSubstr("hypervisor hv-a"));
      warnings += event.value("count", 1);
    }
  }
  EXPECT_EQ(warnings, 1);

  nodeReports("m1", MigrationPhase::kCancelled, "Cancelled: aborted");  // it answers
  reconcileOk("m1");
  reconcileOk("m1");  // the gauge counts what the cache shows
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kCancelled);
  ASSERT_NE(waiting(), nullptr);
  EXPECT_EQ(waiting()->status, ConditionStatus::kFalse);
  EXPECT_EQ(waiting()->reason, "Cancelled");
  EXPECT_EQ(metric("novacron_migration_waiting_for_source"), 0);
}

// A source that reports again while the controller waits for its abort clears the condition.
TEST_F(MigrationReconcilerTest, ASourceThatReportsAgainEndsTheWait) {
  sourceStartedTheJob();
  for (int i = 0; i < 60; ++i) {
    tenSecondsOfALiveSilentSource();
  }
  api::VMMigration m = migration("m1");
  const api::Condition* c = cond(m.status.conditions, kConditionWaitingForSource);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->status, ConditionStatus::kTrue);
  m.status.progress->percent = 20;  // the source reports again
  ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  reconcileOk("m1");
  m = migration("m1");
  c = cond(m.status.conditions, kConditionWaitingForSource);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, ConditionStatus::kFalse);
  EXPECT_EQ(c->reason, "SourceAnswered");
  EXPECT_EQ(m.status.phase, MigrationPhase::kMigrating);
}

// A controller that restarts (or a new leader) while it waits for the source knows nothing of the
// silence so far (its clock is in memory) and does not decide to wait at once; the source has not
// answered, so the condition must stay True, not turn False SourceAnswered (which would also drop
// the gauge and reset the alert's window).
TEST_F(MigrationReconcilerTest, ARestartedControllerKeepsWaitingForASilentSource) {
  sourceStartedTheJob();
  for (int i = 0; i < 60; ++i) {
    tenSecondsOfALiveSilentSource();
  }
  api::VMMigration now = migration("m1");
  const api::Condition* c = cond(now.status.conditions, kConditionWaitingForSource);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->status, ConditionStatus::kTrue);
  const api::Condition before = *c;

  // The restart: a new reconciler, nothing in memory (a registry of its own, as a new process).
  reconciler_ = newReconciler(nullptr, std::make_shared<prometheus::Registry>());
  for (int i = 0; i < 3; ++i) {
    tenSecondsOfALiveSilentSource();
    now = migration("m1");
    c = cond(now.status.conditions, kConditionWaitingForSource);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->status, ConditionStatus::kTrue)
        << "the restarted controller ended a wait the source never answered: " << c->reason;
    EXPECT_EQ(*c, before);
  }
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
}

TEST_F(MigrationReconcilerTest, ProgressFromTheSourceRestartsTheSilenceClock) {
  migrateWeb1ToHvB();
  reconcileOk("m1");  // first sight of Migrating: the clock starts
  clock_->advance(std::chrono::seconds(50));
  api::VMMigration m = migration("m1");
  api::MigrationProgress progress;
  progress.percent = 10;
  m.status.progress = progress;
  ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  auto result = reconcile("m1");
  ASSERT_TRUE(result.isOk()) << result.status();
  // A full sourceTimeout from now (no heartbeat Lease here: the short bound of a stale source).
  EXPECT_EQ(result->requeue_after, std::chrono::seconds(60));
  clock_->advance(std::chrono::seconds(50));
  reconcileOk("m1");
  EXPECT_FALSE(migration("m1").spec.cancel);
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating);
}

TEST_F(MigrationReconcilerTest, ACpuIncompatibleTargetIsRefusedWithAReason) {
  api::Hypervisor source = ctltest::makeHypervisor("hv-a", 16, 64 * kGi);
  source.status.cpuModel = "Skylake-Server";
  source.status.cpuFeatures = {"avx2", "avx512f", "aes"};
  source.spec.migration = api::HypervisorMigrationSpec{"10.0.0.1", 2, 2, {}};
  ASSERT_TRUE(ctltest::registerHypervisor(*client_, source).isOk());
  api::Hypervisor older = ctltest::makeHypervisor("hv-b", 16, 64 * kGi);
  older.status.cpuModel = "Haswell";
  older.status.cpuFeatures = {"avx2", "aes"};
  older.spec.migration = api::HypervisorMigrationSpec{"10.0.0.2", 2, 2, {}};
  ASSERT_TRUE(ctltest::registerHypervisor(*client_, older).isOk());
  addVm("web-1", "hv-a");
  addMigration("m1", "web-1", "hv-b");
  reconcileOk("m1");
  EXPECT_THAT(expectFailed("m1", "TargetCPUIncompatible").message,
              HasSubstr("lacks CPU features avx512f"));
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
  // The scheduler's own pick skips it too.
  addMigration("m2", "web-1");
  reconcileOk("m2");
  expectFailed("m2", "NoTarget");
}

TEST_F(MigrationReconcilerTest, TargetWithoutAddressFailsTellingTheOperatorWhatToSet) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", std::nullopt);
  addVm("web-1", "hv-a");
  addMigration("m1", "web-1", "hv-b");
  reconcileOk("m1");
  EXPECT_THAT(expectFailed("m1", "TargetAddressUnknown").message,
              HasSubstr("spec.migration.address"));
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
}

// Every admission failure docs/api.md lists ends the migration Failed with Succeeded=False, its
// reason and a message (and is recorded for the docs contract test, tests/unit/docs).
TEST_F(MigrationReconcilerTest, AdmissionFailuresSayWhy) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  api::Hypervisor cordoned = ctltest::makeHypervisor("hv-c", 16, 64 * kGi);
  cordoned.spec.unschedulable = true;
  api::HypervisorMigrationSpec address;
  address.address = "10.0.0.3";
  cordoned.spec.migration = address;
  ASSERT_TRUE(ctltest::registerHypervisor(*client_, cordoned).isOk());
  addVm("web-1", "hv-a");
  auto created = client_->create(kube::kVirtualMachine, kNs,
                                 api::toJson(ctltest::makeVm(kNs, "loose", 1, kGi)));
  ASSERT_TRUE(created.isOk()) << created.status();
  addVm("halted", "hv-a");
  api::VirtualMachine stopped = vm("halted");
  stopped.status.phase = api::VirtualMachinePhase::kStopped;
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, kNs, api::toJson(stopped)).isOk());

  const std::vector<std::tuple<std::string, std::string, std::optional<std::string>, std::string>>
      cases = {{"same", "web-1", "hv-a", "SameHypervisor"},
               {"nowhere", "web-1", "hv-x", "TargetNotFound"},
               {"cordoned", "web-1", "hv-c", "TargetUnschedulable"},
               {"unbound", "loose", "hv-b", "VMNotBound"},
               {"stopped", "halted", "hv-b", "VMNotRunning"}};
  for (const auto& [name, vm_name, target, reason] : cases) {
    addMigration(name, vm_name, target);
    reconcileOk(name);
    EXPECT_FALSE(expectFailed(name, reason).message.empty()) << name;
  }
}

TEST_F(MigrationReconcilerTest, NoOtherHypervisorFitsIsNoTarget) {
  addHypervisor("hv-a", "10.0.0.1");
  addVm("web-1", "hv-a");
  addMigration("m1", "web-1");
  reconcileOk("m1");
  expectFailed("m1", "NoTarget");
}

TEST_F(MigrationReconcilerTest, MigrationOfAMissingVmFails) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addMigration("m1", "ghost", "hv-b");
  reconcileOk("m1");
  expectFailed("m1", "VMNotFound");
  client_->clearActions();
  reconcileOk("m1");
  EXPECT_EQ(writes(), 0u);
}

// --- issue 17: network-aware targets ---

TEST_F(MigrationReconcilerTest, ASucceededMigrationRecordsTheBandwidthOnItsSourceOnce) {
  migrateWeb1ToHvB();
  clock_->advance(std::chrono::seconds(4));
  nodeReports("m1", MigrationPhase::kFinalizing);
  reconcileOk("m1");
  const api::VMMigration m = migration("m1");
  ASSERT_EQ(m.status.phase, MigrationPhase::kSucceeded);
  const api::Hypervisor source = hypervisor("hv-a");
  ASSERT_EQ(source.status.migrationBandwidth.size(), 1u);
  const api::MigrationBandwidth& b = source.status.migrationBandwidth[0];
  EXPECT_EQ(b.target, "hv-b");
  const int64_t seconds = (*m.status.completionTime - *m.status.startTime).count();
  EXPECT_GE(seconds, 4);
  EXPECT_EQ(b.bytesPerSecond, 2 * kGi / seconds);
  EXPECT_EQ(b.observedTime, m.status.completionTime);
  EXPECT_TRUE(hypervisor("hv-b").status.migrationBandwidth.empty());

  client_->clearActions();
  reconcileOk("m1");
  EXPECT_EQ(writes(), 0u);  // recorded once
}

TEST_F(MigrationReconcilerTest, WithoutATargetTheSourcesZoneIsPreferred) {
  addWeb1OnHvAWithHvCInItsZone();
  addMigration("m1", "web-1");  // hv-b and hv-c fit equally; hv-c shares hv-a's zone
  reconcileOk("m1");
  EXPECT_EQ(migration("m1").status.targetHypervisor, "hv-c");
}

// --- dry runs (spec.dryRun): docs/migration.md, "Plans" -------------------------------------

class PlanReconcilerTest : public MigrationReconcilerTest {
protected:
  void addPlan(const std::string& name, const std::string& vm,
               std::optional<std::string> target = std::nullopt) {
    clock_->advance(std::chrono::seconds(1));
    api::VMMigration m;
    m.metadata.namespace_ = kNs;
    m.metadata.name = name;
    m.spec.vmName = vm;
    m.spec.targetHypervisor = std::move(target);
    m.spec.dryRun = true;
    ASSERT_TRUE(client_->create(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  }
  // The source node-daemon's measurement.
  void nodeMeasures(const std::string& name, int64_t bytes_per_second) {
    api::VMMigration m = migration(name);
    ASSERT_TRUE(m.status.plan.has_value());
    m.status.plan->dirtyRateBytesPerSecond = bytes_per_second;
    m.status.plan->dirtyRateMeasuredTime = api::toTimestamp(clock_->wallNow());
    ASSERT_TRUE(client_->updateStatus(kube::kVMMigration, kNs, api::toJson(m)).isOk());
  }
};

TEST_F(PlanReconcilerTest, ADryRunPlansWithoutMovingOrReservingAnything) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addVm("web-1", "hv-a");
  addPlan("p1", "web-1");

  reconcileOk("p1");
  api::VMMigration m = migration("p1");
  ASSERT_EQ(m.status.phase, MigrationPhase::kPlanning);
  EXPECT_EQ(m.status.sourceHypervisor, "hv-a");
  EXPECT_EQ(m.status.targetHypervisor, "hv-b");
  EXPECT_EQ(m.metadata.labels[std::string(kSourceHypervisorLabel)], "hv-a")
      << "the source node-daemon measures";
  EXPECT_FALSE(m.metadata.labels.contains(std::string(api::kTargetHypervisorLabel)))
      << "the target prepares nothing";
  ASSERT_TRUE(m.status.plan.has_value());
  const api::MigrationPlan& plan = *m.status.plan;
  EXPECT_EQ(plan.targetHypervisor, "hv-b");
  EXPECT_THAT(plan.targetReason.value_or(""),
              HasSubstr("no bandwidth measured from the source, score"));
  ASSERT_TRUE(plan.targetCapacityAfter.has_value());
  EXPECT_EQ(plan.targetCapacityAfter->cpus, 16 - 2);
  EXPECT_EQ(plan.targetCapacityAfter->memoryBytes, 64 * kGi - 2 * kGi);
  EXPECT_TRUE(plan.cpuCompatible);
  EXPECT_EQ(plan.memoryBytes, 2 * kGi);
  EXPECT_EQ(plan.bandwidthBytesPerSecond, kAssumedBandwidthBytesPerSecond);
  EXPECT_FALSE(plan.forecast.has_value()) << "not before the measurement";
  const api::Condition* progressing = cond(m.status.conditions, api::kConditionProgressing);
  ASSERT_NE(progressing, nullptr);
  EXPECT_EQ(progressing->reason, "Planning");
  EXPECT_FALSE(vm("web-1").status.activeMigration.has_value()) << "the VM is not locked";
  EXPECT_FALSE(inLedger("hv-b", "web-1")) << "nothing is reserved";

  client_->clearActions();
  reconcileOk("p1");
  EXPECT_EQ(writes(), 0u) << "waiting for the node-daemon";

  nodeMeasures("p1", 8 * (int64_t{1} << 20));
  reconcileOk("p1");
  m = migration("p1");
  ASSERT_EQ(m.status.phase, MigrationPhase::kPlanned);
  ASSERT_TRUE(m.status.plan->forecast.has_value());
  const api::MigrationForecast& f = *m.status.plan->forecast;
  EXPECT_TRUE(f.converges) << f.verdict;
  EXPECT_EQ(f.dirtyRateBytesPerSecond, 8 * (int64_t{1} << 20));
  EXPECT_GT(f.totalMs, 0);
  EXPECT_THAT(f.verdict, HasSubstr("will converge"));
  EXPECT_TRUE(m.status.completionTime.has_value());
  progressing = cond(m.status.conditions, api::kConditionProgressing);
  ASSERT_NE(progressing, nullptr);
  EXPECT_EQ(progressing->status, ConditionStatus::kFalse);
  EXPECT_EQ(progressing->reason, "Planned");
  EXPECT_THAT(progressing->message, HasSubstr("will converge"));
  EXPECT_EQ(cond(m.status.conditions, api::kConditionSucceeded), nullptr);
  EXPECT_FALSE(m.status.failureReason.has_value());

  client_->clearActions();
  reconcileOk("p1");
  EXPECT_EQ(writes(), 0u) << "a Planned plan is done";
  EXPECT_EQ(vm("web-1").status.hypervisor, "hv-a");
  EXPECT_FALSE(inLedger("hv-b", "web-1"));
  EXPECT_EQ(metric("novacron_migration_results_total", {{"result", "Succeeded"}}), 0);
}

TEST_F(PlanReconcilerTest, ThePlanSaysWhyItsTargetInTheRankingsWords) {
  addWeb1OnHvAWithHvCInItsZone();
  addPlan("p1", "web-1");  // hv-b and hv-c fit equally; hv-c shares hv-a's zone
  reconcileOk("p1");
  const api::VMMigration m = migration("p1");
  ASSERT_TRUE(m.status.plan.has_value());
  EXPECT_EQ(m.status.plan->targetHypervisor, "hv-c");
  const std::string reason = m.status.plan->targetReason.value_or("");
  EXPECT_THAT(reason, HasSubstr("same zone as the source (z1)"));
  EXPECT_THAT(reason, HasSubstr("the first of 2 hypervisors that fit"));
  EXPECT_THAT(reason, HasSubstr("next: hv-b (other zone (none, source in z1)"));
}

TEST_F(PlanReconcilerTest, APlanUsesTheBandwidthMeasuredBetweenTheHosts) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  api::Hypervisor source = hypervisor("hv-a");
  api::MigrationBandwidth measured;
  measured.target = "hv-b";
  measured.bytesPerSecond = 50 * (int64_t{1} << 20);
  measured.observedTime = api::toTimestamp(clock_->wallNow());
  source.status.migrationBandwidth.push_back(measured);
  ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(source)).isOk());
  addVm("web-1", "hv-a");
  addPlan("p1", "web-1");

  reconcileOk("p1");
  const api::VMMigration m = migration("p1");
  ASSERT_TRUE(m.status.plan.has_value());
  EXPECT_EQ(m.status.plan->bandwidthBytesPerSecond, 50 * (int64_t{1} << 20));
  EXPECT_THAT(m.status.plan->bandwidthSource.value_or(""), HasSubstr("measured between the hosts"));
}

TEST_F(PlanReconcilerTest, ARealMigrationRecordsTheForecastFromTheLatestPlan) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addVm("web-1", "hv-a");
  addPlan("p1", "web-1", "hv-b");
  reconcileOk("p1");
  nodeMeasures("p1", 3 * (int64_t{1} << 20));
  reconcileOk("p1");
  ASSERT_EQ(migration("p1").status.phase, MigrationPhase::kPlanned);

  addMigration("m1", "web-1", "hv-b");
  reconcileOk("m1");
  api::VMMigration m = migration("m1");
  ASSERT_EQ(m.status.phase, MigrationPhase::kMigrating);
  ASSERT_TRUE(m.status.forecast.has_value());
  EXPECT_EQ(m.status.forecast->dirtyRateBytesPerSecond, 3 * (int64_t{1} << 20));
  EXPECT_THAT(m.status.forecast->verdict, HasSubstr("latest plan"));
  EXPECT_FALSE(m.status.plan.has_value());
}

TEST_F(PlanReconcilerTest, WithoutAPlanTheForecastAssumesAnIdleGuest) {
  migrateWeb1ToHvB();
  api::VMMigration m = migration("m1");
  ASSERT_TRUE(m.status.forecast.has_value());
  EXPECT_EQ(m.status.forecast->dirtyRateBytesPerSecond, 0);
  EXPECT_THAT(m.status.forecast->verdict, HasSubstr("dirty rate assumed 0"));
}

TEST_F(PlanReconcilerTest, APlanHoldsNoSlotAndIsNotBlockedByOne) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2", /*max_inbound=*/1);
  addVm("web-1", "hv-a");
  addVm("web-2", "hv-a");
  addPlan("p1", "web-1", "hv-b");
  reconcileOk("p1");
  ASSERT_EQ(migration("p1").status.phase, MigrationPhase::kPlanning);
  addMigration("m1", "web-2", "hv-b");
  reconcileOk("m1");
  EXPECT_EQ(migration("m1").status.phase, MigrationPhase::kMigrating) << "hv-b's one slot";
  addPlan("p2", "web-2", "hv-b");
  reconcileOk("p2");
  EXPECT_EQ(migration("p2").status.phase, MigrationPhase::kPlanning)
      << "a plan of a migrating VM towards a full target";
}

TEST_F(PlanReconcilerTest, ASourceThatNeverMeasuresFailsThePlan) {
  addHypervisor("hv-a", "10.0.0.1");
  addHypervisor("hv-b", "10.0.0.2");
  addVm("web-1", "hv-a");
  addPlan("p1", "web-1");
  reconcileOk("p1");
  reconcileOk("p1");  // the silence clock starts with the first look at Planning
  clock_->advance(kDefaultSourceTimeout);
  reconcileOk("p1");
  expectFailed("p1", "SourceNotResponding");
  EXPECT_THAT(migration("p1").status.failureReason.value_or(""), HasSubstr("did not measure"));
}

TEST_F(PlanReconcilerTest, APlanWithoutATargetFailsWithTheReason) {
  addHypervisor("hv-a", "10.0.0.1");
  addVm("web-1", "hv-a");
  addPlan("p1", "web-1");
  reconcileOk("p1");
  expectFailed("p1", "NoTarget");
}

}  // namespace
}  // namespace novacron::controller::migration
