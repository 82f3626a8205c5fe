#include "lib/runtime/key_list.h"

#include <algorithm>

namespace novacron::runtime {

void KeyList::add(std::string_view key) {
  text_.append(key);
  ends_.push_back(text_.size());
  std::vector<std::string_view>().swap(sorted_);  // views into text_ may be stale now
}

std::string_view KeyList::at(size_t i) const {
  const size_t begin = i == 0 ? 0 : ends_[i - 1];
  return std::string_view(text_).substr(begin, ends_[i] - begin);
}

bool KeyList::contains(std::string_view key) {
  if (sorted_.size() != ends_.size()) {
    sorted_.clear();
    sorted_.reserve(ends_.size());
    for (size_t i = 0; i < ends_.size(); ++i) {
      sorted_.push_back(at(i));
    }
    std::sort(sorted_.begin(), sorted_.end());
  }
  return std::binary_search(sorted_.begin(), sorted_.end(), key);
}

void KeyList::clear() {
  std::string().swap(text_);
  std::vector<size_t>().swap(ends_);
  std::vector<std::string_view>().swap(sorted_);
}

}  // namespace novacron::runtime
