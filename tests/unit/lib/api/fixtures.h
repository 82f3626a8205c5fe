// Fully populated, valid objects of each kind: every optional field set, every list non-empty.
// The drift test encodes them and checks every emitted JSON path against the CRD schema, so when a
// field is added to a struct it must be added here too (and then to the CRD).
#pragma once

#include <chrono>

#include "lib/api/hypervisor.h"
#include "lib/api/virtual_machine.h"
#include "lib/api/vm_migration.h"

namespace novacron::api::testing {

inline Timestamp at(int seconds) {
  return Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 11 / 21)) +
         std::chrono::hours(23) + std::chrono::seconds(seconds);
}

inline ObjectMeta fullMeta(std::string name, std::string ns) {
  ObjectMeta m;
  m.name = std::move(name);
  m.namespace_ = std::move(ns);
  m.generateName = "gen-";
  m.uid = "0c9b3f4e-5d2a-4d8e-9f00-123456789abc";
  m.resourceVersion = "12345";
  m.generation = 3;
  m.labels = {{"app", "web"}, {"novacron.io/hypervisor", "node-1"}};
  m.annotations = {{"example.com/note", "anything <goes> here"}};
  m.finalizers = {"novacron.io/controller", "novacron.io/node-cleanup"};
  OwnerReference owner;
  owner.apiVersion = "apps/v1";
  owner.kind = "ReplicaSet";
  owner.name = "web-abc";
  owner.uid = "11111111-2222-3333-4444-555555555555";
  owner.controller = true;
  owner.blockOwnerDeletion = false;
  m.ownerReferences = {owner};
  m.creationTimestamp = at(0);
  m.deletionTimestamp = at(60);
  m.deletionGracePeriodSeconds = 30;
  return m;
}

inline Condition condition(std::string type, ConditionStatus status, std::string reason) {
  Condition c;
  c.type = std::move(type);
  c.status = status;
  c.observedGeneration = 3;
  c.lastTransitionTime = at(5);
  c.reason = std::move(reason);
  c.message = "details for humans";
  return c;
}

inline VirtualMachine fullVirtualMachine() {
  VirtualMachine vm;
  vm.metadata = fullMeta("web-1", "default");
  VirtualMachineSpec& s = vm.spec;
  s.runStrategy = RunStrategy::kRerunOnFailure;
  s.resources.cpus = 4;
  s.resources.memory = Quantity::fromBytes(4LL << 30);
  s.cpu = CpuSpec{};
  s.cpu->model = "Skylake-Server";
  s.cpu->topology = CpuTopology{};
  s.cpu->topology->sockets = 1;
  s.cpu->topology->cores = 2;
  s.cpu->topology->threads = 2;
  s.firmware = Firmware::kUefi;
  s.kernelBoot = KernelBoot{};
  s.kernelBoot->kernel.url = "image:debian-cloud-kernel";
  s.kernelBoot->kernel.sha256 = std::string(64, 'a');
  s.kernelBoot->initrd = ImageSource{};
  s.kernelBoot->initrd->url = "https://images.example.com/initrd.gz";
  s.kernelBoot->initrd->sha256 = std::string(64, 'b');
  s.kernelBoot->cmdline = "console=ttyS0";
  Disk root;
  root.name = "root";
  root.bus = DiskBus::kSata;
  root.bootOrder = 1;
  root.image = ImageSource{};
  root.image->url = "https://images.example.com/debian-12.qcow2";
  root.image->sha256 = std::string(64, 'c');
  Disk scratch;
  scratch.name = "scratch";
  scratch.emptyDisk = EmptyDiskSource{};
  scratch.emptyDisk->size = Quantity::fromBytes(10LL << 30);
  Disk seed;
  seed.name = "seed";
  seed.cloudInit = CloudInitSource{};
  seed.cloudInit->userData = "#cloud-config\nhostname: web-1\n";
  seed.cloudInit->networkData = "version: 2\n";
  s.disks = {root, scratch, seed};
  Network nat;
  nat.name = "default";
  nat.mac = "52:54:00:00:00:01";
  Network lan;
  lan.name = "lan";
  lan.type = NetworkType::kBridge;
  lan.bridge = "br0";
  s.networks = {nat, lan};
  s.placement = Placement{};
  s.placement->hypervisorSelector = {{"topology.kubernetes.io/zone", "zone-a"}};
  s.placement->antiAffinityGroup = "web";
  s.placement->hypervisor = "node-1";
  s.evictionStrategy = EvictionStrategy::kShutdown;
  s.terminationGracePeriodSeconds = 60;

  VirtualMachineStatus& st = vm.status;
  st.phase = VirtualMachinePhase::kRunning;
  st.hypervisor = "node-1";
  st.observedGeneration = 3;
  st.conditions = {condition("Ready", ConditionStatus::kTrue, "DomainRunning"),
                   condition("Scheduled", ConditionStatus::kTrue, "Bound")};
  VmInterfaceStatus itf;
  itf.name = "default";
  itf.mac = "52:54:00:00:00:01";
  itf.ip = "192.0.2.10";
  st.interfaces = {itf};
  st.domainUUID = "6a1f0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6";
  st.activeMigration = "web-1-to-node-2";
  st.startTime = at(10);
  st.allocated = VmResources{};
  st.allocated->cpus = 4;
  st.allocated->memory = Quantity::fromBytes(4LL << 30);
  return vm;
}

