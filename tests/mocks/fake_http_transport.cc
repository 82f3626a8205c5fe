#include "tests/mocks/fake_http_transport.h"

#include <thread>

namespace novacron::testing {

void FakeStream::pushLine(std::string line) {
  {
    std::lock_guard lock(mu_);
    lines_.push_back(std::move(line));
  }
  cv_.notify_all();
}

void FakeStream::finish(core::Status status) {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
    finish_status_ = std::move(status);
  }
  cv_.notify_all();
}

bool FakeStream::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

int FakeStream::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

// Delivers a FakeStream's lines on its own thread, like the real transport's reader.
class FakeStreamHandle final : public kube::StreamHandle {
public:
  FakeStreamHandle(FakeStreamPtr stream, kube::LineCallback on_line)
      : stream_(std::move(stream)), response_(stream_->head()) {
    if (response_.status < 200 || response_.status >= 300) {
      done_ = true;
      result_ = {kube::StreamEnd::kEof, core::okStatus()};
      return;
    }
    thread_ = std::thread([this, cb = std::move(on_line)] { run(cb); });
  }
  ~FakeStreamHandle() override {
    cancel();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  const kube::HttpResponse& response() const override { return response_; }

  void cancel() override {
    {
      std::lock_guard lock(stream_->mu_);
      if (stream_->finished_ && stream_->lines_.empty()) {
        return;  // already over; nothing to cancel
      }
      stream_->cancelled_ = true;
    }
    stream_->cv_.notify_all();
  }

  kube::StreamResult wait() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return result_;
  }

  bool done() const override {
    std::lock_guard lock(mu_);
    return done_;
  }

private:
  void run(const kube::LineCallback& on_line) {
    kube::StreamResult result;
    while (true) {
      std::string line;
      {
        std::unique_lock lock(stream_->mu_);
        stream_->cv_.wait(lock, [&] {
          return stream_->cancelled_ || !stream_->lines_.empty() || stream_->finished_;
        });
        if (stream_->cancelled_) {
          result = {kube::StreamEnd::kCancelled, core::cancelledError("stream cancelled")};
          break;
        }
        if (stream_->lines_.empty()) {
          result = stream_->finish_status_.isOk()
                       ? kube::StreamResult{kube::StreamEnd::kEof, core::okStatus()}
                       : kube::StreamResult{kube::StreamEnd::kError, stream_->finish_status_};
          break;
        }
        line = std::move(stream_->lines_.front());
        stream_->lines_.pop_front();
        ++stream_->delivered_;
      }
      if (line.empty()) {
        continue;
      }
      if (!on_line(line)) {
        std::lock_guard lock(stream_->mu_);
        stream_->cancelled_ = true;
        result = {kube::StreamEnd::kCancelled, core::cancelledError("stopped by callback")};
        break;
      }
    }
    {
      std::lock_guard lock(mu_);
      done_ = true;
      result_ = result;
    }
    cv_.notify_all();
  }

  FakeStreamPtr stream_;
  kube::HttpResponse response_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;          // guarded by mu_
  kube::StreamResult result_;  // guarded by mu_
  std::thread thread_;
};

void FakeHttpTransport::pushResponse(int status, std::string body, kube::HttpHeaders headers) {
  std::lock_guard lock(mu_);
  replies_.push_back({core::okStatus(), {status, std::move(headers), std::move(body)}});
}

void FakeHttpTransport::pushError(core::Status error) {
  std::lock_guard lock(mu_);
  replies_.push_back({std::move(error), {}});
}

void FakeHttpTransport::setHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

FakeStreamPtr FakeHttpTransport::pushStream(int status, std::string error_body) {
  auto stream = std::make_shared<FakeStream>(kube::HttpResponse{status, {}, std::move(error_body)});
  std::lock_guard lock(mu_);
  stream_replies_.push_back({core::okStatus(), stream});
  return stream;
}

void FakeHttpTransport::pushStreamError(core::Status error) {
  std::lock_guard lock(mu_);
  stream_replies_.push_back({std::move(error), nullptr});
}

std::vector<kube::HttpRequest> FakeHttpTransport::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

kube::HttpRequest FakeHttpTransport::lastRequest() const {
  std::lock_guard lock(mu_);
  return requests_.empty() ? kube::HttpRequest{} : requests_.back();
}

size_t FakeHttpTransport::requestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

core::StatusOr<kube::HttpResponse> FakeHttpTransport::send(const kube::HttpRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (!replies_.empty()) {
      Reply reply = std::move(replies_.front());
      replies_.pop_front();
      if (!reply.error.isOk()) {
        return reply.error;
      }
      return reply.response;
    }
    handler = handler_;
  }
  if (handler) {
    return handler(request);
  }
  return core::internalError("FakeHttpTransport: no scripted reply for " + request.method + " " +
                             request.path);
}

core::StatusOr<kube::StreamHandlePtr> FakeHttpTransport::openStream(
    const kube::HttpRequest& request, kube::LineCallback on_line) {
  StreamReply reply;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    if (stream_replies_.empty()) {
      return core::internalError("FakeHttpTransport: no scripted stream for " + request.method +
                                 " " + request.path);
    }
    reply = std::move(stream_replies_.front());
    stream_replies_.pop_front();
  }
  if (!reply.error.isOk()) {
    return reply.error;
  }
  return kube::StreamHandlePtr(
      std::make_unique<FakeStreamHandle>(reply.stream, std::move(on_line)));
}

}  // namespace novacron::testing
