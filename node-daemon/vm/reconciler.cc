#include "node-daemon/vm/reconciler.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "lib/api/codec.h"
#include "lib/api/validation.h"
#include "lib/runtime/finalizer.h"
#include "lib/runtime/store.h"
#include "node-daemon/domain/domain_xml.h"
#include "node-daemon/domain/metadata.h"
#include "node-daemon/domain/naming.h"
#include "node-daemon/vm/orphan_folders.h"

namespace novacron::node::vm {
namespace {

using core::Status;
using core::StatusOr;
using runtime::ReconcileResult;
using namespace std::chrono_literals;

runtime::ReflectorOptions reflectorOptions(const ReconcilerOptions& o) {
  runtime::ReflectorOptions r;
  r.label_selector = std::string(api::kHypervisorLabel) + "=" + o.node_name;
  r.registry = o.registry;
  return r;
}

core::ClockPtr clockOf(const ReconcilerOptions& o) {
  return o.clock ? o.clock : core::systemClock();
}

// NotFound is what we want; a stopped domain refuses to stop again (FailedPrecondition).
bool alreadyDone(const Status& s) {
  return s.isOk() || s.code() == core::StatusCode::kNotFound ||
         s.code() == core::StatusCode::kFailedPrecondition;
}

// How often a VM whose image download failed looks again (the image store decides when it
// actually downloads again; a finished download requeues the VM at once).
constexpr std::chrono::seconds kImageRetryInterval{15};

std::string vmKey(const api::VirtualMachine& vm) {
  return runtime::objectKey(vm.metadata.namespace_, vm.metadata.name);
}

}  // namespace

VmReconciler::VmReconciler(kube::ClientPtr client, virt::Connection& conn,
                           storage::DiskManager& disks, NodeMetricsPtr metrics,
                           std::shared_ptr<runtime::EventRecorder> recorder,
                           ReconcilerOptions options)
    : client_(std::move(client)),
      conn_(conn),
      disks_(disks),
      metrics_(std::move(metrics)),
      recorder_(std::move(recorder)),
      options_(std::move(options)),
      informer_(client_, kube::kVirtualMachine, api::fromJson<api::VirtualMachine>,
                reflectorOptions(options_)),
      loop_(runtime::ControllerOptions{.name = "node_vm",
                                       .workers = std::max(1, options_.workers),
                                       .synced = {runtime::waitForSyncOf(informer_)},
                                       .clock = clockOf(options_),
                                       .registry = options_.registry,
                                       .resync = options_.resync,
                                       .on_resync =
                                           [this](runtime::WorkQueue& queue) {
                                             for (const auto& key : informer_.store().keys()) {
                                               queue.add(key);
                                             }
                                             scanDomains();
                                             scanFolders();
                                             collectImages();
                                           }},
            [this](const std::string& key) { return reconcile(key); }) {
  options_.clock = clockOf(options_);
  informer_.addEventHandler(runtime::enqueueKeys<api::VirtualMachine>(loop_.queue()));
}

VmReconciler::~VmReconciler() {
  stop();
}

Status VmReconciler::start(std::chrono::milliseconds sync_timeout) {
  informer_.start();
  if (!informer_.waitForSync(sync_timeout)) {
    return core::unavailableError("VirtualMachine informer did not sync within " +
                                  std::to_string(sync_timeout.count()) + " ms");
  }
  disks_.images()->setDownloadCallback([this](const std::string& url) { downloadFinished(url); });
  event_subscription_ = conn_.subscribe([this](const virt::DomainEvent& ev) {
    if (auto parsed = domain::parseDomainName(ev.name)) {
      loop_.queue().add(runtime::objectKey(parsed->first, parsed->second));
    }
  });
  scanDomains();  // adopt what already runs here
  if (Status marked = disks_.markRootUsedBy(options_.node_name); !marked.isOk()) {
    spdlog::warn("node-daemon: {}", marked.toString());
  }
  scanFolders();
  loop_.start();
  started_ = true;
  return Status::ok();
}

void VmReconciler::stop() {
  if (event_subscription_ >= 0) {
    conn_.unsubscribe(event_subscription_);
    event_subscription_ = -1;
  }
  loop_.stop();
  informer_.stop();
}

void VmReconciler::scanDomains() {
  auto domains = conn_.listDomains();
  if (!domains.isOk()) {
    spdlog::warn("node-daemon: listing domains failed: {}", domains.status().toString());
    return;
  }
  std::map<std::string, int> by_state;
  int unclaimed = 0;
  for (const auto& d : *domains) {
    by_state[std::string(virt::domainStateName(d.state))]++;
    auto parsed = domain::parseDomainName(d.name);
    auto md = conn_.domainMetadata(d.name, std::string(domain::kMetadataNamespace));
    bool ours = md.isOk() && domain::parseMetadata(*md).isOk();
    if (!parsed || !ours) {
      ++unclaimed;  // not ours: report, never touch
      reportUnclaimed(d.name);
      continue;
    }
    std::string key = runtime::objectKey(parsed->first, parsed->second);
    if (!informer_.store().get(key)) {
      ++unclaimed;  // ours, but no VM labelled for this node claims it (yet): reconcile decides
    }
    loop_.queue().add(key);
  }
  if (metrics_) {
    metrics_->setDomainCounts(by_state);
    metrics_->setUnclaimedDomains(unclaimed);
  }
  if (unclaimed > 0) {
    spdlog::warn("node-daemon: {} domain(s) on this node are not claimed by a bound VM", unclaimed);
  }
}

bool VmReconciler::rootShared() {
  std::map<std::string, MarkOwner> marks;
  if (!options_.shared_vm_root) {
    int reads = 0;
    for (const std::string& node : disks_.otherRootMarks(options_.node_name)) {
      if (!api::isDns1123Subdomain(node)) {
        marks[node] = MarkOwner::kGone;  // no node has that name
        continue;
      }
      if (++reads > kMaxFolderReadsPerScan) {
        marks[node] = MarkOwner::kUnknown;  // not asked: shared until a later scan tells
        break;
      }
      auto hv = client_->get(kube::kHypervisor, "", node);
      marks[node] = hv.isOk()                                           ? MarkOwner::kExists
                    : hv.status().code() == core::StatusCode::kNotFound ? MarkOwner::kGone
                                                                        : MarkOwner::kUnknown;
      if (marks[node] != MarkOwner::kGone) {
        break;  // shared whatever the rest are: one read per scan on a shared root
      }
    }
  }
  const RootSharing sharing = decideRootSharing(options_.shared_vm_root, marks);
  std::lock_guard lock(mu_);
  for (const auto& [node, owner] : marks) {
    if (owner == MarkOwner::kExists) {
      reported_stale_marks_.erase(node);  // back: a later staleness is logged again
    }
  }
  for (const std::string& node : sharing.stale) {
    if (reported_stale_marks_.insert(node).second) {
      spdlog::warn(
          "node-daemon: ignoring the mark .novacron-node-{} in the VM root {}: Hypervisor {} "
          "no longer exists (a stale mark does not make the root shared; it is left in place)",
          node, disks_.paths().vmRoot(), node);
    }
  }
  if (root_shared_ != sharing.shared) {
    root_shared_ = sharing.shared;
    spdlog::info("node-daemon: the VM root {} is {}", disks_.paths().vmRoot(),
                 sharing.shared ? "shared with other nodes: folders of VMs bound elsewhere are "
                                  "theirs, not orphans, and are not read"
                                : "this node's alone: every folder no VM bound here claims is "
                                  "checked for orphans");
  }
  return sharing.shared;
}

void VmReconciler::scanFolders() {
  const bool shared = rootShared();
  int orphans = 0;
  int reads = 0;
  std::set<std::string> present;
  for (const storage::VmFolder& folder : disks_.folders()) {
    const std::string& path = folder.path;
    present.insert(path);
    auto cached = informer_.store().get(runtime::objectKey(folder.ns, folder.name));
    if (cached && cached->metadata.uid == folder.uid &&
        bindingOf(*cached, options_.node_name) == Binding::kHere) {
      continue;  // in use; no read needed
    }
    if (shared || disks_.hasMigrationMarker(folder)) {
      // On a shared root the folders of VMs bound to other nodes are theirs: reading each one
      // live on every resync would cost a request per VM of the cluster. A marked folder is the
      // migration's (the controller reports it when the migration goes without its cleanup).
      continue;
    }
    {
      std::lock_guard lock(mu_);
      if (reported_orphan_folders_.count(path) > 0) {
        ++orphans;  // an orphan stays one unless a VM bound here claims it (checked above)
        continue;
      }
    }
    if (reads >= kMaxFolderReadsPerScan) {
      continue;  // the next resync reads the rest
    }
    ++reads;
    // Decided on a live read only: the cache may lag a binding or a new VM.
    FolderFacts facts{.node = options_.node_name, .uid = folder.uid};
    auto live = client_->get(kube::kVirtualMachine, folder.ns, folder.name);
    if (live.isOk()) {
      auto vm = api::fromJson<api::VirtualMachine>(*live);
      if (!vm.isOk()) {
        spdlog::warn("node-daemon: VM folder {}: cannot decode VM {}/{}: {}", path, folder.ns,
                     folder.name, vm.status().toString());
        continue;
      }
      facts.vm = std::move(vm).value();
    } else if (live.status().code() != core::StatusCode::kNotFound) {
      continue;  // cannot tell now; the next scan asks again
    }
    const FolderDecision decision = decideFolder(facts);
    if (decision.verdict == FolderVerdict::kOrphan) {
      ++orphans;
      reportOrphanFolder(folder, decision.why);
    }
  }
  {
    std::lock_guard lock(mu_);
    std::erase_if(reported_orphan_folders_,
                  [&](const std::string& path) { return present.count(path) == 0; });
  }
  if (metrics_) {
    metrics_->setOrphanedVmFolders(orphans);
  }
}

runtime::ObjectReference VmReconciler::nodeHypervisor() const {
  runtime::ObjectReference hv;
  hv.api_version = std::string(api::kApiVersion);
  hv.kind = std::string(api::kHypervisorKind);
  hv.name = options_.node_name;
  return hv;
}

void VmReconciler::reportOrphanFolder(const storage::VmFolder& folder, const std::string& why) {
  const std::string& path = folder.path;
  {
    std::lock_guard lock(mu_);
    if (!reported_orphan_folders_.insert(path).second) {
      return;  // once per folder and process; the metric keeps the current count
    }
  }
  const std::string message = "VM folder " + path + " (VM " + folder.ns + "/" + folder.name +
                              ") is not used by any VM bound to this node: " + why +
                              "; it is kept (it may hold the only copy of the data) for an "
                              "operator to remove";
  spdlog::warn("node-daemon: {}", message);
  if (recorder_) {
    recorder_->event(nodeHypervisor(), "Warning", "OrphanedVmDisks", message);
  }
}

void VmReconciler::downloadFinished(const std::string& url) {
  for (const auto& vm : informer_.store().list()) {
    if (usesImage(*vm, url)) {
      loop_.queue().add(vmKey(*vm));
    }
  }
}

void VmReconciler::collectImages() {
  std::vector<api::VirtualMachine> vms;
  for (const auto& vm : informer_.store().list()) {
    vms.push_back(*vm);
  }
  const int removed = disks_.collectGarbage(vms);
  if (removed > 0) {
    spdlog::info("node-daemon: removed {} unused cached image(s)", removed);
  }
}

void VmReconciler::fenceChanged() {
  for (const auto& key : informer_.store().keys()) {
    loop_.queue().add(key);
  }
  scanDomains();
}

Status VmReconciler::destroyWhileFenced(const std::string& dname) {
  auto info = conn_.lookupByName(dname);
  if (!info.isOk()) {
    return info.status().code() == core::StatusCode::kNotFound ? Status::ok() : info.status();
  }
  auto md = conn_.domainMetadata(dname, std::string(domain::kMetadataNamespace));
  if (!md.isOk() || !domain::parseMetadata(*md).isOk() || !info->active) {
    return Status::ok();  // not ours, or not running
  }
  Status s = conn_.destroyDomain(dname);
  if (!alreadyDone(s)) {
    return s;
  }
  forgetShutdown(dname);
  spdlog::error("node-daemon: fenced: destroyed domain {} (its disks are kept)", dname);
  return Status::ok();
}

void VmReconciler::reportUnclaimed(const std::string& domain_name) {
  {
    std::lock_guard lock(mu_);
    if (!reported_unclaimed_.insert(domain_name).second) {
      return;  // once per domain and process; the metric keeps the current count
    }
  }
  spdlog::warn("node-daemon: domain {} is not managed by NovaCron; leaving it alone", domain_name);
  if (recorder_) {
    recorder_->event(nodeHypervisor(), "Warning", "UnclaimedDomain",
                     "libvirt domain " + domain_name +
                         " on this node is not managed by NovaCron; it is left alone");
  }
}

// --- reconcile: observe, decide, act ------------------------------------------------------------

StatusOr<ReconcileResult> VmReconciler::reconcile(const std::string& key) {
  auto [ns, name] = runtime::splitObjectKey(key);
  auto dname = domain::domainName(ns, name);
  if (!dname.isOk()) {
    spdlog::warn("node-daemon: ignoring key {}: {}", key, dname.status().toString());
    return ReconcileResult::done();
  }
  if (options_.fenced && options_.fenced()) {
    NOVACRON_RETURN_IF_ERROR(destroyWhileFenced(*dname));
    return ReconcileResult::done();
  }
  auto cached = informer_.store().get(key);
  if (!cached) {
    status_written_.forget(key);
    NOVACRON_RETURN_IF_ERROR(handleAbsent(ns, name, *dname));
    return ReconcileResult::done();
  }
  const api::VirtualMachine& vm = *cached;  // never modified: every write builds a copy
  const Binding binding = bindingOf(vm, options_.node_name);
  const bool deleting_unbound = vm.metadata.deletionTimestamp && binding == Binding::kUnbound;
  if (binding != Binding::kHere && !deleting_unbound) {
    return notBoundHere(vm, *dname, binding);
  }
  const auto& fins = vm.metadata.finalizers;
  if (vm.metadata.deletionTimestamp && binding == Binding::kHere &&
      std::find(fins.begin(), fins.end(), api::kNodeCleanupFinalizer) != fins.end()) {
    NOVACRON_ASSIGN_OR_RETURN(auto shutting_down, shutDownBeforeCleanup(vm, *dname));
    if (shutting_down) {
      return *shutting_down;
    }
  }
  return runtime::finalizer<api::VirtualMachine>(
      *client_, kube::kVirtualMachine, vm, api::kNodeCleanupFinalizer,
      {.apply = [&](api::VirtualMachine stored) { return apply(stored, *dname); },
       .cleanup = [&](const api::VirtualMachine& v) { return cleanup(v, *dname); }});
}

StatusOr<std::optional<ReconcileResult>> VmReconciler::shutDownBeforeCleanup(
    const api::VirtualMachine& vm, const std::string& dname) {
  if (migrationInProgress(vm)) {
    return std::optional<ReconcileResult>();  // the migration owns the domain; cleanup as before
  }
  NOVACRON_ASSIGN_OR_RETURN(std::string want_uuid, domain::domainUuid(vm.metadata.uid));
  NOVACRON_ASSIGN_OR_RETURN(Observation observed, observe(dname));
  if (!observed.domain || observed.domain->uuid != want_uuid || !isActive(observed.domain->state)) {
    return std::optional<ReconcileResult>();
  }
  // Deleting stops the VM exactly as runStrategy Halted does: ACPI, then the grace period.
  api::VirtualMachine halted = vm;
  halted.spec.runStrategy = api::RunStrategy::kHalted;
  const PowerDecision decision = decidePower(powerInputs(halted, observed));
  NOVACRON_RETURN_IF_ERROR(powerAction(vm, dname, decision, observed));
  if (decision.action == PowerAction::kDestroy) {
    return std::optional<ReconcileResult>();  // off now (forced): cleanup goes on
  }
  const api::Timestamp now = api::toTimestamp(options_.clock->wallNow());
  api::VirtualMachineStatus status = vm.status;
  status.phase = api::VirtualMachinePhase::kStopping;
  api::setCondition(
      status.conditions,
      {std::string(api::kConditionReady),
       api::ConditionStatus::kFalse,
       vm.metadata.generation,
       {},
       std::string(decision.reason),
       "the VM is being deleted: the guest of " + dname + " was asked to shut down (" +
           std::to_string(vm.spec.terminationGracePeriodSeconds) +
           " s grace period, then it is powered off)",
       {}},
      now);
  NOVACRON_RETURN_IF_ERROR(writeStatus(vm, status));
  return std::optional<ReconcileResult>(
      ReconcileResult::after(decision.requeue_after.value_or(std::chrono::milliseconds(1000))));
}

StatusOr<Observation> VmReconciler::observe(const std::string& dname) {
  Observation o;
  o.now = options_.clock->now();
  auto info = conn_.lookupByName(dname);
  if (info.isOk()) {
    o.domain = std::move(info).value();
  } else if (info.status().code() != core::StatusCode::kNotFound) {
    return info.status();
  }
  std::lock_guard lock(mu_);
  auto it = shutdown_requested_.find(dname);
  if (it != shutdown_requested_.end()) {
    o.shutdown_requested_at = it->second;
  }
  if (auto r = restarted_for_.find(dname); r != restarted_for_.end()) {
    o.restarted_for = r->second;
  }
  return o;
}

StatusOr<ReconcileResult> VmReconciler::apply(const api::VirtualMachine& vm,
                                              const std::string& dname) {
  const api::Timestamp now_wall = api::toTimestamp(options_.clock->wallNow());
  if (failedForThisGeneration(vm)) {
    return ReconcileResult::done();  // reported already; tried again once the spec changes
  }
  // Defence in depth: the API server and the controller check the spec too; the node-daemon never
  // builds a domain or a path from an invalid one.
  if (Status valid = api::validate(vm); !valid.isOk()) {
    NOVACRON_RETURN_IF_ERROR(
        writeStatus(vm, invalidSpecStatus(vm, kReasonInvalidSpec, valid.message(), now_wall)));
    return ReconcileResult::done();  // nothing to retry until the spec changes
  }

  if (auto bridge = disallowedBridge(vm, options_.allowed_bridges)) {
    const std::string msg = "bridge '" + *bridge + "' is not offered to VMs on " +
                            options_.node_name + " (node-daemon --allowed-bridges)";
    event(vm, "Warning", kReasonBridgeNotAllowed, msg);
    NOVACRON_RETURN_IF_ERROR(
        writeStatus(vm, invalidSpecStatus(vm, kReasonBridgeNotAllowed, msg, now_wall)));
    return ReconcileResult::done();
  }

  // Observe.
  NOVACRON_ASSIGN_OR_RETURN(std::string want_uuid, domain::domainUuid(vm.metadata.uid));
  NOVACRON_ASSIGN_OR_RETURN(Observation observed, observe(dname));
  if (observed.domain && observed.domain->uuid != want_uuid) {
    // A domain of this name belongs to another incarnation of the VM (deleted and recreated
    // while this node was away). Do not touch it; its own cleanup path removes it.
    const std::string msg = "domain " + dname + " exists with uuid " + observed.domain->uuid +
                            ", expected " + want_uuid + "; waiting for the old domain to go";
    event(vm, "Warning", "DomainConflict", msg);
    NOVACRON_RETURN_IF_ERROR(handleAbsent(vm.metadata.namespace_, vm.metadata.name, dname));
    return ReconcileResult::after(5s);
  }
  if (!observed.domain || !isActive(observed.domain->state)) {
    forgetShutdown(dname);
  }

  // Decide. While a migration moves the VM it owns the domain: report, never act.
  const bool migrating = migrationInProgress(vm);
  const PowerDecision decision =
      migrating ? migratingDecision(observed.domain) : decidePower(powerInputs(vm, observed));

  // Act.
  Status acted = powerAction(vm, dname, decision, observed);
  if (acted.code() == core::StatusCode::kUnavailable && acted.retryAfter()) {
    // Images are downloading (or a failed download waits for its retry): reported through
    // status already; a wait, not an error for the loop to log again and again.
    return ReconcileResult::after(*acted.retryAfter());
  }
  // A terminal error was reported through status already; the loop logs and counts it and does
  // not retry it until the VM changes.
  NOVACRON_RETURN_IF_ERROR(acted);

  // Observe again and report what is there now.
  NOVACRON_ASSIGN_OR_RETURN(Observation after, observe(dname));
  const PowerDecision now =
      migrating ? migratingDecision(after.domain) : decidePower(powerInputs(vm, after));
  ReportInputs report;
  report.node = options_.node_name;
  report.domain_name = dname;
  report.after = after.domain;
  report.decision = now;
  report.now = now_wall;
  report.started_now = decision.action == PowerAction::kStart ||
                       decision.action == PowerAction::kRestart || restartNotReported(vm, after);
  {
    std::lock_guard lock(mu_);
    if (auto it = started_at_.find(dname); it != started_at_.end()) {
      report.last_start = it->second;
    }
  }
  if (after.domain) {
    report.interfaces = interfaces(vm, dname, isRunning(after.domain->state));
  }
  NOVACRON_RETURN_IF_ERROR(writeStatus(vm, reportedStatus(vm, report)));

  ReconcileResult result;
  if (now.requeue_after) {
    result = ReconcileResult::after(*now.requeue_after);
  } else if (decision.requeue_after) {
    result = ReconcileResult::after(*decision.requeue_after);
  } else if (now.action != PowerAction::kNone) {
    result = ReconcileResult::after(1s);  // an action is still in progress (e.g. a shutdown)
  }
  return result;
}

Status VmReconciler::powerAction(const api::VirtualMachine& vm, const std::string& dname,
                                 const PowerDecision& decision, const Observation& observed) {
  switch (decision.action) {
  case PowerAction::kStart:
    return startDomain(vm, dname, observed.domain.has_value());
  case PowerAction::kShutdown: {
    Status s = conn_.shutdownDomain(dname);
    if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
      return s;
    }
    spdlog::info("node-daemon: VM {}: asked the guest of {} to shut down (grace period {} s)",
                 vmKey(vm), dname, vm.spec.terminationGracePeriodSeconds);
    std::lock_guard lock(mu_);
    shutdown_requested_[dname] = observed.now;
    return Status::ok();
  }
  case PowerAction::kDestroy: {
    Status s = conn_.destroyDomain(dname);
    if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
      return s;
    }
    if (decision.reason == kReasonGracePeriodExpired) {
      const std::string msg = "the guest did not shut down within " +
                              std::to_string(vm.spec.terminationGracePeriodSeconds) +
                              " s (terminationGracePeriodSeconds); domain " + dname +
                              " was forced off";
      spdlog::warn("node-daemon: VM {}: {}", vmKey(vm), msg);
      event(vm, "Warning", kReasonGracePeriodExpired, msg);
    } else {
      spdlog::info("node-daemon: VM {}: powered off {}", vmKey(vm), dname);
    }
    forgetShutdown(dname);
    return Status::ok();
  }
  case PowerAction::kSuspend:
    NOVACRON_RETURN_IF_ERROR(conn_.suspendDomain(dname));
    spdlog::info("node-daemon: VM {}: paused {}", vmKey(vm), dname);
    return Status::ok();
  case PowerAction::kResume:
    NOVACRON_RETURN_IF_ERROR(conn_.resumeDomain(dname));
    spdlog::info("node-daemon: VM {}: resumed {}", vmKey(vm), dname);
    return Status::ok();
  case PowerAction::kRestart: {
    Status s = conn_.destroyDomain(dname);
    if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
      return s;
    }
    forgetShutdown(dname);
    {
      std::lock_guard lock(mu_);
      restarted_for_[dname] = *vm.spec.restartRequestedAt;
    }
    spdlog::info("node-daemon: VM {}: restarting {} (restart requested at {})", vmKey(vm), dname,
                 api::formatTimestamp(*vm.spec.restartRequestedAt));
    return startDomain(vm, dname, true);
  }
  case PowerAction::kNone:
    return Status::ok();
  }
  return Status::ok();
}

