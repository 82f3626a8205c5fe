// TlsTestServer: a tiny HTTPS/1.1 server on 127.0.0.1 (random port) for testing the real transport:
// TLS with the TestPki server certificate, optional client-certificate verification, plain and
// chunked (streamed) responses written when the test's handler decides.
//
// Each connection runs on its own thread and calls the handler per request. The destructor shuts
// every socket down and joins all threads.
// Thread-safety: the handler runs on connection threads; Responder is used by one handler at a
// time.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/kube/test_pki.h"

namespace novacron::testing {

struct TestHttpRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string client_cn;  // CN of the verified client certificate, if any
};

class TestResponder {
public:
  virtual ~TestResponder() = default;
  // A complete response with Content-Length.
  virtual void respond(int status, const std::string& body,
                       const std::map<std::string, std::string>& headers = {}) = 0;
  // Starts a chunked response; then write() chunks; the connection closes after the handler.
  virtual void startStream(int status) = 0;
  // Writes one chunk right away; false once the client has gone.
  virtual bool write(const std::string& data) = 0;
};

class TlsTestServer {
public:
  using Handler = std::function<void(const TestHttpRequest&, TestResponder&)>;

  TlsTestServer(const TestPki& pki, bool require_client_cert, Handler handler);
  ~TlsTestServer();

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }
  // Connections accepted so far, and those the client has not closed yet.
  int connectionsAccepted() const { return accepted_.load(); }
  int connectionsOpen() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(fds_.size());
  }

private:
  struct Impl;
  void acceptLoop();
  void serve(int fd);

  std::unique_ptr<Impl> impl_;
  Handler handler_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> accepted_{0};
  mutable std::mutex mu_;
  std::vector<int> fds_;              // guarded by mu_; open connection sockets
  std::vector<std::thread> threads_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace novacron::testing
