// virt::Connection: the node-daemon's seam over libvirt. Everything the node-daemon asks of the
// hypervisor goes through this interface; the libvirt implementation lives in
// libvirt_connection.{h,cc} (the only files that include libvirt headers) and a fake for fault
// injection in tests/mocks/fake_libvirt.h.
//
// Domains are addressed by name (the node-daemon derives stable names from the VM, see
// domain/naming.h). Errors come back as core::Status: NotFound when the domain does not exist,
// FailedPrecondition when the domain is not in a state that allows the operation (e.g. shutdown of
// a stopped domain), InvalidArgument for rejected XML, AlreadyExists when a name or UUID is taken,
// Unavailable when libvirtd cannot be reached (the implementation reconnects with backoff).
// Thread-safety: implementations are safe to call from any thread. Event handlers run on the
// implementation's event thread and must only enqueue work (never call back into the connection
// while holding a lock the caller of the connection needs).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/status.h"
#include "lib/core/statusor.h"
#include "node-daemon/virt/path_rewrite.h"

namespace novacron::node::virt {

// libvirt's virDomainState, without the libvirt header.
enum class DomainState {
  kNoState,
  kRunning,
  kBlocked,
  kPaused,
  kShuttingDown,
  kShutOff,
  kCrashed,
  kPMSuspended,
};

std::string_view domainStateName(DomainState state);

// Why a domain is shut off (libvirt's VIR_DOMAIN_SHUTOFF_*), decoded inside the adapter.
enum class ShutoffReason {
  kUnknown,
  kShutdown,  // the guest powered itself off
  kDestroyed,
  kCrashed,
  kMigrated,
  kSaved,
  kFailed,  // QEMU failed to start or died
  kFromSnapshot,
  kDaemon,
};

// Why a domain is paused (libvirt's VIR_DOMAIN_PAUSED_*), decoded inside the adapter.
enum class PausedReason {
  kUnknown,
  kUser,
  kMigration,
  kIoError,
  kPostcopy,
  kPostcopyFailed,
  kOther,
};

struct DomainInfo {
  std::string name;
  std::string uuid;  // lower-case canonical 8-4-4-4-12 form
  DomainState state = DomainState::kNoState;
  ShutoffReason shutoff_reason = ShutoffReason::kUnknown;  // when state == kShutOff
  PausedReason paused_reason = PausedReason::kUnknown;     // when state == kPaused
  bool active = false;  // a QEMU process exists (running, paused, ...)
  bool persistent = false;
  std::uint64_t max_memory_kib = 0;
  unsigned vcpus = 0;
};

struct NodeInfo {
  std::string cpu_model;  // e.g. "x86_64"
  unsigned cpus = 0;      // logical CPUs
  unsigned mhz = 0;
  unsigned sockets = 0;
  unsigned cores = 0;
  unsigned threads = 0;
  std::uint64_t memory_kib = 0;
};

struct HostCapabilities {
  std::string hostname;
  std::string arch;        // host CPU architecture, e.g. "x86_64"
  std::string cpu_model;   // host CPU model name from the capabilities, may be empty
  std::string cpu_vendor;  // may be empty
  std::vector<std::string> cpu_features;
  std::vector<std::string> domain_types;  // guest domain types offered for `arch`: "qemu", "kvm"
  std::string hypervisor_type;            // "QEMU", "TEST", ...
  std::uint64_t hypervisor_version = 0;   // libvirt encoding: major * 1e6 + minor * 1e3 + micro
  std::uint64_t libvirt_version = 0;
};

// Formats a libvirt-encoded version number as "major.minor.micro".
std::string formatVersion(std::uint64_t version);

enum class DomainEventType {
  kDefined,
  kUndefined,
  kStarted,
  kSuspended,
  kResumed,
  kStopped,
  kShutdown,
  kPMSuspended,
  kCrashed,
  kOther,
};

std::string_view domainEventTypeName(DomainEventType type);

// The part of libvirt's per-event detail codes the node-daemon acts on, decoded in the adapter.
enum class DomainEventDetail {
  kOther,
  kBooted,          // started: booted
  kMigrated,        // started/stopped/suspended/resumed because of a migration
  kPostcopy,        // suspended/resumed: post-copy phase of a migration
  kPostcopyFailed,  // suspended: post-copy failed (the guest may be paused on both sides)
  kGuestShutdown,   // stopped: the guest powered itself off
  kDestroyed,
  kCrashed,
  kFailed,
};

struct DomainEvent {
  std::string name;
  std::string uuid;
  DomainEventType type = DomainEventType::kOther;
  DomainEventDetail detail = DomainEventDetail::kOther;
};

using DomainEventHandler = std::function<void(const DomainEvent&)>;

// libvirt's virDomainJobType, decoded inside the adapter.
enum class JobType { kNone, kBounded, kUnbounded, kCompleted, kFailed, kCancelled };

// Statistics of a domain's current (or last completed) job, e.g. a migration.
struct JobStats {
  JobType type = JobType::kNone;  // time_elapsed_ms of a completed job is its total time
  std::uint64_t time_elapsed_ms = 0;
  std::uint64_t data_total = 0;
  std::uint64_t data_processed = 0;
  std::uint64_t data_remaining = 0;
  std::uint64_t memory_total = 0;
  std::uint64_t memory_processed = 0;
  std::uint64_t memory_remaining = 0;
  std::uint64_t memory_dirty_rate = 0;  // pages per second
  std::uint64_t memory_page_size = 0;   // bytes
  std::uint64_t memory_iteration = 0;   // pre-copy pass
  std::uint64_t memory_bps = 0;         // current transfer rate, bytes per second
  std::uint64_t downtime_ms = 0;        // completed migrations: the switch-over pause
};

// One domain's bulk statistics (virConnectGetAllDomainStats), for the per-VM metrics. A value
// libvirt did not report is nullopt: a shut-off domain reports only its state, balloon
// available/unused need the guest's balloon driver, and libvirt's test driver reports only state.
// Block and network figures are sums over the domain's disks and interfaces.
struct DomainStats {
  std::string name;
  DomainState state = DomainState::kNoState;
  std::optional<std::uint64_t> cpu_time_ns;  // guest vCPUs and QEMU's own threads
  std::optional<std::uint64_t> vcpus;        // current vCPUs
  std::optional<std::uint64_t> balloon_current_kib;
  std::optional<std::uint64_t> balloon_available_kib;
  std::optional<std::uint64_t> balloon_unused_kib;
  std::optional<std::uint64_t> balloon_rss_kib;  // QEMU's resident memory on the host
  std::optional<std::uint64_t> block_read_bytes, block_write_bytes;
  std::optional<std::uint64_t> block_read_requests, block_write_requests;
  std::optional<std::uint64_t> net_rx_bytes, net_tx_bytes, net_rx_packets, net_tx_packets;
};

// A live migration request; the adapter turns it into virDomainMigrateToURI3's typed parameters
// and flags (peer-to-peer: the source libvirtd talks to the target libvirtd itself).
struct MigrateRequest {
  std::string dest_uri;     // the target libvirtd, e.g. qemu+tcp://10.0.0.2/system
  std::string migrate_uri;  // where QEMU streams to, e.g. tcp://10.0.0.2 (empty: libvirt's choice)
  std::optional<std::string> dest_xml;         // domain XML for the target (per-host paths)
  std::optional<std::uint64_t> bandwidth_mib;  // MiB/s cap
  std::optional<std::uint64_t> max_downtime_ms;
  bool auto_converge = false;
  bool postcopy = false;  // allow switching to post-copy
  enum class Compression { kNone, kXbzrle, kZstd };
  Compression compression = Compression::kNone;
  int parallel_connections = 0;  // multifd channels (> 0 enables parallel migration)
  bool copy_storage = false;     // copy local disks along (incremental: only the overlay)
  // Without dest_xml: the adapter passes the domain's migratable XML with these roots rewritten
  // as the destination XML (per-host VM and image roots).
  std::vector<PathPrefix> rewrite_paths;
  bool tls = false;
  // Recover a failed post-copy migration (VIR_MIGRATE_POSTCOPY_RESUME): reconnects the paused
  // halves on both hosts and fetches the remaining pages; never starts a second copy.
  bool postcopy_resume = false;
};

// A guest's memory dirty rate as QEMU's calc-dirty-rate measured it (libvirt's
// VIR_DOMAIN_STATS_DIRTYRATE group, after virDomainStartDirtyRateCalc).
struct DirtyRate {
  enum class State { kUnstarted, kMeasuring, kMeasured };
  State state = State::kUnstarted;
  std::uint64_t megabytes_per_second = 0;  // MiB/s, when kMeasured
  std::uint64_t period_seconds = 0;        // how long it measured
};

struct InterfaceAddress {
  std::string name;  // guest-side or host-side interface name as reported by libvirt
  std::string mac;
  std::vector<std::string> ips;
};

// Where interface addresses come from; the caller tries sources in order.
enum class AddressSource { kLease, kArp, kAgent };

class Connection {
public:
  virtual ~Connection() = default;

