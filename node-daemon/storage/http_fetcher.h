// Downloads one URL into a file with curl, defending the node against server-side request
// forgery and hostile servers:
//   - the URL is parsed strictly (image_url.h) and curl gets the rebuilt URL, --globoff, -q (no
//     .curlrc), --noproxy '*' and --proto =http,https;
//   - the host is resolved here (Resolver) and EVERY address must pass the DestinationPolicy;
//     curl is then pinned to a checked address with --resolve, so it never resolves anything;
//   - curl never follows redirects (--max-redirs 0): each hop's Location is parsed, resolved and
//     checked again here, at most max_redirects hops, http/https only;
//   - size: --max-filesize (a truthful Content-Length) plus RLIMIT_FSIZE on curl (a server that
//     lies or sends no length is cut off by the kernel); time: --max-time over all hops.
// Errors: InvalidArgument for a refused destination or URL, or an oversized body (terminal until
// the spec changes); Unavailable for network/HTTP failures; Cancelled.
// Thread-safety: fetch() is safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "lib/core/status.h"
#include "node-daemon/storage/destination_policy.h"
#include "node-daemon/storage/resolver.h"

namespace novacron::node::storage {

struct FetchOptions {
  std::string curl = "curl";
  std::string prlimit = "prlimit";
  DestinationPolicy policy;  // default: public unicast only
  ResolverPtr resolver;      // default: makeSystemResolver()
  uint64_t max_bytes = 64ULL << 30;
  std::chrono::milliseconds max_time{std::chrono::minutes(30)};  // all hops together
  std::chrono::seconds connect_timeout{30};
  int max_redirects = 5;
};

[[nodiscard]] core::Status fetchToFile(const std::string& url, const std::string& dst,
                                       const FetchOptions& options,
                                       const std::atomic<bool>* cancel = nullptr);

}  // namespace novacron::node::storage
