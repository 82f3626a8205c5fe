// PendingWrites: a write is skipped only while the cache shows the very version it was based on.
#include "lib/runtime/pending_writes.h"

#include <gtest/gtest.h>

namespace novacron::runtime {
namespace {

TEST(PendingWritesTest, TheSameWriteOnTheSameVersionIsSkippedOnce) {
  PendingWrites pending;
  EXPECT_FALSE(pending.alreadyWritten("ns/a", "7", "Running"));
  pending.wrote("ns/a", "7", "Running");
  EXPECT_TRUE(pending.alreadyWritten("ns/a", "7", "Running"));
  EXPECT_FALSE(pending.alreadyWritten("ns/a", "7", "Stopped")) << "another write is compared";
  EXPECT_FALSE(pending.alreadyWritten("ns/b", "7", "Running")) << "per key";
}

TEST(PendingWritesTest, ACacheBehindOwnWriteIsToldUntilItMovesOn) {
  PendingWrites pending;
  EXPECT_FALSE(pending.behindOwnWrite("ns/a", "7"));
  pending.wrote("ns/a", "7", "Starting");
  EXPECT_TRUE(pending.behindOwnWrite("ns/a", "7")) << "any write based on 7 would meet a 409";
  EXPECT_FALSE(pending.behindOwnWrite("ns/a", "8")) << "the cache shows a newer version";
  // Once the cache showed another version the entry is gone: nothing is hidden any more.
  EXPECT_FALSE(pending.alreadyWritten("ns/a", "8", "Starting"));
  EXPECT_FALSE(pending.behindOwnWrite("ns/a", "7"));
}

TEST(PendingWritesTest, ForgetDropsTheKey) {
  PendingWrites pending;
  pending.wrote("ns/a", "7", "Running");
  pending.forget("ns/a");
  EXPECT_FALSE(pending.behindOwnWrite("ns/a", "7"));
  EXPECT_FALSE(pending.alreadyWritten("ns/a", "7", "Running"));
}

}  // namespace
}  // namespace novacron::runtime
