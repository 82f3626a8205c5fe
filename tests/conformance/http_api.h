// Raw-HTTP helpers for the conformance suite: JSON requests and watch streams over the project's
// kube::HttpTransport, with no interpretation beyond parsing bodies, so the tests see exactly what
// the API server sent (status codes, Status bodies, event order).
//
// Thread-safety: Api may be used from several threads (the transport allows it); a WatchStream is
// filled by the transport's reader thread and read by one test thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/kube/http_transport.h"
#include "tests/testing/eventually.h"

namespace novacron::conformance {

using Json = nlohmann::json;

struct Response {
  int status = 0;
  Json body;        // parsed body (null when empty or not JSON)
  std::string raw;  // body as received
  kube::HttpHeaders headers;
};

inline constexpr const char* kMergePatch = "application/merge-patch+json";
inline constexpr const char* kJsonPatch = "application/json-patch+json";
inline constexpr const char* kStrategicMergePatch = "application/strategic-merge-patch+json";

class Api {
public:
  explicit Api(kube::HttpTransport& transport) : transport_(transport) {}

  Response get(const std::string& path);
  Response post(const std::string& path, const Json& body);
  Response put(const std::string& path, const Json& body);
  Response patch(const std::string& path, const Json& body,
                 const std::string& content_type = kMergePatch);
  Response del(const std::string& path, const Json& body = Json());
  Response send(const std::string& method, const std::string& path, const std::string& body,
                const std::string& content_type);

  kube::HttpTransport& transport() { return transport_; }

  // The same API acting as `user` (and `groups`) through Impersonate-User / Impersonate-Group
  // headers on every request (`kubectl --as=... --as-group=...`).
  Api as(const std::string& user, const std::vector<std::string>& groups = {}) const;

private:
  kube::HttpTransport& transport_;
  kube::HttpHeaders extra_headers_;
};

// One watch request whose events queue up as they arrive.
class WatchStream {
public:
  // Opens `path` (which must include watch=true or be a watch URL). On a non-2xx answer the stream
  // is ended at once and httpStatus()/errorBody() tell why.
  static std::unique_ptr<WatchStream> open(kube::HttpTransport& transport, const std::string& path);
  ~WatchStream();

  int httpStatus() const { return status_; }
  const Json& errorBody() const { return error_body_; }

  // The next event ({"type":..., "object":...}), or nullopt if none came before `timeout` or the
  // stream ended without more events.
  std::optional<Json> next(std::chrono::milliseconds timeout);
  // The next event that is not a BOOKMARK.
  std::optional<Json> nextNonBookmark(std::chrono::milliseconds timeout);
  // True once the server closed the stream and every event was consumed.
  bool endedAndDrained();
  // Waits until the server ends the stream; false if it is still open after `timeout`.
  bool waitEnded(std::chrono::milliseconds timeout);

private:
  WatchStream() = default;

  kube::StreamHandlePtr handle_;
  std::thread waiter_;
  int status_ = 0;
  Json error_body_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Json> events_;  // guarded by mu_
  bool ended_ = false;       // guarded by mu_
};

// Percent-encodes a query parameter value.
std::string urlEncode(const std::string& value);

// The shared poll-until helper (tests/testing/eventually.h).
using ::novacron::testing::eventually;

}  // namespace novacron::conformance
