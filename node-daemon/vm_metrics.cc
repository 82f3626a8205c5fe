#include "node-daemon/vm_metrics.h"

#include <array>
#include <functional>
#include <optional>
#include <set>

#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "node-daemon/domain/naming.h"

namespace novacron::node {

using virt::DomainStats;
using Raw = std::optional<std::uint64_t>;

struct VmMetrics::CounterSpec {
  const char* name;
  const char* help;
  double scale;  // raw unit -> exported unit
  std::function<Raw(const DomainStats&)> get;
};

struct VmMetrics::GaugeSpec {
  const char* name;
  const char* help;
  std::function<std::optional<double>(const DomainStats&)> get;
};

namespace {

constexpr double kKiB = 1024.0;

std::optional<double> scaled(Raw v, double scale) {
  return v ? std::optional(static_cast<double>(*v) * scale) : std::nullopt;
}

const std::array<VmMetrics::CounterSpec, 9>& counterSpecs() {
  static const std::array<VmMetrics::CounterSpec, 9> specs = {{
      {"novacron_vm_cpu_seconds_total", "CPU time of the VM's vCPUs and QEMU threads", 1e-9,
       [](const DomainStats& s) { return s.cpu_time_ns; }},
      {"novacron_vm_block_read_bytes_total", "Bytes read from the VM's disks", 1,
       [](const DomainStats& s) { return s.block_read_bytes; }},
      {"novacron_vm_block_write_bytes_total", "Bytes written to the VM's disks", 1,
       [](const DomainStats& s) { return s.block_write_bytes; }},
      {"novacron_vm_block_read_requests_total", "Read requests to the VM's disks", 1,
       [](const DomainStats& s) { return s.block_read_requests; }},
      {"novacron_vm_block_write_requests_total", "Write requests to the VM's disks", 1,
       [](const DomainStats& s) { return s.block_write_requests; }},
      {"novacron_vm_network_receive_bytes_total", "Bytes the VM's interfaces received", 1,
       [](const DomainStats& s) { return s.net_rx_bytes; }},
      {"novacron_vm_network_transmit_bytes_total", "Bytes the VM's interfaces sent", 1,
       [](const DomainStats& s) { return s.net_tx_bytes; }},
      {"novacron_vm_network_receive_packets_total", "Packets the VM's interfaces received", 1,
       [](const DomainStats& s) { return s.net_rx_packets; }},
      {"novacron_vm_network_transmit_packets_total", "Packets the VM's interfaces sent", 1,
       [](const DomainStats& s) { return s.net_tx_packets; }},
  }};
  return specs;
}

const std::array<VmMetrics::GaugeSpec, 5>& gaugeSpecs() {
  static const std::array<VmMetrics::GaugeSpec, 5> specs = {{
      {"novacron_vm_vcpus", "Current vCPUs of the VM",
       [](const DomainStats& s) { return scaled(s.vcpus, 1); }},
      {"novacron_vm_memory_actual_bytes", "Memory the VM has now (balloon size)",
       [](const DomainStats& s) { return scaled(s.balloon_current_kib, kKiB); }},
      {"novacron_vm_memory_resident_bytes", "Resident memory of the VM's QEMU process on the host",
       [](const DomainStats& s) { return scaled(s.balloon_rss_kib, kKiB); }},
      {"novacron_vm_memory_available_bytes",
       "Memory available to the guest as it reports it (needs its balloon driver)",
       [](const DomainStats& s) { return scaled(s.balloon_available_kib, kKiB); }},
      {"novacron_vm_memory_used_bytes",
       "Memory the guest uses: available minus unused (needs its balloon driver)",
       [](const DomainStats& s) -> std::optional<double> {
         if (!s.balloon_available_kib || !s.balloon_unused_kib ||
             *s.balloon_unused_kib > *s.balloon_available_kib) {
           return std::nullopt;
         }
         return static_cast<double>(*s.balloon_available_kib - *s.balloon_unused_kib) * kKiB;
       }},
  }};
  return specs;
}

}  // namespace

VmMetrics::VmMetrics(metrics::RegistryPtr registry, NodeMetricsPtr node_metrics,
                     std::size_t max_vms)
    : node_metrics_(std::move(node_metrics)), max_vms_(max_vms) {
  auto reg = registry ? std::move(registry) : metrics::defaultRegistry();
  for (const auto& spec : counterSpecs()) {
    counter_families_[&spec] =
        &prometheus::BuildCounter().Name(spec.name).Help(spec.help).Register(*reg);
  }
  for (const auto& spec : gaugeSpecs()) {
    gauge_families_[&spec] =
        &prometheus::BuildGauge().Name(spec.name).Help(spec.help).Register(*reg);
  }
}

void VmMetrics::update(const std::vector<DomainStats>& stats) {
  std::lock_guard lock(mu_);
  // VMs that left the node first, so their slots are free for new ones in this same update.
  std::set<std::string> present;
  for (const auto& s : stats) {
    present.insert(s.name);
  }
  for (auto it = vms_.begin(); it != vms_.end();) {
    if (present.contains(it->first)) {
      ++it;
    } else {
      remove(it->second);
      it = vms_.erase(it);
    }
  }
  std::size_t skipped = 0;
  for (const auto& s : stats) {
    auto vm = domain::parseDomainName(s.name);
    if (!vm) {
      continue;  // not a NovaCron VM
    }
    auto it = vms_.find(s.name);
    if (it == vms_.end()) {
      if (vms_.size() >= max_vms_) {
        ++skipped;
        continue;
      }
      Series series;
      series.labels = {{"namespace", vm->first}, {"name", vm->second}};
      it = vms_.emplace(s.name, std::move(series)).first;
    }
    updateOne(it->second, s);
  }
  if (skipped > 0) {
    if (node_metrics_) {
      node_metrics_->countDegraded("vm_metrics_limit");
    }
    if (!over_limit_logged_) {
      spdlog::warn("vm metrics: {} VMs over the limit of {} are not exported", skipped, max_vms_);
      over_limit_logged_ = true;
    }
  } else {
    over_limit_logged_ = false;
  }
}

void VmMetrics::updateOne(Series& series, const DomainStats& s) {
  for (const auto& spec : counterSpecs()) {
    Raw raw = spec.get(s);
    if (!raw) {
      continue;  // not reported now (e.g. shut off): the counter keeps its value
    }
    auto [it, created] = series.counters.try_emplace(&spec, nullptr);
    if (created) {
      it->second = &counter_families_.at(&spec)->Add(series.labels);
    }
    auto last = series.last_raw.find(&spec);
    std::uint64_t delta = (last != series.last_raw.end() && *raw >= last->second)
                              ? *raw - last->second
                              : *raw;  // first sample, or QEMU restarted its counters
    it->second->Increment(static_cast<double>(delta) * spec.scale);
    series.last_raw[&spec] = *raw;
  }
  for (const auto& spec : gaugeSpecs()) {
    auto value = spec.get(s);
    auto it = series.gauges.find(&spec);
    if (!value) {
      if (it != series.gauges.end()) {
        gauge_families_.at(&spec)->Remove(it->second);
        series.gauges.erase(it);
      }
      continue;
    }
    if (it == series.gauges.end()) {
      it = series.gauges.emplace(&spec, &gauge_families_.at(&spec)->Add(series.labels)).first;
    }
    it->second->Set(*value);
  }
}

void VmMetrics::remove(Series& series) {
  for (auto& [spec, counter] : series.counters) {
    counter_families_.at(spec)->Remove(counter);
  }
  for (auto& [spec, gauge] : series.gauges) {
    gauge_families_.at(spec)->Remove(gauge);
  }
  series.counters.clear();
  series.gauges.clear();
}

std::size_t VmMetrics::trackedVms() const {
  std::lock_guard lock(mu_);
  return vms_.size();
}

}  // namespace novacron::node
