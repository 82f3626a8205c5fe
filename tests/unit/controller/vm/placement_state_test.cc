#include "controller/vm/placement_state.h"

#include <gtest/gtest.h>

#include "controller/ledger/ledger_status.h"
#include "controller/scheduler/scheduler.h"
#include "controller/vm/placement_inputs.h"
#include "tests/mocks/fake_clock.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;
using ctltest::makeHypervisor;

// A cache whose hypervisors the test replaces one by one, as watch events would.
// With keepLog(), it also reports which ones changed (InformerClusterCache's change log).
class HypervisorsOnlyCache final : public ClusterCache {
public:
  void put(api::Hypervisor hv) {
    const std::string name = hv.metadata.name;
    hypervisors_[name] = std::make_shared<const api::Hypervisor>(std::move(hv));
    log_.push_back(name);
  }
  void erase(const std::string& name) {
    hypervisors_.erase(name);
    log_.push_back(name);
  }
  void keepLog() { keep_log_ = true; }
  int lists() const { return lists_; }

  bool synced() const override { return true; }
  HypervisorChanges hypervisorChanges(uint64_t cursor) const override {
    HypervisorChanges out;
    out.cursor = log_.size() + 1;
    if (keep_log_ && cursor > 0) {
      out.names.emplace(log_.begin() + static_cast<std::ptrdiff_t>(cursor - 1), log_.end());
    }
    return out;
  }
  std::vector<HypervisorPtr> hypervisors() const override {
    ++lists_;
    std::vector<HypervisorPtr> out;
    for (const auto& [name, hv] : hypervisors_) {
      out.push_back(hv);
    }
    return out;
  }
  HypervisorPtr hypervisor(std::string_view name) const override {
    auto it = hypervisors_.find(std::string(name));
    return it == hypervisors_.end() ? nullptr : it->second;
  }
  VirtualMachinePtr vm(std::string_view) const override { return nullptr; }
  std::vector<VirtualMachinePtr> vmsOn(std::string_view) const override { return {}; }
  std::vector<VirtualMachinePtr> unboundVms() const override { return {}; }
  std::vector<VMMigrationPtr> migrations() const override { return {}; }
  VMMigrationPtr migration(std::string_view) const override { return nullptr; }
  std::optional<LeaseSnapshot> heartbeat(std::string_view) const override { return std::nullopt; }

private:
  std::map<std::string, HypervisorPtr> hypervisors_;
  std::vector<std::string> log_;
  bool keep_log_ = false;
  mutable int lists_ = 0;
};

api::VirtualMachine makeVm(const std::string& name, const std::string& uid, int32_t cpus) {
  api::VirtualMachine vm;
  vm.metadata.namespace_ = "default";
  vm.metadata.name = name;
  vm.metadata.uid = uid;
  vm.spec.resources.cpus = cpus;
  vm.spec.resources.memory = api::Quantity::fromBytes(kGi);
  return vm;
}

api::Hypervisor withLedger(api::Hypervisor hv, const ledger::Ledger& entries,
                           const std::string& rv) {
  hv.metadata.resourceVersion = rv;
  ledger::putLedger(hv.status, entries);
  return hv;
}

ledger::LedgerEntry entryOf(const api::VirtualMachine& vm) {
  return ledger::LedgerEntry{vm.metadata.uid, vmRequest(vm).resources, ""};
}

// What a decision was shown, copied out of PlacementState::decide().
struct Observed {
  std::optional<std::string> reservation;
  std::vector<scheduler::HypervisorView> views;
  std::vector<const scheduler::HypervisorView*> addresses;
  std::size_t start = 0;
};

const scheduler::HypervisorView& viewOf(const Observed& facts, const std::string& name) {
  for (const auto& v : facts.views) {
    if (v.name == name) {
      return v;
    }
  }
  ADD_FAILURE() << "no view of " << name;
  return facts.views.front();
}

class PlacementStateTest : public ::testing::Test {
protected:
  PlacementStateTest()
      : cache_(std::make_shared<HypervisorsOnlyCache>()),
        clock_(std::make_shared<testing::FakeClock>()),
        state_(cache_, clock_, [this](const std::string& name) {
          ++heartbeat_asks_[name];
          return core::Clock::Duration(fresh_for_);
        }) {}

