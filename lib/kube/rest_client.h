// RestClient: the Client implementation that talks to a real API server through an HttpTransport.
//
// Every request passes the client-side token bucket (qps/burst) first, sends JSON, and maps error
// responses with api_status.h. Metrics (in options.registry, default metrics::defaultRegistry()):
//   rest_client_requests_total{code,method,resource}   code is the HTTP status or "<error>";
//                                                      method is the HTTP verb, or WATCH
//   rest_client_request_duration_seconds{method,resource}
// Watches run on a thread per watch that reads the streamed body line by line (one JSON event per
// line) and calls the callback.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/kube/config.h"
#include "lib/kube/http_transport.h"
#include "lib/metrics/registry.h"

namespace novacron::kube {

struct RestClientOptions {
  double qps = 50.0;  // client-go defaults to 5/10, too slow for a controller with many objects
  int burst = 100;
  std::string user_agent = "novacron";
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per request (not watches)
  core::ClockPtr clock;                                         // default core::systemClock()
  metrics::RegistryPtr registry;  // default metrics::defaultRegistry()
  // How the rate limiter waits (tests record the delays instead); default waits on `clock`.
  std::function<void(std::chrono::nanoseconds)> sleep;
};

// A client over an existing transport (tests pass a FakeHttpTransport).
ClientPtr newRestClient(HttpTransportPtr transport, RestClientOptions options = {});

// A client over a cpprestsdk transport built from `config`.
core::StatusOr<ClientPtr> newRestClient(const Config& config, RestClientOptions options = {});

}  // namespace novacron::kube
