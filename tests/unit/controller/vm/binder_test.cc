// Binder on a FakeClient: reservations are conditional on the ledger and the placement inputs they
// read (not on unrelated changes) and re-check the fit; bind() writes status.hypervisor before the
// label; labelFor() only writes when the label differs from the binding.
#include "controller/vm/binder.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/ledger/ledger.h"
#include "controller/vm/placement_inputs.h"
#include "lib/api/names.h"
#include "tests/testing/eventually.h"
#include "tests/unit/controller/reconciler_fixture.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;

class BinderTest : public ctltest::ReconcilerFixture {
protected:
  BinderTest()
      : scheduler_(scheduler::SchedulerOptions{
            scheduler::Policy::kBinPack,
            {scheduler::Ratio{scheduler::Ratio::kOne}, scheduler::Ratio{scheduler::Ratio::kOne}}}) {
  }

  void SetUp() override {
    addHypervisor("hv-a", 4, 8 * kGi);
    addHypervisor("hv-b", 4, 8 * kGi);
  }
  api::VirtualMachine newVm(const std::string& name, int32_t cpus) {
    createVm(ctltest::makeVm("default", name, cpus, kGi));
    return vm(name);
  }
  size_t ledgerSize(const std::string& hv) {
    auto entries = ledgerOf(hypervisor(hv));
    EXPECT_TRUE(entries.isOk());
    return entries.isOk() ? entries->size() : 0;
  }

  scheduler::Scheduler scheduler_;
  Binder binder_{client_, scheduler_};
};

TEST_F(BinderTest, ReserveAddsTheLedgerEntryOnceAndAgainWritesNothing) {
  const api::VirtualMachine web = newVm("web", 2);
  auto reserved = binder_.reserve(web, hypervisor("hv-a"), true);
  ASSERT_TRUE(reserved.isOk()) << reserved.status().toString();
  EXPECT_EQ(ledgerSize("hv-a"), 1u);
  client_->clearActions();

  auto again = binder_.reserve(web, hypervisor("hv-a"), true);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(writes(kube::kHypervisor), 0u);
}

// A reservation checks its candidate on the decoded ledger and tells the memo what it wrote: the
// stored copy (which placement, the cache and the hypervisor reconciler read next) and the next
// reservation on it decode nothing (each decode is a pass over the whole ledger, hundreds of
// entries in B1x).
TEST_F(BinderTest, TheLedgerAReservationWroteIsNotDecodedAgain) {
  auto first = binder_.reserve(newVm("web", 1), hypervisor("hv-a"), true);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  const uint64_t decodes = ledgerDecodes();
  auto entries = sharedLedgerOf(*first);
  ASSERT_TRUE(entries.isOk());
  EXPECT_TRUE((*entries)->contains("default/web"));
  EXPECT_EQ(ledgerDecodes(), decodes);

  auto second = binder_.reserve(newVm("db", 1), *first, true);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  entries = sharedLedgerOf(*second);
  ASSERT_TRUE(entries.isOk());
  EXPECT_EQ((*entries)->size(), 2u);
  EXPECT_EQ(ledgerDecodes(), decodes);
  // What the memo handed out is what the stored text decodes to.
  EXPECT_EQ(**entries, *ledger::decodeLedger(*second->status.allocations));
}

TEST_F(BinderTest, ReserveOnAStaleLedgerReportsAConflictWithTheLiveCopy) {
  const api::Hypervisor stale = hypervisor("hv-a");
  ASSERT_TRUE(binder_.reserve(newVm("first", 1), stale, true).isOk());
  std::optional<api::Hypervisor> latest;
  auto second = binder_.reserve(newVm("second", 1), stale, true, &latest);
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), core::StatusCode::kConflict);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->metadata.resourceVersion, hypervisor("hv-a").metadata.resourceVersion);
  EXPECT_EQ(ledgerSize("hv-a"), 1u);
}

TEST_F(BinderTest, ReserveThatNoLongerFitsIsAborted) {
  ASSERT_TRUE(binder_.reserve(newVm("big", 4), hypervisor("hv-a"), true).isOk());
  auto more = binder_.reserve(newVm("more", 1), hypervisor("hv-a"), true);
  ASSERT_FALSE(more.isOk());
  EXPECT_EQ(more.status().code(), core::StatusCode::kAborted);
  EXPECT_EQ(ledgerSize("hv-a"), 1u);
}