Status VmReconciler::diskNotReady(const api::VirtualMachine& vm, const Status& s) {
  const api::Timestamp now = api::toTimestamp(options_.clock->wallNow());
  if (s.code() == core::StatusCode::kUnavailable && s.retryAfter()) {
    // Still downloading (off the workers): phase Starting, Ready=False/Starting naming the image
    // (without the byte count, so the status is written once, not at every poll).
    std::string what = s.message();
    if (auto colon = what.rfind(": "); colon != std::string::npos) {
      what.resize(colon);
    }
    if (!(vm.status.phase == api::VirtualMachinePhase::kStarting)) {
      spdlog::info("node-daemon: VM {}: preparing disks: {}", vmKey(vm), what);
    }
    NOVACRON_RETURN_IF_ERROR(
        writeStatus(vm, startingStatus(vm, kReasonStarting, "preparing disks: " + what, now)));
    return s;
  }
  if (s.code() == core::StatusCode::kInvalidArgument) {
    // The spec names something this node can never use (a crafted image, a digest mismatch):
    // report it and wait for the spec to change instead of retrying.
    event(vm, "Warning", kReasonDiskPreparationFailed, s.message());
    NOVACRON_RETURN_IF_ERROR(
        writeStatus(vm, invalidSpecStatus(vm, kReasonDiskPreparationFailed, s.message(), now)));
    return core::terminal(
        s.withContext("VM " + vmKey(vm) + ": " + std::string(kReasonDiskPreparationFailed)));
  }
  if (s.code() == core::StatusCode::kUnavailable) {
    // A download failed (network, HTTP error): say so in status, an Event and one log line; the
    // image store tries again after its failure TTL (a finished download requeues the VM).
    const api::Condition* ready = api::findCondition(vm.status.conditions, api::kConditionReady);
    if (!ready || ready->reason != kReasonImageDownloadFailed || ready->message != s.message()) {
      spdlog::warn("node-daemon: VM {}: {}: {}", vmKey(vm), kReasonImageDownloadFailed,
                   s.message());
      event(vm, "Warning", kReasonImageDownloadFailed, s.message());
    }
    NOVACRON_RETURN_IF_ERROR(
        writeStatus(vm, startingStatus(vm, kReasonImageDownloadFailed, s.message(), now)));
    return s.retryAfter() ? s : s.withRetryAfter(kImageRetryInterval);
  }
  event(vm, "Warning", kReasonDiskPreparationFailed, s.message());
  return s;
}

