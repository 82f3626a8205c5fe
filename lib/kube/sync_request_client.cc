// The only file that includes Boost.Beast for the kube transport. Every Boost exception is caught
// here and turned into a core::Status.
#include "lib/kube/sync_request_client.h"

#include <deque>
#include <mutex>
#include <optional>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

namespace novacron::kube {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// At most this many idle keep-alive connections are kept.
constexpr size_t kMaxIdle = 64;

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

}  // namespace

struct SyncRequestClient::Impl {
  bool https = true;
  bool verify = true;
  std::string host;
  std::string port;
  std::string host_header;  // host[:port] as sent in Host

  std::mutex mu;
  std::deque<std::unique_ptr<Connection>> idle;  // guarded by mu
  std::shared_ptr<const TlsMaterial> ctx_tls;    // guarded by mu
  std::shared_ptr<ssl::context> ctx;             // guarded by mu; built from ctx_tls

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
      auto conn = std::move(idle.back());
      idle.pop_back();
      if (conn->tls == tls) {
        return conn;
      }
    }
    return nullptr;
  }

  void giveBack(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu);
    if (idle.size() < kMaxIdle) {
      idle.push_back(std::move(conn));
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
    parser.body_limit(boost::none);  // lists of thousands of objects are large
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
    for (const auto& field : res) {
      out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    *keep_alive = res.keep_alive();
    return out;
  }
};

SyncRequestClient::SyncRequestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SyncRequestClient::~SyncRequestClient() = default;

core::StatusOr<std::unique_ptr<SyncRequestClient>> SyncRequestClient::create(
    const std::string& server, bool insecure_skip_tls_verify) {
  auto impl = std::make_unique<Impl>();
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
  return std::unique_ptr<SyncRequestClient>(new SyncRequestClient(std::move(impl)));
}

core::StatusOr<HttpResponse> SyncRequestClient::send(const HttpRequest& request,
                                                     const HttpHeaders& headers,
                                                     const std::shared_ptr<const TlsMaterial>& tls,
                                                     std::chrono::milliseconds timeout) {
  const std::string what = request.method + " " + request.path;
  http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    return core::invalidArgumentError(what + ": unknown HTTP method");
  }
  try {
    http::request<http::string_body> req{verb, request.path, 11};
    req.set(http::field::host, impl_->host_header);
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

}  // namespace novacron::kube