  virtual const std::string& uri() const = 0;
  // OK when libvirtd answers; otherwise tries to reconnect (respecting the backoff) first.
  [[nodiscard]] virtual core::Status ping() = 0;

  [[nodiscard]] virtual core::StatusOr<NodeInfo> nodeInfo() = 0;
  [[nodiscard]] virtual core::StatusOr<HostCapabilities> capabilities() = 0;

  // Defines (or redefines, same name and UUID) a persistent domain from XML.
  [[nodiscard]] virtual core::StatusOr<DomainInfo> defineDomain(const std::string& xml) = 0;
  [[nodiscard]] virtual core::Status startDomain(const std::string& name) = 0;
  // Asks the guest to power off (ACPI). Returns at once; the domain stops later.
  [[nodiscard]] virtual core::Status shutdownDomain(const std::string& name) = 0;
  // Hard power-off.
  [[nodiscard]] virtual core::Status destroyDomain(const std::string& name) = 0;
  // Removes the persistent definition (and its NVRAM/managed save); the domain must be inactive.
  [[nodiscard]] virtual core::Status undefineDomain(const std::string& name) = 0;
  [[nodiscard]] virtual core::Status suspendDomain(const std::string& name) = 0;
  [[nodiscard]] virtual core::Status resumeDomain(const std::string& name) = 0;

