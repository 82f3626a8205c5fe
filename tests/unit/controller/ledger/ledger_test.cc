#include "controller/ledger/ledger.h"

#include <gtest/gtest.h>

namespace novacron::controller::ledger {
namespace {

VmFacts vm(std::string key, std::string uid, std::string bound_to, int64_t cpus = 1,
           int64_t mem = 100, std::string group = "") {
  return VmFacts{std::move(key), std::move(uid), std::move(bound_to),
                 scheduler::Resources{cpus, mem}, std::move(group)};
}

VmLookup lookupIn(std::vector<VmFacts> vms) {
  return [vms = std::move(vms)](const std::string& key) -> std::optional<VmFacts> {
    for (const auto& v : vms) {
      if (v.key == key) {
        return v;
      }
    }
    return std::nullopt;
  };
}

TEST(LedgerCodecTest, RoundTripsAndIsCanonical) {
  Ledger ledger;
  ledger["ns/b"] = LedgerEntry{"u2", {2, 2048}, "db"};
  ledger["ns/a"] = LedgerEntry{"u1", {1, 1024}, ""};
  const std::string text = encodeLedger(ledger);
  EXPECT_EQ(text,
            R"([{"cpus":1,"memoryBytes":1024,"uid":"u1","vm":"ns/a"},)"
            R"({"antiAffinityGroup":"db","cpus":2,"memoryBytes":2048,"uid":"u2","vm":"ns/b"}])");
  auto decoded = decodeLedger(text);
  ASSERT_TRUE(decoded.isOk()) << decoded.status();
  EXPECT_EQ(*decoded, ledger);
  EXPECT_TRUE(decodeLedger("")->empty());
  EXPECT_TRUE(decodeLedger("[]")->empty());
}

// Hypervisors of an older version keep the ledger in the annotation novacron.io/allocations, an
// object keyed by namespace/name: it decodes to the same ledger.
TEST(LedgerCodecTest, TheLegacyAnnotationDecodesToTheSameLedger) {
  auto legacy =
      decodeLedger(R"({"ns/a":{"cpus":1,"memory":1024,"uid":"u1"},)"
                   R"("ns/b":{"cpus":2,"group":"db","memory":2048,"storage":5,"uid":"u2"}})");
  ASSERT_TRUE(legacy.isOk()) << legacy.status();
  Ledger expected;
  expected["ns/a"] = LedgerEntry{"u1", {1, 1024}, ""};
  expected["ns/b"] = LedgerEntry{"u2", {2, 2048, 5}, "db"};
  EXPECT_EQ(*legacy, expected);
  EXPECT_EQ(decodeLedger(encodeLedger(expected)).value(), expected);
}

TEST(LedgerCodecTest, CountedDiskBytesRoundTripAndOldLedgersHaveNone) {
  Ledger ledger;
  ledger["ns/a"] = LedgerEntry{"u1", {1, 1024, 5 * 1024}, ""};
  const std::string text = encodeLedger(ledger);
  EXPECT_EQ(text, R"([{"cpus":1,"memoryBytes":1024,"storageBytes":5120,"uid":"u1","vm":"ns/a"}])");
  auto decoded = decodeLedger(text);
  ASSERT_TRUE(decoded.isOk()) << decoded.status();
  EXPECT_EQ(*decoded, ledger);
  // Written before disk space was counted: no storage, zero bytes.
  auto old = decodeLedger(R"([{"cpus":1,"memoryBytes":1024,"uid":"u1","vm":"ns/a"}])");
  ASSERT_TRUE(old.isOk()) << old.status();
  EXPECT_EQ(old->at("ns/a").resources.storage_bytes, 0);
  EXPECT_FALSE(
      decodeLedger(R"([{"cpus":1,"memoryBytes":1,"uid":"u","vm":"a/b","storageBytes":"1Gi"}])")
          .isOk());
}

TEST(LedgerCodecTest, CorruptTextIsAnErrorNotAnEmptyLedger) {
  for (
      const char* text :
      {"{", "1", R"("[]")", R"({"a":1})", R"({"a":{"uid":"u","cpus":"1","memory":1}})",
       R"({"a":{"cpus":1,"memory":1}})", "[1]", R"([{"uid":"u","cpus":1,"memoryBytes":1}])",
       R"([{"vm":"a/b","uid":"u","cpus":"1","memoryBytes":1}])",
       R"([{"vm":"a/b","uid":"u","cpus":1,"memory":1}])",
       R"([{"vm":"a/b","uid":"u","cpus":1,"memoryBytes":1},{"vm":"a/b","uid":"v","cpus":1,"memoryBytes":1}])"}) {
    auto decoded = decodeLedger(text);
    EXPECT_FALSE(decoded.isOk()) << text;
    EXPECT_EQ(decoded.status().code(), core::StatusCode::kInvalidArgument) << text;
  }
}

TEST(LedgerTotalsTest, SumsEntries) {
  Ledger ledger;
  ledger["a"] = LedgerEntry{"u1", {1, 100}, "g"};
  ledger["b"] = LedgerEntry{"u2", {3, 300}, ""};
  ledger["c"] = LedgerEntry{"u3", {2, 50}, "g"};
  EXPECT_EQ(totals(ledger), (LedgerTotals{{6, 450}, 3}));
  EXPECT_EQ(antiAffinityGroups(ledger), (std::vector<std::string>{"g", "g"}));
  EXPECT_EQ(totals({}), LedgerTotals{});
  ledger["d"] = LedgerEntry{"u4", {1, 10, 4096}, ""};
  ledger["e"] = LedgerEntry{"u5", {1, 10, 1024}, ""};
  EXPECT_EQ(totals(ledger), (LedgerTotals{{8, 470, 5120}, 5}));
}

TEST(PlanLedgerTest, BoundVmsAreCountedEvenWithoutAReservation) {
  // Bound by hand (label set by an admin): the ledger must still count it.
  std::vector<VmFacts> bound = {vm("ns/a", "u1", "h1", 2, 200), vm("ns/b", "u2", "h1", 1, 100)};
  auto plan = planLedger("h1", {}, bound, lookupIn(bound));
  EXPECT_TRUE(plan.to_confirm.empty());
  EXPECT_EQ(totals(plan.desired), (LedgerTotals{{3, 300}, 2}));
}

TEST(PlanLedgerTest, IsIdempotent) {
  std::vector<VmFacts> bound = {vm("ns/a", "u1", "h1", 2, 200)};
  auto first = planLedger("h1", {}, bound, lookupIn(bound));
  auto second = planLedger("h1", first.desired, bound, lookupIn(bound));
  EXPECT_EQ(first.desired, second.desired);
  EXPECT_TRUE(second.to_confirm.empty());
}

TEST(PlanLedgerTest, EntriesTrackTheVmsCurrentResources) {
  Ledger current;
  current["ns/a"] = LedgerEntry{"u1", {1, 100}, ""};
  std::vector<VmFacts> bound = {vm("ns/a", "u1", "h1", 4, 400)};
  auto plan = planLedger("h1", current, bound, lookupIn(bound));
  EXPECT_EQ(plan.desired.at("ns/a").resources, (scheduler::Resources{4, 400}));
}

TEST(PlanLedgerTest, ReservationInFlightIsKept) {
  Ledger current;
  current["ns/new"] = LedgerEntry{"u9", {2, 200}, ""};
  auto plan = planLedger("h1", current, {}, lookupIn({vm("ns/new", "u9", "")}));
  EXPECT_TRUE(plan.to_confirm.empty());
  EXPECT_EQ(plan.desired, current);
}

// Regression (issue 18, found by the fault suite, seed 1): a VM halted between its reservation and
// its binding (here across a controller SIGKILL) is never bound, so its entry must go, or the
// hypervisor's ledger counts it forever.
TEST(PlanLedgerTest, ReservationOfAHaltedUnboundVmIsDroppedAfterALiveRead) {
  Ledger current;
  current["ns/halted"] = LedgerEntry{"u9", {2, 200}, ""};
  VmFacts halted = vm("ns/halted", "u9", "");
  halted.halted = true;
  auto plan = planLedger("h1", current, {}, lookupIn({halted}));
  EXPECT_EQ(plan.to_confirm, std::vector<std::string>{"ns/halted"});
  confirmRemoval("h1", plan.desired, "ns/halted", halted);
  EXPECT_TRUE(plan.desired.empty());
  // Started again before the live read: a reservation in flight after all.
  Ledger again = current;
  confirmRemoval("h1", again, "ns/halted", vm("ns/halted", "u9", ""));
  EXPECT_EQ(again, current);
}

TEST(PlanLedgerTest, ReservationOnAFencedHypervisorNeedsConfirmation) {
  Ledger current;
  current["ns/new"] = LedgerEntry{"u9", {2, 200}, ""};
  auto plan = planLedger("h1", current, {}, lookupIn({vm("ns/new", "u9", "")}), false);
  EXPECT_EQ(plan.to_confirm, std::vector<std::string>{"ns/new"});
}

TEST(PlanLedgerTest, StaleEntriesAreKeptUntilConfirmed) {
  Ledger current;
  current["ns/gone"] = LedgerEntry{"u1", {1, 100}, ""};
  current["ns/elsewhere"] = LedgerEntry{"u2", {1, 100}, ""};
  current["ns/recreated"] = LedgerEntry{"u3", {1, 100}, ""};
  auto lookup = lookupIn({vm("ns/elsewhere", "u2", "h2"), vm("ns/recreated", "u3-new", "")});
  auto plan = planLedger("h1", current, {}, lookup);
  EXPECT_EQ(plan.to_confirm, (std::vector<std::string>{"ns/elsewhere", "ns/gone", "ns/recreated"}));
  // Nothing is dropped on cached evidence alone: capacity stays counted.
  EXPECT_EQ(plan.desired, current);
}

TEST(ConfirmRemovalTest, LiveReadDecides) {
  Ledger desired;
  desired["ns/gone"] = LedgerEntry{"u1", {1, 100}, ""};
  desired["ns/elsewhere"] = LedgerEntry{"u2", {1, 100}, ""};
  desired["ns/recreated"] = LedgerEntry{"u3", {1, 100}, ""};
  desired["ns/here"] = LedgerEntry{"u4", {1, 100}, ""};
  desired["ns/pending"] = LedgerEntry{"u5", {1, 100}, ""};
  confirmRemoval("h1", desired, "ns/gone", std::nullopt);
  confirmRemoval("h1", desired, "ns/elsewhere", vm("ns/elsewhere", "u2", "h2"));
  confirmRemoval("h1", desired, "ns/recreated", vm("ns/recreated", "u3-new", "h1"));
  // The cache was stale: the live object is bound here after all.
  confirmRemoval("h1", desired, "ns/here", vm("ns/here", "u4", "h1", 2, 300));
  confirmRemoval("h1", desired, "ns/pending", vm("ns/pending", "u5", ""));
  confirmRemoval("h1", desired, "ns/unknown", std::nullopt);  // no entry: no-op
  EXPECT_EQ(desired.size(), 2u);
  EXPECT_EQ(desired.at("ns/here").resources, (scheduler::Resources{2, 300}));
  EXPECT_TRUE(desired.contains("ns/pending"));
  confirmRemoval("h1", desired, "ns/pending", vm("ns/pending", "u5", ""), false);
  EXPECT_FALSE(desired.contains("ns/pending"));
}

VmFacts migrating(std::string key, std::string uid, std::string bound_to, std::string target) {
  VmFacts facts = vm(std::move(key), std::move(uid), std::move(bound_to));
  facts.migration_target = std::move(target);
  return facts;
}

TEST(PlanLedgerTest, MigrationReservationOnItsTargetIsKept) {
  Ledger current;
  current["ns/moving"] = LedgerEntry{"u1", {1, 100}, ""};
  auto plan = planLedger("h2", current, {}, lookupIn({migrating("ns/moving", "u1", "h1", "h2")}));
  EXPECT_TRUE(plan.to_confirm.empty());
  EXPECT_EQ(plan.desired, current);
  // Anywhere else the entry of a VM bound elsewhere still needs confirmation.
  plan = planLedger("h3", current, {}, lookupIn({migrating("ns/moving", "u1", "h1", "h2")}));
  EXPECT_EQ(plan.to_confirm, std::vector<std::string>{"ns/moving"});
  // An unresolved migration (its VMMigration not cached yet) keeps the entry too.
  VmFacts unresolved = vm("ns/moving", "u1", "h1");
  unresolved.migration_unresolved = true;
  plan = planLedger("h3", current, {}, lookupIn({unresolved}));
  EXPECT_TRUE(plan.to_confirm.empty());
}

TEST(ConfirmRemovalTest, MigrationReservationSurvivesTheLiveRead) {
  Ledger desired;
  desired["ns/moving"] = LedgerEntry{"u1", {1, 100}, ""};
  confirmRemoval("h2", desired, "ns/moving", migrating("ns/moving", "u1", "h1", "h2"));
  EXPECT_TRUE(desired.contains("ns/moving"));
  // On a fenced target it goes; so it does once the migration ended (no target any more).
  confirmRemoval("h2", desired, "ns/moving", migrating("ns/moving", "u1", "h1", "h2"), false);
  EXPECT_FALSE(desired.contains("ns/moving"));
  desired["ns/moving"] = LedgerEntry{"u1", {1, 100}, ""};
  confirmRemoval("h2", desired, "ns/moving", vm("ns/moving", "u1", "h1"));
  EXPECT_FALSE(desired.contains("ns/moving"));
}

}  // namespace
}  // namespace novacron::controller::ledger
