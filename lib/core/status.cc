#include "lib/core/status.h"

namespace novacron::core {

std::string_view statusCodeName(StatusCode code) {
  switch (code) {
  case StatusCode::kOk:
    return "OK";
  case StatusCode::kCancelled:
    return "Cancelled";
  case StatusCode::kInvalidArgument:
    return "InvalidArgument";
  case StatusCode::kDeadlineExceeded:
    return "DeadlineExceeded";
  case StatusCode::kNotFound:
    return "NotFound";
  case StatusCode::kAlreadyExists:
    return "AlreadyExists";
  case StatusCode::kPermissionDenied:
    return "PermissionDenied";
  case StatusCode::kResourceExhausted:
    return "ResourceExhausted";
  case StatusCode::kFailedPrecondition:
    return "FailedPrecondition";
  case StatusCode::kAborted:
    return "Aborted";
  case StatusCode::kConflict:
    return "Conflict";
  case StatusCode::kGone:
    return "Gone";
  case StatusCode::kUnavailable:
    return "Unavailable";
  case StatusCode::kUnauthenticated:
    return "Unauthenticated";
  case StatusCode::kInternal:
    return "Internal";
  }
  return "Unknown";
}

Status::Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {
  if (code_ == StatusCode::kOk) {
    message_.clear();
  }
}

Status Status::withRetryAfter(std::chrono::milliseconds delay) const {
  Status copy = *this;
  copy.retry_after_ = delay;
  return copy;
}

Status Status::withContext(std::string_view context) const {
  if (isOk()) {
    return *this;
  }
  Status copy = *this;
  copy.message_ = std::string(context) + ": " + message_;
  return copy;
}

Status terminal(Status status) {
  if (!status.isOk()) {
    status.terminal_ = true;
  }
  return status;
}

bool Status::isRetryable() const {
  switch (code_) {
  case StatusCode::kAborted:
  case StatusCode::kConflict:
  case StatusCode::kGone:
  case StatusCode::kResourceExhausted:
  case StatusCode::kUnavailable:
  case StatusCode::kDeadlineExceeded:
  case StatusCode::kInternal:  // a 500 from a server is worth another try after backoff
    return true;
  default:
    return false;
  }
}

std::string Status::toString() const {
  if (isOk()) {
    return "OK";
  }
  return std::string(statusCodeName(code_)) + ": " + message_;
}

std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.toString();
}

Status okStatus() {
  return Status();
}
Status cancelledError(std::string m) {
  return {StatusCode::kCancelled, std::move(m)};
}
Status invalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
Status deadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
Status notFoundError(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
Status alreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
Status permissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
Status resourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
Status failedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
Status abortedError(std::string m) {
  return {StatusCode::kAborted, std::move(m)};
}
Status conflictError(std::string m) {
  return {StatusCode::kConflict, std::move(m)};
}
Status goneError(std::string m) {
  return {StatusCode::kGone, std::move(m)};
}
Status unavailableError(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
Status unauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
Status internalError(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}

StatusCode statusCodeFromHttp(int http_status) {
  if (http_status >= 200 && http_status < 300) {
    return StatusCode::kOk;
  }
  switch (http_status) {
  case 400:
    return StatusCode::kInvalidArgument;
  case 401:
    return StatusCode::kUnauthenticated;
  case 403:
    return StatusCode::kPermissionDenied;
  case 404:
    return StatusCode::kNotFound;
  case 405:
  case 406:
  case 415:
    return StatusCode::kInvalidArgument;
  case 408:
  case 504:
    return StatusCode::kDeadlineExceeded;
  case 409:
    return StatusCode::kConflict;
  case 410:
    return StatusCode::kGone;
  case 422:
    return StatusCode::kInvalidArgument;
  case 429:
    return StatusCode::kResourceExhausted;
  case 500:
    return StatusCode::kInternal;
  case 502:
  case 503:
    return StatusCode::kUnavailable;
  default:
    break;
  }
  if (http_status >= 500) {
    return StatusCode::kUnavailable;
  }
  return StatusCode::kInvalidArgument;
}

}  // namespace novacron::core