Status VmReconciler::startDomain(const api::VirtualMachine& vm, const std::string& dname,
                                 bool defined) {
  if (!defined) {
    auto prepared = disks_.prepare(vm);
    if (!prepared.isOk()) {
      return diskNotReady(vm, prepared.status());
    }
    domain::DomainInputs inputs;
    inputs.domain_type = options_.domain_type;
    inputs.arch = options_.arch;
    inputs.nat_network = options_.nat_network;
    inputs.serial_log_path = prepared->serial_log_path;
    inputs.kernel_path = prepared->kernel_path;
    inputs.initrd_path = prepared->initrd_path;
    inputs.disks = prepared->disks;
    NOVACRON_ASSIGN_OR_RETURN(std::string xml, domain::buildDomainXml(vm, inputs));
    auto d = conn_.defineDomain(xml);
    if (!d.isOk()) {
      event(vm, "Warning", "DefineFailed", d.status().message());
      return d.status();
    }
  }
  Status s = conn_.startDomain(dname);
  if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
    event(vm, "Warning", "StartFailed", s.message());
    return s;
  }
  {
    std::lock_guard lock(mu_);
    started_at_[dname] = api::toTimestamp(options_.clock->wallNow());
  }
  spdlog::info("node-daemon: VM {}: started domain {}", vmKey(vm), dname);
  event(vm, "Normal", "Started", "domain " + dname + " started on " + options_.node_name);
  return Status::ok();
}

