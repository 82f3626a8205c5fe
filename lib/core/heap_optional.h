// HeapOptional<T>: std::optional's interface, with the value on the heap (one pointer, 8 bytes).
//
// For optional parts of API objects that are large and usually absent (a VM's kernelBoot, a
// disk's three alternative sources, of which one is set): std::optional<T> takes sizeof(T) in the
// enclosing struct whether set or not, and caches hold tens of thousands of such structs (issue
// 15, B4: the controller's bytes per cached VM). A set value costs one allocation instead.
// Copies are deep, so it behaves as a value like std::optional; comparison follows std::optional
// (unset == unset, unset < set).
// Thread-safety: a plain value.
#pragma once

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace novacron::core {

template <typename T>
class HeapOptional {
public:
  using value_type = T;

  HeapOptional() = default;
  HeapOptional(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): like std::optional
  HeapOptional(const T& value) : value_(std::make_unique<T>(value)) {}        // NOLINT
  HeapOptional(T&& value) : value_(std::make_unique<T>(std::move(value))) {}  // NOLINT
  HeapOptional(const std::optional<T>& value)                                 // NOLINT
      : value_(value ? std::make_unique<T>(*value) : nullptr) {}
  HeapOptional(const HeapOptional& other)
      : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  HeapOptional(HeapOptional&&) noexcept = default;
  ~HeapOptional() = default;

  HeapOptional& operator=(const HeapOptional& other) {
    if (this != &other) {
      value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    }
    return *this;
  }
  HeapOptional& operator=(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(std::nullopt_t) {
    value_.reset();
    return *this;
  }
  HeapOptional& operator=(const T& value) {
    emplace(value);
    return *this;
  }
  HeapOptional& operator=(T&& value) {
    emplace(std::move(value));
    return *this;
  }

  template <typename... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }
  void reset() { value_.reset(); }

  bool has_value() const { return value_ != nullptr; }  // NOLINT(readability-identifier-naming)
  explicit operator bool() const { return has_value(); }

  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return value_.get(); }
  const T* operator->() const { return value_.get(); }
  T& value() {
    if (!value_) {
      throw std::bad_optional_access();
    }
    return *value_;
  }
  const T& value() const {
    if (!value_) {
      throw std::bad_optional_access();
    }
    return *value_;
  }
  template <typename U>
  T value_or(U&& fallback) const {  // NOLINT(readability-identifier-naming)
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

  friend bool operator==(const HeapOptional& a, const HeapOptional& b) {
    if (a.has_value() != b.has_value()) {
      return false;
    }
    return !a.has_value() || *a == *b;
  }
  friend bool operator==(const HeapOptional& a, std::nullopt_t) { return !a.has_value(); }
  friend bool operator==(const HeapOptional& a, const T& b) { return a.has_value() && *a == b; }

private:
  std::unique_ptr<T> value_;
};

}  // namespace novacron::core
