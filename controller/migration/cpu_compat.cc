#include "controller/migration/cpu_compat.h"

#include <algorithm>
#include <set>

namespace novacron::controller::migration {
namespace {

constexpr std::size_t kListedFeatures = 5;  // a message names this many missing features at most

}  // namespace

std::optional<std::string> cpuIncompatibility(const CpuFacts& source, const CpuFacts& target) {
  const bool source_model = source.model && !source.model->empty();
  if (!source_model && source.features.empty()) {
    return std::nullopt;
  }
  if (source_model && target.model == source.model) {
    return std::nullopt;
  }
  const std::set<std::string> offered(target.features.begin(), target.features.end());
  std::vector<std::string> missing;
  for (const auto& feature : source.features) {
    if (!offered.contains(feature)) {
      missing.push_back(feature);
    }
  }
  if (missing.empty() && (!source.features.empty() || !source_model)) {
    return std::nullopt;
  }
  const std::string source_text =
      "the source's CPU (model " + (source_model ? *source.model : std::string("unknown")) + ")";
  if (missing.empty()) {
    // Only a model to compare, and it differs.
    return "a different CPU model (" + target.model.value_or("unknown") + ") than " + source_text +
           ", and the source reports no CPU features to compare";
  }
  std::sort(missing.begin(), missing.end());
  std::string list;
  for (std::size_t i = 0; i < missing.size() && i < kListedFeatures; ++i) {
    list += (i == 0 ? "" : ", ") + missing[i];
  }
  if (missing.size() > kListedFeatures) {
    list += " and " + std::to_string(missing.size() - kListedFeatures) + " more";
  }
  return "lacks CPU features " + list + " of " + source_text;
}

}  // namespace novacron::controller::migration
