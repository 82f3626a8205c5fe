// The only file that includes Boost.Beast for the kube transport. Every Boost exception is caught
// here and turned into a core::Status.
#include "lib/kube/sync_request_client.h"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/kube/line_splitter.h"

namespace novacron::kube {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// No limit on a response body in practice. Not boost::none: Boost 1.74's parser compares a
// Content-Length with the optional limit, and every length is "greater" than none.
constexpr std::uint64_t kNoBodyLimit = std::numeric_limits<std::uint64_t>::max();

// One keep-alive connection and the io_context its operations run on (on the calling thread).
struct Connection {
  net::io_context ioc;
  std::shared_ptr<const TlsMaterial> tls;  // what it was configured with (pool key)
  std::shared_ptr<ssl::context> ctx;       // keeps the TLS context alive
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

// Runs the connection's pending operation to its end on this thread.
void runAll(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

core::Status statusOf(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) {
    return core::deadlineExceededError(what + ": timed out");
  }
  return core::unavailableError(what + ": " + ec.message());
}

bool isIpAddress(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Calls f(stream) with the connection's TLS or plain stream.
template <class F>
auto withStream(Connection& conn, F&& f) {
  return conn.secure ? f(*conn.secure) : f(*conn.plain);
}

// What waitReadable() saw; with kFailed, `error` is poll()'s errno.
enum class Wait { kReadable, kCancelled, kTimedOut, kFailed };

// Waits until `fd` has something to read (or an error or hang-up to report: the next read
// returns it), `cancel_fd` was signalled, or `deadline` passed.
Wait waitReadable(int fd, int cancel_fd, std::chrono::steady_clock::time_point deadline,
                  int* error) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) {
      return Wait::kTimedOut;
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
    const int ms = static_cast<int>(
        std::min<int64_t>(left.count() + 1, std::numeric_limits<int>::max()));  // round up
    const int n = ::poll(fds, 2, ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      *error = errno;
      return Wait::kFailed;
    }
    if (fds[1].revents != 0) {
      return Wait::kCancelled;
    }
    if (fds[0].revents != 0) {
      return Wait::kReadable;
    }
  }
}

// A body read line by line on a reader thread; see StreamHandle.
//
// The reader reads the socket itself, without the io_context: the socket is switched to
// non-blocking, each read takes what has arrived (and what TLS and the parser hold already), and
// only when nothing has the thread waits in poll() for data, the timeout or a cancel (an
// eventfd). Reading through the io_context cost about 36 trips through its scheduler (an
// epoll_wait each) per read, a third of the reader's CPU at a bulk stream's rate.
class SyncStreamHandle final : public StreamHandle {
public:
  using Parser = http::response_parser<http::string_body>;

  SyncStreamHandle(std::unique_ptr<Connection> conn, HttpResponse head)
      : conn_(std::move(conn)), head_(std::move(head)) {}

  ~SyncStreamHandle() override {
    cancel();
    if (reader_.joinable()) {
      reader_.join();
    }
    if (cancel_fd_ >= 0) {
      ::close(cancel_fd_);
    }
  }

  // Starts the reader thread. Unavailable when the eventfd that cancel() signals it through
  // cannot be created.
  core::Status start(std::unique_ptr<Parser> parser, LineCallback on_line,
                     std::chrono::milliseconds timeout, std::string what) {
    cancel_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (cancel_fd_ < 0) {
      const int error = errno;
      return core::unavailableError(what + ": eventfd: " + std::strerror(error));
    }
    reader_ = std::thread([this, parser = std::move(parser), cb = std::move(on_line), timeout,
                           what = std::move(what)]() mutable {
      StreamResult result = read(*parser, cb, timeout, what);
      beast::error_code ec;  // hang up however the stream ended: the server sees it at once
      conn_->lowest().socket().close(ec);
      finish(std::move(result));
    });
    return core::okStatus();
  }

  void markDone() { finish({StreamEnd::kEof, core::okStatus()}); }

  const HttpResponse& response() const override { return head_; }

