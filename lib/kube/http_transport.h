// HttpTransport: the one door to the API server's HTTP(S). Everything above it (RestClient, the
// watcher, the conformance suite) speaks only these plain structs, so cpprestsdk stays inside
// cpprestsdk_transport.cc and tests can script responses (tests/mocks/fake_http_transport.h).
//
// The transport owns the connection concerns: base URL, TLS (CA, client certificate), the bearer
// token (Authorization header, re-read on rotation) and timeouts. It does not interpret bodies.
// Errors: Unavailable for connection/TLS failures, DeadlineExceeded for timeouts, Cancelled when a
// stream was cancelled. An HTTP error status (4xx/5xx) is NOT an error at this level: it is a
// response like any other.
// Thread-safety: implementations must allow concurrent send()/openStream() calls from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::kube {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; the first match.
std::optional<std::string> findHeader(const HttpHeaders& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE
  std::string path;            // path and query: "/api/v1/namespaces/a/configmaps?limit=5"
  HttpHeaders headers;         // e.g. Content-Type, Accept
  std::string body;
  // Whole-request timeout for send(); for openStream(), the time allowed until the response headers
  // arrive and between two reads of the body. Zero means the transport's default.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    return findHeader(headers, name);
  }
};

// How a stream ended.
enum class StreamEnd {
  kEof,        // the server closed the body normally
  kError,      // the connection failed or timed out (see StreamResult::status)
  kCancelled,  // cancel() was called or the line callback returned false
};

struct StreamResult {
  StreamEnd end = StreamEnd::kEof;
  core::Status status;  // OK for kEof; the failure for kError; Cancelled for kCancelled
};

// A body being read line by line on a transport thread.
class StreamHandle {
public:
  virtual ~StreamHandle() = default;

  // Status and headers of the response. For a non-2xx status the whole body is in `body`, the line
  // callback is never called and the stream has already ended (kEof).
  virtual const HttpResponse& response() const = 0;

  // Asks the stream to stop; returns at once. Idempotent; safe from any thread, including from
  // inside the line callback.
  virtual void cancel() = 0;

  // Blocks until the stream ended (no more callbacks will run) and says how.
  virtual StreamResult wait() = 0;

  // True once the stream ended and no callback is running.
  virtual bool done() const = 0;
};
using StreamHandlePtr = std::unique_ptr<StreamHandle>;

// Called with each complete line of a 2xx body, without the trailing "\n" (or "\r\n"); empty lines
// are skipped. A final line without a newline is delivered at EOF. Return false to stop the stream.
using LineCallback = std::function<bool(std::string_view line)>;

class HttpTransport {
public:
  virtual ~HttpTransport() = default;

  // Sends a request and reads the whole response.
  [[nodiscard]] virtual core::StatusOr<HttpResponse> send(const HttpRequest& request) = 0;

  // Sends a request, waits for the response headers, then reads the body on a background thread,
  // calling `on_line` for each line as it arrives. Returns an error only if no response arrived.
  // Destroying the handle cancels the stream and waits for it to end.
  [[nodiscard]] virtual core::StatusOr<StreamHandlePtr> openStream(const HttpRequest& request,
                                                                   LineCallback on_line) = 0;
};
using HttpTransportPtr = std::unique_ptr<HttpTransport>;

}  // namespace novacron::kube