StatusOr<ReconcileResult> VmReconciler::notBoundHere(const api::VirtualMachine& vm,
                                                     const std::string& dname, Binding binding) {
  if (binding == Binding::kElsewhere && !migrationInProgress(vm)) {
    NOVACRON_RETURN_IF_ERROR(stopStrayCopy(
        vm, dname, "the VM is bound to hypervisor " + vm.status.hypervisor.value_or("")));
  }
  // Unbound (e.g. a hand-set label): nothing is started here until the controller binds it.
  return ReconcileResult::done();
}

Status VmReconciler::stopStrayCopy(const api::VirtualMachine& vm, const std::string& dname,
                                   const std::string& why) {
  auto info = conn_.lookupByName(dname);
  if (!info.isOk()) {
    return info.status().code() == core::StatusCode::kNotFound ? Status::ok() : info.status();
  }
  auto want = domain::domainUuid(vm.metadata.uid);
  if (!want.isOk() || info->uuid != *want) {
    return Status::ok();  // not this VM's domain
  }
  if (!info->active) {
    if (info->shutoff_reason == virt::ShutoffReason::kMigrated) {
      // The definition a completed migration left behind: the guest runs on its new node now.
      // Only the definition goes; the disks may be the very files the target uses.
      Status u = conn_.undefineDomain(dname);
      if (!u.isOk() && u.code() != core::StatusCode::kNotFound) {
        return u;
      }
      spdlog::info("node-daemon: VM {}: removed the definition of {} left by its migration",
                   vmKey(vm), dname);
    }
    return Status::ok();  // not running: nothing runs twice
  }
  Status s = conn_.destroyDomain(dname);
  if (!alreadyDone(s)) {
    return s;
  }
  forgetShutdown(dname);
  const std::string msg =
      "stopped domain " + dname + " on " + options_.node_name + ": " + why + " (disks kept)";
  spdlog::warn("node-daemon: VM {}: {}", vmKey(vm), msg);
  event(vm, "Warning", "StrayCopyStopped", msg);
  return Status::ok();
}

