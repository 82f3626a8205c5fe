#include "node-daemon/node_daemon.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "lib/core/backoff.h"
#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"
#include "lib/metrics/http_endpoint.h"
#include "lib/metrics/registry.h"
#include "lib/runtime/event_recorder.h"
#include "node-daemon/domain_inventory.h"
#include "node-daemon/health_checks.h"
#include "node-daemon/hypervisor/host_memory.h"
#include "node-daemon/hypervisor/registrar.h"
#include "node-daemon/migration/migrate_params.h"
#include "node-daemon/migration/migration_reconciler.h"
#include "node-daemon/migration/target_reconciler.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/storage/disk_manager.h"
#include "node-daemon/virt/domain_type.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "node-daemon/virt/volume_upload.h"
#include "node-daemon/vm/reconciler.h"
#include "node-daemon/vm_stats_poller.h"

namespace novacron::node {

struct NodeDaemon::Parts {
  NodeMetricsPtr metrics;
  virt::ConnectionPtr conn;
  kube::ClientPtr client;
  std::shared_ptr<runtime::EventRecorder> recorder;
  std::unique_ptr<storage::DiskManager> disks;
  std::unique_ptr<hypervisor::HypervisorRegistrar> registrar;
  std::unique_ptr<vm::VmReconciler> reconciler;
  std::unique_ptr<migration::SourceMigrationReconciler> migrations;
  std::unique_ptr<migration::TargetMigrationReconciler> incoming;
  std::unique_ptr<VmStatsPoller> vm_stats;     // per-VM novacron_vm_* metrics
  std::unique_ptr<DomainInventory> inventory;  // novacron_node_domain_active, when enabled
  metrics::HttpEndpointPtr endpoint;
  std::atomic<bool> libvirt_ok{false};
  std::atomic<bool> started{false};  // registration done and reconciler running
  // The reconciler while it runs, for the registrar's fence callback (which the registrar's
  // thread calls; that thread is joined before the reconciler is destroyed).
  std::atomic<vm::VmReconciler*> live_reconciler{nullptr};
};

NodeDaemon::NodeDaemon(NodeDaemonConfig config)
    : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

NodeDaemon::~NodeDaemon() {
  stop();
}

int NodeDaemon::metricsPort() const {
  return parts_->endpoint ? parts_->endpoint->port() : -1;
}

core::Status NodeDaemon::start() {
  auto& p = *parts_;
  p.metrics = std::make_shared<NodeMetrics>(metrics::defaultRegistry());

  metrics::HttpEndpointOptions eo;
  eo.address = config_.metrics_address;
  eo.port = static_cast<uint16_t>(config_.metrics_port);
  NOVACRON_ASSIGN_OR_RETURN(p.endpoint, metrics::startHttpEndpoint(eo));
  spdlog::info("node-daemon: metrics and health on {}:{}", config_.metrics_address,
               p.endpoint->port());
  Parts* parts = parts_.get();
  p.endpoint->addReadinessCheck("started", [parts] {
    return parts->started ? core::okStatus()
                          : core::unavailableError("connecting to libvirt and the API server");
  });

  // libvirtd may start after us (DaemonSet ordering): retry with backoff until stopped.
  core::ExponentialBackoff backoff(
      {std::chrono::milliseconds(200), std::chrono::seconds(10), 2.0, 0.2});
  virt::LibvirtOptions lo;
  lo.uri = config_.libvirt_uri;
  lo.metrics = p.metrics;
  if (config_.libvirt_uri.rfind("test:", 0) == 0) {
    lo.keepalive_interval_s = -1;
  }
  while (true) {
    auto conn = virt::openLibvirt(lo);
    if (conn.isOk()) {
      p.conn = std::move(conn).value();
      break;
    }
    if (stopping_) {
      return core::cancelledError("stopped while connecting to libvirt");
    }
    auto delay = backoff.next();
    spdlog::warn("node-daemon: cannot connect to {} ({}); retrying in {} ms", config_.libvirt_uri,
                 conn.status().message(), delay.count());
    std::this_thread::sleep_for(delay);
  }
  p.libvirt_ok = true;

  NOVACRON_ASSIGN_OR_RETURN(virt::HostCapabilities caps, p.conn->capabilities());
  const bool kvm_device = virt::kvmDeviceUsable();
  NOVACRON_ASSIGN_OR_RETURN(std::string domain_type,
                            virt::chooseDomainType(caps, kvm_device, config_.domain_type));
  const bool kvm_usable =
      kvm_device && std::find(caps.domain_types.begin(), caps.domain_types.end(), "kvm") !=
                        caps.domain_types.end();
  if (domain_type != "kvm") {
    spdlog::warn("node-daemon: running guests with domain type {} (no hardware acceleration)",
                 domain_type);
    p.metrics->countDegraded("tcg_emulation");
  }
  spdlog::info("node-daemon: node {} on {} ({} {}), domain type {}", config_.node_name,
               config_.libvirt_uri, caps.hypervisor_type,
               virt::formatVersion(caps.hypervisor_version), domain_type);

  NOVACRON_ASSIGN_OR_RETURN(
      kube::Config kc,
      kube::loadConfig(kube::configSourcesFromEnvironment(
          config_.kubeconfig.empty() ? std::nullopt : std::optional(config_.kubeconfig))));
  kube::RestClientOptions ro;
  ro.user_agent = "novacron-node-daemon/" + config_.node_name;
  NOVACRON_ASSIGN_OR_RETURN(p.client, kube::newRestClient(kc, ro));

  runtime::EventRecorderOptions evo;
  evo.component = "novacron-node-daemon";
  evo.host = config_.node_name;
  p.recorder = std::make_shared<runtime::EventRecorder>(p.client, evo);

  storage::NodePaths paths(config_.vm_root, config_.image_root);
  storage::HttpImageStoreOptions image_options;
  NOVACRON_ASSIGN_OR_RETURN(image_options.fetch.policy,
                            storage::DestinationPolicy::parse(config_.image_allowed_networks));
  image_options.fetch.max_bytes = static_cast<uint64_t>(config_.image_max_bytes);
  p.disks = std::make_unique<storage::DiskManager>(
      paths, storage::makeHttpImageStore(paths, image_options), storage::makeDiskTool());

  hypervisor::RegistrarOptions reg;
  reg.node_name = config_.node_name;
  reg.domain_type = domain_type;
  reg.kvm_usable = kvm_usable;
  reg.reserved_cpus = config_.reserved_cpus;
  reg.reserved_memory_bytes = config_.reserved_memory_bytes;
  reg.storage = [root = config_.vm_root] { return hypervisor::statFilesystem(root); };
  reg.reserved_storage_bytes = config_.reserved_storage_bytes;
  if (config_.libvirt_uri.rfind("qemu:///", 0) == 0) {
    // The libvirt host is this machine: count installed memory, not the moving MemTotal.
    reg.memory_capacity_bytes = hypervisor::installedMemoryBytes("/sys/devices/system/memory");
  }
  reg.heartbeat_interval = config_.heartbeat;
  reg.status_interval = config_.status_interval;
  reg.status_report_interval = config_.status_report_interval;
  // Per node: several nodes may share one VM root (shared storage).
  reg.registration_record = config_.vm_root + "/.novacron-hypervisor-" + config_.node_name + ".uid";
  Parts* fence_parts = parts_.get();
  reg.on_fence = [fence_parts](const std::optional<std::string>&) {
    if (auto* reconciler = fence_parts->live_reconciler.load()) {
      reconciler->fenceChanged();
    }
  };
  p.registrar =
      std::make_unique<hypervisor::HypervisorRegistrar>(p.client, *p.conn, p.metrics, reg);
  backoff.reset();
  while (true) {
    core::Status s = p.registrar->registerNode();
    if (s.isOk() || p.registrar->fenced()) {
      break;  // fenced: run in fenced mode (destroy our domains, start nothing) until cleared
    }
    if (stopping_) {
      return core::cancelledError("stopped while registering the Hypervisor");
    }
    if (!s.isRetryable()) {
      return s;
    }
    auto delay = backoff.next();
    spdlog::warn("node-daemon: registering Hypervisor failed ({}); retrying in {} ms", s.toString(),
                 delay.count());
    std::this_thread::sleep_for(delay);
  }
  p.registrar->start();

  vm::ReconcilerOptions vo;
  vo.node_name = config_.node_name;
  vo.domain_type = domain_type;
  vo.arch = caps.arch.empty() ? "x86_64" : caps.arch;
  vo.nat_network = config_.nat_network;
  vo.allowed_bridges = config_.allowed_bridges;
  vo.resync = config_.resync;
  vo.shared_vm_root = config_.shared_vm_root;
  vo.workers = config_.workers;
  hypervisor::HypervisorRegistrar* registrar = p.registrar.get();
  vo.fenced = [registrar] { return registrar->fenced(); };
  p.reconciler =
      std::make_unique<vm::VmReconciler>(p.client, *p.conn, *p.disks, p.metrics, p.recorder, vo);
  NOVACRON_RETURN_IF_ERROR(p.reconciler->start(std::chrono::seconds(60)));
  p.live_reconciler = p.reconciler.get();

  migration::SourceReconcilerOptions mo;
  mo.node_name = config_.node_name;
  mo.libvirt_uri_template = config_.migration_libvirt_uri_template;
  mo.migrate_uri_template = config_.migration_uri_template;
  mo.tls_pki_dir = config_.migration_tls_dir;
  // Missing certificates only make tls: true migrations fail (UnsupportedOptions): the Secret is
  // optional.
  if (!config_.migration_tls_source.empty() && !config_.migration_tls_dir.empty()) {
    if (core::Status s =
            migration::installTlsFiles(config_.migration_tls_source, config_.migration_tls_dir);
        !s.isOk()) {
      spdlog::warn("node-daemon: migration TLS certificates not installed: {}", s.toString());
    }
  }
  if (!config_.migration_tls_dir.empty()) {
    if (core::Status s = migration::checkTlsDir(config_.migration_tls_dir); !s.isOk()) {
      spdlog::warn("node-daemon: tls: true migrations will be refused: {}", s.toString());
    }
  }
  mo.vm_memory = [reconciler = p.reconciler.get()](const std::string& key) {
    auto vm = reconciler->informer().store().get(key);
    return vm ? std::optional<int64_t>(vm->spec.resources.memory.value()) : std::nullopt;
  };
  mo.vm_root = config_.vm_root;
  mo.image_root = config_.image_root;
  mo.remove_local_files = [reconciler = p.reconciler.get(),
                           disks = p.disks.get()](const std::string& key) -> core::Status {
    auto vm = reconciler->informer().store().get(key);
    return vm ? disks->remove(*vm) : core::okStatus();
  };
  mo.vm_grace_seconds = [reconciler = p.reconciler.get()](const std::string& key) {
    auto vm = reconciler->informer().store().get(key);
    return vm ? std::optional<int64_t>(vm->spec.terminationGracePeriodSeconds) : std::nullopt;
  };
  mo.vm_dir = [reconciler = p.reconciler.get(),
               disks = p.disks.get()](const std::string& key) -> std::optional<std::string> {
    auto vm = reconciler->informer().store().get(key);
    if (!vm) {
      return std::nullopt;
    }
    auto dir = disks->paths().vmDir(vm->metadata.namespace_, vm->metadata.name, vm->metadata.uid);
    return dir.isOk() ? std::optional(*dir) : std::nullopt;
  };
  mo.connect_target = [](const std::string& uri) {
    virt::LibvirtOptions target_options;
    target_options.uri = uri;
    return virt::openLibvirt(target_options);
  };
  mo.uploader = virt::makeLibvirtVolumeUploader();
  p.migrations =
      std::make_unique<migration::SourceMigrationReconciler>(p.client, *p.conn, p.recorder, mo);
  NOVACRON_RETURN_IF_ERROR(p.migrations->start(std::chrono::seconds(60)));
  migration::TargetReconcilerOptions to;
  to.node_name = config_.node_name;
  to.shared_vm_root = config_.shared_vm_root;
  p.incoming = std::make_unique<migration::TargetMigrationReconciler>(p.client, *p.conn, *p.disks,
                                                                      p.recorder, to);
  NOVACRON_RETURN_IF_ERROR(p.incoming->start(std::chrono::seconds(60)));

  p.vm_stats = std::make_unique<VmStatsPoller>(
      *p.conn, std::make_shared<VmMetrics>(p.metrics->registry(), p.metrics), p.metrics);
  p.vm_stats->start();
  if (config_.domain_inventory.count() > 0) {
    p.inventory = std::make_unique<DomainInventory>(*p.conn, p.metrics->registry(), p.metrics,
                                                    config_.domain_inventory);
    p.inventory->start();
  }

  vm::VmReconciler* reconciler = p.reconciler.get();
  addHealthChecks(*p.endpoint, *p.conn, [reconciler] { return reconciler->hasSynced(); });
  p.started = true;
  spdlog::info("node-daemon: running");
  return core::okStatus();
}

void NodeDaemon::stop() {
  stopping_ = true;
  auto& p = *parts_;
  if (p.endpoint) {
    p.endpoint->stop();
  }
  // The registrar first: its thread may call into the reconciler (fence changes).
  if (p.registrar) {
    p.registrar->stop();
  }
  p.live_reconciler = nullptr;
  if (p.incoming) {
    p.incoming->stop();
    p.incoming.reset();
  }
  p.vm_stats.reset();  // joins its thread before the connection goes
  p.inventory.reset();
  if (p.migrations) {
    p.migrations->stop();
    p.migrations.reset();  // aborts jobs still running: the guests stay on this node
  }
  if (p.reconciler) {
    p.reconciler->stop();
    p.reconciler.reset();
  }
  p.registrar.reset();
  if (p.recorder) {
    p.recorder->flush(std::chrono::seconds(2));
    p.recorder.reset();
  }
  p.endpoint.reset();
  p.conn.reset();
}

}  // namespace novacron::node
