#include "controller/ledger/ledger_memo.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace novacron::controller::ledger {
namespace {

const std::string kOne = R"({"default/a":{"uid":"u-a","cpus":2,"memory":1024}})";
const std::string kTwo =
    R"({"default/a":{"uid":"u-a","cpus":2,"memory":1024},"default/b":{"uid":"u-b","cpus":1,"memory":512}})";

TEST(LedgerMemo, DecodesEachVersionOnceAndReturnsWhatDecodeLedgerReturns) {
  LedgerMemo memo(8);
  auto first = memo.decode("hv-a", "10", kOne);
  ASSERT_TRUE(first.isOk()) << first.status();
  EXPECT_EQ(**first, *decodeLedger(kOne));
  auto again = memo.decode("hv-a", "10", kOne);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->get(), first->get());  // the same decoded ledger, shared
  EXPECT_EQ(memo.decodes(), 1u);
}

TEST(LedgerMemo, ANewResourceVersionIsDecodedAgain) {
  LedgerMemo memo(8);
  ASSERT_TRUE(memo.decode("hv-a", "10", kOne).isOk());
  auto next = memo.decode("hv-a", "11", kTwo);
  ASSERT_TRUE(next.isOk());
  EXPECT_EQ((*next)->size(), 2u);
  EXPECT_EQ(memo.decodes(), 2u);
}

// A reader still on the previous version (the hypervisor reconciler on the informer's copy while
// the binder has written the next) does not evict the newer one, nor the newer the older, until
// the newest is read: then the older ones go.
TEST(LedgerMemo, OlderVersionsAreKeptUntilTheNewestIsRead) {
  LedgerMemo memo(8);
  ASSERT_TRUE(memo.decode("hv-a", "10", kOne).isOk());
  ASSERT_TRUE(memo.decode("hv-a", "11", kTwo).isOk());
  auto old = memo.decode("hv-a", "10", kOne);
  ASSERT_TRUE(old.isOk());
  EXPECT_EQ((*old)->size(), 1u);
  ASSERT_TRUE(memo.decode("hv-a", "11", kTwo).isOk());
  EXPECT_EQ(memo.decodes(), 2u);
  ASSERT_TRUE(memo.decode("hv-a", "10", kOne).isOk());  // dropped once 11 was read
  EXPECT_EQ(memo.decodes(), 3u);

  // At most kVersionsPerHypervisor versions: the oldest goes first.
  auto ledgerOf = [](size_t cpus) {
    return nlohmann::json{{"default/a", {{"uid", "u-a"}, {"cpus", cpus}, {"memory", 1024}}}}.dump();
  };
  LedgerMemo bounded(8);
  for (size_t v = 1; v <= LedgerMemo::kVersionsPerHypervisor + 1; ++v) {
    ASSERT_TRUE(bounded.decode("hv-a", std::to_string(v), ledgerOf(v)).isOk());
  }
  ASSERT_TRUE(bounded.decode("hv-a", "2", ledgerOf(2)).isOk());  // kept
  EXPECT_EQ(bounded.decodes(), LedgerMemo::kVersionsPerHypervisor + 1);
  ASSERT_TRUE(bounded.decode("hv-a", "1", ledgerOf(1)).isOk());  // evicted
  EXPECT_EQ(bounded.decodes(), LedgerMemo::kVersionsPerHypervisor + 2);
}

// A write of the hypervisor's status that left its ledger alone (conditions, totals) makes a new
// resourceVersion of the same ledger: not decoded again.
TEST(LedgerMemo, TheSameLedgerUnderANewResourceVersionIsNotDecodedAgain) {
  LedgerMemo memo(8);
  auto first = memo.decode("hv-a", "10", kOne);
  ASSERT_TRUE(first.isOk());
  auto after_status_write = memo.decode("hv-a", "11", kOne);
  ASSERT_TRUE(after_status_write.isOk());
  EXPECT_EQ(after_status_write->get(), first->get());
  EXPECT_EQ(memo.decodes(), 1u);
  // Another hypervisor's identical ledger is its own.
  ASSERT_TRUE(memo.decode("hv-b", "11", kOne).isOk());
  EXPECT_EQ(memo.decodes(), 2u);
}