  std::shared_ptr<HypervisorsOnlyCache> cache_;
  std::shared_ptr<testing::FakeClock> clock_;
  std::map<std::string, int> heartbeat_asks_;
  std::chrono::milliseconds fresh_for_{10'000};
  PlacementState state_;

  // Runs a decision that only looks (and reports `examined` hypervisors looked at).
  Observed observe(const api::VirtualMachine& vm, std::size_t examined = 0) {
    Observed out;
    (void)state_.decide(vm, [&](const UnboundFacts& facts) {
      out.reservation = facts.reservation;
      out.start = facts.start;
      for (std::size_t i = 0; facts.hypervisors && i < facts.hypervisors->size(); ++i) {
        const scheduler::HypervisorView& view = facts.hypervisors->at(i);  // once, as a decision
        out.addresses.push_back(&view);
        out.views.push_back(view);
      }
      UnboundDecision decision;
      decision.examined = examined;
      return decision;
    });
    return out;
  }
};

TEST_F(PlacementStateTest, AReservationInFlightCountsForOtherVmsButNotForItsOwnVm) {
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  const auto web = makeVm("web", "u1", 3);
  const auto db = makeVm("db", "u2", 1);
  state_.reserving(vmKey(web), "hv-a", entryOf(web));

  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 3);
  EXPECT_EQ(viewOf(observe(web), "hv-a").allocated.cpus, 0);

  state_.reserved(vmKey(web));  // the write failed: nothing of it stays
  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 0);
}

TEST_F(PlacementStateTest, ConcurrentDecisionsSpreadOverHypervisorsInsteadOfRacingForOne) {
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  cache_->put(withLedger(makeHypervisor("hv-b", 8, 16 * kGi), {}, "6"));
  scheduler::Scheduler spread(scheduler::SchedulerOptions{scheduler::Policy::kSpread, {}});
  const auto web = makeVm("web", "u1", 2);
  const auto db = makeVm("db", "u2", 2);

  auto first = spread.schedule(vmRequest(web), observe(web).views);
  ASSERT_TRUE(first.placed());
  state_.reserving(vmKey(web), first.hypervisor, entryOf(web));  // its write is on its way
  auto second = spread.schedule(vmRequest(db), observe(db).views);

  ASSERT_TRUE(second.placed());
  EXPECT_NE(first.hypervisor, second.hypervisor);
}

TEST_F(PlacementStateTest, ALandedReservationIsCountedOnceWhileItsWriteIsStillInFlight) {
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  const auto web = makeVm("web", "u1", 3);
  state_.reserving(vmKey(web), "hv-a", entryOf(web));
  state_.assume(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "7"));

  EXPECT_EQ(viewOf(observe(makeVm("db", "u2", 1)), "hv-a").allocated.cpus, 3);
}

TEST_F(PlacementStateTest, TheReservationOfAVmIsFoundAndFollowsTheInformersCopy) {
  const auto web = makeVm("web", "u1", 1);
  cache_->put(withLedger(makeHypervisor("hv-b", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "5"));
  cache_->put(withLedger(makeHypervisor("hv-c", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "6"));
  EXPECT_EQ(observe(web).reservation, "hv-b");  // the smallest name

  auto fenced = withLedger(makeHypervisor("hv-b", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "8");
  fenced.metadata.annotations[std::string(kFencedAnnotation)] = "true";
  cache_->put(fenced);
  EXPECT_EQ(observe(web).reservation, "hv-c");  // fenced ones are skipped

  cache_->put(withLedger(makeHypervisor("hv-c", 8, 16 * kGi), {}, "9"));
  EXPECT_EQ(observe(web).reservation, std::nullopt);
  // A VM recreated under the same name (another uid) has no reservation in the old entry.
  EXPECT_EQ(observe(makeVm("web", "other-uid", 1)).reservation, std::nullopt);

  cache_->erase("hv-b");
  const auto facts = observe(web);
  ASSERT_EQ(facts.views.size(), 1U);
  EXPECT_EQ(facts.views[0].name, "hv-c");
}

TEST_F(PlacementStateTest, AnAssumedCopyWinsUntilTheInformerHasOneAtLeastAsNew) {
  const auto web = makeVm("web", "u1", 2);
  const auto db = makeVm("db", "u2", 1);
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 0);

  state_.assume(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "9"));
  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 2);
  EXPECT_EQ(state_.hypervisor("hv-a")->metadata.resourceVersion, "9");

  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "7"));  // older: ignored
  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 2);

  // An older copy assumed later changes nothing either.
  state_.assume(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "8"));
  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 2);

  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "10"));  // caught up (and freed)
  EXPECT_EQ(viewOf(observe(db), "hv-a").allocated.cpus, 0);
  EXPECT_EQ(state_.hypervisor("hv-a")->metadata.resourceVersion, "10");
}