Status VmReconciler::handleAbsent(const std::string& ns, const std::string& name,
                                  const std::string& dname) {
  auto info = conn_.lookupByName(dname);
  if (!info.isOk()) {
    forgetShutdown(dname);
    return info.status().code() == core::StatusCode::kNotFound ? Status::ok() : info.status();
  }
  auto md_xml = conn_.domainMetadata(dname, std::string(domain::kMetadataNamespace));
  if (!md_xml.isOk()) {
    return Status::ok();  // not ours: leave it alone
  }
  auto md = domain::parseMetadata(*md_xml);
  if (!md.isOk()) {
    return Status::ok();
  }
  // Confirm with a live read before destroying anything: the cache may just lag.
  auto live = client_->get(kube::kVirtualMachine, ns, name);
  if (live.isOk()) {
    auto vm = api::fromJson<api::VirtualMachine>(*live);
    if (vm.isOk() && vm->metadata.uid == md->vm_uid) {
      if (bindingOf(*vm, options_.node_name) == Binding::kHere) {
        return Status::ok();  // still ours (its label is being repaired): leave it running
      }
      if (migrationInProgress(*vm)) {
        return Status::ok();  // an incoming (or outgoing) migration owns this domain
      }
      return stopStrayCopy(*vm, dname, "the VM is no longer bound to this node");
    }
  } else if (live.status().code() != core::StatusCode::kNotFound) {
    return live.status();
  }
  spdlog::info("node-daemon: VM {}/{} (uid {}) is gone; removing its domain and disks", ns, name,
               md->vm_uid);
  return removeNodeResources(ns, name, md->vm_uid, dname);
}

