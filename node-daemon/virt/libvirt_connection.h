// LibvirtConnection: virt::Connection on libvirt's C API (qemu:///system in production,
// test:///default or test:///<file> in tests). The only files that include libvirt headers are
// this one's .cc and nothing else.
//
// Reconnect: every call first checks that the connection is alive (libvirt keepalive and a close
// callback notice a dead libvirtd); a dead connection is reopened on the next call, at most once
// per backoff delay (core::ExponentialBackoff), and calls made while the backoff runs fail fast
// with Unavailable. Event subscriptions are re-registered on each new connection.
// Events: libvirt's default event loop runs on one process-wide thread started on first use.
// Metrics: every call is timed into NodeMetrics (if given) and failures counted by code.
// Thread-safety: safe from any thread. The internal mutex is held while (re)connecting only; calls
// run on a reference to the connection without holding it. Event handlers run on the event-loop
// thread.
#pragma once

#include <memory>
#include <string>

#include "lib/core/backoff.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "node-daemon/node_metrics.h"
#include "node-daemon/virt/connection.h"

namespace novacron::node::virt {

struct LibvirtOptions {
  std::string uri = "qemu:///system";
  core::BackoffPolicy reconnect_backoff{std::chrono::milliseconds(200), std::chrono::seconds(10),
                                        2.0, 0.2};
  // libvirt keepalive: probe every `keepalive_interval_s`, give up after `keepalive_count` misses.
  // A negative interval disables keepalive (the test driver does not support it).
  int keepalive_interval_s = 5;
  unsigned keepalive_count = 3;
  core::ClockPtr clock;    // defaults to the system clock
  NodeMetricsPtr metrics;  // optional
};

// Opens the connection once; fails with Unavailable if libvirtd does not answer (callers decide
// whether to retry at startup).
[[nodiscard]] core::StatusOr<ConnectionPtr> openLibvirt(LibvirtOptions options);

}  // namespace novacron::node::virt
