// The real cpprestsdk transport against a local HTTPS server: TLS trust, client certificates,
// bearer tokens (and rotation), timeouts, connection failures, and watch-style streaming where each
// line must reach the caller while the response is still open.
#include "lib/kube/cpprestsdk_transport.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "lib/kube/rest_client.h"
#include "tests/integration/kube/test_pki.h"
#include "tests/integration/kube/tls_test_server.h"
#include "tests/testing/eventually.h"

namespace novacron::kube {
namespace {

using ::testing::ElementsAre;
using testing::eventually;
using ::testing::HasSubstr;
using testing::TestHttpRequest;
using testing::TestResponder;
using testing::TlsTestServer;

const testing::TestPki& pki() {
  return testing::sharedTestPki();
}

// A one-shot signal between the test and a handler thread.
class Latch {
public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

Config configFor(const TlsTestServer& server) {
  Config config;
  config.server = server.url();
  config.ca_pem = pki().ca_pem;
  config.token = "secret-token";
  config.source = "test";
  config.timeout = std::chrono::seconds(10);
  return config;
}

TEST(CpprestsdkTransportTest, SendsRequestWithTokenAndBody) {
  std::mutex mu;
  TestHttpRequest seen;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest& req, TestResponder& out) {
    {
      std::lock_guard lock(mu);
      seen = req;
    }
    out.respond(201, R"({"ok":true})", {{"X-Test", "yes"}});
  });
  auto transport = newCpprestsdkTransport(configFor(server));
  ASSERT_TRUE(transport.isOk()) << transport.status();
  HttpRequest request;
  request.method = "PATCH";
  request.path = "/apis/novacron.io/v1alpha1/namespaces/a/virtualmachines/b?fieldManager=x%2Fy";
  request.headers = {{"Content-Type", "application/merge-patch+json"},
                     {"Accept", "application/json"}};
  request.body = R"({"spec":{"cpus":2}})";
  auto response = (*transport)->send(request);
  ASSERT_TRUE(response.isOk()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->header("x-test"), "yes");
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.method, "PATCH");
  EXPECT_EQ(seen.target, request.path);
  EXPECT_EQ(seen.headers["authorization"], "Bearer secret-token");
  EXPECT_THAT(seen.headers["content-type"], HasSubstr("application/merge-patch+json"));
  EXPECT_EQ(seen.body, request.body);
}

TEST(CpprestsdkTransportTest, RereadsRotatedTokenFile) {
  std::mutex mu;
  std::vector<std::string> tokens;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest& req, TestResponder& out) {
    {
      std::lock_guard lock(mu);
      tokens.push_back(req.headers.count("authorization") ? req.headers.at("authorization") : "");
    }
    out.respond(200, "{}");
  });
  std::random_device rd;
  auto file = std::filesystem::temp_directory_path() / ("kube_token_" + std::to_string(rd()));
  std::ofstream(file) << "first\n";
  Config config = configFor(server);
  config.token.clear();
  config.token_file = file.string();
  auto transport = newCpprestsdkTransport(config);
  ASSERT_TRUE(transport.isOk());
  ASSERT_TRUE((*transport)->send({"GET", "/api", {}, "", {}}).isOk());
  std::ofstream(file) << "rotated-token\n";
  std::filesystem::last_write_time(
      file, std::filesystem::last_write_time(file) + std::chrono::seconds(2));
  ASSERT_TRUE((*transport)->send({"GET", "/api", {}, "", {}}).isOk());
  std::filesystem::remove(file);
  std::lock_guard lock(mu);
  EXPECT_THAT(tokens, ElementsAre("Bearer first", "Bearer rotated-token"));
}