  void cancel() override {
    std::lock_guard lock(mu_);
    if (done_ || cancelled_) {
      return;
    }
    cancelled_ = true;
    // Wakes the reader's poll(); a read in progress returns first (it never blocks). Under mu_,
    // so the destructor's own cancel() waits for this write before the eventfd is closed.
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(cancel_fd_, &one, sizeof(one));
  }

  StreamResult wait() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return result_;
  }

  bool done() const override {
    std::lock_guard lock(mu_);
    return done_;
  }

private:
  bool cancelRequested() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  StreamResult read(Parser& parser, const LineCallback& on_line, std::chrono::milliseconds timeout,
                    const std::string& what) {
    LineSplitter lines(on_line);
    // Hands what the parser has read of the body to the splitter; false when the callback
    // asked to stop.
    auto takeBody = [&] {
      std::string& body = parser.get().body();
      const bool keep = lines.feed(body);
      body.clear();
      return keep;
    };
    if (!takeBody()) {  // what arrived with the headers
      return stoppedByCallback(what);
    }
    // Non-blocking for the reads. TLS may also write while reading (a reply to a KeyUpdate that
    // asks for one): asio then writes ~30 bytes to a socket whose send buffer is empty (nothing
    // else is sent on a stream after its request), which does not meet would_block in practice.
    auto& socket = conn_->lowest().socket();
    beast::error_code ec;
    socket.non_blocking(true, ec);
    if (ec) {
      return {StreamEnd::kError, statusOf(ec, what)};
    }
    // The inactivity limit: moved on by every read that took bytes, not by a wake-up alone (a
    // peer trickling a TLS record byte by byte is as silent as one that sends nothing).
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (cancelRequested()) {
        return cancelled(what);
      }
      if (parser.is_done()) {
        if (!lines.finish()) {
          return stoppedByCallback(what);
        }
        return {StreamEnd::kEof, core::okStatus()};
      }
      const size_t parsed = withStream(
          *conn_, [&](auto& stream) { return http::read_some(stream, conn_->buffer, parser, ec); });
      if (parsed > 0) {
        deadline = std::chrono::steady_clock::now() + timeout;
      }
      if (cancelRequested()) {
        return cancelled(what);
      }
      if (!takeBody()) {
        return stoppedByCallback(what);
      }
      if (ec == net::error::would_block || ec == net::error::try_again) {
        int error = 0;
        switch (waitReadable(socket.native_handle(), cancel_fd_, deadline, &error)) {
        case Wait::kReadable:
          continue;
        case Wait::kCancelled:
          return cancelled(what);
        case Wait::kTimedOut:
          return {StreamEnd::kError, statusOf(beast::error::timeout, what)};
        case Wait::kFailed:
          return {StreamEnd::kError,
                  core::unavailableError(what + ": poll: " + std::strerror(error))};
        }
      }
      if (ec == http::error::end_of_stream && parser.is_done()) {
        continue;
      }
      if (ec) {
        return {StreamEnd::kError, statusOf(ec, what)};
      }
    }
  }

  StreamResult cancelled(const std::string& what) {
    return {StreamEnd::kCancelled, core::cancelledError(what + ": stream cancelled")};
  }

  StreamResult stoppedByCallback(const std::string& what) {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    return {StreamEnd::kCancelled, core::cancelledError(what + ": stopped by the line callback")};
  }

  void finish(StreamResult result) {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      result_ = std::move(result);
    }
    cv_.notify_all();
  }

  const std::unique_ptr<Connection> conn_;
  const HttpResponse head_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;  // guarded by mu_
  bool done_ = false;       // guarded by mu_
  StreamResult result_;     // guarded by mu_
  std::thread reader_;
  int cancel_fd_ = -1;  // an eventfd (from start()): cancel() writes it, the reader's poll() wakes
};

HttpHeaders headersOf(const http::response_header<>& head) {
  HttpHeaders out;
  for (const auto& field : head) {
    out.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return out;
}

}  // namespace

struct SyncRequestClient::Impl {
  bool https = true;
  bool verify = true;
  std::string host;
  std::string port;
  std::string host_header;  // host[:port] as sent in Host