Status VmReconciler::cleanup(const api::VirtualMachine& vm, const std::string& dname) {
  auto info = conn_.lookupByName(dname);
  if (info.isOk()) {
    auto want = domain::domainUuid(vm.metadata.uid);
    if (want.isOk() && info->uuid != *want) {
      // Same name, different VM incarnation: not ours to remove; leave the domain and its disks.
      spdlog::warn("node-daemon: domain {} has uuid {}, VM {} expects {}; leaving it", dname,
                   info->uuid, vmKey(vm), *want);
      return Status::ok();
    }
  } else if (info.status().code() != core::StatusCode::kNotFound) {
    return info.status();
  }
  // Only a pass that found something says so (a retried cleanup must not log it again).
  const bool had_something =
      info.isOk() || disks_.exists(vm.metadata.namespace_, vm.metadata.name, vm.metadata.uid);
  NOVACRON_RETURN_IF_ERROR(
      removeNodeResources(vm.metadata.namespace_, vm.metadata.name, vm.metadata.uid, dname));
  if (had_something) {
    spdlog::info("node-daemon: VM {}: cleaned up domain and disks", vmKey(vm));
  }
  return Status::ok();
}

Status VmReconciler::removeNodeResources(const std::string& ns, const std::string& name,
                                         const std::string& uid, const std::string& dname) {
  auto info = conn_.lookupByName(dname);
  if (info.isOk()) {
    if (info->active) {
      Status s = conn_.destroyDomain(dname);
      if (!alreadyDone(s)) {
        return s;
      }
    }
    Status s = conn_.undefineDomain(dname);
    if (!s.isOk() && s.code() != core::StatusCode::kNotFound) {
      return s;
    }
  } else if (info.status().code() != core::StatusCode::kNotFound) {
    return info.status();
  }
  bool had_disks = disks_.exists(ns, name, uid);
  NOVACRON_RETURN_IF_ERROR(disks_.remove(ns, name, uid));
  if ((info.isOk() || had_disks) && metrics_) {
    metrics_->countCleanup();
  }
  forgetShutdown(dname);
  std::lock_guard lock(mu_);
  started_at_.erase(dname);
  return Status::ok();
}

