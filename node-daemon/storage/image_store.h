// ImageStore: the node's cache of VM images, shared by every VM on the node.
//
//   resolve(source)      a file as served (kernel, initrd);
//   resolveDisk(source)  a base image for a disk overlay: standalone (no backing or data file,
//                        not encrypted), qcow2 or raw, with its format, so the overlay and the
//                        domain XML name the format and nothing ever probes.
// Sources:
//   "http://..." / "https://..."  downloaded once into the cache by http_fetcher.h (destination
//                                 checks, size and time caps), sha256 verified when the source
//                                 names one, then (disks) checked and converted by
//                                 image_check.h into a standalone qcow2; keyed by the digest (or
//                                 by the URL's digest);
//   "image:<name>"                a file the operator placed in <image_root>/named/<name>; for
//                                 disks its header must not refer to any other file.
// Never a host path from the user.
//
// Downloads run on the store's own threads, never on the caller's: while one is in progress
// resolve()/resolveDisk() return Unavailable "downloading <url>: N bytes so far" WITH
// retryAfter(); when it finished, the download callback is called with the URL. A failed download
// is remembered (failure_ttl) and returned as its error WITHOUT retryAfter: InvalidArgument when
// the image or its URL is refused (terminal until the spec changes), Unavailable when it may work
// later (network, HTTP errors); after failure_ttl the next resolve tries again.
// collectGarbage() removes cached downloads that were not in use for longer than gc_grace.
// Thread-safety: safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "lib/api/virtual_machine.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "node-daemon/storage/http_fetcher.h"
#include "node-daemon/storage/image_check.h"
#include "node-daemon/storage/image_header.h"
#include "node-daemon/storage/paths.h"

namespace novacron::node::storage {

struct BaseImage {
  std::string path;
  ImageFormat format = ImageFormat::kQcow2;
};

class ImageStore {
public:
  virtual ~ImageStore() = default;
  // InvalidArgument for an unsupported or refused reference, a digest mismatch or a refused
  // image; NotFound for a missing named image; Unavailable while downloading (with retryAfter)
  // or after a download failed (without).
  [[nodiscard]] virtual core::StatusOr<std::string> resolve(const api::ImageSource& source) = 0;
  [[nodiscard]] virtual core::StatusOr<BaseImage> resolveDisk(const api::ImageSource& source) = 0;
  // The path resolve() (disk = false) or resolveDisk() (disk = true) returns for `source` once
  // it is cached; no I/O. Used to tell the garbage collector what is in use.
  [[nodiscard]] virtual core::StatusOr<std::string> cachedPath(const api::ImageSource& source,
                                                               bool disk) const = 0;
  // Called from a download thread with the source URL when a download finished (OK or failed).
  virtual void setDownloadCallback(std::function<void(const std::string& url)> callback) = 0;
  // Removes downloaded images (never named ones) for which `in_use` said false for gc_grace,
  // counted from the first collectGarbage() that found it unused. Returns how many files were
  // removed. `in_use` is asked only about the cached files, outside the store's lock, so a caller
  // may answer from an expensive source lazily (DiskManager walks the overlays only when a cached
  // image is not named by a VM's spec).
  using InUse = std::function<bool(const std::string& path)>;
  virtual int collectGarbage(const InUse& in_use) = 0;
};

using ImageStorePtr = std::shared_ptr<ImageStore>;

struct HttpImageStoreOptions {
  FetchOptions fetch;        // curl, destination policy, resolver, size and time caps
  ImageCheckOptions check;   // qemu-img and its limits
  int download_workers = 2;  // downloads running at once
  std::chrono::milliseconds retry_after{std::chrono::seconds(5)};  // hint while downloading
  std::chrono::milliseconds failure_ttl{std::chrono::minutes(2)};
  std::chrono::milliseconds gc_grace{std::chrono::hours(1)};
  core::ClockPtr clock;  // default: core::systemClock()
};

ImageStorePtr makeHttpImageStore(NodePaths paths, HttpImageStoreOptions options = {});

// Lower-case hex SHA-256 of a file's contents.
[[nodiscard]] core::StatusOr<std::string> fileSha256(const std::string& path);

}  // namespace novacron::node::storage