// The binder tells the memo what it wrote: the first look at that version decodes nothing.
TEST(LedgerMemo, ARememberedVersionIsNotDecoded) {
  LedgerMemo memo(8);
  auto ledger = std::make_shared<const Ledger>(*decodeLedger(kTwo));
  memo.remember("hv-a", "12", kTwo, ledger);
  auto looked = memo.decode("hv-a", "12", kTwo);
  ASSERT_TRUE(looked.isOk());
  EXPECT_EQ(looked->get(), ledger.get());
  EXPECT_EQ(memo.decodes(), 0u);
  memo.remember("hv-b", "", kTwo, ledger);  // no resourceVersion: not kept
  EXPECT_EQ(memo.size(), 1u);
}

TEST(LedgerMemo, HypervisorsAreKeptApart) {
  LedgerMemo memo(8);
  auto a = memo.decode("hv-a", "10", kOne);
  auto b = memo.decode("hv-b", "10", kTwo);  // same resourceVersion, another object
  ASSERT_TRUE(a.isOk());
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ((*a)->size(), 1u);
  EXPECT_EQ((*b)->size(), 2u);
  EXPECT_EQ(memo.size(), 2u);
}

TEST(LedgerMemo, AReusedResourceVersionWithOtherContentIsDecodedAgain) {
  // resourceVersions repeat after an etcd restore, and across the fake clusters of tests.
  LedgerMemo memo(8);
  ASSERT_TRUE(memo.decode("hv-a", "10", kOne).isOk());
  auto other = memo.decode("hv-a", "10", kTwo);
  ASSERT_TRUE(other.isOk());
  EXPECT_EQ(**other, *decodeLedger(kTwo));
  EXPECT_EQ(memo.decodes(), 2u);
  // The same length, one digit apart (a copy with a candidate entry keeps the stored version).
  const std::string three = R"({"default/a":{"uid":"u-a","cpus":3,"memory":1024}})";
  ASSERT_EQ(three.size(), kOne.size());
  auto changed = memo.decode("hv-a", "10", three);
  ASSERT_TRUE(changed.isOk());
  EXPECT_EQ((*changed)->at("default/a").resources.cpus, 3);
  EXPECT_EQ(memo.decodes(), 3u);
}

TEST(LedgerMemo, WithoutAResourceVersionNothingIsKept) {
  LedgerMemo memo(8);
  ASSERT_TRUE(memo.decode("hv-a", "", kOne).isOk());
  auto other = memo.decode("hv-a", "", kTwo);
  ASSERT_TRUE(other.isOk());
  EXPECT_EQ((*other)->size(), 2u);
  EXPECT_EQ(memo.decodes(), 2u);
  EXPECT_EQ(memo.size(), 0u);
}

TEST(LedgerMemo, AMalformedLedgerIsAnErrorEveryTime) {
  LedgerMemo memo(8);
  for (int i = 0; i < 2; ++i) {
    auto bad = memo.decode("hv-a", "10", "{not json");
    ASSERT_FALSE(bad.isOk());
    EXPECT_EQ(bad.status().code(), core::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(memo.decodes(), 2u);
  EXPECT_EQ(memo.size(), 0u);
}

TEST(LedgerMemo, KeepsOnlyTheMostRecentlyUsedHypervisors) {
  LedgerMemo memo(2);
  ASSERT_TRUE(memo.decode("hv-a", "1", kOne).isOk());
  ASSERT_TRUE(memo.decode("hv-b", "1", kOne).isOk());
  ASSERT_TRUE(memo.decode("hv-a", "1", kOne).isOk());  // hit: hv-a is now the most recent
  ASSERT_TRUE(memo.decode("hv-c", "1", kOne).isOk());  // evicts hv-b
  EXPECT_EQ(memo.size(), 2u);
  EXPECT_EQ(memo.decodes(), 3u);
  ASSERT_TRUE(memo.decode("hv-a", "1", kOne).isOk());  // still kept
  EXPECT_EQ(memo.decodes(), 3u);
  ASSERT_TRUE(memo.decode("hv-b", "1", kOne).isOk());  // evicted: decoded again
  EXPECT_EQ(memo.decodes(), 4u);
}

TEST(LedgerMemo, EmptyTextIsAnEmptyLedger) {
  LedgerMemo memo(2);
  auto empty = memo.decode("hv-a", "1", "");
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE((*empty)->empty());
}

}  // namespace
}  // namespace novacron::controller::ledger
