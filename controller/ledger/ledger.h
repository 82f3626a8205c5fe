// The capacity ledger of one Hypervisor: which VMs hold capacity there and how much.
//
// Why a list and not just the totals in status.allocated: placement decisions made concurrently
// (two workers, or two controllers across a leader change) must be serialised per hypervisor. A
// decision first RESERVES by adding an entry to the ledger with a write that tests the ledger it
// was checked against (controller/ledger/ledger_patch.h); only then is the VM bound. Two
// reservations based on the same version cannot both succeed, and every reservation re-checks the
// fit against the ledger it is written on top of, so a hypervisor can never be overcommitted.
//
// The ledger lives in the Hypervisor's status.allocations (a list of {vm: "ns/name", uid, cpus,
// memoryBytes, storageBytes (optional: counted disk bytes), antiAffinityGroup (optional)}, sorted
// by vm), and every write of it also writes its totals status.allocated, in the same status
// write: the summary never lags behind the ledger and costs no write of its own (issue 15). In
// the status subresource, only writers of Hypervisor status (the controller, the node-daemon of
// that host) can change it, not every editor of the object. Hypervisors written before it moved
// there keep it in the annotation novacron.io/allocations (an object keyed by "ns/name") until
// the hypervisor reconciler copies it into status and then drops the annotation.
//
// It is level-triggered: planLedger() derives the desired ledger from the VMs themselves
//   - a VM bound to the hypervisor has an entry with its current resources (bound by hand too);
//   - an entry of an existing, still unbound VM with the same uid is a reservation in flight and
//     stays (the VM reconciler completes the binding to exactly that hypervisor) — unless the VM
//     is Halted: halted VMs are not placed, so that entry would never be completed;
//   - an entry of a VM bound elsewhere that is migrating HERE (status.activeMigration names a
//     non-terminal VMMigration whose target is this hypervisor, or one not resolved yet) is the
//     migration's reservation and stays while the migration runs (docs/migration.md);
//   - any other entry (VM gone, recreated with another uid, bound elsewhere) is dropped only after
//     a live read confirms it (confirmRemoval), because a cache may lag behind the ledger and an
//     entry dropped on stale evidence would let the hypervisor be overcommitted.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/scheduler/resources.h"
#include "lib/core/statusor.h"

namespace novacron::controller::ledger {

// Where ledgers were kept before status.allocations (read until the hypervisor reconciler moves
// them; never written).
inline constexpr std::string_view kLegacyLedgerAnnotation = "novacron.io/allocations";

struct LedgerEntry {
  std::string uid;
  scheduler::Resources resources;
  std::string anti_affinity_group;  // empty: none

  friend bool operator==(const LedgerEntry&, const LedgerEntry&) = default;
};

// Keyed by "namespace/name" of the VM.
using Ledger = std::map<std::string, LedgerEntry>;

// status.allocations as compact JSON (a list sorted by vm, members sorted), so an unchanged ledger
// encodes to the same text: ledgerJson(ledger).dump().
std::string encodeLedger(const Ledger& ledger);
nlohmann::json ledgerJson(const Ledger& ledger);
// Decodes status.allocations, or the legacy annotation's object. Empty text is an empty ledger.
// InvalidArgument for anything malformed (a corrupt ledger is an error to report, never silently
// an empty ledger, which would free capacity).
core::StatusOr<Ledger> decodeLedger(std::string_view text);

struct LedgerTotals {
  scheduler::Resources resources;
  int64_t vms = 0;

  friend bool operator==(const LedgerTotals&, const LedgerTotals&) = default;
};
LedgerTotals totals(const Ledger& ledger);
// The anti-affinity group of every entry that has one (one element per entry).
std::vector<std::string> antiAffinityGroups(const Ledger& ledger);

// What the ledger needs to know about a VM.
struct VmFacts {
  std::string key;  // namespace/name
  std::string uid;
  std::string bound_to;  // status.hypervisor (the binding); empty when unbound
  scheduler::Resources resources;
  std::string anti_affinity_group;
  // The target of the non-terminal VMMigration named by status.activeMigration; empty when none.
  std::string migration_target;
  // status.activeMigration is set but its VMMigration (or its target) is not known yet: any
  // reservation of the VM stays (over-counting is the safe direction) until it is.
  bool migration_unresolved = false;
  // runStrategy Halted. Halted VMs hold no capacity and are not placed, so the entry of an unbound
  // halted VM is no reservation in flight: nothing would ever complete it (issue 18: a VM halted
  // between reservation and binding, e.g. across a controller crash, kept its capacity forever).
  bool halted = false;

  // True when an entry of this VM on `hypervisor` is a running migration's reservation.
  bool migratingTo(std::string_view hypervisor) const {
    return migration_unresolved || (!migration_target.empty() && migration_target == hypervisor);
  }
  bool operator==(const VmFacts&) const = default;
};

struct LedgerPlan {
  Ledger desired;
  // Keys whose entries stay in `desired` until a live read confirms they should go.
  std::vector<std::string> to_confirm;
};

using VmLookup = std::function<std::optional<VmFacts>(const std::string& key)>;

// `bound`: the VMs (from the cache) whose label binds them to `hypervisor`. `lookup`: the cached
// facts of any VM by key (nullopt when the cache has none). `accept_reservations`: false on a
// fenced or deleted hypervisor, where a reservation in flight must not be completed.
LedgerPlan planLedger(std::string_view hypervisor, const Ledger& current,
                      const std::vector<VmFacts>& bound, const VmLookup& lookup,
                      bool accept_reservations = true);

// Applies a live read of the VM behind `key` (nullopt: NotFound) to `desired`.
void confirmRemoval(std::string_view hypervisor, Ledger& desired, const std::string& key,
                    const std::optional<VmFacts>& live, bool accept_reservations = true);

LedgerEntry entryFor(const VmFacts& vm);

}  // namespace novacron::controller::ledger
