// Manager: runs a binary's components — informers, runtime::Controllers, anything with start and
// stop — under optional leader election, so that main.cc only parses flags and wires objects
// (controller-runtime's manager is the model).
//
//   runtime::Manager manager(client, {.leader_elect = true, .election = election});
//   manager.add("controllers", [&] { app.startLeading(); }, [&] { app.stopLeading(); });
//   core::TerminationSignals signals([&] { manager.stop(); });
//   return manager.run().isOk() ? 0 : 1;
//
// With leader election, components start when this candidate starts leading and stop (in reverse
// order) when it stops leading or stop() is called; run() then returns kAborted if leadership was
// lost (exit, so a fresh process with fresh caches competes again), OK after stop(). Without
// leader election they start at once and run until stop().
// Thread-safety: add() before run(); stop() from any thread, also before run().
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/kube/client.h"
#include "lib/runtime/leader_election.h"

namespace novacron::runtime {

struct ManagerOptions {
  bool leader_elect = true;
  LeaderElectionConfig election;  // used when leader_elect
  // Called as soon as leadership is lost, before the components are stopped (see
  // LeaderCallbacks::on_lost_leadership): arm a core::ExitDeadline here.
  std::function<void()> on_lost_leadership;
};

class Manager {
public:
  Manager(kube::ClientPtr client, ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  void add(std::string name, std::function<void()> start, std::function<void()> stop);
  // Blocks until stop() (OK) or lost leadership (kAborted).
  core::Status run();
  void stop();

private:
  struct Component {
    std::string name;
    std::function<void()> start;
    std::function<void()> stop;
  };
  void startAll();
  void stopAll();
  // Blocks until stop() or `token` fires.
  void waitForStop(std::stop_token token);

  kube::ClientPtr client_;
  ManagerOptions options_;
  std::vector<Component> components_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ = false;                       // guarded by mu_
  std::unique_ptr<LeaderElector> elector_;  // guarded by mu_ (set once in run())
};

}  // namespace novacron::runtime