inline VMMigration fullVMMigration() {
  VMMigration m;
  m.metadata = fullMeta("web-1-to-node-2", "default");
  VMMigrationSpec& s = m.spec;
  s.vmName = "web-1";
  s.targetHypervisor = "node-2";
  s.mode = MigrationMode::kLive;
  s.options.bandwidthMiBps = 1024;
  s.options.maxDowntimeMs = 500;
  s.options.autoConverge = true;
  s.options.postCopy = PostCopyOptions{};
  s.options.postCopy->enabled = true;
  s.options.postCopy->afterIterations = 5;
  s.options.compression = MigrationCompression::kZstd;
  s.options.copyStorage = CopyStorage::kAlways;
  s.options.completionTimeoutPerGiBSeconds = 120;
  s.options.progressTimeoutSeconds = 90;
  s.options.tls = true;
  s.cancel = false;
  VMMigrationStatus& st = m.status;
  st.phase = MigrationPhase::kMigrating;
  st.sourceHypervisor = "node-1";
  st.targetHypervisor = "node-2";
  st.targetAddress = "10.0.0.2:16509";
  st.startTime = at(1);
  st.completionTime = at(9);
  st.progress = MigrationProgress{};
  st.progress->percent = 42;
  st.progress->dataTotalBytes = 4LL << 30;
  st.progress->dataProcessedBytes = 1LL << 30;
  st.progress->dataRemainingBytes = 3LL << 30;
  st.progress->dirtyRateBytesPerSecond = 1 << 20;
  st.progress->iteration = 2;
  st.progress->etaSeconds = 12;
  st.progress->downtimeMs = 240;
  st.progress->elapsedMs = 800;
  st.observedGeneration = 1;
  st.conditions = {condition("Progressing", ConditionStatus::kTrue, "Migrating")};
  st.failureReason = "none yet";
  st.plan = MigrationPlan{};
  st.plan->targetHypervisor = "node-2";
  st.plan->targetReason = "spec.targetHypervisor";
  st.plan->targetCapacityAfter = PlanCapacity{};
  st.plan->targetCapacityAfter->cpus = 6;
  st.plan->targetCapacityAfter->memoryBytes = 8LL << 30;
  st.plan->targetCapacityAfter->storageBytes = 100LL << 30;
  st.plan->cpuCompatible = false;
  st.plan->cpuCompatibility = "lacks CPU features avx512f";
  st.plan->memoryBytes = 4LL << 30;
  st.plan->diskBytes = 10LL << 30;
  st.plan->bandwidthBytesPerSecond = 1LL << 30;
  st.plan->bandwidthSource = "spec.options.bandwidthMiBps";
  st.plan->dirtyRateBytesPerSecond = 1 << 20;
  st.plan->dirtyRateMeasuredTime = at(2);
  st.plan->dirtyRateError = "none";
  MigrationForecast f;
  f.totalMs = 4500;
  f.downtimeMs = 120;
  f.iterations = 3;
  f.bytesToSend = 5LL << 30;
  f.strategy = MigrationStrategy::kAutoConverge;
  f.compression = MigrationCompression::kZstd;
  f.converges = true;
  f.verdict = "will converge";
  f.dirtyRateBytesPerSecond = 1 << 20;
  f.bandwidthBytesPerSecond = 1LL << 30;
  st.plan->forecast = f;
  st.forecast = f;
  return m;
}

