// node-daemon micro/macro benchmarks; they print numbers and assert nothing.
//   domain XML generation for a VM with disks and NICs (pugixml), per call;
//   runStrategy decisions, per call;
//   define+start+destroy+undefine of N domains on libvirt's test driver (libvirt call overhead).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "node-daemon/domain/domain_xml.h"
#include "node-daemon/virt/libvirt_connection.h"
#include "node-daemon/vm/run_strategy.h"

namespace {

using namespace novacron;
using Clock = std::chrono::steady_clock;

api::VirtualMachine sampleVm(int i) {
  api::VirtualMachine vm;
  vm.metadata.namespace_ = "bench";
  vm.metadata.name = "vm-" + std::to_string(i);
  vm.metadata.uid = "uid-" + std::to_string(i);
  vm.spec.resources.cpus = 2;
  vm.spec.resources.memory = api::Quantity::fromBytes(256LL << 20);
  for (int d = 0; d < 3; ++d) {
    api::Disk disk;
    disk.name = "d" + std::to_string(d);
    disk.emptyDisk = api::EmptyDiskSource{};
    vm.spec.disks.push_back(disk);
  }
  api::Network n;
  n.name = "default";
  vm.spec.networks = {n};
  return vm;
}

node::domain::DomainInputs inputsFor(const api::VirtualMachine& vm, const std::string& type) {
  node::domain::DomainInputs in;
  in.domain_type = type;
  in.serial_log_path = "/tmp/bench/" + vm.metadata.name + "/serial.log";
  for (const auto& d : vm.spec.disks) {
    in.disks.push_back({d.name, "/tmp/bench/" + vm.metadata.name + "/" + d.name + ".qcow2",
                        node::domain::DiskFormat::kQcow2, false});
  }
  return in;
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  std::printf("node-daemon bench: n=%d (argv[1])\n", n);

  auto vm = sampleVm(0);
  auto in = inputsFor(vm, "kvm");
  size_t bytes = 0;
  auto t = Clock::now();
  for (int i = 0; i < n * 10; ++i) {
    bytes += node::domain::buildDomainXml(vm, in)->size();
  }
  double s = secondsSince(t);
  std::printf("domain XML: %d builds in %.3f s = %.1f us/build (%zu bytes each)\n", n * 10, s,
              s * 1e6 / (n * 10), bytes / static_cast<size_t>(n * 10));

  node::vm::PowerInputs pin;
  pin.domain_defined = true;
  int starts = 0;
  t = Clock::now();
  for (int i = 0; i < n * 1000; ++i) {
    pin.state =
        (i % 2) != 0 ? node::virt::DomainState::kRunning : node::virt::DomainState::kShutOff;
    starts += node::vm::decidePower(pin).action == node::vm::PowerAction::kStart ? 1 : 0;
  }
  s = secondsSince(t);
  std::printf("runStrategy: %d decisions in %.3f s = %.1f ns/decision (%d starts)\n", n * 1000, s,
              s * 1e9 / (n * 1000), starts);

  node::virt::LibvirtOptions lo;
  lo.uri = "test:///default";
  lo.keepalive_interval_s = -1;
  auto conn = node::virt::openLibvirt(lo);
  if (!conn.isOk()) {
    std::printf("libvirt test driver unavailable: %s\n", conn.status().toString().c_str());
    return 0;
  }
  t = Clock::now();
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto v = sampleVm(i);
    auto xml = node::domain::buildDomainXml(v, inputsFor(v, "test"));
    std::string name = "bench_vm-" + std::to_string(i);
    if ((*conn)->defineDomain(*xml).isOk() && (*conn)->startDomain(name).isOk() &&
        (*conn)->destroyDomain(name).isOk() && (*conn)->undefineDomain(name).isOk()) {
      ++ok;
    }
  }
  s = secondsSince(t);
  std::printf(
      "test driver lifecycle: %d/%d define+start+destroy+undefine in %.3f s = %.1f us each\n", ok,
      n, s, s * 1e6 / n);
  return 0;
}
