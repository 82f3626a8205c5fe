#include "lib/kube/line_splitter.h"

#include <algorithm>

namespace novacron::kube {
namespace {

std::string_view withoutCarriageReturn(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  return line;
}

}  // namespace

bool LineSplitter::feed(std::string_view bytes) {
  pending_.append(bytes);
  size_t start = 0;
  bool keep = true;
  while (keep) {
    const size_t newline = pending_.find('\n', std::max(start, scanned_));
    if (newline == std::string::npos) {
      break;
    }
    const std::string_view line =
        withoutCarriageReturn(std::string_view(pending_).substr(start, newline - start));
    keep = line.empty() || on_line_(line);
    start = newline + 1;
  }
  pending_.erase(0, start);
  scanned_ = pending_.size();
  return keep;
}

bool LineSplitter::finish() {
  if (!feed({})) {
    return false;
  }
  const std::string rest(withoutCarriageReturn(pending_));
  pending_.clear();
  scanned_ = 0;
  return rest.empty() || on_line_(rest);
}

}  // namespace novacron::kube
