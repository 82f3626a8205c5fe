// StatusOr<T>: either a value of type T or a non-OK Status explaining why there is none.
//
// Accessing value() on an error is a programming error and aborts with the status message.
// Thread-safety: as for T.
#pragma once

#include <utility>
#include <variant>

#include "lib/core/check.h"
#include "lib/core/status.h"

namespace novacron::core {

template <typename T>
class [[nodiscard]] StatusOr {
public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit like absl::StatusOr.
  StatusOr(Status status) : data_(std::move(status)) {
    NOVACRON_CHECK(!std::get<Status>(data_).isOk(), "StatusOr constructed from an OK status");
  }
  // NOLINTNEXTLINE(google-explicit-constructor)
  StatusOr(T value) : data_(std::move(value)) {}

  bool isOk() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return isOk(); }

  Status status() const { return isOk() ? Status() : std::get<Status>(data_); }

  const T& value() const& {
    checkValue();
    return std::get<T>(data_);
  }
  T& value() & {
    checkValue();
    return std::get<T>(data_);
  }
  T&& value() && {
    checkValue();
    return std::get<T>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  template <typename U>
  T valueOr(U&& fallback) const& {
    return isOk() ? std::get<T>(data_) : static_cast<T>(std::forward<U>(fallback));
  }

private:
  void checkValue() const {
    NOVACRON_CHECK(isOk(), "StatusOr::value() on error: " + std::get<Status>(data_).toString());
  }

  std::variant<Status, T> data_;
};

}  // namespace novacron::core

// Evaluates `rexpr` (a StatusOr<T>); on error returns its status, otherwise moves the value into
// `lhs` (which may be a declaration, e.g. `auto vm`).
#define NOVACRON_ASSIGN_OR_RETURN(lhs, rexpr) \
  NOVACRON_ASSIGN_OR_RETURN_IMPL(NOVACRON_CONCAT(_nc_statusor_, __LINE__), lhs, rexpr)
#define NOVACRON_CONCAT_INNER(a, b) a##b
#define NOVACRON_CONCAT(a, b) NOVACRON_CONCAT_INNER(a, b)
#define NOVACRON_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                   \
  if (!tmp.isOk()) {                                    \
    return tmp.status();                                \
  }                                                     \
  lhs = std::move(tmp).value()
