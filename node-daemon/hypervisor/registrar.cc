#include "node-daemon/hypervisor/registrar.h"

#include <cstdio>
#include <ctime>

#include <spdlog/spdlog.h>

#include "lib/api/codec.h"
#include "lib/api/hypervisor.h"
#include "lib/kube/resource.h"

namespace novacron::node::hypervisor {
namespace {

using core::Status;

// An absent or unreadable lastHeartbeatTime makes the report due.
std::optional<api::Timestamp> heartbeatOf(const kube::Json& status) {
  auto it = status.find("lastHeartbeatTime");
  if (it == status.end() || !it->is_string()) {
    return std::nullopt;
  }
  return api::parseTimestamp(it->get<std::string>());
}

}  // namespace

bool statusReportDue(const kube::Json& reported, const kube::Json& computed,
                     std::chrono::milliseconds report_interval) {
  if (!reported.is_object() || !computed.is_object()) {
    return true;  // nothing reported yet
  }
  kube::Json before = reported;
  kube::Json after = computed;
  const auto last = heartbeatOf(before);
  const auto now = heartbeatOf(after);
  before.erase("lastHeartbeatTime");
  after.erase("lastHeartbeatTime");
  if (before != after || !last || !now) {
    return true;
  }
  return *now - *last >= report_interval;
}

std::string formatMicroTime(std::chrono::system_clock::time_point time) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(time);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time - secs).count();
  std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

HypervisorRegistrar::HypervisorRegistrar(kube::ClientPtr client, virt::Connection& conn,
                                         NodeMetricsPtr metrics, RegistrarOptions options)
    : client_(std::move(client)),
      conn_(conn),
      metrics_(std::move(metrics)),
      options_(std::move(options)),
      record_(options_.registration_record) {
  if (!options_.clock) {
    options_.clock = core::systemClock();
  }
}

HypervisorRegistrar::~HypervisorRegistrar() {
  stop();
}

Status HypervisorRegistrar::reportLibvirtUnavailable(const Status& cause) {
  auto current = client_->get(kube::kHypervisor, "", options_.node_name);
  if (!current.isOk()) {
    return current.status();
  }
  NOVACRON_ASSIGN_OR_RETURN(api::Hypervisor hv, api::fromJson<api::Hypervisor>(*current));
  const api::Timestamp now = api::toTimestamp(options_.clock->wallNow());
  if (!api::setCondition(hv.status.conditions,
                         {std::string(api::kConditionReady),
                          api::ConditionStatus::kFalse,
                          hv.metadata.generation,
                          {},
                          "LibvirtUnavailable",
                          cause.message(),
                          {}},
                         now)) {
    return Status::ok();
  }
  auto written = client_->updateStatus(kube::kHypervisor, "", api::toJson(hv));
  return written.isOk() ? Status::ok() : written.status();
}