TEST(CpprestsdkTransportTest, TlsTrust) {
  TlsTestServer server(pki(), false,
                       [](const TestHttpRequest&, TestResponder& out) { out.respond(200, "{}"); });
  Config untrusted = configFor(server);
  untrusted.ca_pem = pki().other_ca_pem;
  auto transport = newCpprestsdkTransport(untrusted);
  ASSERT_TRUE(transport.isOk());
  auto refused = (*transport)->send({"GET", "/api", {}, "", {}});
  EXPECT_EQ(refused.status().code(), core::StatusCode::kUnavailable) << refused.status();

  Config insecure = untrusted;
  insecure.ca_pem.clear();
  insecure.insecure_skip_tls_verify = true;
  auto lenient = newCpprestsdkTransport(insecure);
  ASSERT_TRUE(lenient.isOk());
  EXPECT_TRUE((*lenient)->send({"GET", "/api", {}, "", {}}).isOk());
  EXPECT_EQ(server.requests(), 1);  // the untrusted attempt never got as far as a request
}

TEST(CpprestsdkTransportTest, ClientCertificate) {
  std::mutex mu;
  std::string cn;
  TlsTestServer server(pki(), true, [&](const TestHttpRequest& req, TestResponder& out) {
    {
      std::lock_guard lock(mu);
      cn = req.client_cn;
    }
    out.respond(200, "{}");
  });
  Config config = configFor(server);
  config.token.clear();
  config.client_cert_pem = pki().client_cert_pem;
  config.client_key_pem = pki().client_key_pem;
  auto transport = newCpprestsdkTransport(config);
  ASSERT_TRUE(transport.isOk()) << transport.status();
  auto response = (*transport)->send({"GET", "/api", {}, "", {}});
  ASSERT_TRUE(response.isOk()) << response.status();
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(cn, "kube-test-client");
  }

  Config no_cert = configFor(server);
  auto anonymous = newCpprestsdkTransport(no_cert);
  ASSERT_TRUE(anonymous.isOk());
  EXPECT_FALSE((*anonymous)->send({"GET", "/api", {}, "", {}}).isOk());
}

TEST(CpprestsdkTransportTest, BadPemIsRejectedUpFront) {
  Config config;
  config.server = "https://127.0.0.1:1";
  config.source = "kubeconfig /x";
  config.client_cert_pem = pki().client_cert_pem;
  config.client_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  auto transport = newCpprestsdkTransport(config);
  EXPECT_EQ(transport.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(transport.status().message(), HasSubstr("client key"));
}

TEST(CpprestsdkTransportTest, ConnectionRefusedAndTimeout) {
  int closed_port;
  {
    TlsTestServer gone(pki(), false, [](const TestHttpRequest&, TestResponder&) {});
    closed_port = gone.port();
  }
  Config refused;
  refused.server = "https://127.0.0.1:" + std::to_string(closed_port);
  refused.source = "test";
  auto transport = newCpprestsdkTransport(refused);
  ASSERT_TRUE(transport.isOk());
  EXPECT_EQ((*transport)->send({"GET", "/api", {}, "", {}}).status().code(),
            core::StatusCode::kUnavailable);

  Latch release;
  TlsTestServer slow(pki(), false, [&](const TestHttpRequest&, TestResponder& out) {
    release.wait();
    out.respond(200, "{}");
  });
  auto slow_transport = newCpprestsdkTransport(configFor(slow));
  ASSERT_TRUE(slow_transport.isOk());
  HttpRequest request{"GET", "/api", {}, "", std::chrono::milliseconds(300)};
  auto start = std::chrono::steady_clock::now();
  auto timed_out = (*slow_transport)->send(request);
  release.open();
  EXPECT_EQ(timed_out.status().code(), core::StatusCode::kDeadlineExceeded) << timed_out.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(CpprestsdkTransportTest, StreamsLinesAsTheyArrive) {
  Latch first_seen;
  Latch done;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest&, TestResponder& out) {
    out.startStream(200);
    out.write("{\"n\":1}\n");
    first_seen.wait();                // the client must see line 1 while the response is open
    out.write("{\"n\":2}\n{\"n\"");   // a line split across chunks
    out.write(":3}\r\n\n{\"n\":4}");  // CRLF, an empty line, and a last line without newline
  });
  auto transport = newCpprestsdkTransport(configFor(server));
  ASSERT_TRUE(transport.isOk());
  std::mutex mu;
  std::vector<std::string> lines;
  auto stream = (*transport)->openStream({"GET", "/watch", {}, "", {}}, [&](std::string_view l) {
    std::lock_guard lock(mu);
    lines.emplace_back(l);
    if (lines.size() == 1) {
      first_seen.open();
    }
    return true;
  });
  ASSERT_TRUE(stream.isOk()) << stream.status();
  EXPECT_EQ((*stream)->response().status, 200);
  StreamResult result = (*stream)->wait();
  EXPECT_EQ(result.end, StreamEnd::kEof) << result.status;
  std::lock_guard lock(mu);
  EXPECT_THAT(lines, ElementsAre("{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}"));
}

