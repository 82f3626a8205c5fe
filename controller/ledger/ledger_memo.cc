#include "controller/ledger/ledger_memo.h"

#include <vector>

namespace novacron::controller::ledger {

core::StatusOr<std::shared_ptr<const Ledger>> LedgerMemo::decode(
    const std::string& name, const std::string& resource_version, std::string_view text) {
  if (!resource_version.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = slots_.find(name); it != slots_.end()) {
      auto& versions = it->second.versions;
      for (size_t i = 0; i < versions.size(); ++i) {
        // The text is what decodes; a version written since without touching the ledger (a
        // status write of the hypervisor's conditions or totals) is the same ledger.
        if (versions[i].text == text) {
          lru_.splice(lru_.begin(), lru_, it->second.lru);
          auto ledger = versions[i].ledger;
          if (i == 0) {
            versions.resize(1);  // the readers caught up: the older versions are not needed
          }
          return ledger;
        }
      }
    }
  }
  auto decoded = decodeLedger(text);
  std::lock_guard<std::mutex> lock(mu_);
  ++decodes_;
  if (!decoded.isOk()) {
    return decoded.status();
  }
  auto ledger = std::make_shared<const Ledger>(std::move(*decoded));
  keep(name, resource_version, text, ledger);
  return ledger;
}

void LedgerMemo::remember(const std::string& name, const std::string& resource_version,
                          std::string_view text, std::shared_ptr<const Ledger> ledger) {
  std::lock_guard<std::mutex> lock(mu_);
  keep(name, resource_version, text, std::move(ledger));
}

void LedgerMemo::keep(const std::string& name, const std::string& resource_version,
                      std::string_view text, std::shared_ptr<const Ledger> ledger) {
  if (resource_version.empty() || capacity_ == 0) {
    return;
  }
  auto [it, added] = slots_.try_emplace(name);
  if (added) {
    lru_.push_front(name);
    it->second.lru = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  auto& versions = it->second.versions;
  // A reused resourceVersion (another text) replaces the version it names.
  std::erase_if(versions, [&](const Version& v) { return v.resource_version == resource_version; });
  versions.insert(versions.begin(),
                  Version{resource_version, std::string(text), std::move(ledger)});
  if (versions.size() > kVersionsPerHypervisor) {
    versions.resize(kVersionsPerHypervisor);
  }
  while (slots_.size() > capacity_) {
    slots_.erase(lru_.back());
    lru_.pop_back();
  }
}

uint64_t LedgerMemo::decodes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return decodes_;
}

size_t LedgerMemo::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slots_.size();
}

}  // namespace novacron::controller::ledger
