#include "node-daemon/storage/qcow2_image.h"

#include <array>
#include <string_view>

namespace novacron::node::storage {
namespace {

constexpr uint32_t kClusterBits = 16;
constexpr uint64_t kSectorBytes = 512;
constexpr uint64_t kL1EntryBytes = 8;
// One L2 table (one cluster of 8-byte entries) maps this many bytes: one L1 entry's reach.
constexpr uint64_t kBytesPerL1Entry = kQcow2ClusterBytes * (kQcow2ClusterBytes / 8);
constexpr uint32_t kHeaderBytes = 112;  // v3 header with the compression type byte, padded
constexpr uint32_t kRefcountOrder = 4;  // 16-bit refcounts
constexpr uint64_t kRefcountTableOffset = 1 * kQcow2ClusterBytes;
constexpr uint64_t kRefcountBlockOffset = 2 * kQcow2ClusterBytes;
constexpr uint64_t kL1TableOffset = 3 * kQcow2ClusterBytes;

constexpr uint32_t kExtBackingFormat = 0xe2792aca;
constexpr uint32_t kExtFeatureNames = 0x6803f857;

struct FeatureName {
  uint8_t type;  // 0 incompatible, 1 compatible, 2 autoclear
  uint8_t bit;
  std::string_view name;
};
// The feature name table qemu 7.2 writes into every image it creates (informational only).
constexpr std::array<FeatureName, 8> kFeatureNames = {{
    {0, 0, "dirty bit"},
    {0, 1, "corrupt bit"},
    {0, 2, "external data file"},
    {0, 3, "compression type"},
    {0, 4, "extended L2 entries"},
    {1, 0, "lazy refcounts"},
    {2, 0, "bitmaps"},
    {2, 1, "raw external data"},
}};
constexpr size_t kFeatureNameEntryBytes = 48;

void putBe32(std::string& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  }
}
void putBe64(std::string& out, size_t at, uint64_t v) {
  putBe32(out, at, static_cast<uint32_t>(v >> 32));
  putBe32(out, at + 4, static_cast<uint32_t>(v));
}
void putBe16(std::string& out, size_t at, uint16_t v) {
  out[at] = static_cast<char>(v >> 8);
  out[at + 1] = static_cast<char>(v & 0xff);
}

// A header extension: type, length, data padded with zeros to a multiple of 8.
void appendExtension(std::string& out, uint32_t type, std::string_view data) {
  const size_t at = out.size();
  out.resize(at + 8 + ((data.size() + 7) & ~size_t{7}), '\0');
  putBe32(out, at, type);
  putBe32(out, at + 4, static_cast<uint32_t>(data.size()));
  out.replace(at + 8, data.size(), data);
}

std::string featureNameTable() {
  std::string table(kFeatureNames.size() * kFeatureNameEntryBytes, '\0');
  for (size_t i = 0; i < kFeatureNames.size(); ++i) {
    const size_t at = i * kFeatureNameEntryBytes;
    table[at] = static_cast<char>(kFeatureNames[i].type);
    table[at + 1] = static_cast<char>(kFeatureNames[i].bit);
    table.replace(at + 2, kFeatureNames[i].name.size(), kFeatureNames[i].name);
  }
  return table;
}

}  // namespace

core::Status checkQcow2BackingName(const std::string& f) {
  if (f.empty() || f.front() != '/') {
    return core::invalidArgumentError("qcow2 backing file name must be an absolute path");
  }
  if (f.size() > kQcow2MaxBackingNameBytes) {
    return core::invalidArgumentError("qcow2 backing file name is longer than " +
                                      std::to_string(kQcow2MaxBackingNameBytes) + " bytes");
  }
  if (f.find('\0') != std::string::npos) {
    return core::invalidArgumentError("qcow2 backing file name contains a NUL byte");
  }
  return core::okStatus();
}

core::StatusOr<Qcow2Image> newQcow2Image(uint64_t virtual_bytes,
                                         const std::optional<Qcow2Backing>& backing) {
  if (virtual_bytes == 0 || virtual_bytes > kQcow2MaxVirtualBytes) {
    return core::invalidArgumentError("qcow2 virtual size " + std::to_string(virtual_bytes) +
                                      " is outside 1.." + std::to_string(kQcow2MaxVirtualBytes));
  }
  if (backing) {
    NOVACRON_RETURN_IF_ERROR(checkQcow2BackingName(backing->file));
  }
  // No overflow: both are bounded by kQcow2MaxVirtualBytes (2^46) above.
  const uint64_t size = (virtual_bytes + kSectorBytes - 1) / kSectorBytes * kSectorBytes;
  const uint64_t l1_entries = (size + kBytesPerL1Entry - 1) / kBytesPerL1Entry;
  const uint64_t l1_bytes = l1_entries * kL1EntryBytes;
  const uint64_t l1_clusters = (l1_bytes + kQcow2ClusterBytes - 1) / kQcow2ClusterBytes;

  std::string header(kHeaderBytes, '\0');
  header.replace(0, 4, "QFI\xfb");
  putBe32(header, 4, 3);  // version
  putBe32(header, 20, kClusterBits);
  putBe64(header, 24, size);
  putBe32(header, 36, static_cast<uint32_t>(l1_entries));
  putBe64(header, 40, kL1TableOffset);
  putBe64(header, 48, kRefcountTableOffset);
  putBe32(header, 56, 1);  // refcount table clusters
  putBe32(header, 96, kRefcountOrder);
  putBe32(header, 100, kHeaderBytes);
  if (backing) {
    appendExtension(header, kExtBackingFormat, formatName(backing->format));
  }
  appendExtension(header, kExtFeatureNames, featureNameTable());
  header.append(8, '\0');  // end of the header extensions
  if (backing) {
    putBe64(header, 8, header.size());  // the name follows the extensions, unterminated
    putBe32(header, 16, static_cast<uint32_t>(backing->file.size()));
    header += backing->file;
  }

  // Clusters in use: header, refcount table, refcount block, L1 table; all in one block (a
  // 16-bit block counts 32,768 clusters; the L1 table takes at most 16).
  const uint64_t used_clusters = 3 + l1_clusters;
  std::string refcount_table(8, '\0');
  putBe64(refcount_table, 0, kRefcountBlockOffset);
  std::string refcount_block(used_clusters * 2, '\0');
  for (uint64_t i = 0; i < used_clusters; ++i) {
    putBe16(refcount_block, i * 2, 1);
  }

  Qcow2Image image;
  image.extents.push_back({0, std::move(header)});
  image.extents.push_back({kRefcountTableOffset, std::move(refcount_table)});
  image.extents.push_back({kRefcountBlockOffset, std::move(refcount_block)});
  image.file_size = kL1TableOffset + l1_bytes;  // the L1 table is all zeros
  return image;
}

}  // namespace novacron::node::storage
