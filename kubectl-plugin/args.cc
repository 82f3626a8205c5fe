#include "kubectl-plugin/args.h"

namespace novacron::kubectl_plugin {

std::optional<std::string> Args::get(std::string_view name) const {
  auto it = flags.find(name);
  if (it == flags.end()) {
    return std::nullopt;
  }
  return it->second;
}

core::Status Args::checkKnown(const std::set<std::string, std::less<>>& known) const {
  for (const auto& [name, value] : flags) {
    if (!known.contains(name)) {
      return core::invalidArgumentError("unknown flag --" + name);
    }
  }
  return core::okStatus();
}

core::StatusOr<Args> parseArgs(const std::vector<std::string>& argv,
                               const std::set<std::string, std::less<>>& booleans) {
  static const std::map<std::string, std::string, std::less<>> kShort = {
      {"-n", "namespace"}, {"-h", "help"}, {"-A", "all-namespaces"}};
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") {
      args.positional.insert(args.positional.end(), argv.begin() + static_cast<long>(i) + 1,
                             argv.end());
      break;
    }
    std::string name;
    std::optional<std::string> value;
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      name = a.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
    } else if (auto it = kShort.find(a); it != kShort.end()) {
      name = it->second;
    } else if (a.size() > 2 && a.rfind("-n", 0) == 0 && a[2] != '-') {
      name = "namespace";  // -nfoo
      value = a.substr(2);
    } else {
      args.positional.push_back(a);
      continue;
    }
    if (!value) {
      if (booleans.contains(name)) {
        value = "true";
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return core::invalidArgumentError("flag --" + name + " needs a value");
      }
    }
    args.flags[name] = *value;
  }
  return args;
}

}  // namespace novacron::kubectl_plugin
