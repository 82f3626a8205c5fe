#include "lib/runtime/manager.h"

#include <spdlog/spdlog.h>

namespace novacron::runtime {

Manager::Manager(kube::ClientPtr client, ManagerOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

Manager::~Manager() {
  stop();
}

void Manager::add(std::string name, std::function<void()> start, std::function<void()> stop) {
  components_.push_back({std::move(name), std::move(start), std::move(stop)});
}

void Manager::startAll() {
  for (auto& c : components_) {
    spdlog::info("manager: starting {}", c.name);
    c.start();
  }
}

void Manager::stopAll() {
  for (auto it = components_.rbegin(); it != components_.rend(); ++it) {
    spdlog::info("manager: stopping {}", it->name);
    it->stop();
  }
}

void Manager::waitForStop(std::stop_token token) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, token, [this] { return stop_; });
}

core::Status Manager::run() {
  if (!options_.leader_elect) {
    startAll();
    waitForStop({});
    stopAll();
    return core::okStatus();
  }
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [this](std::stop_token token) {
    startAll();
    waitForStop(token);
    stopAll();
  };
  const std::string identity = options_.election.identity;
  callbacks.on_lost_leadership = options_.on_lost_leadership;
  callbacks.on_new_leader = [identity](const std::string& leader) {
    spdlog::info("{}: leader is now {}", identity, leader);
  };
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      return core::okStatus();
    }
    elector_ = std::make_unique<LeaderElector>(client_, options_.election, callbacks);
  }
  core::Status result = elector_->run();
  if (!result.isOk()) {
    spdlog::error("{}: leadership lost: {}", identity, result.toString());
  }
  return result;
}

void Manager::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (elector_) {
      elector_->stop();
    }
  }
  cv_.notify_all();
}

}  // namespace novacron::runtime