TEST_F(BinderTest, BindWritesStatusHypervisorThenTheLabel) {
  const api::VirtualMachine web = newVm("web", 1);
  api::VirtualMachineStatus status = web.status;
  status.hypervisor = "hv-a";
  client_->clearActions();

  auto bound = binder_.bind(web, status);

  ASSERT_TRUE(bound.isOk()) << bound.status().toString();
  EXPECT_EQ(vm("web").status.hypervisor, "hv-a");
  EXPECT_EQ(hypervisorLabel(vm("web")), "hv-a");
  EXPECT_EQ(bound->metadata.resourceVersion, vm("web").metadata.resourceVersion);
  EXPECT_LT(firstVmAction(Verb::kUpdateStatus), firstVmAction(Verb::kUpdate));
}

// The node-daemon's cleanup finalizer rides on the label write that hands the VM to its node, so
// the node-daemon need not add it with a write of its own (issue 15, B2): two VM writes in all.
TEST_F(BinderTest, BindAddsTheNodeDaemonsFinalizerInTheLabelWrite) {
  const api::VirtualMachine web = newVm("web", 1);
  api::VirtualMachineStatus status = web.status;
  status.hypervisor = "hv-a";
  client_->clearActions();

  ASSERT_TRUE(binder_.bind(web, status).isOk());

  EXPECT_EQ(objectWrites(), 2u);
  EXPECT_THAT(vm("web").metadata.finalizers,
              ::testing::ElementsAre(std::string(api::kNodeCleanupFinalizer)));
  // Unbinding (failover) leaves it: the node that may still hold the domain cleans up.
  auto unbound = vm("web");
  unbound.status.hypervisor.reset();
  ASSERT_TRUE(client_->updateStatus(kube::kVirtualMachine, "default", api::toJson(unbound)).isOk());
  ASSERT_TRUE(binder_.labelFor(vm("web")).isOk());
  EXPECT_EQ(hypervisorLabel(vm("web")), "");
  EXPECT_THAT(vm("web").metadata.finalizers,
              ::testing::ElementsAre(std::string(api::kNodeCleanupFinalizer)));
}

TEST_F(BinderTest, BindOfAVmChangedMeanwhileConflictsAndSetsNoLabel) {
  const api::VirtualMachine stale = newVm("web", 1);
  api::VirtualMachineStatus other = stale.status;
  other.hypervisor = "hv-b";
  ASSERT_TRUE(binder_.bind(stale, other).isOk());  // someone else bound it first

  api::VirtualMachineStatus mine = stale.status;
  mine.hypervisor = "hv-a";
  auto bound = binder_.bind(stale, mine);

  ASSERT_FALSE(bound.isOk());
  EXPECT_EQ(bound.status().code(), core::StatusCode::kConflict);
  EXPECT_EQ(vm("web").status.hypervisor, "hv-b");
  EXPECT_EQ(hypervisorLabel(vm("web")), "hv-b");
}

TEST_F(BinderTest, LabelForWritesOnlyWhenTheLabelDiffersFromTheBinding) {
  const api::VirtualMachine unbound = newVm("web", 1);
  client_->clearActions();
  auto same = binder_.labelFor(unbound);
  ASSERT_TRUE(same.isOk());
  EXPECT_EQ(objectWrites(), 0u);

  // A label on an unbound VM is removed: only status.hypervisor binds.
  auto json = client_->get(kube::kVirtualMachine, "default", "web");
  ASSERT_TRUE(json.isOk());
  (*json)["metadata"]["labels"][std::string(api::kHypervisorLabel)] = "hv-a";
  ASSERT_TRUE(client_->update(kube::kVirtualMachine, "default", *json).isOk());
  auto removed = binder_.labelFor(vm("web"));
  ASSERT_TRUE(removed.isOk());
  EXPECT_EQ(hypervisorLabel(vm("web")), "");
}

