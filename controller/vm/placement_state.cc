#include "controller/vm/placement_state.h"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "controller/scheduler/scheduler.h"
#include "controller/vm/placement_inputs.h"

namespace novacron::controller {
namespace {

bool newer(const HypervisorPtr& a, const HypervisorPtr& b) {
  return resourceVersionNumber(a->metadata.resourceVersion) >
         resourceVersionNumber(b->metadata.resourceVersion);
}

const std::shared_ptr<const ledger::Ledger>& emptyLedger() {
  static const auto kEmpty = std::make_shared<const ledger::Ledger>();
  return kEmpty;
}

}  // namespace

// The entries' views by position (name order), lent to the scheduler for one decision. A view
// is handed out as kept unless the decision must see it differently: a stale heartbeat (not
// ready) or reservations of other VMs in flight there; those few are adjusted in a scratch copy.
class PlacementState::Views final : public scheduler::HypervisorSource {
public:
  Views(PlacementState& state, const std::string& key, core::Clock::TimePoint now)
      : state_(state), now_(now) {
    for (const auto& [other, flight] : state_.in_flight_) {
      auto e = state_.entries_.find(flight.hypervisor);
      if (other == key || e == state_.entries_.end() || e->second.ledger->contains(other)) {
        continue;  // its own, on a hypervisor gone meanwhile, or landed and counted already
      }
      Adjustment& adjust = adjustments_[&e->second];
      adjust.resources.cpus += flight.entry.resources.cpus;
      adjust.resources.memory_bytes += flight.entry.resources.memory_bytes;
      adjust.resources.storage_bytes += flight.entry.resources.storage_bytes;
      if (!flight.entry.anti_affinity_group.empty()) {
        adjust.groups.push_back(flight.entry.anti_affinity_group);
      }
    }
  }

  std::size_t size() const override { return state_.order_.size(); }

  const scheduler::HypervisorView& at(std::size_t i) const override {
    const auto& [name, e] = state_.order_[i];
    const bool ready = e->view.ready && state_.heartbeatFresh(*name, *e, now_);
    auto adjust = adjustments_.find(e);
    if (ready == e->view.ready && adjust == adjustments_.end()) {
      return e->view;
    }
    scratch_ = e->view;
    scratch_.ready = ready;
    if (adjust != adjustments_.end()) {
      scratch_.allocated.cpus += adjust->second.resources.cpus;
      scratch_.allocated.memory_bytes += adjust->second.resources.memory_bytes;
      scratch_.allocated.storage_bytes += adjust->second.resources.storage_bytes;
      scratch_.anti_affinity_groups.insert(scratch_.anti_affinity_groups.end(),
                                           adjust->second.groups.begin(),
                                           adjust->second.groups.end());
    }
    return scratch_;
  }

private:
  struct Adjustment {
    scheduler::Resources resources;
    std::vector<std::string> groups;
  };

  PlacementState& state_;
  const core::Clock::TimePoint now_;
  std::map<const Entry*, Adjustment> adjustments_;  // at most one per reservation in flight
  mutable scheduler::HypervisorView scratch_;
};

PlacementState::PlacementState(std::shared_ptr<const ClusterCache> cache, core::ClockPtr clock,
                               FreshFor fresh_for)
    : cache_(std::move(cache)), clock_(std::move(clock)), fresh_for_(std::move(fresh_for)) {}

UnboundDecision PlacementState::decide(const api::VirtualMachine& vm, const Decide& decide) {
  UnboundFacts facts;
  const std::string key = vmKey(vm);
  std::lock_guard lock(mu_);
  refresh();
  if (auto it = index_.find(key); it != index_.end()) {
    for (const auto& [name, uid] : it->second) {  // sorted: the smallest name first
      auto e = entries_.find(name);
      if (uid == vm.metadata.uid && e != entries_.end() && !e->second.fenced) {
        facts.reservation = name;
        return decide(facts);
      }
    }
  }
  if (order_stale_) {
    order_.clear();
    order_.reserve(entries_.size());
    for (auto& [name, e] : entries_) {
      order_.emplace_back(&name, &e);
    }
    order_stale_ = false;
  }
  const Views views(*this, key, clock_->now());
  facts.hypervisors = &views;
  facts.start = order_.empty() ? 0 : next_start_ % order_.size();
  UnboundDecision decision = decide(facts);
  if (!order_.empty()) {
    next_start_ = (facts.start + decision.examined) % order_.size();
  }
  return decision;
}

HypervisorPtr PlacementState::hypervisor(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.source;
}

void PlacementState::reserving(const std::string& key, const std::string& hypervisor,
                               ledger::LedgerEntry entry) {
  std::lock_guard lock(mu_);
  in_flight_[key] = InFlight{hypervisor, std::move(entry)};
}

void PlacementState::reserved(const std::string& key) {
  std::lock_guard lock(mu_);
  in_flight_.erase(key);
}

void PlacementState::assume(api::Hypervisor hypervisor) {
  auto ptr = std::make_shared<const api::Hypervisor>(std::move(hypervisor));
  std::lock_guard lock(mu_);
  auto it = entries_.find(ptr->metadata.name);
  if (it == entries_.end() || (it->second.source && !newer(ptr, it->second.source))) {
    return;  // unknown to the informer (refresh() would drop it), or not newer
  }
  rebuild(it->first, it->second, std::move(ptr));
}

void PlacementState::refresh() {
  // The cursor is taken before the cache is read: a change logged after it is reported next
  // time, and one logged before it is in the cache already.
  HypervisorChanges changes = cache_->hypervisorChanges(cursor_);
  cursor_ = changes.cursor;
  if (!changes.names) {
    refreshAll();
    return;
  }
  for (const std::string& name : *changes.names) {
    refreshOne(name, cache_->hypervisor(name));
  }
}

void PlacementState::refreshAll() {
  ++generation_;
  for (auto& cached : cache_->hypervisors()) {
    const std::string name = cached->metadata.name;
    refreshOne(name, std::move(cached));
    entries_[name].seen = generation_;
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.seen != generation_) {
      unindex(it->first, it->second);
      it = entries_.erase(it);
      order_stale_ = true;
    } else {
      ++it;
    }
  }
}

