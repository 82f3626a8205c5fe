#include "lib/metrics/http_endpoint.h"

#include <atomic>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

namespace novacron::metrics {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

struct Reply {
  int status = 0;
  std::string body;
};

Reply httpGet(uint16_t port, const std::string& target) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return {static_cast<int>(res.result_int()), res.body()};
}

class HttpEndpointTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto started = startHttpEndpoint({"127.0.0.1", 0, registry_});
    ASSERT_TRUE(started.isOk()) << started.status();
    endpoint_ = std::move(started).value();
    ASSERT_NE(endpoint_->port(), 0);
  }
  RegistryPtr registry_ = std::make_shared<prometheus::Registry>();
  HttpEndpointPtr endpoint_;
};

TEST_F(HttpEndpointTest, ServesTheRegistryAsPrometheusText) {
  prometheus::BuildCounter()
      .Name("novacron_test_total")
      .Help("a test counter")
      .Register(*registry_)
      .Add({{"kind", "x"}})
      .Increment(3);
  Reply r = httpGet(endpoint_->port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("# TYPE novacron_test_total counter"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("novacron_test_total{kind=\"x\"} 3"), std::string::npos) << r.body;
}

TEST_F(HttpEndpointTest, ReadyOnlyAfterEveryReadinessCheckPasses) {
  std::atomic<bool> synced{false};
  endpoint_->addReadinessCheck("informers", [&] {
    return synced ? core::okStatus() : core::unavailableError("caches not synced");
  });
  endpoint_->addReadinessCheck("leader", [] { return core::okStatus(); });
  Reply r = httpGet(endpoint_->port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("[-]informers failed: caches not synced"), std::string::npos) << r.body;
  // Liveness is independent of readiness.
  EXPECT_EQ(httpGet(endpoint_->port(), "/healthz").status, 200);

  synced = true;
  r = httpGet(endpoint_->port(), "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  r = httpGet(endpoint_->port(), "/readyz?verbose");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("[+]informers ok"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("[+]leader ok"), std::string::npos) << r.body;
}

TEST_F(HttpEndpointTest, HealthzFailsWhenALivenessCheckFails) {
  EXPECT_EQ(httpGet(endpoint_->port(), "/healthz").body, "ok");
  endpoint_->addLivenessCheck("libvirt", [] { return core::unavailableError("no connection"); });
  Reply r = httpGet(endpoint_->port(), "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("libvirt failed: no connection"), std::string::npos);
}

TEST_F(HttpEndpointTest, UnknownPathsAre404) {
  EXPECT_EQ(httpGet(endpoint_->port(), "/nope").status, 404);
}

TEST_F(HttpEndpointTest, ABusyPortIsAnError) {
  auto second = startHttpEndpoint({"127.0.0.1", endpoint_->port(), registry_});
  // SO_REUSEADDR does not allow two listeners on one port.
  EXPECT_EQ(second.status().code(), core::StatusCode::kUnavailable);
}

TEST_F(HttpEndpointTest, StopIsIdempotentAndClosesThePort) {
  const uint16_t port = endpoint_->port();
  endpoint_->stop();
  endpoint_->stop();
  EXPECT_THROW(httpGet(port, "/healthz"), boost::system::system_error);
}

}  // namespace
}  // namespace novacron::metrics