inline Hypervisor fullHypervisor() {
  Hypervisor h;
  h.metadata = fullMeta("node-1", "");
  h.spec.unschedulable = true;
  h.spec.maintenance = true;
  h.spec.overcommit = Overcommit{};
  h.spec.overcommit->cpu = 4.0;
  h.spec.overcommit->memory = 1.5;
  h.spec.migration = HypervisorMigrationSpec{};
  h.spec.migration->address = "192.0.2.11:16509";
  h.spec.migration->maxInbound = 3;
  h.spec.migration->maxOutbound = 4;
  HypervisorStatus& st = h.status;
  st.capacity = HypervisorResources{};
  st.capacity->cpus = 16;
  st.capacity->memory = Quantity::fromBytes(64LL << 30);
  st.capacity->storage = Quantity::fromBytes(500LL << 30);
  st.allocatable = HypervisorResources{};
  st.allocatable->cpus = 64;
  st.allocatable->memory = Quantity::fromBytes(60LL << 30);
  st.allocatable->storage = Quantity::fromBytes(450LL << 30);
  st.allocated = HypervisorAllocated{};
  st.allocated->cpus = 6;
  st.allocated->memory = Quantity::fromBytes(8LL << 30);
  st.allocated->vms = 3;
  st.allocated->storage = Quantity::fromBytes(30LL << 30);
  // The ledger's text as the codec keeps it (compact, members sorted).
  st.allocations =
      R"([{"antiAffinityGroup":"db","cpus":4,"memoryBytes":4294967296,"storageBytes":21474836480,)"
      R"("uid":"6a1f0c1e-2b3c-4d5e-8f90-a1b2c3d4e5f6","vm":"default/web-1"},)"
      R"({"cpus":2,"memoryBytes":4294967296,"uid":"u-2","vm":"default/web-2"}])";
  st.cpuModel = "Intel Xeon Processor (Skylake, IBRS)";
  st.cpuFeatures = {"vmx", "avx2", "aes"};
  st.virtualization = Virtualization::kKvm;
  st.libvirtVersion = "9.0.0";
  st.qemuVersion = "7.2.0";
  st.observedGeneration = 2;
  st.conditions = {condition("Ready", ConditionStatus::kTrue, "HeartbeatOK"),
                   condition("Schedulable", ConditionStatus::kFalse, "Maintenance")};
  st.lastHeartbeatTime = at(30);
  st.activeMigrations = ActiveMigrations{};
  st.activeMigrations->inbound = 1;
  st.activeMigrations->outbound = 2;
  st.evacuation = EvacuationStatus{};
  st.evacuation->total = 3;
  st.evacuation->migrated = 1;
  st.evacuation->pending = 1;
  st.evacuation->blocked = {EvacuationBlocker{
      "default/web", "InsufficientCapacity", "no hypervisor other than hv-a fits the VM", {}}};
  st.migrationBandwidth = {MigrationBandwidth{"hv-b", 125000000, at(20), {}}};
  return h;
}

}  // namespace novacron::api::testing
