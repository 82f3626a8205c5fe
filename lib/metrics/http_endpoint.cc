#include "lib/metrics/http_endpoint.h"

#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <prometheus/text_serializer.h>

namespace novacron::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Checks {
  std::mutex mu;
  std::map<std::string, HealthCheck> liveness;   // guarded by mu
  std::map<std::string, HealthCheck> readiness;  // guarded by mu
};

// Runs the checks; returns {all passed, body}.
std::pair<bool, std::string> runChecks(Checks& checks, bool readiness, bool verbose) {
  std::vector<std::pair<std::string, HealthCheck>> copy;
  {
    std::lock_guard lock(checks.mu);
    const auto& source = readiness ? checks.readiness : checks.liveness;
    copy.assign(source.begin(), source.end());
  }
  bool ok = true;
  std::ostringstream body;
  for (const auto& [name, check] : copy) {
    core::Status status;
    try {
      status = check();
    } catch (const std::exception& e) {
      status = core::internalError(std::string("check threw: ") + e.what());
    }
    if (status.isOk()) {
      if (verbose) {
        body << "[+]" << name << " ok\n";
      }
    } else {
      ok = false;
      body << "[-]" << name << " failed: " << status.message() << "\n";
    }
  }
  body << (readiness ? "readyz " : "healthz ") << (ok ? "check passed\n" : "check failed\n");
  if (ok && !verbose) {
    return {true, "ok"};
  }
  return {ok, body.str()};
}

class Session : public std::enable_shared_from_this<Session> {
public:
  Session(tcp::socket socket, RegistryPtr registry, std::shared_ptr<Checks> checks)
      : stream_(std::move(socket)), registry_(std::move(registry)), checks_(std::move(checks)) {}

  void start() { read(); }

private:
  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) {
                         self->respond();
                       }
                     });
  }

  void respond() {
    const std::string target(request_.target());
    const auto q = target.find('?');
    const std::string path = target.substr(0, q);
    const bool verbose = q != std::string::npos && target.find("verbose", q) != std::string::npos;
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request_.version());
    response->keep_alive(request_.keep_alive());
    response->set(http::field::content_type, "text/plain; charset=utf-8");
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      response->result(http::status::method_not_allowed);
      response->body() = "method not allowed\n";
    } else if (path == "/metrics") {
      response->result(http::status::ok);
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      std::ostringstream out;
      prometheus::TextSerializer().Serialize(out, registry_->Collect());
      response->body() = out.str();
    } else if (path == "/healthz" || path == "/livez" || path == "/readyz") {
      auto [ok, body] = runChecks(*checks_, path == "/readyz", verbose);
      response->result(ok ? http::status::ok : http::status::service_unavailable);
      response->body() = std::move(body);
    } else {
      response->result(http::status::not_found);
      response->body() = "not found\n";
    }
    if (request_.method() == http::verb::head) {
      response->content_length(response->body().size());
      response->body().clear();
    }
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                        if (ec || !response->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  RegistryPtr registry_;
  std::shared_ptr<Checks> checks_;
};

class BeastHttpEndpoint final : public HttpEndpoint {
public:
  BeastHttpEndpoint(RegistryPtr registry) : registry_(std::move(registry)) {}
  ~BeastHttpEndpoint() override { stop(); }

  core::Status listen(const std::string& address, uint16_t port) {
    beast::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) {
      return core::invalidArgumentError("metrics endpoint: bad address " + address);
    }
    tcp::endpoint endpoint(ip, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      return core::unavailableError("metrics endpoint: cannot listen on " + address + ":" +
                                    std::to_string(port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
    return core::okStatus();
  }

  uint16_t port() const override { return port_; }

  void addLivenessCheck(std::string name, HealthCheck check) override {
    std::lock_guard lock(checks_->mu);
    checks_->liveness[std::move(name)] = std::move(check);
  }
  void addReadinessCheck(std::string name, HealthCheck check) override {
    std::lock_guard lock(checks_->mu);
    checks_->readiness[std::move(name)] = std::move(check);
  }

  void stop() override {
    std::call_once(stopped_, [this] {
      ioc_.stop();
      if (thread_.joinable()) {
        thread_.join();
      }
      beast::error_code ignored;
      acceptor_.close(ignored);  // no thread runs the io_context any more
    });
  }

private:
  void accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
          if (!ec) {
            std::make_shared<Session>(std::move(socket), registry_, checks_)->start();
          }
          if (acceptor_.is_open()) {
            accept();
          }
        });
  }

  const RegistryPtr registry_;
  std::shared_ptr<Checks> checks_ = std::make_shared<Checks>();
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::thread thread_;
  std::once_flag stopped_;
};

}  // namespace

core::StatusOr<HttpEndpointPtr> startHttpEndpoint(HttpEndpointOptions options) {
  auto registry = options.registry ? options.registry : defaultRegistry();
  auto endpoint = std::make_unique<BeastHttpEndpoint>(std::move(registry));
  NOVACRON_RETURN_IF_ERROR(endpoint->listen(options.address, options.port));
  return HttpEndpointPtr(std::move(endpoint));
}

}  // namespace novacron::metrics
