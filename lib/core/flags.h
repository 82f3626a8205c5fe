// FlagSet: the command-line parsing both binaries share ("--name=value" or "--name value").
//
// Usage in a main(): parse, check helpRequested(), take() every known flag, then
// checkAllTaken() so a misspelt flag is an error rather than silently ignored.
// Thread-safety: not thread-safe; used once at startup.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::core {

class FlagSet {
public:
  // InvalidArgument for a positional argument or a trailing flag without a value.
  static StatusOr<FlagSet> parse(int argc, const char* const* argv);

  bool helpRequested() const { return help_; }
  // The flag's value, removing it from the set; nullopt when it was not given.
  std::optional<std::string> take(std::string_view name);
  // InvalidArgument naming the first flag nobody took.
  Status checkAllTaken() const;

private:
  std::map<std::string, std::string, std::less<>> values_;
  bool help_ = false;
};

}  // namespace novacron::core