  [[nodiscard]] virtual core::StatusOr<DomainInfo> lookupByName(const std::string& name) = 0;
  [[nodiscard]] virtual core::StatusOr<DomainInfo> lookupByUuid(const std::string& uuid) = 0;
  [[nodiscard]] virtual core::StatusOr<std::vector<DomainInfo>> listDomains() = 0;
  [[nodiscard]] virtual core::StatusOr<std::string> domainXml(const std::string& name) = 0;
  // The custom <metadata> element in namespace `ns_uri`, as XML; NotFound when absent.
  [[nodiscard]] virtual core::StatusOr<std::string> domainMetadata(const std::string& name,
                                                                   const std::string& ns_uri) = 0;
  [[nodiscard]] virtual core::StatusOr<std::vector<InterfaceAddress>> interfaceAddresses(
      const std::string& name, AddressSource source) = 0;
  [[nodiscard]] virtual core::StatusOr<JobStats> jobStats(const std::string& name) = 0;
  // Statistics of the domain's last completed job (e.g. a finished migration: total time and
  // downtime); NotFound when there is none.
  [[nodiscard]] virtual core::StatusOr<JobStats> completedJobStats(const std::string& name) = 0;
  // Live-migrates the domain peer-to-peer and blocks until the job ended: OK when the guest runs
  // on the target (the source's definition is kept, shut off with reason Migrated); an error
  // otherwise, and then the guest still runs here. jobStats() and abortJob() may be called from
  // other threads meanwhile.
  [[nodiscard]] virtual core::Status migrate(const std::string& name,
                                             const MigrateRequest& request) = 0;
  // Aborts the domain's running job (virDomainAbortJob); the migrate() call then fails.
  [[nodiscard]] virtual core::Status abortJob(const std::string& name) = 0;
  // Switches a running migration that allows post-copy (MigrateRequest::postcopy) to post-copy
  // (virDomainMigrateStartPostCopy): the guest resumes on the target, which then fetches the
  // remaining pages on demand. Not virtual-pure so test doubles need not implement it.
  [[nodiscard]] virtual core::Status startPostCopy(const std::string& name) {
    return core::failedPreconditionError("post-copy is not supported by this connection (" + name +
                                         ")");
  }

  // Starts measuring the domain's memory dirty rate for `seconds` (virDomainStartDirtyRateCalc,
  // page-sampling mode: QEMU hashes sampled pages; no dirty logging); returns at once. The domain
  // must be running. Not virtual-pure so test doubles need not implement it.
  [[nodiscard]] virtual core::Status startDirtyRateCalc(const std::string& name, int /*seconds*/) {
    return core::failedPreconditionError(
        "dirty rate measurement is not supported by this connection (" + name + ")");
  }
  // The last measurement's state and result (virDomainListGetStats, VIR_DOMAIN_STATS_DIRTYRATE).
  [[nodiscard]] virtual core::StatusOr<DirtyRate> dirtyRate(const std::string& name) {
    return core::failedPreconditionError(
        "dirty rate measurement is not supported by this connection (" + name + ")");
  }

  // Bulk statistics of every domain in one call (virConnectGetAllDomainStats).
  [[nodiscard]] virtual core::StatusOr<std::vector<DomainStats>> allDomainStats() = 0;

  // Subscribes to lifecycle events of every domain; survives reconnects. Returns an id for
  // unsubscribe. Handlers must be cheap and must not call back into the connection.
  virtual int subscribe(DomainEventHandler handler) = 0;
  virtual void unsubscribe(int id) = 0;
};

using ConnectionPtr = std::unique_ptr<Connection>;

}  // namespace novacron::node::virt
