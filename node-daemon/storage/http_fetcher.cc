#include "node-daemon/storage/http_fetcher.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <signal.h>

#include "node-daemon/storage/image_url.h"
#include "node-daemon/storage/process.h"

namespace novacron::node::storage {
namespace {

constexpr const char* kMarker = "novacron-fetch:";
constexpr int kCurlTimeout = 28;
constexpr int kCurlFileTooLarge = 63;
constexpr int kCurlWriteError = 23;

core::Status tooLarge(const std::string& url, uint64_t max) {
  return core::invalidArgumentError("image " + url + " is larger than the node's limit of " +
                                    std::to_string(max) + " bytes");
}

// Resolves `u` and checks every address; returns the one curl is pinned to.
core::StatusOr<IpAddress> checkedAddress(const ImageUrl& u, const FetchOptions& options) {
  std::vector<IpAddress> addrs;
  if (u.host_is_ip) {
    NOVACRON_ASSIGN_OR_RETURN(IpAddress ip, IpAddress::parse(u.host));
    addrs.push_back(ip);
  } else {
    NOVACRON_ASSIGN_OR_RETURN(addrs, options.resolver->resolve(u.host));
  }
  for (const auto& a : addrs) {
    NOVACRON_RETURN_IF_ERROR(options.policy.check(u.host, a));
  }
  if (addrs.empty()) {
    return core::unavailableError("cannot resolve " + u.host);
  }
  return addrs.front();
}

struct Hop {
  int http_code = 0;
  std::string redirect_url;
};

core::StatusOr<Hop> fetchOnce(const ImageUrl& u, const IpAddress& addr, const std::string& dst,
                              const FetchOptions& options, std::chrono::milliseconds left,
                              const std::atomic<bool>* cancel) {
  const std::string shown = u.toString();
  const auto seconds = std::max<int64_t>(1, left.count() / 1000);
  std::vector<std::string> argv = {options.curl,
                                   "-q",
                                   "--silent",
                                   "--show-error",
                                   "--globoff",
                                   "--noproxy",
                                   "*",
                                   "--proto",
                                   "=http,https",
                                   "--proto-redir",
                                   "=http,https",
                                   "--max-redirs",
                                   "0",
                                   "--max-filesize",
                                   std::to_string(options.max_bytes),
                                   "--max-time",
                                   std::to_string(seconds),
                                   "--connect-timeout",
                                   std::to_string(options.connect_timeout.count()),
                                   "-o",
                                   dst,
                                   "-w",
                                   std::string("\n") + kMarker + "%{http_code} %{redirect_url}\n"};
  if (!u.host_is_ip) {
    const std::string a = addr.v4 ? addr.toString() : "[" + addr.toString() + "]";
    argv.insert(argv.end(), {"--resolve", u.host + ":" + std::to_string(u.port) + ":" + a});
  }
  argv.push_back(shown);
  ProcessOptions po;
  po.timeout = left + std::chrono::seconds(10);
  po.prlimit = options.prlimit;
  po.cancel = cancel;
  po.limits.file_size_bytes = options.max_bytes;  // the kernel stops a body that lies about size
  NOVACRON_ASSIGN_OR_RETURN(ProcessResult r, runProcess(argv, po));
  std::error_code ec;
  if (r.exit_code == kCurlFileTooLarge || r.exit_code == 128 + SIGXFSZ ||
      (r.exit_code == kCurlWriteError &&
       std::filesystem::file_size(dst, ec) >= options.max_bytes)) {
    return tooLarge(shown, options.max_bytes);
  }
  if (r.exit_code == kCurlTimeout) {
    return core::unavailableError("downloading " + shown + " timed out");
  }
  auto pos = r.output.rfind(kMarker);
  if (r.exit_code != 0 || pos == std::string::npos) {
    // curl's message ends in a newline: trimmed, so a log line stays one line.
    std::string said = r.output.substr(0, r.output.find(kMarker));
    said.erase(said.find_last_not_of(" \r\n\t") + 1);
    std::replace(said.begin(), said.end(), '\n', ' ');
    return core::unavailableError("downloading " + shown + " failed (curl exit " +
                                  std::to_string(r.exit_code) + "): " + said);
  }
  Hop hop;
  std::string line = r.output.substr(pos + std::strlen(kMarker));
  line = line.substr(0, line.find('\n'));
  auto sp = line.find(' ');
  hop.http_code = std::atoi(line.substr(0, sp).c_str());
  hop.redirect_url = sp == std::string::npos ? "" : line.substr(sp + 1);
  return hop;
}

core::Status fetchHops(const std::string& url, const std::string& dst,
                       const FetchOptions& in_options, const std::atomic<bool>* cancel) {
  FetchOptions options = in_options;
  if (!options.resolver) {
    options.resolver = makeSystemResolver();
  }
  const auto deadline = std::chrono::steady_clock::now() + options.max_time;
  std::string current = url;
  for (int hop = 0; hop <= options.max_redirects; ++hop) {
    NOVACRON_ASSIGN_OR_RETURN(ImageUrl u, ImageUrl::parse(current));
    NOVACRON_ASSIGN_OR_RETURN(IpAddress addr, checkedAddress(u, options));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return core::unavailableError("downloading " + url + " timed out");
    }
    NOVACRON_ASSIGN_OR_RETURN(Hop h, fetchOnce(u, addr, dst, options, left, cancel));
    if (h.http_code >= 200 && h.http_code < 300) {
      std::error_code ec;
      if (std::filesystem::file_size(dst, ec) > options.max_bytes) {
        return tooLarge(url, options.max_bytes);
      }
      return core::okStatus();
    }
    if (h.http_code >= 300 && h.http_code < 400 && !h.redirect_url.empty()) {
      current = h.redirect_url;
      continue;
    }
    return core::unavailableError("downloading " + u.toString() + ": HTTP " +
                                  std::to_string(h.http_code));
  }
  return core::invalidArgumentError("image " + url + " redirects more than " +
                                    std::to_string(options.max_redirects) + " times");
}

}  // namespace

core::Status fetchToFile(const std::string& url, const std::string& dst,
                         const FetchOptions& options, const std::atomic<bool>* cancel) {
  core::Status s = fetchHops(url, dst, options, cancel);
  if (!s.isOk()) {
    std::error_code ec;
    std::filesystem::remove(dst, ec);  // an error page or a cut-off body is not an image
  }
  return s;
}

}  // namespace novacron::node::storage
