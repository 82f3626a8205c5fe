// Domain XML: golden files for representative VMs (set NOVACRON_UPDATE_GOLDEN=1 to rewrite them
// after an intended change) and hostile strings that must come out escaped.
#include "node-daemon/domain/domain_xml.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "node-daemon/domain/metadata.h"

namespace novacron::node::domain {
namespace {

std::string goldenPath(const std::string& name) {
  const char* src = std::getenv("NOVACRON_SOURCE_DIR");
  std::string root = src != nullptr ? src : ".";
  return root + "/tests/unit/node-daemon/domain/testdata/" + name;
}

void expectGolden(const std::string& name, const std::string& actual) {
  std::string path = goldenPath(name);
  if (std::getenv("NOVACRON_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path << " (run with NOVACRON_UPDATE_GOLDEN=1)";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(actual, want.str()) << "domain XML differs from " << path;
}

api::VirtualMachine tinyVm() {
  api::VirtualMachine vm;
  vm.metadata.name = "tiny";
  vm.metadata.namespace_ = "default";
  vm.metadata.uid = "0b6c5a3e-1111-4222-8333-444455556666";
  vm.spec.resources.cpus = 1;
  vm.spec.resources.memory = api::Quantity::fromBytes(128LL << 20);
  api::KernelBoot kb;
  kb.kernel.url = "image:tiny-vmlinuz";
  kb.initrd = api::ImageSource{};
  kb.initrd->url = "image:tiny-initrd";
  kb.cmdline = "console=ttyS0";
  vm.spec.kernelBoot = kb;
  return vm;
}

DomainInputs tinyInputs() {
  DomainInputs in;
  in.domain_type = "qemu";
  in.serial_log_path =
      "/var/lib/novacron/vms/default/tiny/0b6c5a3e-1111-4222-8333-444455556666/serial.log";
  in.kernel_path = "/var/lib/novacron/images/named/tiny-vmlinuz";
  in.initrd_path = "/var/lib/novacron/images/named/tiny-initrd";
  return in;
}

TEST(DomainXml, TinyKernelBootGolden) {
  auto xml = buildDomainXml(tinyVm(), tinyInputs());
  ASSERT_TRUE(xml.isOk()) << xml.status();
  expectGolden("tiny_kernel_boot.xml", *xml);
}

// A VM with every kind of disk (image overlay, empty disk, cloud-init seed), CPU and networks.
api::VirtualMachine fullVm() {
  api::VirtualMachine vm;
  vm.metadata.name = "web-1";
  vm.metadata.namespace_ = "prod";
  vm.metadata.uid = "9d1e8f00-aaaa-4bbb-8ccc-dddddddddddd";
  vm.spec.resources.cpus = 4;
  vm.spec.resources.memory = api::Quantity::fromBytes(4LL << 30);
  vm.spec.firmware = api::Firmware::kUefi;
  api::CpuSpec cpu;
  cpu.model = "Skylake-Server";
  cpu.topology = api::CpuTopology{};
  cpu.topology->sockets = 1;
  cpu.topology->cores = 2;
  cpu.topology->threads = 2;
  vm.spec.cpu = cpu;
  api::Disk root;
  root.name = "root";
  root.bootOrder = 1;
  root.image = api::ImageSource{};
  root.image->url = "https://images.example.com/debian-12.qcow2";
  api::Disk data;
  data.name = "data";
  data.bus = api::DiskBus::kSata;
  data.emptyDisk = api::EmptyDiskSource{};
  data.emptyDisk->size = api::Quantity::fromBytes(10LL << 30);
  api::Disk seed;
  seed.name = "cloudinit";
  seed.cloudInit = api::CloudInitSource{};
  vm.spec.disks = {root, data, seed};
  api::Network nat;
  nat.name = "default";
  api::Network br;
  br.name = "lan";
  br.type = api::NetworkType::kBridge;
  br.bridge = "br0";
  br.mac = "52:54:00:aa:bb:cc";
  vm.spec.networks = {nat, br};
  return vm;
}

DomainInputs fullInputs() {
  DomainInputs in;
  in.domain_type = "kvm";
  in.serial_log_path =
      "/var/lib/novacron/vms/prod/web-1/9d1e8f00-aaaa-4bbb-8ccc-dddddddddddd/serial.log";
  in.disks = {
      {"cloudinit",
       "/var/lib/novacron/vms/prod/web-1/9d1e8f00-aaaa-4bbb-8ccc-dddddddddddd/seed-cloudinit.iso",
       DiskFormat::kRaw, true},
      {"root",
       "/var/lib/novacron/vms/prod/web-1/9d1e8f00-aaaa-4bbb-8ccc-dddddddddddd/disk-root.qcow2",
       DiskFormat::kQcow2, false,
       BackingFile{"/var/lib/novacron/images/url/" + std::string(64, 'e') + ".qcow2",
                   DiskFormat::kQcow2}},
      {"data",
       "/var/lib/novacron/vms/prod/web-1/9d1e8f00-aaaa-4bbb-8ccc-dddddddddddd/disk-data.qcow2",
       DiskFormat::kQcow2, false}};
  return in;
}

TEST(DomainXml, FullVmGolden) {
  auto xml = buildDomainXml(fullVm(), fullInputs());
  ASSERT_TRUE(xml.isOk()) << xml.status();
  expectGolden("full_vm.xml", *xml);
}

TEST(DomainXml, EveryDiskPinsItsBackingChain) {
  DomainInputs in = fullInputs();
  in.disks[1].backing->format = DiskFormat::kRaw;
  auto xml = buildDomainXml(fullVm(), in);
  ASSERT_TRUE(xml.isOk()) << xml.status();
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str()));
  auto disks = doc.select_nodes("/domain/devices/disk");
  ASSERT_EQ(disks.size(), 3u);
  // The overlay (spec order: root, data, cloudinit): its base, with an explicit format, and the
  // chain ends below it.
  pugi::xml_node overlay = disks[0].node().child("backingStore");
  ASSERT_TRUE(overlay);
  EXPECT_STREQ(overlay.attribute("type").value(), "file");
  EXPECT_STREQ(overlay.child("format").attribute("type").value(), "raw");
  EXPECT_STREQ(overlay.child("source").attribute("file").value(),
               in.disks[1].backing->path.c_str());
  pugi::xml_node end = overlay.child("backingStore");
  ASSERT_TRUE(end);
  EXPECT_FALSE(end.first_child()) << "nothing below the base";
  EXPECT_FALSE(end.first_attribute());
  // Standalone disks (empty disk, seed): an empty backingStore says "no backing file, do not
  // probe".
  for (size_t i = 1; i < disks.size(); ++i) {
    pugi::xml_node none = disks[i].node().child("backingStore");
    ASSERT_TRUE(none) << i;
    EXPECT_FALSE(none.first_child()) << i;
    EXPECT_FALSE(none.first_attribute()) << i;
  }
}

TEST(DomainXml, HostileStringsAreEscaped) {
  const std::string hostile =
      "console=ttyS0 </cmdline><kernel>/etc/shadow</kernel><!-- ]]> &amp; & ' \" <x/>";
  api::VirtualMachine vm = tinyVm();
  vm.spec.kernelBoot->cmdline = hostile;
  api::Network br;
  br.name = "lan";
  br.type = api::NetworkType::kBridge;
  br.bridge = "br0'/><source bridge='evil";
  vm.spec.networks = {br};
  DomainInputs in = tinyInputs();
  in.serial_log_path = "/tmp/a'b\"c<d>&e.log";
  auto xml = buildDomainXml(vm, in);
  ASSERT_TRUE(xml.isOk()) << xml.status();

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str()));
  pugi::xml_node os = doc.child("domain").child("os");
  EXPECT_EQ(std::string(os.child_value("cmdline")), hostile);
  EXPECT_EQ(std::string(os.child_value("kernel")), *in.kernel_path);
  int kernels = 0;
  for (pugi::xml_node k : os.children("kernel")) {
    (void)k;
    ++kernels;
  }
  EXPECT_EQ(kernels, 1);
  pugi::xml_node iface = doc.child("domain").child("devices").child("interface");
  EXPECT_EQ(std::string(iface.child("source").attribute("bridge").value()), *br.bridge);
  EXPECT_FALSE(iface.child("source").next_sibling("source"));
  EXPECT_EQ(std::string(doc.child("domain")
                            .child("devices")
                            .child("serial")
                            .child("log")
                            .attribute("file")
                            .value()),
            in.serial_log_path);
  EXPECT_EQ(xml->find("<kernel>/etc/shadow"), std::string::npos);
}