// A bulk stream, as a watch's first burst or a resync delivers it: chunks from a few bytes to
// several TLS records (16 KiB each), lines split anywhere, and pauses in between, so the reader
// takes data already decrypted, data still in the socket, and waits for more. Every line must
// arrive once, whole and in order.
TEST(CpprestsdkTransportTest, StreamsABulkBodyWholeAndInOrder) {
  constexpr int kLines = 30000;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest&, TestResponder& out) {
    out.startStream(200);
    std::string pending;
    size_t chunk = 7;
    int writes = 0;
    for (int i = 0; i < kLines; ++i) {
      pending +=
          "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 300, 'x') + "\"}\n";
      if (pending.size() >= chunk) {
        out.write(pending.substr(0, chunk));
        pending.erase(0, chunk);
        chunk = chunk * 3 % 70001 + 1;  // 7, 22, 67, ... up to ~70 KB, never the same pattern
        if (++writes % 10 == 0) {       // the reader catches up and waits for more
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
    if (!pending.empty()) {  // an empty write would end the chunked body
      out.write(pending);
    }
  });
  auto transport = newCpprestsdkTransport(configFor(server));
  ASSERT_TRUE(transport.isOk());
  int next = 0;
  std::string wrong;
  auto stream = (*transport)->openStream({"GET", "/watch", {}, "", {}}, [&](std::string_view l) {
    const std::string want =
        "{\"n\":" + std::to_string(next) + ",\"pad\":\"" + std::string(next % 300, 'x') + "\"}";
    if (l != want && wrong.empty()) {
      wrong = "line " + std::to_string(next) + ": " + std::string(l.substr(0, 80));
    }
    ++next;
    return true;
  });
  ASSERT_TRUE(stream.isOk()) << stream.status();
  StreamResult result = (*stream)->wait();
  EXPECT_EQ(result.end, StreamEnd::kEof) << result.status;
  EXPECT_EQ(next, kLines);
  EXPECT_EQ(wrong, "");
}

TEST(CpprestsdkTransportTest, CancelStopsAnOpenStream) {
  Latch client_gone;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest&, TestResponder& out) {
    out.startStream(200);
    out.write("{\"n\":1}\n");
    // Keep the response open until the client hangs up (writes start failing) or 10 s pass.
    if (eventually([&] { return !out.write("\n"); }, std::chrono::seconds(10),
                   std::chrono::milliseconds(20))) {
      client_gone.open();
    }
  });
  auto transport = newCpprestsdkTransport(configFor(server));
  ASSERT_TRUE(transport.isOk());
  std::atomic<int> count{0};
  auto stream = (*transport)->openStream({"GET", "/watch", {}, "", {}}, [&](std::string_view) {
    ++count;
    return true;
  });
  ASSERT_TRUE(stream.isOk());
  ASSERT_TRUE(eventually([&] { return count.load() == 1; }));
  auto start = std::chrono::steady_clock::now();
  (*stream)->cancel();
  StreamResult result = (*stream)->wait();
  EXPECT_EQ(result.end, StreamEnd::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(client_gone.wait());
}

