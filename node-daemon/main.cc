// novacron-node-daemon: parses flags and runs a NodeDaemon until SIGTERM/SIGINT.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <sstream>
#include <string>

#include <unistd.h>

#include "lib/api/quantity.h"
#include "lib/core/flags.h"
#include "lib/core/logging.h"
#include "lib/core/termination.h"
#include "node-daemon/node_daemon.h"
#include "node-daemon/storage/destination_policy.h"

namespace {

constexpr const char* kUsage = R"(usage: novacron-node-daemon [flags]
  --node-name NAME          Kubernetes node / Hypervisor name (default $NODE_NAME, else hostname)
  --kubeconfig PATH         kubeconfig (default $KUBECONFIG, else in-cluster)
  --libvirt-uri URI         libvirt connection (default qemu:///system)
  --domain-type TYPE        auto | kvm | qemu (TCG) (default auto: kvm when usable)
  --vm-root DIR             per-VM disks and logs (default /var/lib/novacron/vms)
  --image-root DIR          node image store (default /var/lib/novacron/images)
  --shared-vm-root BOOL     true when every hypervisor sees this VM root (shared storage):
                            migrations then never copy disks (default false)
  --nat-network NAME        libvirt network for type nat (default "default")
  --image-allowed-networks LIST
                            CIDRs and host names image URLs may reach although they are
                            loopback, link-local, private or otherwise non-public, e.g.
                            10.0.0.0/8,images.internal (default: none)
  --image-max-size Q        largest image download accepted, e.g. 20Gi (default 64Gi)
  --metrics-address ADDR    (default 0.0.0.0)
  --metrics-port PORT       /metrics, /healthz, /readyz (default 9101; 0 = any)
  --workers N               reconcile workers (default 2)
  --resync-seconds N        periodic resync (default 30)
  --heartbeat-seconds N     Lease renewal (default 10)
  --status-seconds N        Hypervisor status check: written when it changed (default 60)
  --status-report-seconds N an unchanged Hypervisor status is written again after N s
                            (default 300)
  --domain-inventory-seconds N
                            export novacron_node_domain_active{uuid} every N s (default 0: off)
  --reserved-cpus N         CPUs kept for the host (default 0)
  --reserved-memory Q       memory kept for the host, e.g. 1Gi (default 0)
  --reserved-storage Q      disk space of the VM root's filesystem not given to VM disks (default 0)
  --allowed-bridges LIST    host bridges VMs may attach to, comma-separated (default: none)
  --migration-libvirt-uri T libvirt URI of a migration target, {} = its address
                            (default qemu+tcp://{}/system)
  --migration-uri T         QEMU migration stream to a target, {} = its host (default tcp://{})
  --migration-tls-dir DIR   certificates for tls: true migrations in libvirt's pki layout
                            (cacert.pem, clientcert.pem, clientkey.pem, ...), passed to the
                            source libvirtd as pkipath (default: libvirt's /etc/pki paths)
  --migration-tls-source DIR
                            at start-up, install the certificates found in DIR (a mounted
                            Secret) into --migration-tls-dir under libvirt's and QEMU's names
  --log-level LEVEL         trace|debug|info|warn|error
  --log-format FORMAT       auto|text|json
)";

int usageError(const std::string& message) {
  std::fprintf(stderr, "novacron-node-daemon: %s\n%s", message.c_str(), kUsage);
  return 2;
}

int run(int argc, char** argv) {
  using novacron::node::NodeDaemonConfig;
  // Before any thread starts: SIGTERM/SIGINT are then only seen by the signal thread.
  novacron::core::TerminationSignals signals;
  auto parsed = novacron::core::FlagSet::parse(argc, argv);
  if (!parsed.isOk()) {
    return usageError(parsed.status().message());
  }
  if (parsed->helpRequested()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto take = [&](const std::string& name) { return parsed->take(name); };
  auto takeInt = [&](const std::string& name, int fallback) -> std::optional<int> {
    auto v = take(name);
    if (!v) {
      return fallback;
    }
    char* end = nullptr;
    long n = std::strtol(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0' || n < 0 || n > 1000000) {
      return std::nullopt;
    }
    return static_cast<int>(n);
  };

  auto log_options =
      novacron::core::resolveLogOptions("node-daemon", take("log-level"), take("log-format"));
  if (!log_options.isOk()) {
    return usageError(log_options.status().message());
  }
  if (auto s = novacron::core::initLogging(*log_options); !s.isOk()) {
    return usageError(s.message());
  }

  NodeDaemonConfig config;
  if (auto v = take("node-name")) {
    config.node_name = *v;
  } else if (const char* env = std::getenv("NODE_NAME")) {
    config.node_name = env;
  } else {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    config.node_name = host;
  }
  config.kubeconfig = take("kubeconfig").value_or("");
  config.libvirt_uri = take("libvirt-uri").value_or(config.libvirt_uri);
  config.domain_type = take("domain-type").value_or(config.domain_type);
  config.vm_root = take("vm-root").value_or(config.vm_root);
  config.image_root = take("image-root").value_or(config.image_root);
  if (auto shared = take("shared-vm-root")) {
    if (*shared != "true" && *shared != "false") {
      return usageError("--shared-vm-root: true or false");
    }
    config.shared_vm_root = *shared == "true";
  }
  config.nat_network = take("nat-network").value_or(config.nat_network);
  config.metrics_address = take("metrics-address").value_or(config.metrics_address);
  config.migration_libvirt_uri_template =
      take("migration-libvirt-uri").value_or(config.migration_libvirt_uri_template);
  config.migration_uri_template = take("migration-uri").value_or(config.migration_uri_template);
  config.migration_tls_dir = take("migration-tls-dir").value_or("");
  config.migration_tls_source = take("migration-tls-source").value_or("");
  if (auto bridges = take("allowed-bridges")) {
    std::stringstream list(*bridges);
    for (std::string b; std::getline(list, b, ',');) {
      if (!b.empty()) {
        config.allowed_bridges.push_back(b);
      }
    }
  }
  auto port = takeInt("metrics-port", config.metrics_port);
  auto workers = takeInt("workers", config.workers);
  auto resync = takeInt("resync-seconds", 30);
  auto heartbeat = takeInt("heartbeat-seconds", 10);
  auto status = takeInt("status-seconds", 60);
  auto status_report = takeInt("status-report-seconds", 300);
  auto reserved_cpus = takeInt("reserved-cpus", 0);
  auto inventory = takeInt("domain-inventory-seconds", 0);
  if (!port || *port > 65535 || !workers || !resync || !heartbeat || !status || !reserved_cpus ||
      !inventory || !status_report || *resync == 0 || *heartbeat == 0 || *status == 0 ||
      *workers == 0) {
    return usageError("a numeric flag has an invalid value");
  }
  config.metrics_port = *port;
  config.workers = *workers;
  config.resync = std::chrono::seconds(*resync);
  config.heartbeat = std::chrono::seconds(*heartbeat);
  config.status_interval = std::chrono::seconds(*status);
  config.status_report_interval = std::chrono::seconds(*status_report);
  config.reserved_cpus = *reserved_cpus;
  config.domain_inventory = std::chrono::seconds(*inventory);
  if (auto mem = take("reserved-memory")) {
    auto q = novacron::api::parseQuantity(*mem);
    if (!q.isOk() || *q < 0) {
      return usageError("--reserved-memory: invalid quantity " + *mem);
    }
    config.reserved_memory_bytes = *q;
  }
  if (auto storage = take("reserved-storage")) {
    auto q = novacron::api::parseQuantity(*storage);
    if (!q.isOk() || *q < 0) {
      return usageError("--reserved-storage: invalid quantity " + *storage);
    }
    config.reserved_storage_bytes = *q;
  }
  config.image_allowed_networks = take("image-allowed-networks").value_or("");
  if (auto policy =
          novacron::node::storage::DestinationPolicy::parse(config.image_allowed_networks);
      !policy.isOk()) {
    return usageError("--image-allowed-networks: " + policy.status().message());
  }
  if (auto max = take("image-max-size")) {
    auto q = novacron::api::parseQuantity(*max);
    if (!q.isOk() || *q <= 0) {
      return usageError("--image-max-size: invalid quantity " + *max);
    }
    config.image_max_bytes = *q;
  }
  if (auto unknown = parsed->checkAllTaken(); !unknown.isOk()) {
    return usageError(unknown.message());
  }
  if (config.vm_root.empty() || config.vm_root[0] != '/' || config.image_root.empty() ||
      config.image_root[0] != '/') {
    return usageError("--vm-root and --image-root must be absolute paths");
  }

  novacron::node::NodeDaemon daemon(config);
  signals.onSignal([&daemon] { daemon.stop(); });  // also unblocks a start() still retrying
  novacron::core::Status s = daemon.start();
  if (!s.isOk()) {
    std::fprintf(stderr, "novacron-node-daemon: %s\n", s.toString().c_str());
    daemon.stop();
    return 1;
  }
  signals.wait();  // returns after SIGTERM/SIGINT, once stop() ran
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Library code reports errors as Status values; anything thrown this far is a bug.
    std::fprintf(stderr, "%s: fatal: %s\n", "novacron-node-daemon", e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: fatal: unknown exception\n", "novacron-node-daemon");
  }
  return 1;
}
