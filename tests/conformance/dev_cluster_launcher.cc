#include "tests/conformance/dev_cluster_launcher.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace novacron::conformance {
namespace {

core::StatusOr<int> freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return core::unavailableError("socket() failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return core::unavailableError("could not bind a free loopback port");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

core::StatusOr<pid_t> spawn(const std::vector<std::string>& args, const std::string& log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return core::unavailableError("cannot start " + args[0] + ": " + std::strerror(rc));
  }
  return pid;
}

bool tcpReady(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

bool alive(pid_t pid) {
  return pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0;
}

void terminate(pid_t& pid) {
  if (pid <= 0) {
    return;
  }
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, nullptr, WNOHANG) != 0) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

}  // namespace

core::StatusOr<std::unique_ptr<DevClusterLauncher>> DevClusterLauncher::start(
    const std::string& apiserver_binary) {
  if (!std::filesystem::exists(apiserver_binary)) {
    return core::notFoundError("dev API server binary not found at " + apiserver_binary);
  }
  std::unique_ptr<DevClusterLauncher> c(new DevClusterLauncher());
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "novacron-conformance-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return core::unavailableError("mkdtemp failed");
  }
  c->dir_ = tmpl;
  NOVACRON_ASSIGN_OR_RETURN(const int client_port, freePort());
  NOVACRON_ASSIGN_OR_RETURN(const int peer_port, freePort());
  NOVACRON_ASSIGN_OR_RETURN(const int api_port, freePort());
  c->etcd_endpoint_ = "http://127.0.0.1:" + std::to_string(client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port);
  NOVACRON_ASSIGN_OR_RETURN(
      c->etcd_pid_,
      spawn({"etcd", "--name", "conformance", "--data-dir", c->dir_ + "/etcd",
             "--listen-client-urls", c->etcd_endpoint_, "--advertise-client-urls",
             c->etcd_endpoint_, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "conformance=" + peer, "--log-level", "warn"},
            c->dir_ + "/etcd.log"));
  const auto etcd_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!tcpReady(client_port)) {
    if (!alive(c->etcd_pid_)) {
      return core::unavailableError("etcd exited; see " + c->dir_ + "/etcd.log");
    }
    if (std::chrono::steady_clock::now() > etcd_deadline) {
      return core::deadlineExceededError("etcd not listening after 30s; see " + c->dir_ +
                                         "/etcd.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  c->kubeconfig_ = c->dir_ + "/kubeconfig";
  NOVACRON_ASSIGN_OR_RETURN(
      c->apiserver_pid_,
      spawn({apiserver_binary, "--etcd-servers=" + c->etcd_endpoint_,
             "--secure-port=" + std::to_string(api_port), "--bind-address=127.0.0.1",
             "--cert-dir=" + c->dir_ + "/certs", "--kubeconfig-out=" + c->kubeconfig_,
             "--bookmark-interval-ms=1000"},
            c->dir_ + "/apiserver.log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(c->kubeconfig_)) {
    if (!alive(c->apiserver_pid_)) {
      return core::unavailableError("novacron-dev-apiserver exited; see " + c->dir_ +
                                    "/apiserver.log");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return core::deadlineExceededError(
          "no kubeconfig from novacron-dev-apiserver after 30s; see " + c->dir_ + "/apiserver.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return c;
}

void DevClusterLauncher::stop() {
  terminate(apiserver_pid_);
  terminate(etcd_pid_);
}

DevClusterLauncher::~DevClusterLauncher() {
  stop();
  if (!dir_.empty() && std::getenv("NOVACRON_CONFORMANCE_KEEP") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace novacron::conformance
