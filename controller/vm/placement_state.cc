#include "controller/vm/placement_state.h"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "controller/vm/placement_inputs.h"

namespace novacron::controller {
namespace {

int64_t versionNumber(const std::string& rv) {
  try {
    return std::stoll(rv);
  } catch (const std::exception&) {
    return -1;
  }
}

bool newer(const HypervisorPtr& a, const HypervisorPtr& b) {
  return versionNumber(a->metadata.resourceVersion) > versionNumber(b->metadata.resourceVersion);
}

}  // namespace

PlacementState::PlacementState(std::shared_ptr<const ClusterCache> cache, core::ClockPtr clock,
                               FreshFor fresh_for)
    : cache_(std::move(cache)), clock_(std::move(clock)), fresh_for_(std::move(fresh_for)) {}

UnboundFacts PlacementState::observe(const api::VirtualMachine& vm) {
  UnboundFacts facts;
  const std::string key = vmKey(vm);
  std::lock_guard lock(mu_);
  refresh();
  if (auto it = index_.find(key); it != index_.end()) {
    for (const auto& [name, uid] : it->second) {  // sorted: the smallest name first
      auto e = entries_.find(name);
      if (uid == vm.metadata.uid && e != entries_.end() && !e->second.fenced) {
        facts.reservation = name;
        return facts;
      }
    }
  }
  facts.views.reserve(entries_.size());
  for (auto& [name, e] : entries_) {
    e.position = facts.views.size();
    facts.views.push_back(e.view);
    facts.views.back().ready = e.view.ready && heartbeatFresh(name, e);
  }
  for (const auto& [other, flight] : in_flight_) {
    auto e = entries_.find(flight.hypervisor);
    if (other == key || e == entries_.end() || e->second.reserved.contains(other)) {
      continue;  // its own, on a hypervisor gone meanwhile, or landed and counted already
    }
    auto& view = facts.views[e->second.position];
    view.allocated.cpus += flight.entry.resources.cpus;
    view.allocated.memory_bytes += flight.entry.resources.memory_bytes;
    view.allocated.storage_bytes += flight.entry.resources.storage_bytes;
    if (!flight.entry.anti_affinity_group.empty()) {
      view.anti_affinity_groups.push_back(flight.entry.anti_affinity_group);
    }
  }
  return facts;
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
  ++generation_;
  for (auto& cached : cache_->hypervisors()) {
    const std::string& name = cached->metadata.name;
    Entry& e = entries_[name];
    e.seen = generation_;
    if (e.cached == cached) {
      continue;  // no watch event for it since the last look
    }
    e.cached = cached;
    if (e.source && e.source != e.cached && newer(e.source, cached)) {
      continue;  // our own newer copy stays until the informer catches up
    }
    rebuild(name, e, cached);
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.seen != generation_) {
      unindex(it->first, it->second);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void PlacementState::rebuild(const std::string& name, Entry& e, HypervisorPtr source) {
  unindex(name, e);
  e.source = std::move(source);
  e.view = hypervisorView(*e.source, true);
  e.fenced = isFenced(*e.source);
  e.reserved.clear();
  if (auto entries = ledgerOf(*e.source); entries.isOk()) {
    for (const auto& [key, entry] : *entries) {
      e.reserved[key] = entry.uid;
      index_[key][name] = entry.uid;
    }
  }
}

void PlacementState::unindex(const std::string& name, const Entry& e) {
  for (const auto& [key, uid] : e.reserved) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      continue;
    }
    it->second.erase(name);
    if (it->second.empty()) {
      index_.erase(it);
    }
  }
}

bool PlacementState::heartbeatFresh(const std::string& name, Entry& e) {
  const auto now = clock_->now();
  if (e.heartbeat_fresh && now < e.fresh_until) {
    return true;
  }
  const auto fresh_for = fresh_for_(name);
  e.heartbeat_fresh = fresh_for > core::Clock::Duration::zero();
  e.fresh_until = now + fresh_for;
  return e.heartbeat_fresh;
}

}  // namespace novacron::controller
