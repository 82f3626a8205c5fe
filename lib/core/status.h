// Status: the result of an operation that can fail, as a value.
//
// The code tells the caller what to do next (Abseil's canonical codes, plus the Kubernetes-specific
// kGone for an expired watch resourceVersion):
//   kNotFound            the thing is gone: stop, or treat as deleted.
//   kAlreadyExists       someone created it first: read it and carry on.
//   kConflict / kAborted the state changed under you: re-read and retry now.
//   kGone                the resourceVersion is too old (HTTP 410): relist.
//   kInvalidArgument     terminal: the input is wrong; tell the user through a condition.
//   kFailedPrecondition  terminal until something else changes (e.g. a cache not synced yet).
//   kResourceExhausted   throttled (HTTP 429): back off, honouring retryAfter().
//   kUnavailable         transient (network, 5xx): back off and retry.
//   kDeadlineExceeded    timed out: back off and retry.
//   kUnauthenticated / kPermissionDenied  terminal until credentials change.
//   kCancelled           the caller asked to stop.
//   kInternal            a bug or impossible state in a dependency: report loudly.
//
// Thread-safety: a Status is an immutable value; copies are independent.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace novacron::core {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kConflict,
  kGone,
  kUnavailable,
  kUnauthenticated,
  kInternal,
};

std::string_view statusCodeName(StatusCode code);

class [[nodiscard]] Status {
public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Server-suggested delay before retrying (HTTP Retry-After), if any.
  std::optional<std::chrono::milliseconds> retryAfter() const { return retry_after_; }
  Status withRetryAfter(std::chrono::milliseconds delay) const;

  // Prepends context: "reading VM default/a: <original message>". Keeps code and retryAfter.
  Status withContext(std::string_view context) const;

  // True when the code says the same operation may succeed if simply tried again later (after
  // backoff or re-read). Advisory: callers decide; the reconcile loop retries every error that
  // is not explicitly terminal.
  bool isRetryable() const;
  // True only for an error explicitly marked with terminal(): the reconcile loop does not retry it
  // until the object changes (controller-runtime's TerminalError). Opt-in, never inferred from
  // the code, so a NotFound from a sub-call is retried like any other error.
  bool isTerminal() const { return terminal_; }

  std::string toString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

private:
  friend Status terminal(Status status);

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::optional<std::chrono::milliseconds> retry_after_;
  bool terminal_ = false;
};

// Marks an error as terminal: retrying cannot help until the input changes (report it through a
// condition instead). Keeps code, message and context. An OK status stays OK.
Status terminal(Status status);

std::ostream& operator<<(std::ostream& os, const Status& status);

Status okStatus();
Status cancelledError(std::string message);
Status invalidArgumentError(std::string message);
Status deadlineExceededError(std::string message);
Status notFoundError(std::string message);
Status alreadyExistsError(std::string message);
Status permissionDeniedError(std::string message);
Status resourceExhaustedError(std::string message);
Status failedPreconditionError(std::string message);
Status abortedError(std::string message);
Status conflictError(std::string message);
Status goneError(std::string message);
Status unavailableError(std::string message);
Status unauthenticatedError(std::string message);
Status internalError(std::string message);

// Maps an HTTP status code (as returned by the Kubernetes API) to a StatusCode.
StatusCode statusCodeFromHttp(int http_status);

}  // namespace novacron::core

// Returns early from the enclosing function if `expr` (a Status) is not OK.
#define NOVACRON_RETURN_IF_ERROR(expr)            \
  do {                                            \
    ::novacron::core::Status _nc_status = (expr); \
    if (!_nc_status.isOk()) {                     \
      return _nc_status;                          \
    }                                             \
  } while (false)
