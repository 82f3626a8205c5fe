#include "controller/ledger/ledger_memo.h"

namespace novacron::controller::ledger {

core::StatusOr<std::shared_ptr<const Ledger>> LedgerMemo::decode(
    const std::string& name, const std::string& resource_version, std::string_view text) {
  if (!resource_version.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end() && it->second.resource_version == resource_version &&
        it->second.text == text) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.ledger;
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
  it->second.resource_version = resource_version;
  it->second.text = std::string(text);
  it->second.ledger = std::move(ledger);
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
