// The qcow2 serializer byte by byte (the layout qemu-img create writes; disk_tool_test compares
// with qemu-img itself), its round trip through our own header reader, and its refusals.
#include "node-daemon/storage/qcow2_image.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <stdlib.h>

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;

uint64_t be(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes.at(at + i));
  }
  return v;
}

// The whole file as it would be written: extents over zeros.
std::string flatten(const Qcow2Image& image) {
  std::string out(image.file_size, '\0');
  uint64_t end = 0;
  for (const auto& e : image.extents) {
    EXPECT_GE(e.offset, end) << "extents ascend and do not overlap";
    EXPECT_LE(e.offset + e.bytes.size(), image.file_size);
    out.replace(e.offset, e.bytes.size(), e.bytes);
    end = e.offset + e.bytes.size();
  }
  return out;
}

Qcow2Image build(uint64_t size, const std::optional<Qcow2Backing>& backing = std::nullopt) {
  auto image = newQcow2Image(size, backing);
  EXPECT_TRUE(image.isOk()) << image.status();
  return image.isOk() ? *image : Qcow2Image{};
}

TEST(Qcow2Image, EmptyImageHeaderFields) {
  const std::string f = flatten(build(1ULL << 30));
  EXPECT_EQ(f.substr(0, 4), std::string("QFI\xfb"));
  EXPECT_EQ(be(f, 4, 4), 3u) << "version";
  EXPECT_EQ(be(f, 8, 8), 0u) << "no backing file offset";
  EXPECT_EQ(be(f, 16, 4), 0u) << "no backing file name";
  EXPECT_EQ(be(f, 20, 4), 16u) << "64 KiB clusters";
  EXPECT_EQ(be(f, 24, 8), 1ULL << 30) << "virtual size";
  EXPECT_EQ(be(f, 32, 4), 0u) << "not encrypted";
  EXPECT_EQ(be(f, 36, 4), 2u) << "L1 entries: one per 512 MiB";
  EXPECT_EQ(be(f, 40, 8), 0x30000u) << "L1 table in cluster 3";
  EXPECT_EQ(be(f, 48, 8), 0x10000u) << "refcount table in cluster 1";
  EXPECT_EQ(be(f, 56, 4), 1u) << "refcount table clusters";
  EXPECT_EQ(be(f, 60, 4), 0u) << "snapshots";
  EXPECT_EQ(be(f, 72, 8), 0u) << "incompatible features";
  EXPECT_EQ(be(f, 80, 8), 0u) << "compatible features";
  EXPECT_EQ(be(f, 88, 8), 0u) << "autoclear features";
  EXPECT_EQ(be(f, 96, 4), 4u) << "16-bit refcounts";
  EXPECT_EQ(be(f, 100, 4), 112u) << "header length";
  EXPECT_EQ(f[104], '\0') << "zlib compression type";
  // Extensions: the feature name table (8 entries of 48 bytes), then the end marker.
  EXPECT_EQ(be(f, 112, 4), 0x6803f857u);
  EXPECT_EQ(be(f, 116, 4), 384u);
  EXPECT_EQ(f.substr(120, 11), std::string("\0\0dirty bit", 11));
  EXPECT_EQ(f.substr(120 + 7 * 48, 19), std::string("\x02\x01raw external data", 19));
  EXPECT_EQ(be(f, 504, 8), 0u) << "end of extensions";
  // Refcount table → block in cluster 2, which counts clusters 0-3 once each.
  EXPECT_EQ(be(f, 0x10000, 8), 0x20000u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(be(f, 0x20000 + 2 * i, 2), 1u) << "cluster " << i;
  }
  EXPECT_EQ(be(f, 0x20008, 2), 0u);
  EXPECT_EQ(f.size(), 0x30000u + 2 * 8) << "the file ends with the L1 table";
  EXPECT_EQ(f.find_first_not_of('\0', 0x30000), std::string::npos) << "L1 table is zeros";
}