std::vector<api::VmInterfaceStatus> VmReconciler::interfaces(const api::VirtualMachine& vm,
                                                             const std::string& dname,
                                                             bool running) {
  // Each network type has the source that knows its addresses: a libvirt NAT network's dnsmasq
  // hands out the leases (kLease); on a host bridge only the host's ARP table has seen the guest.
  std::map<virt::AddressSource, std::vector<virt::InterfaceAddress>> by_source;
  if (running) {
    for (const auto& net : vm.spec.networks) {
      const auto source = net.type == api::NetworkType::kNat ? virt::AddressSource::kLease
                                                             : virt::AddressSource::kArp;
      if (by_source.count(source) != 0) {
        continue;
      }
      auto r = conn_.interfaceAddresses(dname, source);
      if (r.isOk()) {
        by_source[source] = std::move(*r);
      } else {
        by_source[source] = {};
        reportAddressFailure(vm, dname, source == virt::AddressSource::kLease ? "lease" : "arp",
                             r.status());
      }
    }
  }
  std::vector<api::VmInterfaceStatus> out;
  for (const auto& net : vm.spec.networks) {
    api::VmInterfaceStatus st;
    st.name = net.name;
    std::string mac = net.mac ? *net.mac : domain::macAddress(vm.metadata.uid, net.name);
    st.mac = mac;
    const auto source = net.type == api::NetworkType::kNat ? virt::AddressSource::kLease
                                                           : virt::AddressSource::kArp;
    if (auto it = by_source.find(source); it != by_source.end()) {
      for (const auto& a : it->second) {
        if (a.mac == mac && !a.ips.empty()) {
          st.ip = a.ips.front();
        }
      }
    }
    out.push_back(std::move(st));
  }
  return out;
}