// HttpRequest::timeout bounds the silence between two reads of a stream, not its whole length:
// a watch that keeps receiving data stays open, one that goes quiet fails with DeadlineExceeded.
// The busy stream sends a line every 50 ms until it has lasted a second longer than the limit (by
// the server's clock, so it outlasts the limit however slow the machine is); only a stall of
// almost the whole limit between two lines could end it, not a loaded machine's scheduling delay.
TEST(CpprestsdkTransportTest, StreamTimeoutIsAnInactivityLimit) {
  constexpr std::chrono::milliseconds kLimit{2000};
  std::atomic<int> sent{0};
  Latch client_gave_up;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest& req, TestResponder& out) {
    out.startStream(200);
    if (req.target == "/busy") {
      const auto end = std::chrono::steady_clock::now() + kLimit + std::chrono::seconds(1);
      while (std::chrono::steady_clock::now() < end && out.write("{}\n")) {
        ++sent;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return;
    }
    out.write("{}\n");
    client_gave_up.wait(std::chrono::seconds(60));  // then silence (60 s only bounds a hang)
  });
  auto transport = newCpprestsdkTransport(configFor(server));
  ASSERT_TRUE(transport.isOk());
  std::atomic<int> lines{0};
  auto count = [&](std::string_view) {
    ++lines;
    return true;
  };
  auto busy = (*transport)->openStream({"GET", "/busy", {}, "", kLimit}, count);
  ASSERT_TRUE(busy.isOk()) << busy.status();
  StreamResult busy_end = (*busy)->wait();
  EXPECT_EQ(busy_end.end, StreamEnd::kEof) << busy_end.status;
  EXPECT_EQ(lines.load(), sent.load());
  EXPECT_GT(sent.load(), 1);

  auto quiet = (*transport)->openStream({"GET", "/quiet", {}, "", kLimit}, count);
  ASSERT_TRUE(quiet.isOk()) << quiet.status();
  StreamResult quiet_end = (*quiet)->wait();
  client_gave_up.open();
  EXPECT_EQ(quiet_end.end, StreamEnd::kError);
  EXPECT_EQ(quiet_end.status.code(), core::StatusCode::kDeadlineExceeded) << quiet_end.status;
}

TEST(CpprestsdkTransportTest, NonSuccessStreamCarriesBody) {
  TlsTestServer server(pki(), false, [](const TestHttpRequest&, TestResponder& out) {
    out.respond(410, R"({"kind":"Status","code":410,"reason":"Expired"})");
  });
  auto transport = newCpprestsdkTransport(configFor(server));
  ASSERT_TRUE(transport.isOk());
  bool called = false;
  auto stream = (*transport)->openStream({"GET", "/watch", {}, "", {}}, [&](std::string_view) {
    called = true;
    return true;
  });
  ASSERT_TRUE(stream.isOk()) << stream.status();
  EXPECT_EQ((*stream)->response().status, 410);
  EXPECT_THAT((*stream)->response().body, HasSubstr("Expired"));
  EXPECT_TRUE((*stream)->done());
  EXPECT_EQ((*stream)->wait().end, StreamEnd::kEof);
  EXPECT_FALSE(called);
}

TEST(CpprestsdkTransportTest, RestClientWatchEndToEnd) {
  Latch added_seen;
  TlsTestServer server(pki(), false, [&](const TestHttpRequest& req, TestResponder& out) {
    if (req.target.find("watch=true") == std::string::npos) {
      out.respond(404, R"({"kind":"Status","code":404,"reason":"NotFound","message":"nope"})");
      return;
    }
    out.startStream(200);
    out.write(R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
              "\n");
    added_seen.wait();
    out.write(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})"
              "\n");
  });
  RestClientOptions options;
  options.registry = std::make_shared<prometheus::Registry>();
  auto client = newRestClient(configFor(server), options);
  ASSERT_TRUE(client.isOk()) << client.status();
  EXPECT_EQ((*client)->get(kConfigMap, "ns", "x").status().code(), core::StatusCode::kNotFound);
  std::vector<std::string> seen;
  auto watch = (*client)->watch(kConfigMap, "ns", {}, [&](WatchEvent&& e) {
    seen.emplace_back(watchEventTypeName(e.type));
    if (e.type == WatchEventType::kAdded) {
      added_seen.open();
    }
    return true;
  });
  ASSERT_TRUE(watch.isOk()) << watch.status();
  EXPECT_EQ((*watch)->wait().code(), core::StatusCode::kGone);
  EXPECT_THAT(seen, ElementsAre("ADDED", "ERROR"));
}

}  // namespace
}  // namespace novacron::kube
