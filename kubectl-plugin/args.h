// Command-line parsing for kubectl-novacron: kubectl's conventions ("--flag=value", "--flag value",
// "-n value", boolean flags without a value, positional arguments anywhere, "--" ends flags).
// Which flags are boolean is declared by the caller, so "--wait VM" never eats the VM's name.
// Thread-safety: plain values.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/statusor.h"

namespace novacron::kubectl_plugin {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;  // long names without "--"

  bool has(std::string_view name) const { return flags.contains(name); }
  std::optional<std::string> get(std::string_view name) const;
  // Flags the command does not know: InvalidArgument naming the first.
  core::Status checkKnown(const std::set<std::string, std::less<>>& known) const;
};

// Short forms: -n namespace, -h help, -A all-namespaces.
[[nodiscard]] core::StatusOr<Args> parseArgs(const std::vector<std::string>& argv,
                                             const std::set<std::string, std::less<>>& booleans);

}  // namespace novacron::kubectl_plugin
