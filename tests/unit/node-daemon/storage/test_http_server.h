// A tiny HTTP/1.0 server on 127.0.0.1 (random port) serving fixed responses, for image store
// tests: bodies, status codes with headers (redirects), bodies without a Content-Length, and
// responses held back until the test releases them (a slow server).
// Thread-safety: requests() and release() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace novacron::node::storage::testing {

using Bodies = std::map<std::string, std::string>;

// Holds a response until release() (or the server's destruction).
class Gate {
public:
  void release() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;  // guarded by mu_
};

struct Response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool content_length = true;  // false: the body ends when the connection closes
  std::shared_ptr<Gate> gate;  // set: the response waits for gate->release()
};

using Routes = std::map<std::string, Response>;

class TestHttpServer {
public:
  explicit TestHttpServer(const Bodies& bodies) : TestHttpServer(toRoutes(bodies)) {}
  explicit TestHttpServer(Routes routes) : routes_(std::move(routes)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;
  ~TestHttpServer() {
    stop_ = true;
    for (auto& [path, r] : routes_) {
      if (r.gate) {
        r.gate->release();
      }
    }
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests(const std::string& path) {
    std::lock_guard lock(mu_);
    return counts_[path];
  }

private:
  static Routes toRoutes(const Bodies& bodies) {
    Routes routes;
    for (const auto& [path, body] : bodies) {
      routes[path].body = body;
    }
    return routes;
  }

  static std::string reason(int status) {
    switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    default:
      return "Status";
    }
  }

  void serve() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        return;
      }
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) {
          break;
        }
        req.append(buf, static_cast<size_t>(n));
      }
      auto sp1 = req.find(' ');
      auto sp2 = req.find(' ', sp1 + 1);
      std::string path = sp1 == std::string::npos ? "" : req.substr(sp1 + 1, sp2 - sp1 - 1);
      {
        std::lock_guard lock(mu_);
        counts_[path]++;
      }
      std::string resp;
      auto it = routes_.find(path);
      if (it == routes_.end()) {
        resp = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      } else {
        const Response& r = it->second;
        if (r.gate) {
          r.gate->wait();
        }
        resp = "HTTP/1.0 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
        for (const auto& [k, v] : r.headers) {
          resp += k + ": " + v + "\r\n";
        }
        if (r.content_length) {
          resp += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
        }
        resp += "\r\n" + r.body;
      }
      size_t off = 0;
      while (off < resp.size()) {
        // MSG_NOSIGNAL: a client that hangs up early (size cap) must not SIGPIPE the test.
        ssize_t n = ::send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          break;
        }
        off += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }

  Routes routes_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> counts_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace novacron::node::storage::testing