Status HypervisorRegistrar::registerNode() {
  auto info_or = conn_.nodeInfo();
  auto caps_or = info_or.isOk() ? conn_.capabilities() : info_or.status();
  if (!caps_or.isOk()) {
    Status cause = caps_or.status();
    if (cause.code() == core::StatusCode::kUnavailable) {
      Status s = reportLibvirtUnavailable(cause);
      if (!s.isOk() && s.code() != core::StatusCode::kNotFound) {
        spdlog::warn("node-daemon: cannot report LibvirtUnavailable: {}", s.toString());
      }
    }
    return cause;
  }
  const virt::NodeInfo& info = *info_or;
  const virt::HostCapabilities& caps = *caps_or;

  auto current = client_->get(kube::kHypervisor, "", options_.node_name);
  if (!current.isOk() && current.status().code() == core::StatusCode::kNotFound &&
      (fenced_ || record_.uid())) {
    // Deleted after we registered it: fenced. Never re-create it on our own.
    setFenced(Fence::kDeleted);
    return core::failedPreconditionError(fenceMessage(Fence::kDeleted, options_.node_name));
  }
  if (!current.isOk() && current.status().code() == core::StatusCode::kNotFound) {
    api::Hypervisor fresh;
    fresh.metadata.name = options_.node_name;
    auto created = client_->create(kube::kHypervisor, "", api::toJson(fresh));
    if (!created.isOk() && created.status().code() != core::StatusCode::kAlreadyExists) {
      return created.status().withContext("creating Hypervisor " + options_.node_name);
    }
    if (created.isOk()) {
      spdlog::info("node-daemon: registered Hypervisor {}", options_.node_name);
      current = created;
    } else {
      current = client_->get(kube::kHypervisor, "", options_.node_name);
    }
  }
  if (!current.isOk()) {
    return current.status().withContext("reading Hypervisor " + options_.node_name);
  }
  NOVACRON_ASSIGN_OR_RETURN(api::Hypervisor hv, api::fromJson<api::Hypervisor>(*current));
  if (decideFence(hv, true) == Fence::kAnnotated) {
    setFenced(Fence::kAnnotated);
    return core::failedPreconditionError(fenceMessage(Fence::kAnnotated, options_.node_name));
  }
  setFenced(Fence::kNone);  // an administrator cleared it (or it never was)
  if (Status s = record_.write(hv.metadata.uid); !s.isOk()) {
    spdlog::warn("node-daemon: cannot record the Hypervisor's uid: {}", s.toString());
  }

  const api::Timestamp now = api::toTimestamp(options_.clock->wallNow());
  const int64_t memory_bytes =
      options_.memory_capacity_bytes.value_or(static_cast<int64_t>(info.memory_kib) * 1024);
  api::HypervisorResources capacity;
  capacity.cpus = static_cast<int32_t>(info.cpus);
  capacity.memory = api::Quantity::fromBytes(memory_bytes);
  // allocatable is what the host can give to VMs: capacity minus the host reservation. Overcommit
  // (spec.overcommit, else the controller's defaults) is applied once, by the controller's
  // scheduler, never here.
  api::HypervisorResources allocatable;
  allocatable.cpus = std::max<int32_t>(0, static_cast<int32_t>(info.cpus) - options_.reserved_cpus);
  allocatable.memory =
      api::Quantity::fromBytes(std::max<int64_t>(0, memory_bytes - options_.reserved_memory_bytes));

  if (options_.storage) {
    // Disk space is reported when it can be read; a failure leaves the last reported values (the
    // scheduler keeps counting against them) and is retried at the next refresh.
    if (auto space = options_.storage(); space.isOk()) {
      capacity.storage = api::Quantity::fromBytes(space->capacity_bytes);
      allocatable.storage = api::Quantity::fromBytes(
          std::max<int64_t>(0, space->capacity_bytes - options_.reserved_storage_bytes));
    } else {
      spdlog::warn("node-daemon: cannot read the VM root's disk space: {}",
                   space.status().toString());
      if (hv.status.capacity && hv.status.allocatable) {
        capacity.storage = hv.status.capacity->storage;
        allocatable.storage = hv.status.allocatable->storage;
      }
    }
  }

  const kube::Json reported = api::toJson(hv)["status"];
  auto& st = hv.status;
  st.capacity = capacity;
  st.allocatable = allocatable;
  st.cpuModel = caps.cpu_model.empty() ? info.cpu_model : caps.cpu_model;
  st.cpuFeatures = caps.cpu_features;
  st.virtualization =
      options_.domain_type == "kvm" ? api::Virtualization::kKvm : api::Virtualization::kEmulated;
  st.libvirtVersion = virt::formatVersion(caps.libvirt_version);
  if (caps.hypervisor_type == "QEMU") {
    st.qemuVersion = virt::formatVersion(caps.hypervisor_version);
  } else {
    st.qemuVersion.reset();
  }
  st.lastHeartbeatTime = now;
  api::setCondition(st.conditions,
                    {std::string(api::kConditionReady),
                     api::ConditionStatus::kTrue,
                     hv.metadata.generation,
                     {},
                     "NodeDaemonReady",
                     "node-daemon is connected to " + conn_.uri(),
                     {}},
                    now);
  api::setCondition(
      st.conditions,
      {std::string(api::kConditionKvmAvailable),
       options_.kvm_usable ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
       hv.metadata.generation,
       {},
       options_.kvm_usable ? "KVMUsable" : "Emulated",
       "domain type " + options_.domain_type +
           (options_.domain_type == "kvm" ? "" : " (TCG emulation)"),
       {}},
      now);
  kube::Json updated = api::toJson(hv);
  if (!statusReportDue(reported, updated["status"], options_.status_report_interval)) {
    return Status::ok();  // nothing changed and the last report is recent: no write
  }
  auto written = client_->updateStatus(kube::kHypervisor, "", updated);
  if (!written.isOk()) {
    return written.status().withContext("writing Hypervisor status");
  }
  return Status::ok();
}

