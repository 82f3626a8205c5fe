// LibvirtConnection: virt::Connection on libvirt's C API (qemu:///system in production,
// test:///default or test:///<file> in tests). The only files that include libvirt headers are
// this one's .cc and nothing else.
//
// Reconnect: every call first checks that the connection is alive (libvirt keepalive and a close
// callback notice a dead libvirtd); a dead connection is dropped and reopened on a background
// thread, at most once per backoff delay (core::ExponentialBackoff). Calls made while it is down
// (reconnecting or backing off) fail at once with Unavailable: no caller ever waits for libvirtd
// behind the connection mutex. Event subscriptions are re-registered on each new connection.
// Events: libvirt's default event loop runs on one process-wide thread started on first use.
// Metrics: every call is timed into NodeMetrics (if given) and failures counted by code.
// Thread-safety: safe from any thread. The internal mutex guards the connection pointer only (never
// held across virConnectOpen); calls run on a reference to the connection without holding it. Event
// handlers run on the event-loop thread.
#pragma once

#include <functional>
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
  // Test seams, empty in production: before_connect runs before each virConnectOpen (off the
  // mutex) and may block, like a slow libvirtd, or fail; alive() == false marks the open
  // connection dead, like a libvirtd restart.
  std::function<core::Status()> before_connect;
  std::function<bool()> alive;
};

// Opens the connection once; fails with Unavailable if libvirtd does not answer (callers decide
// whether to retry at startup).
[[nodiscard]] core::StatusOr<ConnectionPtr> openLibvirt(LibvirtOptions options);

}  // namespace novacron::node::virt
