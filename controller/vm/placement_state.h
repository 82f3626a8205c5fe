// PlacementState: what placement decides on, kept between decisions (kube-scheduler's scheduler
// cache) instead of rebuilt from every Hypervisor for every VM.
//
//   - Each hypervisor's ledger is decoded, and its scheduler view built, once per change of the
//     object: a Hypervisor is re-read only when the cache reports it changed (a watch event,
//     ClusterCache::hypervisorChanges()) or this process wrote a newer one (assume()). A decision
//     neither decodes nor copies views: decide() lends the scheduler the views it keeps, in name
//     order, for the length of one decision (issue 15, B3).
//   - Which hypervisor holds a reservation for a VM comes from an index kept with the views.
//   - Reservations this process decided but whose write has not landed yet (reserving() ..
//     reserved()) are counted in every other VM's views: concurrent workers spread over the
//     hypervisors instead of all racing for the same least-loaded one and losing the patch test
//     (kube-scheduler's "assume" step). This only steers choices: the ledger write still tests the
//     ledger it was checked against, so capacity is never overcommitted whatever this state says.
//   - Heartbeat freshness is asked once per hypervisor until it could have expired (the tracker
//     says how long it stays fresh), and only for the hypervisors a decision looks at.
//   - Where the scheduler starts looking rotates: each decision starts where the previous one
//     stopped (kube-scheduler's nextStartNodeIndex), so sampled decisions (scheduler.h) cover the
//     whole fleet in turn.
// resourceVersions are opaque to clients, but every etcd-backed server hands out increasing
// integers; an unparsable one counts as oldest, so the informer's copy wins.
// Thread-safety: all methods are safe from any thread (one mutex guards the state; decide() runs
// its callback under it, so the callback must not call back into this object).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "controller/cache/cluster_cache.h"
#include "controller/ledger/ledger.h"
#include "controller/scheduler/inputs.h"
#include "controller/vm/vm_decision.h"
#include "lib/core/clock.h"

namespace novacron::controller {

class PlacementState {
public:
  // How long the hypervisor's heartbeat stays fresh from now (zero: stale). Called at most once
  // per hypervisor until that time has passed (always again while it is stale).
  using FreshFor = std::function<core::Clock::Duration(const std::string& hypervisor)>;
  using Decide = std::function<UnboundDecision(const UnboundFacts&)>;

  PlacementState(std::shared_ptr<const ClusterCache> cache, core::ClockPtr clock,
                 FreshFor fresh_for);

  // Runs `decide` on the placement facts of an unbound VM: the hypervisor holding its reservation
  // (smallest name; fenced ones skipped), or else the views of every hypervisor, with the
  // in-flight reservations of other VMs counted in and readiness including the heartbeat. The
  // views are valid only during the call. The next decision starts where this one's scheduler
  // stopped (UnboundDecision::examined).
  UnboundDecision decide(const api::VirtualMachine& vm, const Decide& decide);

  // The copy the views of `name` were built from (the informer's, or a newer one written here);
  // null when unknown.
  HypervisorPtr hypervisor(const std::string& name);

  // A reservation of `entry` for VM `key` on `hypervisor` is being written.
  void reserving(const std::string& key, const std::string& hypervisor, ledger::LedgerEntry entry);
  // That write finished: forgets it (its result, when written, comes through assume()).
  void reserved(const std::string& key);
  // Remembers `hypervisor` as read or written live, unless a newer copy is known already.
  void assume(api::Hypervisor hypervisor);

private:
  struct Entry {
    HypervisorPtr cached;            // the informer's copy last seen
    HypervisorPtr source;            // the copy the view was built from (cached, or newer assumed)
    scheduler::HypervisorView view;  // ready = the object's own readiness (Ready, not fenced)
    bool fenced = false;
    std::shared_ptr<const ledger::Ledger> ledger;  // the source's ledger; null until first built
    bool heartbeat_fresh = false;
    core::Clock::TimePoint fresh_until{};
    uint64_t seen = 0;  // refresh generation (full scans)
  };
  struct InFlight {
    std::string hypervisor;
    ledger::LedgerEntry entry;
  };
  class Views;  // the scheduler's HypervisorSource over entries_ (placement_state.cc)

  // Brings the entries up to date with the cache: only the changed ones when it says which.
  void refresh();                                                         // needs mu_
  void refreshAll();                                                      // needs mu_
  void refreshOne(const std::string& name, HypervisorPtr cached);         // needs mu_
  void rebuild(const std::string& name, Entry& e, HypervisorPtr source);  // needs mu_
  // Moves the index from `before` to `after`, two ledgers of hypervisor `name`: only the entries
  // that differ (a reservation changes a few of a ledger of hundreds). needs mu_
  void reindex(const std::string& name, const ledger::Ledger& before, const ledger::Ledger& after);
  void unindex(const std::string& name, const Entry& e);                               // needs mu_
  bool heartbeatFresh(const std::string& name, Entry& e, core::Clock::TimePoint now);  // needs mu_

  const std::shared_ptr<const ClusterCache> cache_;
  const core::ClockPtr clock_;
  const FreshFor fresh_for_;

  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_; hypervisor name -> entry
  // guarded by mu_; entries_ in name order, for access by position; rebuilt when one comes or goes
  std::vector<std::pair<const std::string*, Entry*>> order_;
  bool order_stale_ = true;  // guarded by mu_
  // guarded by mu_; VM key -> hypervisors whose ledger holds an entry for it
  std::map<std::string, std::map<std::string, std::string>> index_;
  std::map<std::string, InFlight> in_flight_;  // guarded by mu_; VM key -> reservation
  uint64_t generation_ = 0;                    // guarded by mu_
  uint64_t cursor_ = 0;                        // guarded by mu_; ClusterCache::hypervisorChanges
  std::size_t next_start_ = 0;                 // guarded by mu_; where the next decision starts
};

}  // namespace novacron::controller