void HypervisorRegistrar::setFenced(Fence fence) {
  const bool now_fenced = fence != Fence::kNone;
  if (fenced_.exchange(now_fenced) == now_fenced) {
    return;  // no change
  }
  if (now_fenced) {
    spdlog::error("node-daemon: {}", fenceMessage(fence, options_.node_name));
  } else {
    spdlog::warn("node-daemon: hypervisor {} is no longer fenced; resuming", options_.node_name);
  }
  if (options_.on_fence) {
    options_.on_fence(now_fenced ? std::optional(fenceMessage(fence, options_.node_name))
                                 : std::nullopt);
  }
}

Status HypervisorRegistrar::renewLease() {
  const std::string ns(kLeaseNamespace);
  const std::string now = formatMicroTime(options_.clock->wallNow());
  auto lease = client_->get(kube::kLease, ns, options_.node_name);
  if (!lease.isOk() && lease.status().code() == core::StatusCode::kNotFound) {
    kube::Json fresh = {{"apiVersion", "coordination.k8s.io/v1"},
                        {"kind", "Lease"},
                        {"metadata", {{"name", options_.node_name}, {"namespace", ns}}},
                        {"spec",
                         {{"holderIdentity", options_.node_name},
                          {"leaseDurationSeconds", options_.lease_duration.count()},
                          {"acquireTime", now},
                          {"renewTime", now}}}};
    auto created = client_->create(kube::kLease, ns, fresh);
    if (!created.isOk() && created.status().code() == core::StatusCode::kNotFound) {
      // Only a missing namespace makes a create NotFound. Creating it is the installer's job
      // (and outside our RBAC): say what to do; the heartbeat loop retries.
      return core::notFoundError("namespace " + ns + " does not exist: apply config/default");
    }
    if (!created.isOk()) {
      return created.status().withContext("creating Lease " + ns + "/" + options_.node_name);
    }
  } else if (!lease.isOk()) {
    return lease.status().withContext("reading Lease");
  } else {
    kube::Json updated = *lease;  // carries the resourceVersion it was read at
    updated["spec"]["holderIdentity"] = options_.node_name;
    updated["spec"]["leaseDurationSeconds"] = options_.lease_duration.count();
    updated["spec"]["renewTime"] = now;
    auto written = client_->update(kube::kLease, ns, updated);
    if (!written.isOk()) {
      return written.status().withContext("renewing Lease");
    }
  }
  last_renew_ = options_.clock->now();
  if (metrics_) {
    metrics_->setHeartbeatAge(0);
  }
  return Status::ok();
}

void HypervisorRegistrar::start() {
  heartbeat_thread_ = std::thread([this] { heartbeatLoop(); });
  thread_ = std::thread([this] { statusLoop(); });
}

void HypervisorRegistrar::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (heartbeat_thread_.joinable()) {
    heartbeat_thread_.join();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

// The heartbeat has its own thread and touches only the API server: a libvirtd that is down,
// restarting or hanging must not stop it (issue 18: the Hypervisor went Unknown although its
// guests were fine). libvirt trouble is reported by statusLoop() as Ready=False instead.
void HypervisorRegistrar::heartbeatLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    // A fenced node stops heartbeating: it must not look alive to the controller.
    Status s = fenced_ ? Status::ok() : renewLease();
    if (!s.isOk()) {
      spdlog::warn("node-daemon: heartbeat failed: {}", s.toString());
      if (metrics_) {
        metrics_->countHeartbeatFailure();
      }
    }
    if (metrics_ && last_renew_) {
      std::chrono::duration<double> age = options_.clock->now() - *last_renew_;
      metrics_->setHeartbeatAge(age.count());
    }
    lock.lock();
    options_.clock->waitFor(lock, cv_, options_.heartbeat_interval, [this] { return stopping_; });
  }
}

void HypervisorRegistrar::statusLoop() {
  auto next_status = options_.clock->now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    // While fenced, look every interval whether an administrator cleared it (logged once).
    if (fenced_ || options_.clock->now() >= next_status) {
      Status r = registerNode();
      if (r.isOk()) {
        next_status = options_.clock->now() + options_.status_interval;
      } else if (!fenced_) {
        spdlog::warn("node-daemon: updating Hypervisor status failed: {}", r.toString());
      }
    }
    lock.lock();
    options_.clock->waitFor(lock, cv_, options_.heartbeat_interval, [this] { return stopping_; });
  }
}

}  // namespace novacron::node::hypervisor