void VmReconciler::reportAddressFailure(const api::VirtualMachine& vm, const std::string& dname,
                                        std::string_view source, const Status& s) {
  {
    std::lock_guard lock(mu_);
    if (!reported_address_failures_.insert(dname + "|" + std::string(source) + "|" + s.message())
             .second) {
      return;  // once per domain, source and message; the metric counts every failure
    }
  }
  spdlog::warn(
      "node-daemon: VM {}: cannot read the guest's addresses from libvirt ({} source): "
      "{}; status.interfaces[].ip stays empty",
      vmKey(vm), source, s.message());
}

Status VmReconciler::writeStatus(const api::VirtualMachine& vm,
                                 const api::VirtualMachineStatus& status) {
  if (vm.status == status) {
    return Status::ok();  // nothing changed: no write (reconcile stays idempotent)
  }
  const std::string key = vmKey(vm);
  api::VirtualMachine out = vm;
  out.status = status;
  kube::Json body = api::toJson(out);
  std::string fingerprint = body["status"].dump();
  if (status_written_.alreadyWritten(key, vm.metadata.resourceVersion, fingerprint)) {
    return Status::ok();  // written already; the cache has not shown it yet
  }
  if (status_written_.behindOwnWrite(key, vm.metadata.resourceVersion)) {
    // Another status, decided on a copy older than our last write (a domain event came before
    // that write's watch event): it would carry a stale resourceVersion and meet a 409. The watch
    // event brings the VM back, and the status is decided again on the copy that shows it.
    return Status::ok();
  }
  auto r = client_->updateStatus(kube::kVirtualMachine, vm.metadata.namespace_, body);
  if (!r.isOk()) {
    return r.status().withContext("writing status of " + key);
  }
  status_written_.wrote(key, vm.metadata.resourceVersion, std::move(fingerprint));
  return Status::ok();
}

void VmReconciler::event(const api::VirtualMachine& vm, std::string_view type,
                         std::string_view reason, const std::string& message) {
  if (recorder_) {
    recorder_->event(api::toJson(vm), type, reason, message);
  }
}

void VmReconciler::forgetShutdown(const std::string& dname) {
  std::lock_guard lock(mu_);
  shutdown_requested_.erase(dname);
}

}  // namespace novacron::node::vm
