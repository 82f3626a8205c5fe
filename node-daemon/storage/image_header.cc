#include "node-daemon/storage/image_header.h"

#include <array>
#include <cstring>
#include <fstream>
#include <string_view>
#include <vector>

namespace novacron::node::storage {
namespace {

constexpr uint32_t kExtEnd = 0;
constexpr uint32_t kExtDataFile = 0x44415441;  // "DATA": external data file name
constexpr uint32_t kExtBackingFormat = 0xe2792aca;
constexpr uint64_t kIncompatDataFile = 1ULL << 2;
constexpr uint32_t kMaxBackingNameLen = 1023;  // qemu's own limit
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t be64(const unsigned char* p) {
  return (uint64_t{be32(p)} << 32) | be32(p + 4);
}

// Formats qemu knows that we refuse, by their magic at offset 0 (never passed to qemu-img).
struct Magic {
  std::string_view bytes;
  const char* name;
};
constexpr std::array<Magic, 9> kRefused = {{
    {"KDMV", "vmdk"},
    {"# Disk DescriptorFile", "vmdk (descriptor)"},
    {"vhdxfile", "vhdx"},
    {"conectix", "vpc"},
    {"<<< Oracle VM VirtualBox Disk Image >>>", "vdi"},
    {std::string_view("QED\0", 4), "qed"},
    {"LUKS\xba\xbe", "luks"},
    {"WithoutFreeSpace", "parallels"},
    {"Bochs Virtual HD Image", "bochs"},
}};

core::StatusOr<std::string> readAt(std::ifstream& in, uint64_t offset, uint64_t size,
                                   const std::string& path) {
  std::string out(size, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) {
    return core::invalidArgumentError("image " + path + " has a truncated qcow2 header");
  }
  return out;
}

// Names from a hostile header go into user-visible messages: printable ASCII only.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 256)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

}  // namespace

const char* formatName(ImageFormat format) {
  return format == ImageFormat::kQcow2 ? "qcow2" : "raw";
}

core::StatusOr<ImageHeader> readImageHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::notFoundError("cannot open " + path);
  }
  std::array<unsigned char, 112> h{};
  in.read(reinterpret_cast<char*>(h.data()), h.size());
  const auto got = static_cast<size_t>(in.gcount());
  std::string_view start(reinterpret_cast<const char*>(h.data()), got);
  ImageHeader out;
  if (start.substr(0, 4) != std::string_view("QFI\xfb", 4)) {
    for (const auto& m : kRefused) {
      if (start.substr(0, m.bytes.size()) == m.bytes) {
        return core::invalidArgumentError("image " + path + " is in " + m.name +
                                          " format; only qcow2 and raw images are supported");
      }
    }
    return out;  // raw: bytes, interpreted by nobody
  }
  out.format = ImageFormat::kQcow2;
  if (got < 72) {
    return core::invalidArgumentError("image " + path + " has a truncated qcow2 header");
  }
  const uint32_t version = be32(&h[4]);
  if (version != 2 && version != 3) {
    return core::invalidArgumentError("image " + path + " has unsupported qcow2 version " +
                                      std::to_string(version));
  }
  const uint64_t backing_offset = be64(&h[8]);
  const uint32_t backing_size = be32(&h[16]);
  out.virtual_size = be64(&h[24]);
  out.encrypted = be32(&h[32]) != 0;
  if (backing_offset != 0) {
    if (backing_size > kMaxBackingNameLen) {
      return core::invalidArgumentError("image " + path + " has an oversized backing file name");
    }
    NOVACRON_ASSIGN_OR_RETURN(out.backing_file, readAt(in, backing_offset, backing_size, path));
  }
  uint64_t ext_offset = 72;
  if (version == 3) {
    if (got < 104) {
      return core::invalidArgumentError("image " + path + " has a truncated qcow2 header");
    }
    if ((be64(&h[72]) & kIncompatDataFile) != 0) {
      out.data_file = "";
    }
    ext_offset = be32(&h[100]);
    if (ext_offset < 104 || ext_offset > kMaxHeaderBytes) {
      return core::invalidArgumentError("image " + path + " has a garbled qcow2 header length");
    }
  }
  // Header extensions: (type, length, data padded to 8 bytes), until type 0 or the cluster end.
  for (int i = 0; i < 64 && ext_offset + 8 <= kMaxHeaderBytes; ++i) {
    auto ext = readAt(in, ext_offset, 8, path);
    if (!ext.isOk()) {
      break;  // a header without extensions may end at the file's end
    }
    auto* e = reinterpret_cast<const unsigned char*>(ext->data());
    const uint32_t type = be32(e);
    const uint32_t len = be32(e + 4);
    if (type == kExtEnd || len > kMaxHeaderBytes) {
      break;
    }
    if (type == kExtDataFile) {
      NOVACRON_ASSIGN_OR_RETURN(out.data_file, readAt(in, ext_offset + 8, len, path));
    } else if (type == kExtBackingFormat) {
      NOVACRON_ASSIGN_OR_RETURN(out.backing_format, readAt(in, ext_offset + 8, len, path));
    }
    ext_offset += 8 + ((uint64_t{len} + 7) & ~uint64_t{7});
  }
  return out;
}

core::Status checkStandalone(const ImageHeader& header, const std::string& what) {
  const char* kRefusal = "; images with backing or data-file references are refused";
  if (header.backing_file) {
    return core::invalidArgumentError("image " + what + " refers to a backing file " +
                                      printable(*header.backing_file) + kRefusal);
  }
  if (header.data_file) {
    return core::invalidArgumentError(
        "image " + what + " refers to an external data file" +
        (header.data_file->empty() ? std::string() : " " + printable(*header.data_file)) +
        kRefusal);
  }
  if (header.encrypted) {
    return core::invalidArgumentError("image " + what +
                                      " is encrypted; encrypted images are not supported");
  }
  return core::okStatus();
}

}  // namespace novacron::node::storage
