#include "tests/testing/kube_http.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>

namespace novacron::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

nlohmann::json HttpResult::json() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

using SslStream = ssl::stream<tcp::socket>;

struct KubeHttp::Impl {
  std::string host;
  int port;
  std::string token;
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::mutex mu;  // guards idle
  std::deque<std::unique_ptr<SslStream>> idle;

  core::StatusOr<std::unique_ptr<SslStream>> connect() {
    try {
      auto s = std::make_unique<SslStream>(ioc, ctx);
      tcp::resolver resolver(ioc);
      net::connect(s->next_layer(), resolver.resolve(host, std::to_string(port)));
      s->next_layer().set_option(tcp::no_delay(true));
      s->set_verify_mode(ssl::verify_peer);
      s->handshake(ssl::stream_base::client);
      return s;
    } catch (const std::exception& e) {
      return core::unavailableError(std::string("connect: ") + e.what());
    }
  }

  void prepare(http::request<http::string_body>& req) {
    req.set(http::field::host, host);
    if (!token.empty()) {
      req.set(http::field::authorization, "Bearer " + token);
    }
  }
};

KubeHttp::KubeHttp(std::string host, int port, std::string ca_file, std::string token,
                   std::string client_cert_file, std::string client_key_file)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->token = std::move(token);
  boost::system::error_code ec;
  impl_->ctx.load_verify_file(ca_file, ec);
  if (!client_cert_file.empty()) {
    impl_->ctx.use_certificate_chain_file(client_cert_file, ec);
    impl_->ctx.use_private_key_file(client_key_file, ssl::context::pem, ec);
  }
}

KubeHttp::~KubeHttp() = default;

core::StatusOr<HttpResult> KubeHttp::request(const std::string& method, const std::string& path,
                                             const std::string& body,
                                             const std::string& content_type,
                                             const std::string& accept) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<SslStream> s;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (!impl_->idle.empty()) {
        s = std::move(impl_->idle.front());
        impl_->idle.pop_front();
      }
    }
    bool reused = s != nullptr;
    if (!s) {
      NOVACRON_ASSIGN_OR_RETURN(s, impl_->connect());
    }
    try {
      http::request<http::string_body> req{http::string_to_verb(method), path, 11};
      impl_->prepare(req);
      req.set(http::field::accept, accept);
      if (!body.empty()) {
        req.set(http::field::content_type, content_type);
      }
      req.body() = body;
      req.prepare_payload();
      req.keep_alive(true);
      http::write(*s, req);
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(512 * 1024 * 1024);
      http::read(*s, buffer, parser);
      auto& res = parser.get();
      HttpResult out;
      out.code = res.result_int();
      out.body = res.body();
      out.content_type = std::string(res[http::field::content_type]);
      out.warning = std::string(res["Warning"]);
      if (res.keep_alive()) {
        std::lock_guard<std::mutex> lock(impl_->mu);
        impl_->idle.push_back(std::move(s));
      }
      return out;
    } catch (const std::exception& e) {
      if (reused) {
        continue;
      }
      return core::unavailableError(std::string(method) + " " + path + ": " + e.what());
    }
  }
  return core::unavailableError(method + " " + path + ": failed");
}

namespace {

class WatchStreamImpl : public WatchStream {
public:
  WatchStreamImpl(std::unique_ptr<SslStream> s, KubeHttp::LineCallback on_line)
      : stream_(std::move(s)), on_line_(std::move(on_line)) {}
  ~WatchStreamImpl() override {
    close();
    if (reader_.joinable()) {
      reader_.join();
    }
  }

  core::Status start(http::request<http::string_body>& req) {
    try {
      http::write(*stream_, req);
      parser_.body_limit(boost::none);
      http::read_header(*stream_, buffer_, parser_);
      code_ = parser_.get().result_int();
    } catch (const std::exception& e) {
      return core::unavailableError(std::string("watch: ") + e.what());
    }
    reader_ = std::thread([this] { readLoop(); });
    return core::okStatus();
  }

  core::StatusOr<std::optional<nlohmann::json>> next(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || ended_; });
    if (!lines_.empty()) {
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        return core::internalError("undecodable watch line: " + line);
      }
      return std::optional<nlohmann::json>(std::move(j));
    }
    if (ended_) {
      return core::unavailableError("watch stream closed: " + end_reason_);
    }
    return std::optional<nlohmann::json>();
  }

  int httpCode() const override { return code_; }

  void close() override {
    if (!closed_.exchange(true)) {
      ::shutdown(stream_->next_layer().native_handle(), SHUT_RDWR);
    }
  }

private:
  void readLoop() {
    std::string pending;
    while (true) {
      char buf[8192];
      parser_.get().body().data = buf;
      parser_.get().body().size = sizeof(buf);
      beast::error_code ec;
      http::read_some(*stream_, buffer_, parser_, ec);
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      pending.append(buf, sizeof(buf) - parser_.get().body().size);
      size_t nl;
      std::deque<std::string> got;
      while ((nl = pending.find('\n')) != std::string::npos) {
        if (nl > 0) {
          got.push_back(pending.substr(0, nl));
        }
        pending.erase(0, nl + 1);
      }
      bool done = ec || parser_.is_done();
      if (done && !pending.empty() && pending.find_first_not_of(" \r\n") != std::string::npos) {
        got.push_back(pending);
        pending.clear();
      }
      if (on_line_) {
        for (const auto& l : got) {
          on_line_(l);
        }
        got.clear();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& l : got) {
          lines_.push_back(std::move(l));
        }
        if (done) {
          ended_ = true;
          end_reason_ = ec ? ec.message() : "end of stream";
        }
      }
      cv_.notify_all();
      if (done) {
        return;
      }
    }
  }

  std::unique_ptr<SslStream> stream_;
  KubeHttp::LineCallback on_line_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  int code_ = 0;
  std::thread reader_;
  std::atomic<bool> closed_{false};
  std::mutex mu_;  // guards lines_, ended_, end_reason_
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool ended_ = false;
  std::string end_reason_;
};

}  // namespace

core::StatusOr<std::unique_ptr<WatchStream>> KubeHttp::watch(const std::string& path,
                                                             const std::string& accept) {
  return watch(path, accept, nullptr);
}

core::StatusOr<std::unique_ptr<WatchStream>> KubeHttp::watch(const std::string& path,
                                                             const std::string& accept,
                                                             LineCallback on_line) {
  NOVACRON_ASSIGN_OR_RETURN(auto s, impl_->connect());
  http::request<http::string_body> req{http::verb::get, path, 11};
  impl_->prepare(req);
  req.set(http::field::accept, accept);
  auto w = std::make_unique<WatchStreamImpl>(std::move(s), std::move(on_line));
  NOVACRON_RETURN_IF_ERROR(w->start(req));
  return std::unique_ptr<WatchStream>(std::move(w));
}

}  // namespace novacron::testing