  ConnectionPoolOptions pool;

  struct IdleConnection {
    std::unique_ptr<Connection> conn;
    core::Clock::TimePoint since;  // when it was given back
  };

  std::mutex mu;
  std::condition_variable_any reaper_cv;       // signals stopping
  bool stopping = false;                       // guarded by mu
  std::deque<IdleConnection> idle;             // guarded by mu; oldest first, reused last first
  std::shared_ptr<const TlsMaterial> ctx_tls;  // guarded by mu
  std::shared_ptr<ssl::context> ctx;           // guarded by mu; built from ctx_tls
  std::thread reaper;                          // closes connections idle for pool.idle_timeout

  ~Impl() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    reaper_cv.notify_all();
    if (reaper.joinable()) {
      reaper.join();
    }
  }

  // The reaper thread: waits until the oldest idle connection has been idle for
  // pool.idle_timeout, closes every connection that has, and so on until stopping.
  void reap() {
    std::unique_lock lock(mu);
    while (!stopping) {
      const auto now = pool.clock->now();
      std::vector<std::unique_ptr<Connection>> expired;
      while (!idle.empty() && now - idle.front().since >= pool.idle_timeout) {
        expired.push_back(std::move(idle.front().conn));
        idle.pop_front();
      }
      if (!expired.empty()) {
        lock.unlock();
        expired.clear();  // closes them (not while holding mu: senders wait for it)
        lock.lock();
        continue;
      }
      // A connection given back while waiting expires after this wake-up, never before it.
      const auto wake_at =
          idle.empty() ? now + pool.idle_timeout : idle.front().since + pool.idle_timeout;
      pool.clock->waitUntil(lock, reaper_cv, wake_at, [&] { return stopping; });
    }
  }

  core::StatusOr<std::shared_ptr<ssl::context>> contextFor(
      const std::shared_ptr<const TlsMaterial>& tls) {
    std::lock_guard lock(mu);
    if (ctx && ctx_tls == tls) {
      return ctx;
    }
    try {
      auto built = std::make_shared<ssl::context>(ssl::context::tls_client);
      if (verify) {
        built->set_verify_mode(ssl::verify_peer);
        built->set_default_verify_paths();
        if (tls && !tls->ca_pem.empty()) {
          built->add_certificate_authority(net::buffer(tls->ca_pem));
        }
      } else {
        built->set_verify_mode(ssl::verify_none);
      }
      if (tls && !tls->cert_pem.empty()) {
        built->use_certificate_chain(net::buffer(tls->cert_pem));
        built->use_private_key(net::buffer(tls->key_pem), ssl::context::pem);
      }
      ctx = built;
      ctx_tls = tls;
      return built;
    } catch (const std::exception& e) {
      return core::unavailableError(std::string("configuring TLS: ") + e.what());
    }
  }

  // An idle connection made with `tls`, or null.
  std::unique_ptr<Connection> takeIdle(const std::shared_ptr<const TlsMaterial>& tls) {
    std::lock_guard lock(mu);
    while (!idle.empty()) {
      auto conn = std::move(idle.back().conn);
      idle.pop_back();
      if (conn->tls == tls) {
        return conn;
      }
    }
    return nullptr;
  }

  // Keeps `conn` for reuse; when max_idle are kept already, it is closed (after mu is released:
  // a parameter outlives the function's locals).
  void giveBack(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu);
    if (idle.size() < pool.max_idle) {
      idle.push_back(IdleConnection{std::move(conn), pool.clock->now()});
    }
  }

  core::StatusOr<std::unique_ptr<Connection>> connect(const std::shared_ptr<const TlsMaterial>& tls,
                                                      std::chrono::milliseconds timeout,
                                                      const std::string& what) {
    auto conn = std::make_unique<Connection>();
    conn->tls = tls;
    if (https) {
      NOVACRON_ASSIGN_OR_RETURN(conn->ctx, contextFor(tls));
      conn->secure.emplace(conn->ioc, *conn->ctx);
    } else {
      conn->plain.emplace(conn->ioc);
    }
    beast::error_code ec;
    tcp::resolver resolver(conn->ioc);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) {
      return statusOf(ec, what + ": resolving " + host);
    }
    conn->lowest().expires_after(timeout);
    conn->lowest().async_connect(endpoints,
                                 [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    runAll(conn->ioc);
    if (ec) {
      return statusOf(ec, what + ": connecting");
    }
    conn->lowest().socket().set_option(tcp::no_delay(true), ec);
    if (!https) {
      return conn;
    }
    if (!isIpAddress(host)) {
      // SNI, as cpprestsdk sends it.
      SSL_set_tlsext_host_name(conn->secure->native_handle(), host.c_str());
    }
    if (verify) {
      conn->secure->set_verify_callback(ssl::host_name_verification(host), ec);
      if (ec) {
        return statusOf(ec, what + ": TLS verification");
      }
    }
    conn->secure->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    runAll(conn->ioc);
    if (ec) {
      return statusOf(ec, what + ": TLS handshake");
    }
    return conn;
  }

  // The Beast request for `request`; InvalidArgument for a method HTTP does not have.
  core::StatusOr<http::request<http::string_body>> build(const HttpRequest& request,
                                                         const HttpHeaders& headers,
                                                         const std::string& what) const {
    const http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
      return core::invalidArgumentError(what + ": unknown HTTP method");
    }
    http::request<http::string_body> req{verb, request.path, 11};
    req.set(http::field::host, host_header);
    bool has_content_type = false;
    for (const auto* list : {&request.headers, &headers}) {
      for (const auto& [name, value] : *list) {
        has_content_type = has_content_type || beast::iequals(name, "Content-Type");
        req.insert(name, value);
      }
    }
    if (!request.body.empty()) {
      if (!has_content_type) {
        req.set(http::field::content_type, "application/json");
      }
      req.body() = request.body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  // Writes the request and reads the response on `conn`. `response_started`: whether any byte
  // of a response arrived (a request that failed before may be sent again).
  template <class Stream>
  core::StatusOr<HttpResponse> exchange(Connection& conn, Stream& stream,
                                        http::request<http::string_body>& req,
                                        std::chrono::milliseconds timeout, const std::string& what,
                                        bool* response_started, bool* keep_alive) {
    beast::error_code ec;
    conn.lowest().expires_after(timeout);  // for the write and the read together
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    runAll(conn.ioc);
    if (ec) {
      return statusOf(ec, what);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kNoBodyLimit);  // lists of thousands of objects are large
    http::async_read(stream, conn.buffer, parser,
                     [&](beast::error_code e, std::size_t) { ec = e; });
    runAll(conn.ioc);
    *response_started = parser.got_some();
    if (ec) {
      return statusOf(ec, what);
    }
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.headers = headersOf(res.base());
    out.body = std::move(res.body());
    *keep_alive = res.keep_alive();
    return out;
  }
};

SyncRequestClient::SyncRequestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SyncRequestClient::~SyncRequestClient() = default;

core::StatusOr<std::unique_ptr<SyncRequestClient>> SyncRequestClient::create(
    const std::string& server, bool insecure_skip_tls_verify, ConnectionPoolOptions pool) {
  auto impl = std::make_unique<Impl>();
  impl->pool = std::move(pool);
  if (!impl->pool.clock) {
    impl->pool.clock = core::systemClock();
  }
  std::string rest;
  if (server.rfind("https://", 0) == 0) {
    rest = server.substr(8);
    impl->port = "443";
  } else if (server.rfind("http://", 0) == 0) {
    impl->https = false;
    rest = server.substr(7);
    impl->port = "80";
  } else {
    return core::invalidArgumentError("server \"" + server + "\" is not an http(s) URL");
  }
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  if (rest.find('/') != std::string::npos || rest.empty()) {
    return core::invalidArgumentError("server \"" + server + "\": a path prefix is not supported");
  }
  impl->host_header = rest;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string::npos) {
      return core::invalidArgumentError("server \"" + server + "\": bad IPv6 address");
    }
    impl->host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') {
      impl->port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    impl->host = rest.substr(0, colon);
    impl->port = rest.substr(colon + 1);
  } else {
    impl->host = rest;
  }
  impl->verify = !insecure_skip_tls_verify;
  impl->reaper = std::thread([impl = impl.get()] { impl->reap(); });
  return std::unique_ptr<SyncRequestClient>(new SyncRequestClient(std::move(impl)));
}

