// NodeDaemonProcess: one novacron-node-daemon process on libvirt's test driver (its own in-memory
// hypervisor per process), for controller integration tests. Dies with the test process
// (PR_SET_PDEATHSIG); pause()/resume() send SIGSTOP/SIGCONT to stop its heartbeat without
// killing it. Thread-safety: use from one test thread.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/status.h"

namespace novacron::controller::ctltest {

class NodeDaemonProcess {
public:
  NodeDaemonProcess() = default;
  NodeDaemonProcess(const NodeDaemonProcess&) = delete;
  NodeDaemonProcess& operator=(const NodeDaemonProcess&) = delete;
  ~NodeDaemonProcess() { stop(); }

  static std::string binary() {
    const char* dir = std::getenv("NOVACRON_BINARY_DIR");
    return std::string(dir != nullptr ? dir : ".") + "/node-daemon/novacron-node-daemon";
  }

  // `libvirt_uri`: libvirt's test driver by default; "test:///path/node.xml" gives the fake host
  // another size (the benchmarks' big nodes).
  core::Status start(const std::string& node, const std::string& kubeconfig,
                     const std::string& root, const std::string& libvirt_uri = "test:///default") {
    std::filesystem::create_directories(root);
    log_ = root + "/node-daemon.log";
    std::vector<std::string> args = {binary(),
                                     "--node-name",
                                     node,
                                     "--kubeconfig",
                                     kubeconfig,
                                     "--libvirt-uri",
                                     libvirt_uri,
                                     "--vm-root",
                                     root + "/vms",
                                     "--image-root",
                                     root + "/images",
                                     "--metrics-address",
                                     "127.0.0.1",
                                     "--metrics-port",
                                     "0",
                                     "--heartbeat-seconds",
                                     "1",
                                     "--resync-seconds",
                                     "5",
                                     "--workers",
                                     "2",
                                     "--log-level",
                                     "info"};
    pid_ = ::fork();
    if (pid_ < 0) {
      return core::internalError("fork failed");
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (auto& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return core::okStatus();
  }

  void pause() {
    if (pid_ > 0) {
      ::kill(pid_, SIGSTOP);
    }
  }
  void resume() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
    }
  }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 50; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          return;
        }
        ::usleep(100'000);
      }
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  const std::string& logPath() const { return log_; }
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  std::string log_;
};

}  // namespace novacron::controller::ctltest
