// HttpEndpoint: the process's small HTTP server for Prometheus and Kubernetes probes.
//
//   GET /metrics  the registry in Prometheus text format (prometheus-cpp's TextSerializer)
//   GET /healthz  200 "ok" while every liveness check passes, else 503 naming the failures
//   GET /readyz   200 "ok" once every readiness check passes (e.g. "informers synced"), else 503
//   (append ?verbose to /healthz or /readyz for one line per check)
// Anything else is 404. Checks run on the server thread for each request: keep them cheap and
// non-blocking (read an atomic flag, call Informer::hasSynced()).
// The server is Boost.Beast on one thread; Beast stays inside http_endpoint.cc.
// Thread-safety: add*Check() and stop() are safe from any thread at any time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lib/core/status.h"
#include "lib/core/statusor.h"
#include "lib/metrics/registry.h"

namespace novacron::metrics {

struct HttpEndpointOptions {
  std::string address = "0.0.0.0";  // tests use "127.0.0.1"
  uint16_t port = 8080;             // 0 picks a free port (see HttpEndpoint::port())
  RegistryPtr registry;             // nullptr = defaultRegistry()
};

// A check returns OK when healthy, otherwise a status whose message says why.
using HealthCheck = std::function<core::Status()>;

class HttpEndpoint {
public:
  virtual ~HttpEndpoint() = default;
  virtual uint16_t port() const = 0;
  virtual void addLivenessCheck(std::string name, HealthCheck check) = 0;
  virtual void addReadinessCheck(std::string name, HealthCheck check) = 0;
  // Stops serving; idempotent (the destructor calls it).
  virtual void stop() = 0;
};
using HttpEndpointPtr = std::unique_ptr<HttpEndpoint>;

// Binds and starts serving. kUnavailable if the address cannot be bound.
core::StatusOr<HttpEndpointPtr> startHttpEndpoint(HttpEndpointOptions options);

}  // namespace novacron::metrics
