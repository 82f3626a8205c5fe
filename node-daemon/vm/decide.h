// The node-daemon's VM decisions as pure functions (the "decide" step of observe → decide → act):
// whether this node may run the VM at all (the binding), what to do with its domain, and what
// status to report afterwards. No I/O and no clock reads: callers pass what they observed.
//
// The binding rule (docs/security.md): a VM runs here only when status.hypervisor names this node.
// Only the controller writes status.hypervisor, through the status subresource, which a VM editor
// cannot write (and which the API server drops on create). The label novacron.io/hypervisor is a
// watch filter and nothing more: a hand-set label never starts a VM, and a VM whose binding points
// elsewhere never keeps a running copy here.
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/api/virtual_machine.h"
#include "node-daemon/virt/connection.h"
#include "node-daemon/vm/run_strategy.h"

namespace novacron::node::vm {

enum class Binding {
  kHere,       // status.hypervisor == this node: run it
  kUnbound,    // no binding yet (e.g. a hand-set label): never start it
  kElsewhere,  // bound to another node: no running copy may stay here
};

Binding bindingOf(const api::VirtualMachine& vm, std::string_view node);
std::string_view bindingName(Binding binding);

// What the node sees of one VM, read once per reconcile.
struct Observation {
  std::optional<virt::DomainInfo> domain;  // the domain of the VM's name, if defined
  std::optional<std::chrono::steady_clock::time_point> shutdown_requested_at;
  std::chrono::steady_clock::time_point now{};
};

// The power state machine's inputs, built in one place from the VM and the observation.
PowerInputs powerInputs(const api::VirtualMachine& vm, const Observation& observed);

// True while a VMMigration moves the VM (status.activeMigration, written by the controller): no
// node-daemon starts, stops or removes its domain then — the migration owns it.
bool migrationInProgress(const api::VirtualMachine& vm);
// What the source reports meanwhile: phase Migrating, Ready while the guest runs.
PowerDecision migratingDecision(const std::optional<virt::DomainInfo>& domain);

// Running, blocked or paused: a QEMU process holds the guest.
bool isRunning(virt::DomainState state);
// Anything but shut off / crashed / no state.
bool isActive(virt::DomainState state);

// The part of the VM's status the node-daemon owns, as it should be after acting, from what is
// there now (`after`). `started_at` is the start time to record when this reconcile started the
// domain (or adopted a running one without a start time).
struct ReportInputs {
  std::string node;
  std::string domain_name;
  std::optional<virt::DomainInfo> after;  // the domain as observed after acting
  PowerDecision decision;                 // decidePower() on the observation after acting
  std::vector<api::VmInterfaceStatus> interfaces;
  api::Timestamp now;
  bool started_now = false;
  // When this node-daemon last started the domain (kept across a failed status write, so the
  // next report still says when the domain really started).
  std::optional<api::Timestamp> last_start;
};
api::VirtualMachineStatus reportedStatus(const api::VirtualMachine& vm, const ReportInputs& in);

// Reasons of a terminal failure: the node cannot run this generation of the spec.
inline constexpr std::string_view kReasonInvalidSpec = "InvalidSpec";
inline constexpr std::string_view kReasonDiskPreparationFailed = "DiskPreparationFailed";
// Not terminal: a download failed; it is tried again.
inline constexpr std::string_view kReasonImageDownloadFailed = "ImageDownloadFailed";

// Not terminal until the spec (or the node's configuration) changes: a bridge this node does not
// offer to VMs.
inline constexpr std::string_view kReasonBridgeNotAllowed = "BridgeNotAllowed";

// The first bridge network of `vm` whose bridge is not in `allowed`, if any.
std::optional<std::string> disallowedBridge(const api::VirtualMachine& vm,
                                            const std::vector<std::string>& allowed);

// True when `vm` references image `url` (disks, kernel, initrd).
bool usesImage(const api::VirtualMachine& vm, const std::string& url);

// True when this node already reported a terminal failure for the VM's current generation: it is
// not tried again until the spec changes (a new generation).
bool failedForThisGeneration(const api::VirtualMachine& vm);

// Reasons of the Migratable condition (docs/api.md).
inline constexpr std::string_view kReasonMigratable = "Migratable";
inline constexpr std::string_view kReasonNotRunning = "NotRunning";
inline constexpr std::string_view kReasonHostPassthroughCpu = "HostPassthroughCPU";
// Ready while the disks are prepared (images downloading).
inline constexpr std::string_view kReasonStarting = "Starting";
// Ready and the Event when a stop ran past terminationGracePeriodSeconds and was forced.
inline constexpr std::string_view kReasonGracePeriodExpired = "GracePeriodExpired";

// Migratable: True while the guest runs and nothing in its spec blocks a live migration.
void setMigratable(api::VirtualMachineStatus& status, const api::VirtualMachine& vm, bool running,
                   api::Timestamp now);

// Phase Starting with Ready=False/`reason` (Starting while images download, ImageDownloadFailed
// when a download failed and will be retried) and Migratable=False/NotRunning.
api::VirtualMachineStatus startingStatus(const api::VirtualMachine& vm, std::string_view reason,
                                         const std::string& message, api::Timestamp now);

// Ready=False with `reason` and `message`; the phase stays (e.g. Scheduled while it cannot start).
api::VirtualMachineStatus notReadyStatus(const api::VirtualMachine& vm, std::string_view reason,
                                         const std::string& message, api::Timestamp now);

// The status of a VM whose spec the node-daemon refuses (Ready=False/InvalidSpec, phase Failed).
api::VirtualMachineStatus invalidSpecStatus(const api::VirtualMachine& vm, std::string_view reason,
                                            const std::string& message, api::Timestamp now);

}  // namespace novacron::node::vm
