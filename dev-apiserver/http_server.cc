#include "dev-apiserver/http_server.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "dev-apiserver/util.h"

namespace novacron::devapi {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string percentDecode(const std::string& text, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::map<std::string, std::string> parseQuery(const std::string& query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    std::string part =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string k = percentDecode(part.substr(0, eq), true);
      std::string v = eq == std::string::npos ? "" : percentDecode(part.substr(eq + 1), true);
      out[k] = v;
    }
    if (amp == std::string::npos) {
      break;
    }
    start = amp + 1;
  }
  return out;
}

namespace {

template <typename Stream>
class ChunkWriter : public ResponseWriter {
public:
  ChunkWriter(Stream& s, int fd) : stream_(s), fd_(fd) {}
  bool writeChunk(const std::string& data) override {
    beast::error_code ec;
    net::write(stream_, http::make_chunk(net::buffer(data)), ec);
    return !ec;
  }
  bool clientGone() override {
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    int n = ::poll(&p, 1, 0);
    if (n <= 0) {
      return false;
    }
    if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
      return true;
    }
    // Readable during a watch: either a TLS close_notify or an EOF; clients send nothing else.
    char c;
    ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0;
  }

private:
  Stream& stream_;
  int fd_;
};

// kube's x509 authenticator: user = CN, groups = every O, plus system:authenticated.
authn::UserInfo certificateUser(X509_NAME* subject) {
  authn::UserInfo user;
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof(cn));
  user.name = cn[0] ? cn : "unknown";
  for (int i = X509_NAME_get_index_by_NID(subject, NID_organizationName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_organizationName, i)) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    user.groups.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                             static_cast<size_t>(ASN1_STRING_length(data)));
  }
  user.groups.push_back(authn::kAllAuthenticated);
  return user;
}

bool isAnonymousPath(const std::string& path) {
  return path == "/version" || path == "/version/" || path == "/healthz" || path == "/livez" ||
         path == "/readyz";
}

}  // namespace

struct HttpServer::Impl {
  ApiServer& api;
  HttpServerOptions options;
  net::io_context ioc;
  std::unique_ptr<ssl::context> ssl_ctx;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  int bound_port = 0;

  // One thread per connection, kept (never detached) so stop() can join every one of them: no
  // connection thread outlives the HttpServer, the ApiServer or the WatchHub it calls into.
  struct Conn {
    int fd = -1;  // open until `done`; closed only under `mu`, so stop() never hits a reused fd
    std::thread thread;
    bool done = false;  // the thread has closed the socket and is about to return
  };
  std::mutex mu;                   // guards conns, next_conn
  std::map<uint64_t, Conn> conns;  // by connection id
  uint64_t next_conn = 0;

  Impl(ApiServer& a, HttpServerOptions o) : api(a), options(std::move(o)) {}

  template <typename Stream>
  void serveStream(Stream& stream, int fd, const std::optional<authn::UserInfo>& cert_user) {
    beast::flat_buffer buffer;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      beast::error_code ec;
      http::read(stream, buffer, parser, ec);
      if (ec) {
        return;
      }
      auto& hreq = parser.get();
      Request req;
      req.method = std::string(hreq.method_string());
      std::string target(hreq.target());
      auto q = target.find('?');
      req.path = percentDecode(target.substr(0, q), false);
      if (q != std::string::npos) {
        req.query = parseQuery(target.substr(q + 1));
      }
      req.accept = std::string(hreq[http::field::accept]);
      req.content_type = std::string(hreq[http::field::content_type]);
      req.body = std::move(hreq.body());
      bool keep_alive = hreq.keep_alive();
      unsigned version = hreq.version();

      for (const auto& field : hreq) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        if (name.rfind("impersonate-", 0) == 0) {
          req.impersonation.emplace_back(std::move(name), std::string(field.value()));
        }
      }