TEST_F(BinderTest, ReserveOnACopyOlderOnlyByAnUnrelatedStatusWriteSucceedsWithoutAConflict) {
  // The patch tests the annotations, so it is used only where there are some (see the next test).
  annotateHypervisor("hv-a", "example.com/rack", "r1");
  ASSERT_TRUE(binder_.reserve(newVm("first", 1), hypervisor("hv-a"), true).isOk());
  const api::Hypervisor read = hypervisor("hv-a");
  // Someone writes a field that is no input of placement (the summary status.allocated).
  api::Hypervisor summary = read;
  summary.status.allocated = api::HypervisorAllocated{};
  summary.status.allocated->vms = 1;
  ASSERT_TRUE(client_->updateStatus(kube::kHypervisor, "", api::toJson(summary)).isOk());

  const api::VirtualMachine second_vm = newVm("second", 1);
  client_->clearActions();
  auto second = binder_.reserve(second_vm, read, true);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(client_->countActions(Verb::kGet, "hypervisors"), 0u);  // no conflict, no re-read
  EXPECT_EQ(writes(kube::kHypervisor), 1u);
  EXPECT_EQ(ledgerSize("hv-a"), 2u);
}

// The fence is an annotation: added after the copy was read, it fails the reservation's write
// whether the Hypervisor had other annotations (the patch tests them all) or none (the patch
// cannot test an absent member, so the write is the resourceVersion-conditional PUT).
TEST_F(BinderTest, ReserveOnACopyThatMissesAFenceIsReCheckedAndRefused) {
  for (const bool other_annotations : {false, true}) {
    SCOPED_TRACE(other_annotations ? "with other annotations" : "without annotations");
    const std::string name = other_annotations ? "hv-b" : "hv-a";
    if (other_annotations) {
      annotateHypervisor(name, "example.com/rack", "r1");
    }
    ASSERT_TRUE(binder_.reserve(newVm("first-" + name, 1), hypervisor(name), true).isOk());
    const api::Hypervisor read = hypervisor(name);
    annotateHypervisor(name, std::string(api::kFencedAnnotation), "true");

    auto second = binder_.reserve(newVm("second-" + name, 1), read, true);
    ASSERT_FALSE(second.isOk());
    EXPECT_EQ(second.status().code(), core::StatusCode::kAborted);  // not Ready once fenced
    EXPECT_EQ(ledgerSize(name), 1u);
  }
}

TEST_F(BinderTest, TwoReservationsBasedOnTheSameLedgerCannotBothLand) {
  ASSERT_TRUE(binder_.reserve(newVm("first", 1), hypervisor("hv-a"), true).isOk());
  const api::Hypervisor read = hypervisor("hv-a");
  ASSERT_TRUE(binder_.reserve(newVm("second", 3), read, true).isOk());  // now full (4 cpus)
  std::optional<api::Hypervisor> latest;
  auto third = binder_.reserve(newVm("third", 1), read, true, &latest);
  ASSERT_FALSE(third.isOk());
  EXPECT_EQ(third.status().code(), core::StatusCode::kConflict);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(ledgerSize("hv-a"), 2u);
}

TEST_F(BinderTest, LabelForOnTheSameStaleCopyWritesOnce) {
  const api::VirtualMachine web = newVm("web", 1);
  api::VirtualMachineStatus status = web.status;
  status.hypervisor = "hv-a";
  api::VirtualMachine bound = web;
  bound.status = status;
  auto written = client_->updateStatus(kube::kVirtualMachine, "default", api::toJson(bound));
  ASSERT_TRUE(written.isOk());
  const api::VirtualMachine stale = *api::virtualMachineFromJson(*written);
  client_->clearActions();

  ASSERT_TRUE(binder_.labelFor(stale).isOk());
  ASSERT_TRUE(binder_.labelFor(stale).isOk());  // a cache that has not caught up yet
  EXPECT_EQ(writes(kube::kVirtualMachine), 1u);
  EXPECT_EQ(hypervisorLabel(vm("web")), "hv-a");
}

// Holds the next ledger write of a hypervisor (a status patch, or a status PUT where the patch
// cannot be used) on the wire until release(): the reservations started meanwhile queue behind it
// (issue 15: group commit per hypervisor).
class HeldPatch {
public:
  explicit HeldPatch(novacron::testing::FakeClient& client) : client_(client) {
    client_.setCallHook(
        [this](novacron::testing::FakeClient::Verb verb, const std::string& plural) {
          using Verb = novacron::testing::FakeClient::Verb;
          if ((verb != Verb::kPatch && verb != Verb::kUpdateStatus) || plural != "hypervisors") {
            return;
          }
          std::unique_lock lock(mu_);
          if (held_) {
            return;  // only the first one
          }
          held_ = true;
          cv_.notify_all();
          cv_.wait(lock, [this] { return released_; });
        });
  }
  ~HeldPatch() {
    release();
    client_.setCallHook(nullptr);
  }
  bool awaitHeld() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [this] { return held_; });
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

