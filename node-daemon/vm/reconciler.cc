#include "node-daemon/vm/reconciler.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "lib/api/codec.h"
#include "lib/api/validation.h"
#include "lib/runtime/finalizers.h"
#include "lib/runtime/store.h"
#include "node-daemon/domain/domain_xml.h"
#include "node-daemon/domain/metadata.h"
#include "node-daemon/domain/naming.h"
#include "node-daemon/vm/run_strategy.h"

namespace novacron::node::vm {
namespace {

using core::Status;
using core::StatusOr;
using namespace std::chrono_literals;

runtime::ReflectorOptions reflectorOptions(const ReconcilerOptions& o) {
  runtime::ReflectorOptions r;
  r.label_selector = std::string(api::kHypervisorLabel) + "=" + o.node_name;
  r.registry = o.registry;
  return r;
}

runtime::WorkQueueOptions queueOptions(const ReconcilerOptions& o) {
  runtime::WorkQueueOptions q;
  q.name = "node_vm";
  q.registry = o.registry;
  if (o.clock) {
    q.clock = o.clock;
  }
  return q;
}

bool hasFinalizer(const api::VirtualMachine& vm) {
  const auto& f = vm.metadata.finalizers;
  return std::find(f.begin(), f.end(), api::kNodeCleanupFinalizer) != f.end();
}

bool pauseRequested(const api::VirtualMachine& vm) {
  auto it = vm.metadata.annotations.find(std::string(kPausedAnnotation));
  return it != vm.metadata.annotations.end() && it->second == "true";
}

bool isActive(virt::DomainState s) {
  return s != virt::DomainState::kShutOff && s != virt::DomainState::kNoState &&
         s != virt::DomainState::kCrashed;
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
      queue_(queueOptions(options_)),
      informer_(client_, kube::kVirtualMachine, api::fromJson<api::VirtualMachine>,
                reflectorOptions(options_)) {
  if (!options_.clock) {
    options_.clock = core::systemClock();
  }
  informer_.addEventHandler(runtime::enqueueKeys<api::VirtualMachine>(queue_));
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
  event_subscription_ = conn_.subscribe([this](const virt::DomainEvent& ev) {
    if (auto parsed = domain::parseDomainName(ev.name)) {
      queue_.add(runtime::objectKey(parsed->first, parsed->second));
    }
  });
  scanDomains();  // adopt what already runs here
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    threads_.emplace_back([this] { worker(); });
  }
  threads_.emplace_back([this] { resyncLoop(); });
  return Status::ok();
}

void VmReconciler::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (event_subscription_ >= 0) {
    conn_.unsubscribe(event_subscription_);
    event_subscription_ = -1;
  }
  queue_.shutDown();
  for (auto& t : threads_) {
    t.join();
  }
  threads_.clear();
  informer_.stop();
}

void VmReconciler::worker() {
  while (auto key = queue_.get()) {
    auto result = reconcile(*key);
    if (!result.isOk()) {
      // A conflict only means our cached copy was stale: the retry re-reads it.
      if (result.status().code() == core::StatusCode::kConflict) {
        spdlog::debug("node-daemon: reconcile {}: {}", *key, result.status().toString());
      } else {
        spdlog::warn("node-daemon: reconcile {} failed: {}", *key, result.status().toString());
      }
      queue_.addRateLimited(*key);
    } else {
      queue_.forget(*key);
      if (result->requeue_after) {
        queue_.addAfter(*key, *result->requeue_after);
      }
    }
    queue_.done(*key);
  }
}

void VmReconciler::resyncLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, options_.resync, [this] { return stopping_; });
    if (stopping_) {
      return;
    }
    lock.unlock();
    for (const auto& key : informer_.store().keys()) {
      queue_.add(key);
    }
    scanDomains();
    lock.lock();
  }
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
      ++unclaimed;  // ours, but no VM bound here claims it (yet): reconcile decides
    }
    queue_.add(key);
  }
  if (metrics_) {
    metrics_->setDomainCounts(by_state);
    metrics_->setUnclaimedDomains(unclaimed);
  }
  if (unclaimed > 0) {
    spdlog::warn("node-daemon: {} domain(s) on this node are not claimed by a bound VM", unclaimed);
  }
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
    runtime::ObjectReference hv;
    hv.api_version = std::string(api::kApiVersion);
    hv.kind = std::string(api::kHypervisorKind);
    hv.name = options_.node_name;
    recorder_->event(hv, "Warning", "UnclaimedDomain",
                     "libvirt domain " + domain_name +
                         " on this node is not managed by NovaCron; it is left alone");
  }
}