core::StatusOr<HttpResponse> SyncRequestClient::send(const HttpRequest& request,
                                                     const HttpHeaders& headers,
                                                     const std::shared_ptr<const TlsMaterial>& tls,
                                                     std::chrono::milliseconds timeout) {
  const std::string what = request.method + " " + request.path;
  try {
    NOVACRON_ASSIGN_OR_RETURN(http::request<http::string_body> req,
                              impl_->build(request, headers, what));
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Connection> conn = impl_->takeIdle(tls);
      const bool reused = conn != nullptr;
      if (!conn) {
        NOVACRON_ASSIGN_OR_RETURN(conn, impl_->connect(tls, timeout, what));
      }
      bool response_started = false;
      bool keep_alive = false;
      auto out = conn->secure ? impl_->exchange(*conn, *conn->secure, req, timeout, what,
                                                &response_started, &keep_alive)
                              : impl_->exchange(*conn, *conn->plain, req, timeout, what,
                                                &response_started, &keep_alive);
      if (!out.isOk()) {
        // A keep-alive connection the server closed while it was idle: once more on a new one.
        if (reused && !response_started &&
            out.status().code() != core::StatusCode::kDeadlineExceeded) {
          continue;
        }
        return out.status();
      }
      if (keep_alive) {
        impl_->giveBack(std::move(conn));
      }
      return out;
    }
    return core::unavailableError(what + ": the connection failed twice");
  } catch (const std::exception& e) {
    return core::unavailableError(what + ": " + e.what());
  }
}