// The index of reservations moves with each ledger version entry by entry (a merge of the old and
// the new ledger, not a rebuild): entries added, removed, and a VM recreated under its name.
TEST_F(PlacementStateTest, TheReservationIndexFollowsEveryChangeOfALedger) {
  const auto web = makeVm("web", "u1", 1);
  const auto db = makeVm("db", "u2", 1);
  const auto web2 = makeVm("web", "u3", 1);  // web deleted and created again
  const auto api = makeVm("api", "u4", 1);
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi),
                         {{vmKey(web), entryOf(web)}, {vmKey(db), entryOf(db)}}, "5"));
  EXPECT_EQ(observe(web).reservation, "hv-a");
  EXPECT_EQ(observe(db).reservation, "hv-a");
  EXPECT_EQ(observe(api).reservation, std::nullopt);

  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi),
                         {{vmKey(web2), entryOf(web2)}, {vmKey(api), entryOf(api)}}, "6"));
  EXPECT_EQ(observe(web).reservation, std::nullopt);
  EXPECT_EQ(observe(web2).reservation, "hv-a");
  EXPECT_EQ(observe(db).reservation, std::nullopt);
  EXPECT_EQ(observe(api).reservation, "hv-a");

  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "7"));
  EXPECT_EQ(observe(web2).reservation, std::nullopt);
  EXPECT_EQ(observe(api).reservation, std::nullopt);
}

// Once the informer has the version this process wrote and assumed, its copy replaces the assumed
// one (which is then freed) without building the view again.
TEST_F(PlacementStateTest, TheInformersCopyOfTheAssumedVersionReplacesIt) {
  const auto web = makeVm("web", "u1", 2);
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  (void)observe(web);
  const auto written =
      withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "6");
  state_.assume(written);
  EXPECT_EQ(observe(web).reservation, "hv-a");
  EXPECT_NE(state_.hypervisor("hv-a"), cache_->hypervisor("hv-a"));

  cache_->put(written);
  EXPECT_EQ(observe(web).reservation, "hv-a");
  EXPECT_EQ(viewOf(observe(makeVm("db", "u2", 1)), "hv-a").allocated.cpus, 2);
  EXPECT_EQ(state_.hypervisor("hv-a"), cache_->hypervisor("hv-a"));
}

