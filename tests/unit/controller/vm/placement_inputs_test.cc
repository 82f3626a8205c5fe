// hypervisorView() + Scheduler: the schedulable limit is status.allocatable * ratio, with the
// ratio taken from spec.overcommit per resource when set and from the controller's configured
// default otherwise, applied exactly once (a regression test for overcommit applied twice).
#include "controller/vm/placement_inputs.h"

#include <gtest/gtest.h>

#include "controller/scheduler/scheduler.h"
#include "lib/api/codec.h"
#include "tests/unit/controller/cluster_objects.h"

namespace novacron::controller {
namespace {

using ctltest::kGi;
using scheduler::OvercommitRatios;
using scheduler::Ratio;
using scheduler::Resources;

// Controller defaults as shipped: cpu 4, memory 1.
scheduler::Scheduler defaultScheduler() {
  return scheduler::Scheduler(scheduler::SchedulerOptions{
      scheduler::Policy::kBinPack, OvercommitRatios{Ratio{4000}, Ratio{1000}}});
}

// A node-daemon with 16 host cpus and 64 Gi, 2 cpus / 4 Gi reserved: allocatable 14 / 60 Gi.
api::Hypervisor registered() {
  auto hv = ctltest::makeHypervisor("hv-a", 16, 64 * kGi);
  hv.status.allocatable->cpus = 14;
  hv.status.allocatable->memory = api::Quantity::fromBytes(60 * kGi);
  return hv;
}

TEST(PlacementInputsTest, DiskSpaceIsTheEmptyDisksOnTheReportedAllocatableStorage) {
  api::Hypervisor hv = registered();
  EXPECT_EQ(hypervisorView(hv, true).storage_capacity_bytes, std::nullopt);  // not reported
  hv.status.capacity->storage = api::Quantity::fromBytes(100 * kGi);
  EXPECT_EQ(hypervisorView(hv, true).storage_capacity_bytes, 100 * kGi);
  hv.status.allocatable->storage = api::Quantity::fromBytes(90 * kGi);
  EXPECT_EQ(hypervisorView(hv, true).storage_capacity_bytes, 90 * kGi);

  api::VirtualMachine vm = ctltest::makeVm("ns", "web", 1, kGi);
  api::Disk image;
  image.name = "root";
  image.image = api::ImageSource{"image:debian", std::nullopt, {}};
  api::Disk data;
  data.name = "data";
  data.emptyDisk = api::EmptyDiskSource{api::Quantity::fromBytes(8 * kGi), {}};
  api::Disk scratch;
  scratch.name = "scratch";
  scratch.emptyDisk = api::EmptyDiskSource{api::Quantity::fromBytes(2 * kGi), {}};
  vm.spec.disks = {image, data, scratch};
  EXPECT_EQ(countedDiskBytes(vm.spec), 10 * kGi);  // the image's size is not known here
  EXPECT_EQ(vmRequest(vm).resources.storage_bytes, 10 * kGi);
  EXPECT_EQ(vmFacts(vm).resources.storage_bytes, 10 * kGi);  // what the ledger counts
}

TEST(PlacementInputsTest, UnsetOvercommitUsesControllerDefaultsOnAllocatable) {
  const auto view = hypervisorView(registered(), true);
  EXPECT_EQ(view.capacity, (Resources{14, 60 * kGi}));
  EXPECT_EQ(view.overcommit, scheduler::OvercommitOverrides{});
  EXPECT_EQ(defaultScheduler().effectiveCapacityOf(view), (Resources{56, 60 * kGi}));
}

TEST(PlacementInputsTest, SpecRatiosReplaceDefaultsAndApplyOnce) {
  auto hv = registered();
  hv.spec.overcommit = api::Overcommit{};
  hv.spec.overcommit->cpu = 2.0;
  hv.spec.overcommit->memory = 1.5;
  const auto view = hypervisorView(hv, true);
  EXPECT_EQ(view.capacity, (Resources{14, 60 * kGi}));
  // 14 * 2 (not 14 * 2 * 4, nor 14 * 1): the spec ratio replaces the default and is applied once.
  EXPECT_EQ(defaultScheduler().effectiveCapacityOf(view), (Resources{28, 90 * kGi}));
}

TEST(PlacementInputsTest, OnlyMemorySetKeepsTheCpuDefault) {
  // `overcommit: {memory: 1.5}` through the API: cpu stays unset (no schema default) -> 4x.
  auto decoded = api::fromJson<api::Hypervisor>(nlohmann::json::parse(
      R"({"apiVersion":"novacron.io/v1alpha1","kind":"Hypervisor","metadata":{"name":"hv-a"},
          "spec":{"overcommit":{"memory":1.5}}})"));
  ASSERT_TRUE(decoded.isOk()) << decoded.status();
  ASSERT_TRUE(decoded->spec.overcommit);
  EXPECT_FALSE(decoded->spec.overcommit->cpu);
  auto hv = registered();
  hv.spec = decoded->spec;
  const auto view = hypervisorView(hv, true);
  EXPECT_EQ(defaultScheduler().effectiveCapacityOf(view), (Resources{56, 90 * kGi}));
}

TEST(PlacementInputsTest, RemovingSpecOvercommitFallsBackWithoutStaleMultiplication) {
  auto hv = registered();
  hv.spec.overcommit = api::Overcommit{};
  hv.spec.overcommit->cpu = 16.0;
  EXPECT_EQ(defaultScheduler().effectiveCapacityOf(hypervisorView(hv, true)).cpus, 14 * 16);
  // The node-daemon's allocatable does not depend on spec.overcommit, so nothing is stale: once the
  // spec is removed the limit is the default ratio on the same allocatable (never 16 * 4).
  hv.spec.overcommit.reset();
  EXPECT_EQ(defaultScheduler().effectiveCapacityOf(hypervisorView(hv, true)).cpus, 14 * 4);
}

TEST(PlacementInputsTest, CapacityIsTheBaseWhenAllocatableIsMissing) {
  auto hv = registered();
  hv.status.allocatable.reset();
  const auto view = hypervisorView(hv, true);
  EXPECT_EQ(view.capacity, (Resources{16, 64 * kGi}));
  EXPECT_EQ(defaultScheduler().effectiveCapacityOf(view), (Resources{64, 64 * kGi}));
}

}  // namespace
}  // namespace novacron::controller