core::StatusOr<StreamHandlePtr> SyncRequestClient::openStream(
    const HttpRequest& request, const HttpHeaders& headers,
    const std::shared_ptr<const TlsMaterial>& tls, std::chrono::milliseconds timeout,
    LineCallback on_line) {
  const std::string what = request.method + " " + request.path;
  try {
    NOVACRON_ASSIGN_OR_RETURN(http::request<http::string_body> req,
                              impl_->build(request, headers, what));
    NOVACRON_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, impl_->connect(tls, timeout, what));
    beast::error_code ec;
    auto parser = std::make_unique<SyncStreamHandle::Parser>();
    parser->body_limit(kNoBodyLimit);
    conn->lowest().expires_after(timeout);
    withStream(*conn, [&](auto& stream) {
      http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    });
    runAll(conn->ioc);
    if (!ec) {
      withStream(*conn, [&](auto& stream) {
        http::async_read_header(stream, conn->buffer, *parser,
                                [&](beast::error_code e, std::size_t) { ec = e; });
      });
      runAll(conn->ioc);
    }
    if (ec) {
      return statusOf(ec, what);
    }
    HttpResponse head;
    head.status = static_cast<int>(parser->get().result_int());
    head.headers = headersOf(parser->get().base());
    const bool ok = head.status >= 200 && head.status < 300;
    if (!ok) {
      // The whole (error) body, then the stream has ended.
      withStream(*conn, [&](auto& stream) {
        http::async_read(stream, conn->buffer, *parser,
                         [&](beast::error_code e, std::size_t) { ec = e; });
      });
      runAll(conn->ioc);
      if (ec) {
        return statusOf(ec, what);
      }
      head.body = std::move(parser->get().body());
    }
    auto handle = std::make_unique<SyncStreamHandle>(std::move(conn), std::move(head));
    if (ok) {
      NOVACRON_RETURN_IF_ERROR(handle->start(std::move(parser), std::move(on_line), timeout, what));
    } else {
      handle->markDone();
    }
    return StreamHandlePtr(std::move(handle));
  } catch (const std::exception& e) {
    return core::unavailableError(what + ": " + e.what());
  }
}

}  // namespace novacron::kube
