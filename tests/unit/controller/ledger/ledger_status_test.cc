// Where the ledger is kept in a Hypervisor (controller/ledger/ledger_status.h).
#include "controller/ledger/ledger_status.h"

#include <gtest/gtest.h>

namespace novacron::controller::ledger {
namespace {

// An API server whose Hypervisor CRD predates status.allocations prunes it from every write and
// still answers OK: the stored object tells, and placing on it would overcommit.
TEST(LedgerStatusTest, AStoredObjectWithoutTheLedgerIsAFailedPrecondition) {
  api::Hypervisor stored;
  stored.metadata.name = "hv-a";
  putLedger(stored.status, Ledger{{"ns/web", LedgerEntry{"u1", {2, 1024}, ""}}});
  EXPECT_TRUE(checkLedgerStored(stored).isOk());
  stored.status.allocations.reset();  // pruned; status.allocated (known to the old CRD) stays
  const core::Status dropped = checkLedgerStored(stored);
  EXPECT_EQ(dropped.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(dropped.message().find("apply the CRDs of this version"), std::string::npos);
}

}  // namespace
}  // namespace novacron::controller::ledger
