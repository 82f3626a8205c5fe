// KubeHttp: a minimal HTTPS client for raw Kubernetes REST calls in tests and benchmarks
// (bearer token or client certificate, server verified against a CA file), plus streaming
// watches read line by line. Meant for tests that check the wire behaviour of an API server; real
// components use lib/kube.
//
// Thread-safety: a KubeHttp may be used from several threads (one connection per call, or per
// thread with keepAlive); a WatchStream is read by one thread and may be closed from any.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/core/statusor.h"

namespace novacron::testing {

struct HttpResult {
  int code = 0;
  std::string body;
  std::string content_type;
  std::string warning;  // Warning header, if any
  nlohmann::json json() const;
};

class WatchStream {
public:
  virtual ~WatchStream() = default;
  // The next watch event ({"type":..., "object":...}); nullopt on timeout; kUnavailable once the
  // server closed the stream.
  virtual core::StatusOr<std::optional<nlohmann::json>> next(std::chrono::milliseconds timeout) = 0;
  virtual int httpCode() const = 0;
  virtual void close() = 0;
};

class KubeHttp {
public:
  // host "127.0.0.1", port; token may be empty when cert/key are given.
  KubeHttp(std::string host, int port, std::string ca_file, std::string token,
           std::string client_cert_file = "", std::string client_key_file = "");
  ~KubeHttp();

  // One request on a pooled keep-alive connection.
  core::StatusOr<HttpResult> request(const std::string& method, const std::string& path,
                                     const std::string& body = "",
                                     const std::string& content_type = "application/json",
                                     const std::string& accept = "application/json");
  core::StatusOr<std::unique_ptr<WatchStream>> watch(
      const std::string& path, const std::string& accept = "application/json");
  // As watch(), but every received line goes to `on_line` on the stream's reader thread as it
  // arrives (for latency measurements); next() then only reports the end of the stream.
  using LineCallback = std::function<void(const std::string& line)>;
  core::StatusOr<std::unique_ptr<WatchStream>> watch(const std::string& path,
                                                     const std::string& accept,
                                                     LineCallback on_line);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::testing