      Response resp;
      bool authed = false;
      if (options.plain_http) {
        authed = true;
        req.user = authn::adminUser("system:unsecured");
      } else {
        std::string auth(hreq[http::field::authorization]);
        if (auth.rfind("Bearer ", 0) == 0) {
          if (auto user = options.authenticator->authenticate(auth.substr(7))) {
            authed = true;
            req.user = std::move(*user);
          }
        } else if (cert_user) {
          authed = true;
          req.user = *cert_user;
        } else if (isAnonymousPath(req.path)) {
          authed = true;
          req.user.name = authn::kAnonymous;
          req.user.groups = {authn::kAllUnauthenticated};
        }
      }
      if (!authed) {
        resp.code = 401;
        resp.body = statusBody(401, "Unauthorized", "Unauthorized").dump();
      } else if (auto fault = options.faults ? options.faults->intercept(req) : std::nullopt) {
        resp = std::move(*fault);
      } else {
        resp = api.handle(req);
      }
      if (options.audit) {
        options.audit->record(std::string(hreq[http::field::user_agent]), req.method, req.path,
                              resp.code, resp.unchanged);
      }
      if (resp.stream) {
        http::response<http::empty_body> res{http::status::ok, version};
        res.set(http::field::content_type, resp.content_type);
        res.set(http::field::cache_control, "no-cache, private");
        res.chunked(true);
        res.keep_alive(false);
        http::response_serializer<http::empty_body> sr{res};
        http::write_header(stream, sr, ec);
        if (ec) {
          return;
        }
        ChunkWriter<Stream> writer(stream, fd);
        resp.stream(writer);
        net::write(stream, http::make_chunk_last(), ec);
        return;  // watch responses end the connection
      }
      http::response<http::string_body> res{static_cast<http::status>(resp.code), version};
      res.set(http::field::content_type, resp.content_type);
      res.set(http::field::cache_control, "no-cache, private");
      for (const auto& [k, v] : resp.headers) {
        res.insert(k, v);
      }
      res.keep_alive(keep_alive);
      res.body() = std::move(resp.body);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || !keep_alive) {
        return;
      }
    }
  }

  // Serves one connection; the caller owns (and closes) the socket.
  void serve(tcp::socket& sock) {
    int fd = sock.native_handle();
    beast::error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    if (options.plain_http) {
      serveStream(sock, fd, std::nullopt);
      sock.shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
    ssl::stream<tcp::socket&> stream(sock, *ssl_ctx);
    stream.handshake(ssl::stream_base::server, ec);
    if (ec) {
      return;
    }
    std::optional<authn::UserInfo> cert_user;
    SSL* s = stream.native_handle();
    X509* peer = SSL_get_peer_certificate(s);
    if (peer != nullptr) {
      if (SSL_get_verify_result(s) == X509_V_OK) {
        cert_user = certificateUser(X509_get_subject_name(peer));
      }
      X509_free(peer);
    }
    serveStream(stream, fd, cert_user);
    stream.shutdown(ec);
  }

  void acceptLoop() {
    while (!stopping) {
      beast::error_code ec;
      tcp::socket sock(ioc);
      acceptor->accept(sock, ec);
      if (ec) {
        if (stopping) {
          return;
        }
        continue;
      }
      reapFinished();
      auto owned = std::make_shared<tcp::socket>(std::move(sock));
      std::lock_guard<std::mutex> lock(mu);
      uint64_t id = next_conn++;
      Conn& conn = conns[id];
      conn.fd = owned->native_handle();
      try {
        // The thread's epilogue locks `mu`, so it cannot run before `conn.thread` is assigned.
        conn.thread = std::thread([this, owned, id] { runConnection(*owned, id); });
      } catch (const std::system_error& e) {
        spdlog::warn("connection thread: {}", e.what());
        beast::error_code ignored;
        owned->close(ignored);
        conns.erase(id);
      }
    }
  }

  void runConnection(tcp::socket& sock, uint64_t id) {
    try {
      serve(sock);
    } catch (const std::exception& e) {
      spdlog::debug("connection: {}", e.what());
    }
    std::lock_guard<std::mutex> lock(mu);
    beast::error_code ec;
    sock.close(ec);
    conns[id].done = true;
  }

  // Joins the threads of finished connections (they only return after marking `done`).
  void reapFinished() {
    std::vector<std::thread> finished;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto it = conns.begin(); it != conns.end();) {
        if (it->second.done) {
          finished.push_back(std::move(it->second.thread));
          it = conns.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& t : finished) {
      t.join();
    }
  }
};

HttpServer::HttpServer(ApiServer& api, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
}

core::Status HttpServer::start() {
  auto& o = impl_->options;
  try {
    if (!o.plain_http) {
      auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
      ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      std::string chain = o.tls.server_cert_pem;
      ctx->use_certificate_chain(net::buffer(chain));
      ctx->use_private_key(net::buffer(o.tls.server_key_pem), ssl::context::pem);
      ctx->add_certificate_authority(net::buffer(o.tls.ca_cert_pem));
      // Ask for a client certificate but accept connections without one (token clients).
      ctx->set_verify_mode(ssl::verify_peer);
      ctx->set_verify_callback([](bool, ssl::verify_context&) { return true; });
      SSL_CTX_set_client_CA_list(ctx->native_handle(), nullptr);
      impl_->ssl_ctx = std::move(ctx);
    }
    tcp::endpoint ep(net::ip::make_address(o.bind_address), static_cast<unsigned short>(o.port));
    impl_->acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
    impl_->acceptor->open(ep.protocol());
    impl_->acceptor->set_option(net::socket_base::reuse_address(true));
    impl_->acceptor->bind(ep);
    impl_->acceptor->listen(1024);
    impl_->bound_port = impl_->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return core::unavailableError(std::string("listen: ") + e.what());
  }
  impl_->accept_thread = std::thread([this] { impl_->acceptLoop(); });
  return core::okStatus();
}

void HttpServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) {
    return;
  }
  if (impl_->acceptor) {
    ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
    beast::error_code ec;
    impl_->acceptor->close(ec);
  }
  if (impl_->accept_thread.joinable()) {
    impl_->accept_thread.join();
  }
  // No new connections from here on. Shutting the sockets down wakes every connection thread:
  // reads and writes fail, and watchers notice clientGone() within their 1 s wake-up (or at once
  // when the WatchHub was stopped first). Then join them all.
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [id, conn] : impl_->conns) {
      if (!conn.done) {
        ::shutdown(conn.fd, SHUT_RDWR);
      }
      threads.push_back(std::move(conn.thread));
    }
  }
  for (auto& t : threads) {
    if (t.joinable()) {
      t.join();
    }
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->conns.clear();
}

int HttpServer::port() const {
  return impl_->bound_port;
}

}  // namespace novacron::devapi