void PlacementState::refreshOne(const std::string& name, HypervisorPtr cached) {
  if (!cached) {
    if (auto it = entries_.find(name); it != entries_.end()) {
      unindex(name, it->second);
      entries_.erase(it);
      order_stale_ = true;
    }
    return;
  }
  auto [it, added] = entries_.try_emplace(name);
  order_stale_ = order_stale_ || added;
  Entry& e = it->second;
  if (e.cached == cached) {
    return;  // no watch event for it since the last look
  }
  e.cached = cached;
  if (e.source && e.source != e.cached) {
    if (newer(e.source, cached)) {
      return;  // our own newer copy stays until the informer catches up
    }
    if (!newer(cached, e.source)) {
      e.source = std::move(cached);  // the informer caught up with it: the same version
      return;
    }
  }
  rebuild(name, e, std::move(cached));
}

void PlacementState::rebuild(const std::string& name, Entry& e, HypervisorPtr source) {
  e.source = std::move(source);
  e.view = hypervisorView(*e.source, true);
  e.fenced = isFenced(*e.source);
  std::shared_ptr<const ledger::Ledger> next = emptyLedger();
  if (auto entries = sharedLedgerOf(*e.source); entries.isOk()) {
    next = std::move(entries).value();
  }
  reindex(name, e.ledger ? *e.ledger : *emptyLedger(), *next);
  e.ledger = std::move(next);
}

void PlacementState::reindex(const std::string& name, const ledger::Ledger& before,
                             const ledger::Ledger& after) {
  if (&before == &after) {
    return;
  }
  auto remove = [&](const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      return;
    }
    it->second.erase(name);
    if (it->second.empty()) {
      index_.erase(it);
    }
  };
  // Both are sorted by VM key: one merge walk.
  auto a = before.begin();
  auto b = after.begin();
  while (a != before.end() || b != after.end()) {
    if (b == after.end() || (a != before.end() && a->first < b->first)) {
      remove(a->first);
      ++a;
    } else if (a == before.end() || b->first < a->first) {
      index_[b->first][name] = b->second.uid;
      ++b;
    } else {
      if (a->second.uid != b->second.uid) {
        index_[b->first][name] = b->second.uid;
      }
      ++a;
      ++b;
    }
  }
}

void PlacementState::unindex(const std::string& name, const Entry& e) {
  if (e.ledger) {
    reindex(name, *e.ledger, *emptyLedger());
  }
}

bool PlacementState::heartbeatFresh(const std::string& name, Entry& e, core::Clock::TimePoint now) {
  if (e.heartbeat_fresh && now < e.fresh_until) {
    return true;
  }
  const auto fresh_for = fresh_for_(name);
  e.heartbeat_fresh = fresh_for > core::Clock::Duration::zero();
  e.fresh_until = now + fresh_for;
  return e.heartbeat_fresh;
}

}  // namespace novacron::controller
