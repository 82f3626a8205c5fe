#include "lib/core/flags.h"

namespace novacron::core {

StatusOr<FlagSet> FlagSet::parse(int argc, const char* const* argv) {
  FlagSet set;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      set.help_ = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return invalidArgumentError("unexpected argument " + arg);
    }
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      set.values_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      set.values_[arg.substr(2)] = argv[++i];
    } else {
      return invalidArgumentError("flag " + arg + " needs a value");
    }
  }
  return set;
}

std::optional<std::string> FlagSet::take(std::string_view name) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    return std::nullopt;
  }
  std::string value = std::move(it->second);
  values_.erase(it);
  return value;
}

Status FlagSet::checkAllTaken() const {
  if (values_.empty()) {
    return okStatus();
  }
  return invalidArgumentError("unknown flag --" + values_.begin()->first);
}

}  // namespace novacron::core
