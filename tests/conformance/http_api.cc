#include "tests/conformance/http_api.h"

#include <cctype>
#include <thread>

namespace novacron::conformance {
namespace {

Response toResponse(const core::StatusOr<kube::HttpResponse>& r) {
  Response out;
  if (!r.isOk()) {
    out.status = -1;
    out.raw = r.status().toString();
    return out;
  }
  out.status = r->status;
  out.raw = r->body;
  out.headers = r->headers;
  out.body = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (out.body.is_discarded()) {
    out.body = Json();
  }
  return out;
}

}  // namespace

Response Api::send(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& content_type) {
  kube::HttpRequest req;
  req.method = method;
  req.path = path;
  req.headers.emplace_back("Accept", "application/json");
  req.headers.insert(req.headers.end(), extra_headers_.begin(), extra_headers_.end());
  if (!body.empty()) {
    req.headers.emplace_back("Content-Type", content_type);
  }
  req.body = body;
  req.timeout = std::chrono::seconds(30);
  return toResponse(transport_.send(req));
}

Api Api::as(const std::string& user, const std::vector<std::string>& groups) const {
  Api other(transport_);
  other.extra_headers_.emplace_back("Impersonate-User", user);
  for (const auto& g : groups) {
    other.extra_headers_.emplace_back("Impersonate-Group", g);
  }
  return other;
}

Response Api::get(const std::string& path) {
  return send("GET", path, "", "");
}

Response Api::post(const std::string& path, const Json& body) {
  return send("POST", path, body.dump(), "application/json");
}

Response Api::put(const std::string& path, const Json& body) {
  return send("PUT", path, body.dump(), "application/json");
}

Response Api::patch(const std::string& path, const Json& body, const std::string& content_type) {
  return send("PATCH", path, body.dump(), content_type);
}

Response Api::del(const std::string& path, const Json& body) {
  return send("DELETE", path, body.is_null() ? "" : body.dump(), "application/json");
}

std::unique_ptr<WatchStream> WatchStream::open(kube::HttpTransport& transport,
                                               const std::string& path) {
  std::unique_ptr<WatchStream> w(new WatchStream());
  kube::HttpRequest req;
  req.method = "GET";
  req.path = path;
  req.headers.emplace_back("Accept", "application/json");
  req.timeout = std::chrono::seconds(90);
  WatchStream* self = w.get();
  auto handle = transport.openStream(req, [self](std::string_view line) {
    Json ev = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->events_.push_back(
        ev.is_discarded() ? Json{{"type", "UNPARSEABLE"}, {"raw", std::string(line)}} : ev);
    self->cv_.notify_all();
    return true;
  });
  if (!handle.isOk()) {
    w->status_ = -1;
    w->error_body_ = handle.status().toString();
    w->ended_ = true;
    return w;
  }
  w->handle_ = std::move(handle).value();
  w->status_ = w->handle_->response().status;
  if (w->status_ < 200 || w->status_ >= 300) {
    w->error_body_ = Json::parse(w->handle_->response().body, nullptr, false);
  }
  // Notices the end of the stream (joined in the destructor).
  w->waiter_ = std::thread([self, h = w->handle_.get()] {
    h->wait();
    std::lock_guard<std::mutex> lock(self->mu_);
    self->ended_ = true;
    self->cv_.notify_all();
  });
  return w;
}

WatchStream::~WatchStream() {
  if (handle_) {
    handle_->cancel();
  }
  if (waiter_.joinable()) {
    waiter_.join();
  }
}

std::optional<Json> WatchStream::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return !events_.empty() || ended_; });
  if (events_.empty()) {
    return std::nullopt;
  }
  Json ev = std::move(events_.front());
  events_.pop_front();
  return ev;
}

std::optional<Json> WatchStream::nextNonBookmark(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    auto ev = next(left);
    if (!ev || ev->value("type", "") != "BOOKMARK") {
      return ev;
    }
  }
}

bool WatchStream::endedAndDrained() {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_ && events_.empty();
}

bool WatchStream::waitEnded(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return ended_; });
}

std::string urlEncode(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : value) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace novacron::conformance
