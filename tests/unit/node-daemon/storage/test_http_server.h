// A tiny HTTP/1.0 server on 127.0.0.1 (random port) serving fixed bodies, for image store tests.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace novacron::node::storage::testing {

using Bodies = std::map<std::string, std::string>;

class TestHttpServer {
public:
  explicit TestHttpServer(std::map<std::string, std::string> bodies) : bodies_(std::move(bodies)) {
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
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests(const std::string& path) {
    std::lock_guard lock(mu_);
    return counts_[path];
  }

private:
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
      std::string resp;
      {
        std::lock_guard lock(mu_);
        counts_[path]++;
      }
      auto it = bodies_.find(path);
      if (it == bodies_.end()) {
        resp = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      } else {
        resp = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(it->second.size()) +
               "\r\n\r\n" + it->second;
      }
      size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = ::write(c, resp.data() + off, resp.size() - off);
        if (n <= 0) {
          break;
        }
        off += static_cast<size_t>(n);
      }
      ::close(c);
    }
  }

  std::map<std::string, std::string> bodies_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> counts_;
  std::thread thread_;
};

}  // namespace novacron::node::storage::testing
