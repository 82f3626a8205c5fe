// The process-wide Prometheus registry every component registers its metrics in.
//
// prometheus-cpp is our metrics API (families, counters, histograms); this header is the one place
// that decides which registry is used, so tests can create their own and the /metrics endpoint
// (lib/metrics/http_endpoint.h, issue 5) serves the default one.
// Thread-safety: prometheus-cpp registries and metrics are thread-safe.
#pragma once

#include <memory>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace novacron::metrics {

using RegistryPtr = std::shared_ptr<prometheus::Registry>;

// The registry served by the process's /metrics endpoint.
RegistryPtr defaultRegistry();

// Standard latency buckets (seconds) for API calls, reconciles and libvirt calls.
const prometheus::Histogram::BucketBoundaries& latencyBuckets();

}  // namespace novacron::metrics