StatusOr<ReconcileResult> VmReconciler::reconcile(const std::string& key) {
  auto [ns, name] = runtime::splitObjectKey(key);
  auto dname = domain::domainName(ns, name);
  if (!dname.isOk()) {
    spdlog::warn("node-daemon: ignoring key {}: {}", key, dname.status().toString());
    return ReconcileResult{};
  }
  auto cached = informer_.store().get(key);
  if (!cached) {
    NOVACRON_RETURN_IF_ERROR(handleAbsent(ns, name, *dname));
    return ReconcileResult{};
  }
  return reconcileVm(*cached, *dname);  // a copy: never modify the cache
}

Status VmReconciler::handleAbsent(const std::string& ns, const std::string& name,
                                  const std::string& dname) {
  {
    std::lock_guard lock(mu_);
    shutdown_requested_.erase(dname);
  }
  auto info = conn_.lookupByName(dname);
  if (!info.isOk()) {
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
  // Confirm with a live read that the VM is really gone before destroying anything.
  auto live = client_->get(kube::kVirtualMachine, ns, name);
  if (live.isOk()) {
    std::string uid = live->value("/metadata/uid"_json_pointer, std::string());
    if (uid == md->vm_uid) {
      return Status::ok();  // the VM exists (e.g. bound elsewhere during a move): leave it alone
    }
  } else if (live.status().code() != core::StatusCode::kNotFound) {
    return live.status();
  }
  spdlog::info("node-daemon: VM {}/{} (uid {}) is gone; removing its domain and disks", ns, name,
               md->vm_uid);
  return removeNodeResources(ns, name, md->vm_uid, dname);
}

Status VmReconciler::removeNodeResources(const std::string& ns, const std::string& name,
                                         const std::string& uid, const std::string& dname) {
  auto info = conn_.lookupByName(dname);
  if (info.isOk()) {
    if (info->active) {
      Status s = conn_.destroyDomain(dname);
      if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition &&
          s.code() != core::StatusCode::kNotFound) {
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
  std::lock_guard lock(mu_);
  shutdown_requested_.erase(dname);
  return Status::ok();
}

Status VmReconciler::cleanup(const api::VirtualMachine& vm, const std::string& dname) {
  if (!hasFinalizer(vm)) {
    return Status::ok();  // nothing of ours to clean up
  }
  auto info = conn_.lookupByName(dname);
  if (info.isOk()) {
    auto want = domain::domainUuid(vm.metadata.uid);
    if (want.isOk() && info->uuid != *want) {
      // Same name, different VM incarnation: not ours to remove; leave the domain, drop disks no.
      spdlog::warn("node-daemon: domain {} has uuid {}, VM {}/{} expects {}; leaving it", dname,
                   info->uuid, vm.metadata.namespace_, vm.metadata.name, *want);
    } else {
      NOVACRON_RETURN_IF_ERROR(
          removeNodeResources(vm.metadata.namespace_, vm.metadata.name, vm.metadata.uid, dname));
    }
  } else if (info.status().code() == core::StatusCode::kNotFound) {
    NOVACRON_RETURN_IF_ERROR(
        removeNodeResources(vm.metadata.namespace_, vm.metadata.name, vm.metadata.uid, dname));
  } else {
    return info.status();
  }
  auto removed = runtime::removeFinalizer(*client_, kube::kVirtualMachine, api::toJson(vm),
                                          api::kNodeCleanupFinalizer);
  if (!removed.isOk() && removed.status().code() != core::StatusCode::kNotFound) {
    return removed.status();
  }
  spdlog::info("node-daemon: cleaned up VM {}/{}", vm.metadata.namespace_, vm.metadata.name);
  return Status::ok();
}

StatusOr<ReconcileResult> VmReconciler::reconcileVm(api::VirtualMachine vm,
                                                    const std::string& dname) {
  if (vm.metadata.deletionTimestamp) {
    NOVACRON_RETURN_IF_ERROR(cleanup(vm, dname));
    return ReconcileResult{};
  }
  const api::VirtualMachine before = vm;
  const api::Timestamp now_wall = api::toTimestamp(options_.clock->wallNow());

  // The finalizer guards every node-side resource: add it before creating any.
  if (!hasFinalizer(vm)) {
    NOVACRON_ASSIGN_OR_RETURN(
        auto updated, runtime::addFinalizer(*client_, kube::kVirtualMachine, api::toJson(vm),
                                            api::kNodeCleanupFinalizer));
    NOVACRON_ASSIGN_OR_RETURN(vm, api::fromJson<api::VirtualMachine>(updated));
  }
  const api::VirtualMachine base = vm;  // what the server has now (status writes build on it)
  const int64_t generation = vm.metadata.generation;

  // Defence in depth: the API server and the controller (condition Valid) check the spec too;
  // the node-daemon never builds a domain or a path from an invalid one.
  Status valid = api::validate(vm);
  if (!valid.isOk()) {
    api::setCondition(vm.status.conditions,
                      {std::string(api::kConditionReady),
                       api::ConditionStatus::kFalse,
                       generation,
                       {},
                       "InvalidSpec",
                       valid.message(),
                       {}},
                      now_wall);
    vm.status.phase = api::VirtualMachinePhase::kFailed;
    vm.status.observedGeneration = generation;
    NOVACRON_RETURN_IF_ERROR(writeStatus(base, vm));
    return ReconcileResult{};
  }

  NOVACRON_ASSIGN_OR_RETURN(std::string want_uuid, domain::domainUuid(vm.metadata.uid));
  auto info = conn_.lookupByName(dname);
  if (!info.isOk() && info.status().code() != core::StatusCode::kNotFound) {
    return info.status();
  }
  bool defined = info.isOk();
  if (defined && info->uuid != want_uuid) {
    // A domain of this name belongs to another incarnation of the VM (deleted and recreated
    // while this node was away). Do not touch it; its own cleanup path removes it.
    std::string msg = "domain " + dname + " exists with uuid " + info->uuid + ", expected " +
                      want_uuid + "; waiting for the old domain to be removed";
    event(vm, "Warning", "DomainConflict", msg);
    return handleAbsent(vm.metadata.namespace_, vm.metadata.name, dname).isOk()
               ? StatusOr<ReconcileResult>(ReconcileResult{5s})
               : StatusOr<ReconcileResult>(core::abortedError(msg));
  }

  PowerInputs in;
  in.strategy = vm.spec.runStrategy;
  in.pause_requested = pauseRequested(vm);
  in.ever_started = vm.status.startTime.has_value();
  in.domain_defined = defined;
  in.state = defined ? info->state : virt::DomainState::kShutOff;
  in.stop_reason = defined && info->state == virt::DomainState::kShutOff
                       ? stopReasonFromLibvirt(info->state_reason)
                       : StopReason::kUnknown;
  in.grace_period = std::chrono::seconds(vm.spec.terminationGracePeriodSeconds);
  in.now = options_.clock->now();
  {
    std::lock_guard lock(mu_);
    auto it = shutdown_requested_.find(dname);
    if (it != shutdown_requested_.end()) {
      if (defined && isActive(in.state)) {
        in.shutdown_requested_at = it->second;
      } else {
        shutdown_requested_.erase(it);
      }
    }
  }
  PowerDecision decision = decidePower(in);

  switch (decision.action) {
  case PowerAction::kStart: {
    if (!defined) {
      auto prepared = disks_.prepare(vm);
      if (!prepared.isOk()) {
        Status s = prepared.status();
        event(vm, "Warning", "DiskPreparationFailed", s.message());
        if (s.isTerminal()) {
          api::setCondition(vm.status.conditions,
                            {std::string(api::kConditionReady),
                             api::ConditionStatus::kFalse,
                             generation,
                             {},
                             "DiskPreparationFailed",
                             s.message(),
                             {}},
                            now_wall);
          vm.status.phase = api::VirtualMachinePhase::kFailed;
          vm.status.observedGeneration = generation;
          NOVACRON_RETURN_IF_ERROR(writeStatus(base, vm));
          return ReconcileResult{};
        }
        return s;
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
    vm.status.startTime = now_wall;
    event(vm, "Normal", "Started", "domain " + dname + " started on " + options_.node_name);
    break;
  }
  case PowerAction::kShutdown: {
    Status s = conn_.shutdownDomain(dname);
    if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
      return s;
    }
    std::lock_guard lock(mu_);
    shutdown_requested_[dname] = in.now;
    break;
  }
  case PowerAction::kDestroy: {
    Status s = conn_.destroyDomain(dname);
    if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
      return s;
    }
    std::lock_guard lock(mu_);
    shutdown_requested_.erase(dname);
    break;
  }
  case PowerAction::kSuspend:
    NOVACRON_RETURN_IF_ERROR(conn_.suspendDomain(dname));
    break;
  case PowerAction::kResume:
    NOVACRON_RETURN_IF_ERROR(conn_.resumeDomain(dname));
    break;
  case PowerAction::kNone:
    break;
  }

  // Observe again after acting and report what is there now.
  ReconcileResult result;
  result.requeue_after = decision.requeue_after;
  auto after = conn_.lookupByName(dname);
  if (after.isOk()) {
    in.domain_defined = true;
    in.state = after->state;
    in.stop_reason = after->state == virt::DomainState::kShutOff
                         ? stopReasonFromLibvirt(after->state_reason)
                         : StopReason::kUnknown;
    in.ever_started = vm.status.startTime.has_value();
    {
      std::lock_guard lock(mu_);
      auto it = shutdown_requested_.find(dname);
      in.shutdown_requested_at =
          it != shutdown_requested_.end() ? std::optional(it->second) : std::nullopt;
    }
    PowerDecision now = decidePower(in);
    decision.phase = now.phase;
    decision.ready = now.ready;
    decision.reason = now.reason;
    if (now.action != PowerAction::kNone && !result.requeue_after) {
      result.requeue_after = 1s;
    }
    if (now.requeue_after) {
      result.requeue_after = now.requeue_after;
    }
    vm.status.domainUUID = after->uuid;
    bool running = after->state == virt::DomainState::kRunning ||
                   after->state == virt::DomainState::kBlocked ||
                   after->state == virt::DomainState::kPaused;
    if (running && !vm.status.startTime) {
      vm.status.startTime = now_wall;  // adopted a domain that was already running
    }
    vm.status.interfaces = interfaces(vm, dname, running);
  } else if (after.status().code() != core::StatusCode::kNotFound) {
    return after.status();
  }
  vm.status.phase = decision.phase;
  vm.status.observedGeneration = generation;
  api::setCondition(vm.status.conditions,
                    {std::string(api::kConditionReady),
                     decision.ready ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
                     generation,
                     {},
                     std::string(decision.reason),
                     decision.ready ? "domain " + dname + " is running on " + options_.node_name
                                    : "domain " + dname + ": " + std::string(decision.reason),
                     {}},
                    now_wall);
  NOVACRON_RETURN_IF_ERROR(writeStatus(base, vm));
  return result;
}

std::vector<api::VmInterfaceStatus> VmReconciler::interfaces(const api::VirtualMachine& vm,
                                                             const std::string& dname,
                                                             bool running) {
  std::vector<virt::InterfaceAddress> addrs;
  if (running && !vm.spec.networks.empty()) {
    for (auto source : {virt::AddressSource::kLease, virt::AddressSource::kArp}) {
      auto r = conn_.interfaceAddresses(dname, source);
      if (r.isOk() && !r->empty()) {
        addrs = std::move(*r);
        break;
      }
    }
  }
  std::vector<api::VmInterfaceStatus> out;
  for (const auto& net : vm.spec.networks) {
    api::VmInterfaceStatus st;
    st.name = net.name;
    std::string mac = net.mac ? *net.mac : domain::macAddress(vm.metadata.uid, net.name);
    st.mac = mac;
    for (const auto& a : addrs) {
      if (a.mac == mac && !a.ips.empty()) {
        st.ip = a.ips.front();
      }
    }
    out.push_back(std::move(st));
  }
  return out;
}

Status VmReconciler::writeStatus(const api::VirtualMachine& before,
                                 const api::VirtualMachine& after) {
  if (before.status == after.status) {
    return Status::ok();  // nothing changed: no write (reconcile stays idempotent)
  }
  auto r =
      client_->updateStatus(kube::kVirtualMachine, after.metadata.namespace_, api::toJson(after));
  if (!r.isOk()) {
    return r.status().withContext("writing status of " + after.metadata.namespace_ + "/" +
                                  after.metadata.name);
  }
  return Status::ok();
}

void VmReconciler::event(const api::VirtualMachine& vm, std::string_view type,
                         std::string_view reason, const std::string& message) {
  if (recorder_) {
    recorder_->event(api::toJson(vm), type, reason, message);
  }
}

}  // namespace novacron::node::vm
