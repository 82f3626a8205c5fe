#include "node-daemon/domain/domain_xml.h"

#include <map>
#include <sstream>

#include <pugixml.hpp>

#include "node-daemon/domain/metadata.h"
#include "node-daemon/domain/naming.h"

namespace novacron::node::domain {
namespace {

void text(pugi::xml_node parent, const char* name, const std::string& value) {
  parent.append_child(name).text().set(value.c_str());
}

void attr(pugi::xml_node node, const char* name, const std::string& value) {
  node.append_attribute(name).set_value(value.c_str());
}

std::string diskTarget(api::DiskBus bus, int index) {
  std::string prefix = bus == api::DiskBus::kVirtio ? "vd" : "sd";
  // vda..vdz, then vdaa.. (libvirt's naming); 26 * 27 disks is far beyond any sane VM.
  std::string suffix;
  int i = index;
  do {
    suffix.insert(suffix.begin(), static_cast<char>('a' + i % 26));
    i = i / 26 - 1;
  } while (i >= 0);
  return prefix + suffix;
}

bool isTcg(const std::string& domain_type) {
  return domain_type != "kvm";
}

void addCpu(pugi::xml_node dom, const api::VirtualMachine& vm, const std::string& domain_type) {
  std::string model(api::kDefaultCpuModel);
  std::optional<api::CpuTopology> topology;
  if (vm.spec.cpu) {
    model = vm.spec.cpu->model;
    topology = vm.spec.cpu->topology;
  }
  const bool host_mode = model == "host-model" || model == "host-passthrough";
  // Under TCG a host CPU mode makes no sense (and fails on some hosts): keep QEMU's default model.
  if (host_mode && isTcg(domain_type) && !topology) {
    return;
  }
  pugi::xml_node cpu = dom.append_child("cpu");
  if (host_mode) {
    if (!isTcg(domain_type)) {
      attr(cpu, "mode", model);
    }
  } else {
    attr(cpu, "mode", "custom");
    attr(cpu, "match", "exact");
    pugi::xml_node m = cpu.append_child("model");
    attr(m, "fallback", "forbid");
    m.text().set(model.c_str());
  }
  if (topology) {
    pugi::xml_node t = cpu.append_child("topology");
    attr(t, "sockets", std::to_string(topology->sockets));
    attr(t, "dies", "1");
    attr(t, "cores", std::to_string(topology->cores));
    attr(t, "threads", std::to_string(topology->threads));
  }
}

const char* formatName(DiskFormat format) {
  return format == DiskFormat::kQcow2 ? "qcow2" : "raw";
}

// <backingStore type='file'><format type='F'/><source file='BASE'/><backingStore/></backingStore>
// for an overlay, an empty <backingStore/> for a standalone disk: the chain ends where we say.
void addBackingChain(pugi::xml_node disk, const ResolvedDisk& rd) {
  pugi::xml_node store = disk.append_child("backingStore");
  if (!rd.backing) {
    return;
  }
  attr(store, "type", "file");
  attr(store.append_child("format"), "type", formatName(rd.backing->format));
  attr(store.append_child("source"), "file", rd.backing->path);
  store.append_child("backingStore");
}

}  // namespace

core::StatusOr<std::string> buildDomainXml(const api::VirtualMachine& vm,
                                           const DomainInputs& inputs) {
  NOVACRON_ASSIGN_OR_RETURN(std::string name, domainName(vm.metadata.namespace_, vm.metadata.name));
  NOVACRON_ASSIGN_OR_RETURN(std::string uuid, domainUuid(vm.metadata.uid));
  if (inputs.serial_log_path.empty()) {
    return core::invalidArgumentError("no serial log path for domain " + name);
  }

  pugi::xml_document doc;
  pugi::xml_node dom = doc.append_child("domain");
  attr(dom, "type", inputs.domain_type);
  text(dom, "name", name);
  text(dom, "uuid", uuid);
  text(dom, "title", vm.metadata.namespace_ + "/" + vm.metadata.name);

  pugi::xml_node meta = dom.append_child("metadata");
  std::string prefix(kMetadataPrefix);
  pugi::xml_node nc = meta.append_child((prefix + ":vm").c_str());
  attr(nc, ("xmlns:" + prefix).c_str(), std::string(kMetadataNamespace));
  text(nc, (prefix + ":namespace").c_str(), vm.metadata.namespace_);
  text(nc, (prefix + ":name").c_str(), vm.metadata.name);
  text(nc, (prefix + ":uid").c_str(), vm.metadata.uid);

  const int64_t mem_kib = vm.spec.resources.memory.value() / 1024;
  if (mem_kib <= 0) {
    return core::invalidArgumentError("memory of " + name + " is not positive");
  }
  pugi::xml_node memory = dom.append_child("memory");
  attr(memory, "unit", "KiB");
  memory.text().set(std::to_string(mem_kib).c_str());
  pugi::xml_node current = dom.append_child("currentMemory");
  attr(current, "unit", "KiB");
  current.text().set(std::to_string(mem_kib).c_str());
  pugi::xml_node vcpu = dom.append_child("vcpu");
  attr(vcpu, "placement", "static");
  vcpu.text().set(std::to_string(vm.spec.resources.cpus).c_str());

  pugi::xml_node os = dom.append_child("os");
  if (vm.spec.firmware == api::Firmware::kUefi) {
    attr(os, "firmware", "efi");
  }
  pugi::xml_node type = os.append_child("type");
  attr(type, "arch", inputs.arch);
  type.text().set("hvm");
  if (vm.spec.kernelBoot) {
    if (!inputs.kernel_path) {
      return core::invalidArgumentError("kernel boot of " + name + " has no resolved kernel");
    }
    text(os, "kernel", *inputs.kernel_path);
    if (vm.spec.kernelBoot->initrd) {
      if (!inputs.initrd_path) {
        return core::invalidArgumentError("kernel boot of " + name + " has no resolved initrd");
      }
      text(os, "initrd", *inputs.initrd_path);
    }
    if (vm.spec.kernelBoot->cmdline) {
      text(os, "cmdline", *vm.spec.kernelBoot->cmdline);
    }
  }

  pugi::xml_node features = dom.append_child("features");
  features.append_child("acpi");
  features.append_child("apic");
  addCpu(dom, vm, inputs.domain_type);
  attr(dom.append_child("clock"), "offset", "utc");
  text(dom, "on_poweroff", "destroy");
  text(dom, "on_reboot", "restart");
  text(dom, "on_crash", "destroy");

  pugi::xml_node devices = dom.append_child("devices");
  std::map<std::string, const ResolvedDisk*> resolved;
  for (const auto& d : inputs.disks) {
    resolved[d.name] = &d;
  }
  std::map<api::DiskBus, int> next_index;
  for (const auto& spec_disk : vm.spec.disks) {
    auto it = resolved.find(spec_disk.name);
    if (it == resolved.end()) {
      return core::invalidArgumentError("disk " + spec_disk.name + " of " + name +
                                        " has no resolved path");
    }
    const ResolvedDisk& rd = *it->second;
    // Seed images are CD-ROMs on SATA: every firmware and cloud-init finds them there.
    api::DiskBus bus = rd.cdrom ? api::DiskBus::kSata : spec_disk.bus;
    pugi::xml_node disk = devices.append_child("disk");
    attr(disk, "type", "file");
    attr(disk, "device", rd.cdrom ? "cdrom" : "disk");
    pugi::xml_node driver = disk.append_child("driver");
    attr(driver, "name", "qemu");
    attr(driver, "type", formatName(rd.format));
    attr(disk.append_child("source"), "file", rd.path);
    addBackingChain(disk, rd);
    pugi::xml_node target = disk.append_child("target");
    attr(target, "dev", diskTarget(bus, next_index[bus]++));
    attr(target, "bus", bus == api::DiskBus::kVirtio ? "virtio" : "sata");
    if (rd.cdrom) {
      disk.append_child("readonly");
    }
    if (spec_disk.bootOrder) {
      attr(disk.append_child("boot"), "order", std::to_string(*spec_disk.bootOrder));
    }
    attr(disk.append_child("alias"), "name", "ua-disk-" + spec_disk.name);
  }

  for (const auto& net : vm.spec.networks) {
    pugi::xml_node iface = devices.append_child("interface");
    if (net.type == api::NetworkType::kBridge) {
      if (!net.bridge) {
        return core::invalidArgumentError("bridge network " + net.name + " has no bridge");
      }
      attr(iface, "type", "bridge");
      attr(iface.append_child("source"), "bridge", *net.bridge);
    } else {
      attr(iface, "type", "network");
      attr(iface.append_child("source"), "network", inputs.nat_network);
    }
    attr(iface.append_child("mac"), "address",
         net.mac ? *net.mac : macAddress(vm.metadata.uid, net.name));
    attr(iface.append_child("model"), "type", "virtio");
    if (net.type == api::NetworkType::kBridge) {
      // On a shared host bridge the guest may only use its own MAC and IP (no spoofing).
      attr(iface.append_child("filterref"), "filter", "clean-traffic");
    }
    attr(iface.append_child("alias"), "name", "ua-net-" + net.name);
  }

  // The serial console is a pty, so `virsh console` can type into the guest; virtlogd also
  // appends everything the guest prints to the log file (the VM's serial.log).
  pugi::xml_node serial = devices.append_child("serial");
  attr(serial, "type", "pty");
  pugi::xml_node log = serial.append_child("log");
  attr(log, "file", inputs.serial_log_path);
  attr(log, "append", "on");
  attr(serial.append_child("target"), "port", "0");
  pugi::xml_node console = devices.append_child("console");
  attr(console, "type", "pty");
  pugi::xml_node ctarget = console.append_child("target");
  attr(ctarget, "type", "serial");
  attr(ctarget, "port", "0");

  std::ostringstream out;
  doc.save(out, "  ", pugi::format_indent | pugi::format_no_declaration, pugi::encoding_utf8);
  return out.str();
}

}  // namespace novacron::node::domain
