#include "tests/testing/dev_cluster.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dev-apiserver/etcd_client.h"
#include "tests/testing/eventually.h"

namespace novacron::testing {

namespace fs = std::filesystem;

int pickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) {
    return pid;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(127);
  }
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::close(devnull);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

// Sends SIGTERM, waits up to `grace`, then SIGKILL.
void terminate(pid_t& pid, std::chrono::milliseconds grace) {
  if (pid <= 0) {
    return;
  }
  ::kill(pid, SIGTERM);
  const bool exited_in_time = eventually(
      [&] {
        int status;
        return ::waitpid(pid, &status, WNOHANG) == pid;
      },
      grace);
  if (exited_in_time) {
    pid = -1;
    return;
  }
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

bool exited(pid_t pid) {
  int status;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

bool canConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

std::string findApiServer(const DevClusterOptions& o) {
  if (!o.apiserver_binary.empty()) {
    return o.apiserver_binary;
  }
  if (const char* e = std::getenv("NOVACRON_DEV_APISERVER")) {
    return e;
  }
  if (const char* b = std::getenv("NOVACRON_BINARY_DIR")) {
    return std::string(b) + "/dev-apiserver/novacron-dev-apiserver";
  }
  return "novacron-dev-apiserver";
}

}  // namespace

core::StatusOr<std::unique_ptr<DevCluster>> DevCluster::start(DevClusterOptions options) {
  std::unique_ptr<DevCluster> c(new DevCluster());
  c->options_ = std::move(options);
  std::string tmpl = (fs::temp_directory_path() / "novacron-devcluster-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return core::internalError("mkdtemp failed");
  }
  c->dir_ = buf.data();
  c->kubeconfig_ = c->dir_ + "/kubeconfig";
  c->token_ = "devcluster-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  NOVACRON_RETURN_IF_ERROR(c->startEtcd());
  c->api_port_ = pickFreePort();
  NOVACRON_RETURN_IF_ERROR(c->startApiServer());
  return c;
}

DevCluster::~DevCluster() {
  stop();
}

std::string DevCluster::serverUrl() const {
  return "https://127.0.0.1:" + std::to_string(api_port_);
}

std::string DevCluster::etcdEndpoint() const {
  return "http://127.0.0.1:" + std::to_string(etcd_port_);
}

core::Status DevCluster::startEtcd() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    etcd_port_ = pickFreePort();
    etcd_peer_port_ = pickFreePort();
    std::string url = etcdEndpoint();
    std::string peer = "http://127.0.0.1:" + std::to_string(etcd_peer_port_);
    etcd_pid_ = spawn({options_.etcd_binary, "--name", "devcluster", "--data-dir",
                       dir_ + "/etcd-data", "--listen-client-urls", url, "--advertise-client-urls",
                       url, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                       "--initial-cluster", "devcluster=" + peer, "--log-level", "error"},
                      dir_ + "/etcd.log");
    bool ready = false;
    eventually(
        [&] {
          if (exited(etcd_pid_)) {
            etcd_pid_ = -1;
            return true;
          }
          if (canConnect(etcd_port_)) {
            auto client = devapi::EtcdClient::create(url);
            ready = client.isOk() && (*client)->currentRevision().isOk();
          }
          return ready;
        },
        options_.startup_timeout, std::chrono::milliseconds(20));
    if (ready) {
      return core::okStatus();
    }
    terminate(etcd_pid_, std::chrono::milliseconds(500));
  }
  return core::unavailableError("etcd did not start; log: " + tail(dir_ + "/etcd.log"));
}

core::Status DevCluster::startApiServer() {
  if (api_pid_ > 0) {
    return core::failedPreconditionError("API server already running");
  }
  std::error_code ec;
  fs::remove(kubeconfig_, ec);
  std::vector<std::string> args = {
      findApiServer(options_),
      "--etcd-servers=" + etcdEndpoint(),
      "--secure-port=" + std::to_string(api_port_),
      "--bind-address=127.0.0.1",
      "--cert-dir=" + dir_ + "/certs",
      "--token=" + token_,
      "--kubeconfig-out=" + kubeconfig_,
      "--bookmark-interval-ms=" + std::to_string(options_.bookmark_interval.count()),
      "--log-level=" + options_.log_level};
  args.insert(args.end(), options_.extra_apiserver_args.begin(),
              options_.extra_apiserver_args.end());
  api_pid_ = spawn(args, dir_ + "/apiserver.log");
  bool died = false;
  const bool up = eventually(
      [&] {
        died = exited(api_pid_);
        return died || (fs::exists(kubeconfig_) && canConnect(api_port_));
      },
      options_.startup_timeout, std::chrono::milliseconds(20));
  if (died) {
    api_pid_ = -1;
    return core::unavailableError("API server exited; log: " + tail(dir_ + "/apiserver.log"));
  }
  if (up) {
    return core::okStatus();
  }
  terminate(api_pid_, std::chrono::milliseconds(500));
  return core::unavailableError("API server did not start; log: " + tail(dir_ + "/apiserver.log"));
}

core::Status DevCluster::stopApiServer() {
  terminate(api_pid_, std::chrono::seconds(5));
  return core::okStatus();
}

core::StatusOr<int64_t> DevCluster::currentRevision() {
  NOVACRON_ASSIGN_OR_RETURN(auto client, devapi::EtcdClient::create(etcdEndpoint()));
  return client->currentRevision();
}

core::StatusOr<int64_t> DevCluster::compact() {
  NOVACRON_ASSIGN_OR_RETURN(auto client, devapi::EtcdClient::create(etcdEndpoint()));
  NOVACRON_ASSIGN_OR_RETURN(int64_t rev, client->currentRevision());
  NOVACRON_RETURN_IF_ERROR(client->compact(rev));
  return rev;
}

void DevCluster::stop() {
  terminate(api_pid_, std::chrono::seconds(5));
  terminate(etcd_pid_, std::chrono::seconds(5));
  if (!dir_.empty()) {
    const char* keep = std::getenv("NOVACRON_KEEP_TEST_DIRS");
    if (keep == nullptr || std::string(keep) != "1") {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    dir_.clear();
  }
}

}  // namespace novacron::testing