TEST_F(PlacementStateTest, TheHeartbeatIsAskedAgainOnlyOnceItCouldHaveExpired) {
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  const auto db = makeVm("db", "u2", 1);
  EXPECT_TRUE(viewOf(observe(db), "hv-a").ready);
  EXPECT_TRUE(viewOf(observe(db), "hv-a").ready);
  EXPECT_EQ(heartbeat_asks_["hv-a"], 1);

  fresh_for_ = std::chrono::milliseconds(0);  // it went stale meanwhile
  clock_->advance(std::chrono::milliseconds(10'000));
  EXPECT_FALSE(viewOf(observe(db), "hv-a").ready);
  EXPECT_FALSE(viewOf(observe(db), "hv-a").ready);
  EXPECT_EQ(heartbeat_asks_["hv-a"], 3);  // asked on every look while stale

  fresh_for_ = std::chrono::milliseconds(10'000);  // a heartbeat came
  EXPECT_TRUE(viewOf(observe(db), "hv-a").ready);
}

TEST_F(PlacementStateTest, ACorruptLedgerMakesTheHypervisorUnschedulable) {
  auto hv = makeHypervisor("hv-a", 8, 16 * kGi);
  hv.metadata.resourceVersion = "3";
  hv.status.allocations = "[{not json";
  cache_->put(hv);
  EXPECT_TRUE(viewOf(observe(makeVm("db", "u2", 1)), "hv-a").unschedulable);
}

}  // namespace
}  // namespace novacron::controller

namespace novacron::controller {
namespace {

TEST_F(PlacementStateTest, OnlyTheHypervisorsTheCacheReportsChangedAreReadAgain) {
  cache_->keepLog();
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  cache_->put(withLedger(makeHypervisor("hv-b", 8, 16 * kGi), {}, "6"));
  const auto db = makeVm("db", "u2", 1);
  EXPECT_EQ(observe(db).views.size(), 2U);
  EXPECT_EQ(cache_->lists(), 1);  // the first look reads them all

  const auto web = makeVm("web", "u1", 3);
  cache_->put(withLedger(makeHypervisor("hv-b", 8, 16 * kGi), {{vmKey(web), entryOf(web)}}, "7"));
  cache_->put(withLedger(makeHypervisor("hv-c", 8, 16 * kGi), {}, "8"));
  const auto after = observe(db);
  EXPECT_EQ(cache_->lists(), 1);  // then only what changed
  ASSERT_EQ(after.views.size(), 3U);
  EXPECT_EQ(viewOf(after, "hv-b").allocated.cpus, 3);
  EXPECT_EQ(observe(web).reservation, "hv-b");

  cache_->erase("hv-b");
  const auto gone = observe(db);
  ASSERT_EQ(gone.views.size(), 2U);
  EXPECT_EQ(gone.views[0].name, "hv-a");
  EXPECT_EQ(gone.views[1].name, "hv-c");
  EXPECT_EQ(observe(web).reservation, std::nullopt);
  EXPECT_EQ(cache_->lists(), 1);
}

TEST_F(PlacementStateTest, ViewsAreLentNotCopiedUnlessADecisionMustSeeThemDifferently) {
  cache_->put(withLedger(makeHypervisor("hv-a", 8, 16 * kGi), {}, "5"));
  cache_->put(withLedger(makeHypervisor("hv-b", 8, 16 * kGi), {}, "6"));
  const auto db = makeVm("db", "u2", 1);
  const auto first = observe(db);
  const auto second = observe(db);
  EXPECT_EQ(first.addresses, second.addresses);  // the same kept views, twice

  const auto web = makeVm("web", "u1", 3);
  state_.reserving(vmKey(web), "hv-b", entryOf(web));
  const auto adjusted = observe(db);
  EXPECT_EQ(adjusted.addresses[0], first.addresses[0]);
  EXPECT_NE(adjusted.addresses[1], first.addresses[1]);  // a copy with the reservation in flight
  EXPECT_EQ(viewOf(adjusted, "hv-b").allocated.cpus, 3);
  EXPECT_EQ(viewOf(observe(db), "hv-b").allocated.cpus, 3);
}

TEST_F(PlacementStateTest, EachDecisionStartsWhereThePreviousOneStopped) {
  for (const char* name : {"hv-a", "hv-b", "hv-c", "hv-d", "hv-e"}) {
    cache_->put(withLedger(makeHypervisor(name, 8, 16 * kGi), {}, "5"));
  }
  const auto db = makeVm("db", "u2", 1);
  EXPECT_EQ(observe(db, 2).start, 0U);
  EXPECT_EQ(observe(db, 2).start, 2U);
  EXPECT_EQ(observe(db, 2).start, 4U);
  EXPECT_EQ(observe(db, 0).start, 1U);  // wrapped around
  EXPECT_EQ(observe(db, 5).start, 1U);  // looked at all of them: the same start again
  EXPECT_EQ(observe(db).start, 1U);
}

TEST_F(PlacementStateTest, ADecisionSpreadsOverTheSampleThroughTheRealScheduler) {
  for (const char* name : {"hv-a", "hv-b", "hv-c"}) {
    cache_->put(withLedger(makeHypervisor(name, 8, 16 * kGi), {}, "5"));
  }
  const scheduler::Scheduler spread(scheduler::SchedulerOptions{scheduler::Policy::kSpread, {}});
  std::vector<std::string> chosen;
  for (int i = 0; i < 3; ++i) {
    const auto vm = makeVm("vm-" + std::to_string(i), "u" + std::to_string(i), 1);
    const UnboundDecision d = state_.decide(
        vm, [&](const UnboundFacts& facts) { return decideUnbound(vm, facts, spread, *clock_); });
    ASSERT_EQ(d.action, UnboundDecision::Action::kReserveAndBind);
    EXPECT_EQ(d.examined, 3U);  // a small fleet is looked at whole
    state_.reserving(vmKey(vm), d.hypervisor, entryOf(vm));
    chosen.push_back(d.hypervisor);
  }
  EXPECT_EQ(chosen, (std::vector<std::string>{"hv-a", "hv-b", "hv-c"}));
}

}  // namespace
}  // namespace novacron::controller
