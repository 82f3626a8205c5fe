// SyncRequestClient: plain request/response HTTP(S) exchanges performed on the calling thread
// (Boost.Beast over pooled keep-alive connections), for the transport's send(). cpprestsdk hands
// every request to its own thread pool and the answer back through tasks: two or three thread
// switches and wake-ups per request, which was a fifth of the controller's CPU at a few hundred
// requests per second. Here the caller writes the request and reads the response itself, and a
// stream (a watch) is read by its own reader thread doing its own non-blocking reads, waiting in
// poll() between them (not in the io_context: its scheduler cost a third of a bulk stream's CPU).
//
// TLS as cpprestsdk did it: the CA from TlsMaterial (or none), peer and host name verification
// unless insecure, the client certificate if any, SNI for host names. Errors: Unavailable for
// connection, TLS and protocol failures, DeadlineExceeded when `timeout` passed; an HTTP error
// status is a response. A request that fails on a reused keep-alive connection before any byte of
// the response arrived (the server closed it while idle) is sent again once on a new connection.
//
// Idle keep-alive connections: the pool keeps at most `max_idle` and closes one that stayed idle
// for `idle_timeout` (a thread of the client's own waits for that), as Go's net/http Transport
// does (client-go: 25 per host, 90 s). Each idle TLS connection holds about 68 KB (asio's stream
// buffers and BIO pair); a burst of concurrent writers leaves that many behind otherwise.
//
// Thread-safety: send() may be called concurrently; each call holds one connection of its own.
// This header does not include Boost.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/http_transport.h"
#include "lib/kube/tls_material.h"

namespace novacron::kube {

struct ConnectionPoolOptions {
  // Idle keep-alive connections kept beyond this many are closed when their request ends.
  size_t max_idle = 64;
  // An idle connection is closed once it was not used for this long. Go's net/http default
  // (DefaultTransport.IdleConnTimeout, also client-go's): long enough that a controller doing a
  // request every few seconds keeps its connection, short enough that the connections a burst
  // of concurrent writes opened do not stay for the life of the process.
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(90);
  core::ClockPtr clock;  // null: core::systemClock()
};

class SyncRequestClient {
public:
  // `server`: "https://host:port" or "http://host:port" (a path prefix is not supported).
  [[nodiscard]] static core::StatusOr<std::unique_ptr<SyncRequestClient>> create(
      const std::string& server, bool insecure_skip_tls_verify,
      ConnectionPoolOptions pool = ConnectionPoolOptions());
  ~SyncRequestClient();

  // Sends `request` with `headers` added (e.g. Authorization), over a connection configured with
  // `tls` (connections are pooled per TlsMaterial object: a new object means new connections).
  [[nodiscard]] core::StatusOr<HttpResponse> send(const HttpRequest& request,
                                                  const HttpHeaders& headers,
                                                  const std::shared_ptr<const TlsMaterial>& tls,
                                                  std::chrono::milliseconds timeout);

  // Opens a streamed response (HttpTransport::openStream): waits for the headers, then reads the
  // body on a thread of its own, line by line; `timeout` is the limit for the headers and for
  // the silence between two reads. The stream has a connection of its own (never pooled).
  [[nodiscard]] core::StatusOr<StreamHandlePtr> openStream(
      const HttpRequest& request, const HttpHeaders& headers,
      const std::shared_ptr<const TlsMaterial>& tls, std::chrono::milliseconds timeout,
      LineCallback on_line);

private:
  struct Impl;
  explicit SyncRequestClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::kube
