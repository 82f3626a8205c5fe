// KeyList: the object keys of one list in progress, in the order they arrived, kept as one text
// and a vector of offsets instead of a string (and a hash-set node) per key.
//
// Why (issue 15 B4): a relist of 50,000 objects used to collect their keys in an unordered_set
// while the decoded objects were allocated; freeing the set afterwards left ~100 B holes between
// every pair of cached objects, smaller than a page, which malloc can neither reuse for the
// objects nor return to the system. A few large buffers freed together leave free pages instead.
// Thread-safety: none (the informer's reflector thread owns it).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace novacron::runtime {

class KeyList {
public:
  void add(std::string_view key);
  size_t size() const { return ends_.size(); }
  // The i-th key added (valid until the next add() or clear()).
  std::string_view at(size_t i) const;
  // Whether `key` was added; the first call after add()s sorts a view of the keys.
  bool contains(std::string_view key);
  // Forgets every key and frees the memory.
  void clear();

private:
  std::string text_;
  std::vector<size_t> ends_;              // end offset of each key in text_, in add() order
  std::vector<std::string_view> sorted_;  // built by contains(); empty after add()
};

}  // namespace novacron::runtime
