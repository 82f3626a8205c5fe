#include "tests/integration/kube/tls_test_server.h"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/x509.h>
#include <sys/socket.h>

namespace novacron::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct TlsTestServer::Impl {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{io};
};

namespace {

std::string reasonPhrase(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 404:
    return "Not Found";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  default:
    return "Status";
  }
}

class Responder final : public TestResponder {
public:
  explicit Responder(asio::ssl::stream<tcp::socket>& stream) : stream_(stream) {}

  void respond(int status, const std::string& body,
               const std::map<std::string, std::string>& headers) override {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
    bool has_type = false;
    for (const auto& [k, v] : headers) {
      out += k + ": " + v + "\r\n";
      has_type |= k == "Content-Type";
    }
    if (!has_type) {
      out += "Content-Type: application/json\r\n";
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    raw(out);
  }

  void startStream(int status) override {
    streaming_ = true;
    raw("HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) +
        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  }

  bool write(const std::string& data) override {
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
    return raw(size + data + "\r\n");
  }

  void finish() {
    if (streaming_) {
      raw("0\r\n\r\n");
    }
  }
  bool streaming() const { return streaming_; }

private:
  bool raw(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(stream_, asio::buffer(bytes), ec);
    return !ec;
  }

  asio::ssl::stream<tcp::socket>& stream_;
  bool streaming_ = false;
};

}  // namespace

TlsTestServer::TlsTestServer(const TestPki& pki, bool require_client_cert, Handler handler)
    : impl_(std::make_unique<Impl>()), handler_(std::move(handler)) {
  impl_->ctx.use_certificate_chain(asio::buffer(pki.server_cert_pem));
  impl_->ctx.use_private_key(asio::buffer(pki.server_key_pem), asio::ssl::context::pem);
  if (require_client_cert) {
    impl_->ctx.add_certificate_authority(asio::buffer(pki.ca_pem));
    impl_->ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TlsTestServer::~TlsTestServer() {
  stopping_ = true;
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (int fd : fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    t.join();
  }
}

void TlsTestServer::acceptLoop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket socket(impl_->io);
    impl_->acceptor.accept(socket, ec);
    if (ec || stopping_) {
      if (stopping_) {
        return;
      }
      continue;
    }
    int fd = socket.release();
    ++accepted_;
    std::lock_guard lock(mu_);
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void TlsTestServer::serve(int fd) {
  asio::io_context io;
  asio::ssl::stream<tcp::socket> stream(tcp::socket(io, tcp::v4(), fd), impl_->ctx);
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::server, ec);
  std::string cn;
  if (!ec) {
    if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
      char buf[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof(buf));
      cn = buf;
      X509_free(peer);
    }
  }
  beast::flat_buffer buffer;
  while (!ec && !stopping_) {
    beast::http::request<beast::http::string_body> req;
    beast::http::read(stream, buffer, req, ec);
    if (ec) {
      break;
    }
    ++requests_;
    TestHttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      request.headers[name] = std::string(field.value());
    }
    request.body = req.body();
    request.client_cn = cn;
    Responder responder(stream);
    handler_(request, responder);
    responder.finish();
    if (responder.streaming()) {
      break;
    }
  }
  {
    std::lock_guard lock(mu_);
    fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  }
  stream.lowest_layer().close(ec);
}

}  // namespace novacron::testing
