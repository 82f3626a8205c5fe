// FakeHttpTransport: an HttpTransport that answers from a script and records every request, for
// testing RestClient (and anything else above the transport) without a server.
//
// send(): answers with the first queued reply (pushResponse / pushError), else with the handler
// (setHandler), else an Internal error, so a request the test did not script fails loudly.
// openStream(): takes the next queued FakeStream (pushStream); the test then feeds lines into it
// (FakeStream::pushLine) and ends it (finish) while the client reads, as a server would.
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/kube/http_transport.h"

namespace novacron::testing {

// One scripted streamed response. Lines pushed before or after openStream() are delivered in order.
class FakeStream {
public:
  explicit FakeStream(kube::HttpResponse head) : head_(std::move(head)) {}

  // Appends a body line (delivered without the newline).
  void pushLine(std::string line);
  // Ends the body: OK → kEof, otherwise kError with that status.
  void finish(core::Status status = core::okStatus());

  // True once the client cancelled the stream (cancel() or callback returned false).
  bool cancelled() const;
  // Number of lines handed to the client's callback so far.
  int delivered() const;

  const kube::HttpResponse& head() const { return head_; }

private:
  friend class FakeHttpTransport;
  friend class FakeStreamHandle;

  const kube::HttpResponse head_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;  // guarded by mu_
  bool finished_ = false;          // guarded by mu_
  core::Status finish_status_;     // guarded by mu_
  bool cancelled_ = false;         // guarded by mu_
  int delivered_ = 0;              // guarded by mu_
};
using FakeStreamPtr = std::shared_ptr<FakeStream>;

class FakeHttpTransport final : public kube::HttpTransport {
public:
  using Handler = std::function<core::StatusOr<kube::HttpResponse>(const kube::HttpRequest&)>;

  // Queues the reply to the next send().
  void pushResponse(int status, std::string body, kube::HttpHeaders headers = {});
  void pushError(core::Status error);
  // Answers send() calls once the queue is empty.
  void setHandler(Handler handler);

  // Queues the reply to the next openStream(); a non-2xx status makes a finished stream whose
  // body is `error_body`. Returns the stream so the test can feed it.
  FakeStreamPtr pushStream(int status = 200, std::string error_body = {});
  // Makes the next openStream() fail before any response.
  void pushStreamError(core::Status error);

  // Every request seen by send() and openStream(), in order.
  std::vector<kube::HttpRequest> requests() const;
  kube::HttpRequest lastRequest() const;
  size_t requestCount() const;

  core::StatusOr<kube::HttpResponse> send(const kube::HttpRequest& request) override;
  core::StatusOr<kube::StreamHandlePtr> openStream(const kube::HttpRequest& request,
                                                   kube::LineCallback on_line) override;

private:
  struct Reply {
    core::Status error;
    kube::HttpResponse response;
  };
  struct StreamReply {
    core::Status error;
    FakeStreamPtr stream;
  };

  mutable std::mutex mu_;
  std::deque<Reply> replies_;                // guarded by mu_
  std::deque<StreamReply> stream_replies_;   // guarded by mu_
  Handler handler_;                          // guarded by mu_
  std::vector<kube::HttpRequest> requests_;  // guarded by mu_
};

}  // namespace novacron::testing
