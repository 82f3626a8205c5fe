// LedgerMemo: decodes a hypervisor's ledger once per version instead of once per look.
//
// The ledger (status.allocations, kept as its JSON text) has one entry per VM on the hypervisor;
// placement, the hypervisor reconciler and the evacuator each read it, and every reservation
// makes a new version. With hundreds of VMs per hypervisor, decoding it at every look was 39 % of
// the controller's CPU in B1x (issue 15). A hit needs the very same text for the hypervisor's name
// (a resourceVersion alone is not enough: the binder checks a candidate ledger on a copy that
// still carries the stored resourceVersion, and resourceVersions repeat after an etcd restore and
// across test doubles), under any resourceVersion: a status write that left the ledger alone
// (conditions, totals) makes a new version of the same ledger. Comparing the text costs a small
// fraction of decoding it. Objects without a resourceVersion (built in memory, never stored) are
// decoded every time, and so are malformed ledgers (the error is reported at every look, as
// before).
//
// Bounded: the `capacity` hypervisors looked at last are kept (least recently used goes first),
// each with up to kVersionsPerHypervisor versions (text and decoded form), so memory stays flat
// however large the fleet; placement keeps returning to the same hypervisors. Several versions,
// because the readers do not all look at the same one at once: the binder knows the version it just
// wrote while the hypervisor reconciler still reconciles the informer's previous one, and with one
// version per hypervisor each of them evicted what the other was about to read (issue 15: a third
// of the decodes in B1x). Once the version kept last is looked at, the older ones go: at rest, one
// version per hypervisor is kept. Thread-safety: thread-safe (one mutex; decoding runs outside
// it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controller/ledger/ledger.h"
#include "lib/core/statusor.h"

namespace novacron::controller::ledger {

class LedgerMemo {
public:
  static constexpr size_t kVersionsPerHypervisor = 3;

  explicit LedgerMemo(size_t capacity) : capacity_(capacity) {}

  // The ledger `text` of hypervisor `name` at `resource_version`, decoded (decodeLedger's errors).
  core::StatusOr<std::shared_ptr<const Ledger>> decode(const std::string& name,
                                                       const std::string& resource_version,
                                                       std::string_view text);

  // Records that `text` of `name` at `resource_version` decodes to `ledger` (a ledger this process
  // encoded and just wrote), as decode() would have; an empty resource_version is not kept.
  void remember(const std::string& name, const std::string& resource_version, std::string_view text,
                std::shared_ptr<const Ledger> ledger);

  // How many times decode() actually decoded (tests; the memo's hit rate).
  uint64_t decodes() const;
  size_t size() const;

private:
  void keep(const std::string& name, const std::string& resource_version, std::string_view text,
            std::shared_ptr<const Ledger> ledger);  // needs mu_

  struct Version {
    std::string resource_version;
    std::string text;
    std::shared_ptr<const Ledger> ledger;
  };
  struct Slot {
    std::vector<Version> versions;  // the one kept last first; at most kVersionsPerHypervisor
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
  };

  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::list<std::string> lru_;
  uint64_t decodes_ = 0;
};

}  // namespace novacron::controller::ledger
