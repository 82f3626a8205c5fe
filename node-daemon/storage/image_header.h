// Reads the first bytes of a disk image ourselves, before any tool opens it: which format it is
// (only qcow2 and raw are accepted; other known formats are named and refused) and, for qcow2,
// whether the header refers to another file (backing file, external data file) or is encrypted.
// qemu-img is then always run with an explicit format (-f), so nothing ever probes an untrusted
// file, and an image that names a host file is refused before qemu-img could open that file.
// Thread-safety: pure functions over a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/core/statusor.h"

namespace novacron::node::storage {

enum class ImageFormat { kRaw, kQcow2 };

const char* formatName(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::kRaw;
  std::optional<std::string> backing_file;    // qcow2 backing file name, as written in the header
  std::optional<std::string> backing_format;  // qcow2 backing format extension ("qcow2", "raw")
  std::optional<std::string> data_file;       // qcow2 external data file name ("" if unnamed)
  bool encrypted = false;                     // qcow2 crypt_method != 0
  uint64_t virtual_size = 0;                  // qcow2 only (raw: 0, use the file size)
};

// NotFound when the file cannot be opened; InvalidArgument for a known unsupported format or a
// truncated/garbled qcow2 header; otherwise the header (raw for anything unrecognised).
[[nodiscard]] core::StatusOr<ImageHeader> readImageHeader(const std::string& path);

// InvalidArgument when the image refers to any other file or is encrypted, naming the problem.
// `what` names the image in the message (e.g. its URL).
[[nodiscard]] core::Status checkStandalone(const ImageHeader& header, const std::string& what);

}  // namespace novacron::node::storage
