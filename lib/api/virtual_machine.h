// VirtualMachine (novacron.io/v1alpha1, namespaced): one object per VM, spec written by users,
// status written by the controller and the node-daemon (docs/api.md lists which writes what).
//
// Field names are the JSON names. Fields with a default in the CRD schema are plain values
// initialised to that default (the decoder applies the same defaults, so an object read from a
// server that defaulted it and one read from a file are equal); optional fields without a default
// are std::optional and are omitted from JSON when unset; empty lists and maps are omitted.
// Large optional parts that are usually absent are core::HeapOptional (std::optional's interface,
// 8 bytes when unset; strings too: 40 bytes as std::optional): caches hold many VMs (issue 15, B4).
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/api/names.h"
#include "lib/api/object_meta.h"
#include "lib/api/quantity.h"
#include "lib/api/unknown_fields.h"
#include "lib/core/heap_optional.h"

namespace novacron::api {

inline constexpr int32_t kMinCpus = 1;
inline constexpr int32_t kMaxCpus = 256;
inline constexpr int64_t kMinMemoryBytes = 64LL << 20;  // 64Mi
inline constexpr int64_t kMaxMemoryBytes = 4LL << 40;   // 4Ti
inline constexpr int64_t kDefaultTerminationGracePeriodSeconds = 30;
inline constexpr std::string_view kDefaultCpuModel = "host-model";
inline constexpr int64_t kMaxTerminationGracePeriodSeconds = 3600;
inline constexpr std::size_t kMaxDisks = 16;  // also the highest bootOrder
inline constexpr std::size_t kMaxNetworks = 8;
inline constexpr int64_t kMinEmptyDiskBytes = 1LL << 20;   // 1Mi
inline constexpr int64_t kMaxEmptyDiskBytes = 64LL << 40;  // 64Ti

struct VmResources {
  int32_t cpus = 1;  // 1..256
  Quantity memory;   // >= 64Mi
  UnknownFields unknownFields;
  bool operator==(const VmResources&) const = default;
};

struct CpuTopology {
  int32_t sockets = 1;  // sockets * cores * threads must equal resources.cpus
  int32_t cores = 1;
  int32_t threads = 1;
  UnknownFields unknownFields;
  bool operator==(const CpuTopology&) const = default;
};

struct CpuSpec {
  // "host-model", "host-passthrough", or a libvirt CPU model name such as "Skylake-Server".
  std::string model = std::string(kDefaultCpuModel);
  std::optional<CpuTopology> topology;
  UnknownFields unknownFields;
  bool operator==(const CpuSpec&) const = default;
};

// An image reference: "https://host/path/disk.qcow2" (http or https), or "image:<name>" for an
// image in the node's image store. Never a host path.
struct ImageSource {
  std::string url;
  std::optional<std::string> sha256;  // 64 lowercase hex digits; verified after download
  UnknownFields unknownFields;
  bool operator==(const ImageSource&) const = default;
};

struct KernelBoot {
  ImageSource kernel;
  std::optional<ImageSource> initrd;
  std::optional<std::string> cmdline;
  UnknownFields unknownFields;
  bool operator==(const KernelBoot&) const = default;
};

struct EmptyDiskSource {
  Quantity size;  // > 0
  UnknownFields unknownFields;
  bool operator==(const EmptyDiskSource&) const = default;
};

struct CloudInitSource {
  std::optional<std::string> userData;     // #cloud-config text
  std::optional<std::string> networkData;  // network-config v2 text
  UnknownFields unknownFields;
  bool operator==(const CloudInitSource&) const = default;
};

// Exactly one of image, emptyDisk, cloudInit is set (validate() and the CRD schema enforce it).
struct Disk {
  std::string name;  // DNS-1123 label; becomes a file name on the node
  DiskBus bus = DiskBus::kVirtio;
  std::optional<int32_t> bootOrder;       // 1 = first
  core::HeapOptional<ImageSource> image;  // one of image, emptyDisk, cloudInit
  core::HeapOptional<EmptyDiskSource> emptyDisk;
  core::HeapOptional<CloudInitSource> cloudInit;
  UnknownFields unknownFields;
  bool operator==(const Disk&) const = default;
};

struct Network {
  std::string name;  // DNS-1123 label
  NetworkType type = NetworkType::kNat;
  std::optional<std::string> bridge;  // required for type bridge, forbidden for nat
  std::optional<std::string> mac;     // "52:54:00:12:34:56"; generated when unset
  UnknownFields unknownFields;
  bool operator==(const Network&) const = default;
};

struct Placement {
  std::map<std::string, std::string> hypervisorSelector;  // Hypervisor labels that must match
  std::optional<std::string> antiAffinityGroup;  // VMs of one group land on distinct hypervisors
  core::HeapOptional<std::string> hypervisor;    // pin to this Hypervisor (skips the scheduler)
  UnknownFields unknownFields;
  bool operator==(const Placement&) const = default;
};

struct VirtualMachineSpec {
  RunStrategy runStrategy = RunStrategy::kAlways;
  // Keep the guest suspended (its memory stays allocated); false or unset resumes it.
  std::optional<bool> paused;
  // Restart the guest once if it started before this time (status.startTime); `kubectl novacron
  // restart` sets it to now.
  std::optional<Timestamp> restartRequestedAt;
  VmResources resources;
  core::HeapOptional<CpuSpec> cpu;
  Firmware firmware = Firmware::kBios;
  core::HeapOptional<KernelBoot> kernelBoot;
  std::vector<Disk> disks;
  std::vector<Network> networks;
  core::HeapOptional<Placement> placement;
  EvictionStrategy evictionStrategy = EvictionStrategy::kLiveMigrate;
  int64_t terminationGracePeriodSeconds = kDefaultTerminationGracePeriodSeconds;
  UnknownFields unknownFields;
  bool operator==(const VirtualMachineSpec&) const = default;
};

struct VmInterfaceStatus {
  std::string name;  // spec.networks[].name
  std::optional<std::string> mac;
  std::optional<std::string> ip;
  UnknownFields unknownFields;
  bool operator==(const VmInterfaceStatus&) const = default;
};

struct VirtualMachineStatus {
  std::optional<VirtualMachinePhase> phase;
  std::optional<std::string> hypervisor;  // bound Hypervisor (controller)
  std::optional<int64_t> observedGeneration;
  std::vector<Condition> conditions;
  std::vector<VmInterfaceStatus> interfaces;
  std::optional<std::string> domainUUID;  // libvirt domain UUID (node-daemon)
  // Name of the running VMMigration (controller); on the heap: set only while the VM moves.
  core::HeapOptional<std::string> activeMigration;
  std::optional<Timestamp> startTime;    // when the domain last started (node-daemon)
  std::optional<VmResources> allocated;  // what the ledger counts for this VM (controller)
  UnknownFields unknownFields;
  bool operator==(const VirtualMachineStatus&) const = default;
};

struct VirtualMachine {
  ObjectMeta metadata;
  VirtualMachineSpec spec;
  VirtualMachineStatus status;
  UnknownFields unknownFields;  // unknown top-level members
  bool operator==(const VirtualMachine&) const = default;
};

}  // namespace novacron::api