TEST(Qcow2Image, SizeRoundsUpToSectorsAndL1GrowsPastOneCluster) {
  EXPECT_EQ(be(flatten(build(1000001)), 24, 8), 1000448u);
  EXPECT_EQ(be(flatten(build(512)), 24, 8), 512u);
  EXPECT_EQ(be(flatten(build(1)), 36, 4), 1u);

  // 4 TiB is exactly one L1 cluster (8,192 entries); one byte more needs a second one.
  const std::string four = flatten(build(4ULL << 40));
  EXPECT_EQ(be(four, 36, 4), 8192u);
  EXPECT_EQ(be(four, 0x20006, 2), 1u);
  EXPECT_EQ(be(four, 0x20008, 2), 0u);
  EXPECT_EQ(four.size(), 0x40000u);
  const std::string over = flatten(build((4ULL << 40) + 1));
  EXPECT_EQ(be(over, 36, 4), 8193u);
  EXPECT_EQ(be(over, 0x20008, 2), 1u) << "the second L1 cluster is counted";
  EXPECT_EQ(be(over, 0x2000a, 2), 0u);
  EXPECT_EQ(over.size(), 0x30000u + 8193 * 8);

  const Qcow2Image max = build(kQcow2MaxVirtualBytes);
  EXPECT_EQ(max.file_size, 0x30000u + 131072 * 8) << "64 TiB: a 1 MiB L1 table (16 clusters)";
  EXPECT_EQ(be(flatten(max), 0x20000 + 2 * 18, 2), 1u);
}

TEST(Qcow2Image, OverlayRecordsBackingFormatAndName) {
  const std::string base = "/var/lib/novacron/images/sha256-abc.qcow2";
  const std::string f = flatten(build(10 << 20, Qcow2Backing{base, ImageFormat::kRaw}));
  EXPECT_EQ(be(f, 112, 4), 0xe2792aca) << "backing format extension first";
  EXPECT_EQ(be(f, 116, 4), 3u);
  EXPECT_EQ(f.substr(120, 8), std::string("raw\0\0\0\0\0", 8));
  EXPECT_EQ(be(f, 128, 4), 0x6803f857u);
  EXPECT_EQ(be(f, 520, 8), 0u) << "end of extensions";
  EXPECT_EQ(be(f, 8, 8), 528u) << "the name follows the end marker";
  EXPECT_EQ(be(f, 16, 4), base.size());
  EXPECT_EQ(f.substr(528, base.size()), base);
  const size_t name_end = 528 + base.size();
  EXPECT_EQ(f.substr(name_end, 0x10000 - name_end).find_first_not_of('\0'), std::string::npos)
      << "zeros after the name up to cluster 1";

  const std::string q = flatten(build(10 << 20, Qcow2Backing{base, ImageFormat::kQcow2}));
  EXPECT_EQ(be(q, 116, 4), 5u);
  EXPECT_EQ(q.substr(120, 8), std::string("qcow2\0\0\0", 8));
}

TEST(Qcow2Image, OurHeaderReaderReadsItBack) {
  char tmpl[] = "/tmp/novacron-qcow2-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string base(kQcow2MaxBackingNameBytes, 'b');
  const std::string name = "/" + base.substr(1);
  const std::string path = dir + "/overlay.qcow2";
  std::ofstream(path, std::ios::binary)
      << flatten(build(3ULL << 40, Qcow2Backing{name, ImageFormat::kQcow2}));
  auto header = readImageHeader(path);
  fs::remove_all(dir);
  ASSERT_TRUE(header.isOk()) << header.status();
  EXPECT_EQ(header->format, ImageFormat::kQcow2);
  EXPECT_EQ(header->virtual_size, 3ULL << 40);
  EXPECT_EQ(header->backing_file, name);
  EXPECT_EQ(header->backing_format, "qcow2");
  EXPECT_FALSE(header->data_file);
  EXPECT_FALSE(header->encrypted);
}

TEST(Qcow2Image, RefusesBadSizesAndBackingNames) {
  auto code = [](uint64_t size, const std::optional<Qcow2Backing>& backing = std::nullopt) {
    return newQcow2Image(size, backing).status().code();
  };
  EXPECT_EQ(code(0), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(kQcow2MaxVirtualBytes + 1), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(UINT64_MAX), core::StatusCode::kInvalidArgument) << "no overflow in rounding";
  auto backing = [](std::string file) { return Qcow2Backing{std::move(file), ImageFormat::kRaw}; };
  EXPECT_EQ(code(1 << 20, backing("")), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(1 << 20, backing("base.raw")), core::StatusCode::kInvalidArgument) << "relative";
  EXPECT_EQ(code(1 << 20, backing("json:{}")), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(1 << 20, backing(std::string("/a\0b", 4))), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(1 << 20, backing("/" + std::string(kQcow2MaxBackingNameBytes, 'x'))),
            core::StatusCode::kInvalidArgument)
      << "1,024 bytes";
  EXPECT_TRUE(newQcow2Image(1 << 20, backing("/" + std::string(1022, 'x'))).isOk());
}

}  // namespace
}  // namespace novacron::node::storage
