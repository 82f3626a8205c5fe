// ImageStore: the node's cache of VM images, shared by every VM on the node.
//
// resolve() turns an api::ImageSource into a local file path:
//   "http://..." / "https://..."  downloaded once into the cache (temp file in the cache folder,
//                                 sha256 verified when the source names one, then renamed
//                                 atomically), keyed by the digest (or by the URL's digest);
//   "image:<name>"                a file the operator placed in <image_root>/named/<name>;
//                                 verified against sha256 when one is given.
// Never a host path from the user. Concurrent resolves of the same image download it once.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "lib/api/virtual_machine.h"
#include "lib/core/statusor.h"
#include "node-daemon/storage/paths.h"

namespace novacron::node::storage {

class ImageStore {
public:
  virtual ~ImageStore() = default;
  // InvalidArgument for an unsupported reference or a digest mismatch (terminal until the spec
  // changes); NotFound for a missing named image; Unavailable when a download fails.
  [[nodiscard]] virtual core::StatusOr<std::string> resolve(const api::ImageSource& source) = 0;
};

using ImageStorePtr = std::shared_ptr<ImageStore>;

struct HttpImageStoreOptions {
  std::string curl = "curl";
  std::chrono::milliseconds download_timeout{std::chrono::minutes(30)};
};

ImageStorePtr makeHttpImageStore(NodePaths paths, HttpImageStoreOptions options = {});

// Lower-case hex SHA-256 of a file's contents.
[[nodiscard]] core::StatusOr<std::string> fileSha256(const std::string& path);

}  // namespace novacron::node::storage