private:
  novacron::testing::FakeClient& client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
};

TEST_F(BinderTest, ConcurrentReservationsOnOneHypervisorAreWrittenTogether) {
  addHypervisor("hv-big", 16, 64 * kGi);
  ASSERT_TRUE(binder_.reserve(newVm("first", 1), hypervisor("hv-big"), true).isOk());
  const api::Hypervisor read = hypervisor("hv-big");  // every worker decided on this copy
  std::vector<api::VirtualMachine> vms;
  for (int i = 0; i < 7; ++i) {
    vms.push_back(newVm("vm-" + std::to_string(i), 1));
  }
  client_->clearActions();
  std::vector<core::Status> results(vms.size());
  std::vector<std::thread> workers;
  {
    HeldPatch held(*client_);
    workers.emplace_back([&] { results[0] = binder_.reserve(vms[0], read, true).status(); });
    EXPECT_TRUE(held.awaitHeld());  // EXPECT: the workers are joined below either way
    for (size_t i = 1; i < vms.size(); ++i) {
      workers.emplace_back([&, i] { results[i] = binder_.reserve(vms[i], read, true).status(); });
    }
    EXPECT_TRUE(testing::eventually([&] { return binder_.queuedReservations("hv-big") == 6; }));
  }  // released
  for (auto& w : workers) {
    w.join();
  }
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_TRUE(results[i].isOk()) << vms[i].metadata.name << ": " << results[i].toString();
  }
  EXPECT_EQ(client_->countActions(Verb::kPatch, "hypervisors") +
                client_->countActions(Verb::kUpdateStatus, "hypervisors"),
            2u)
      << "one write, then six in one";
  EXPECT_EQ(client_->countActions(Verb::kGet, "hypervisors"), 0u) << "no conflict, no re-read";
  EXPECT_EQ(ledgerSize("hv-big"), 8u);
}

TEST_F(BinderTest, AGroupWriteNeverOvercommitsAndTheCrowdedOutDecideAgain) {
  ASSERT_TRUE(binder_.reserve(newVm("first", 1), hypervisor("hv-a"), true).isOk());  // 3 of 4 left
  const api::Hypervisor read = hypervisor("hv-a");
  std::vector<api::VirtualMachine> vms;
  for (int i = 0; i < 4; ++i) {
    vms.push_back(newVm("vm-" + std::to_string(i), 1));
  }
  std::vector<core::Status> results(vms.size());
  std::vector<std::optional<api::Hypervisor>> latest(vms.size());
  std::vector<std::thread> workers;
  {
    HeldPatch held(*client_);
    workers.emplace_back(
        [&] { results[0] = binder_.reserve(vms[0], read, true, &latest[0]).status(); });
    EXPECT_TRUE(held.awaitHeld());  // EXPECT: the workers are joined below either way
    for (size_t i = 1; i < vms.size(); ++i) {
      workers.emplace_back(
          [&, i] { results[i] = binder_.reserve(vms[i], read, true, &latest[i]).status(); });
    }
    EXPECT_TRUE(testing::eventually([&] { return binder_.queuedReservations("hv-a") == 3; }));
  }
  for (auto& w : workers) {
    w.join();
  }
  // 4 CPUs: first + vm-0 + two of the three queued; the third fit alone but not after the other
  // two: a conflict with the stored copy, so its worker decides again (elsewhere).
  int ok = 0;
  int conflicts = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    ok += results[i].isOk() ? 1 : 0;
    if (results[i].code() == core::StatusCode::kConflict) {
      ++conflicts;
      ASSERT_TRUE(latest[i].has_value());
      EXPECT_EQ(latest[i]->metadata.resourceVersion, hypervisor("hv-a").metadata.resourceVersion);
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(conflicts, 1);
  EXPECT_EQ(ledgerSize("hv-a"), 4u);
}

}  // namespace
}  // namespace novacron::controller