TEST(DomainXml, RefusesInvalidNamesAndUnresolvedPaths) {
  api::VirtualMachine vm = tinyVm();
  vm.metadata.name = "../../etc";
  EXPECT_EQ(buildDomainXml(vm, tinyInputs()).status().code(), core::StatusCode::kInvalidArgument);

  vm = tinyVm();
  vm.metadata.uid.clear();
  EXPECT_FALSE(buildDomainXml(vm, tinyInputs()).isOk());

  vm = tinyVm();
  DomainInputs in = tinyInputs();
  in.kernel_path.reset();
  EXPECT_FALSE(buildDomainXml(vm, in).isOk());

  api::Disk d;
  d.name = "root";
  d.emptyDisk = api::EmptyDiskSource{};
  vm.spec.disks = {d};
  EXPECT_FALSE(buildDomainXml(vm, tinyInputs()).isOk()) << "a disk without a resolved path";
}

TEST(DomainXml, MetadataRoundTrips) {
  auto xml = buildDomainXml(tinyVm(), tinyInputs());
  ASSERT_TRUE(xml.isOk());
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml->c_str()));
  std::ostringstream md;
  doc.child("domain").child("metadata").first_child().print(md);
  auto parsed = parseMetadata(md.str());
  ASSERT_TRUE(parsed.isOk()) << parsed.status();
  EXPECT_EQ(parsed->vm_namespace, "default");
  EXPECT_EQ(parsed->vm_name, "tiny");
  EXPECT_EQ(parsed->vm_uid, "0b6c5a3e-1111-4222-8333-444455556666");
}

TEST(DomainXml, TcgOmitsHostCpuMode) {
  auto tcg = buildDomainXml(tinyVm(), tinyInputs());
  ASSERT_TRUE(tcg.isOk());
  EXPECT_EQ(tcg->find("<cpu"), std::string::npos);
  DomainInputs in = tinyInputs();
  in.domain_type = "kvm";
  auto kvm = buildDomainXml(tinyVm(), in);
  ASSERT_TRUE(kvm.isOk());
  EXPECT_NE(kvm->find("<cpu mode=\"host-model\""), std::string::npos);
}

}  // namespace
}  // namespace novacron::node::domain
