#include "lib/kube/api_status.h"

#include <charconv>

namespace novacron::kube {
namespace {

std::string jsonString(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) {
    return {};
  }
  return it->get<std::string>();
}

// "field: message" for each cause of a 422, joined with "; ".
std::string causes(const Json& status) {
  auto details = status.find("details");
  if (details == status.end() || !details->is_object()) {
    return {};
  }
  auto list = details->find("causes");
  if (list == details->end() || !list->is_array()) {
    return {};
  }
  std::string out;
  for (const auto& cause : *list) {
    if (!cause.is_object()) {
      continue;
    }
    std::string field = jsonString(cause, "field");
    std::string message = jsonString(cause, "message");
    if (message.empty()) {
      message = jsonString(cause, "reason");
    }
    if (!out.empty()) {
      out += "; ";
    }
    out += field.empty() ? message : field + ": " + message;
  }
  return out;
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view text) {
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  int64_t seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || seconds < 0) {
    return std::nullopt;  // HTTP-date form: not sent by the API server
  }
  return std::chrono::seconds(seconds);
}

}  // namespace

core::Status statusFromStatusObject(const Json& status, int http_fallback, std::string_view what) {
  int code = http_fallback;
  if (status.is_object()) {
    auto it = status.find("code");
    if (it != status.end() && it->is_number_integer() && it->get<int>() != 0) {
      code = it->get<int>();
    }
  }
  std::string reason = status.is_object() ? jsonString(status, "reason") : std::string();
  std::string message = status.is_object() ? jsonString(status, "message") : std::string();
  core::StatusCode result = core::statusCodeFromHttp(code);
  if (result == core::StatusCode::kOk) {
    result = core::StatusCode::kInternal;  // a Status object with a 2xx code is not an answer
  }
  if (reason == "AlreadyExists") {
    result = core::StatusCode::kAlreadyExists;
  } else if (reason == "Expired" || reason == "Gone") {
    result = core::StatusCode::kGone;
  } else if (reason == "Conflict" && code == 409) {
    result = core::StatusCode::kConflict;
  }
  // A failed JSON-patch "test" op (422) is how writers express a resourceVersion precondition
  // inside a patch (finalizer helpers): report it as the conflict it is, so callers re-read.
  if (code == 422 && message.find("test failed") != std::string::npos) {
    result = core::StatusCode::kConflict;
  }
  std::string text = message.empty() ? "HTTP " + std::to_string(code) : message;
  if (code == 422 && status.is_object()) {
    std::string listed = causes(status);
    if (!listed.empty() && text.find(listed) == std::string::npos) {
      text += " [" + listed + "]";
    }
  }
  std::string full = std::string(what);
  full += ": ";
  full += text;
  full += " (HTTP " + std::to_string(code);
  if (!reason.empty()) {
    full += ", " + reason;
  }
  full += ")";
  core::Status out(result, std::move(full));
  if (status.is_object()) {
    auto details = status.find("details");
    if (details != status.end() && details->is_object()) {
      auto retry = details->find("retryAfterSeconds");
      if (retry != details->end() && retry->is_number_integer() && retry->get<int64_t>() > 0) {
        out = out.withRetryAfter(std::chrono::seconds(retry->get<int64_t>()));
      }
    }
  }
  return out;
}

core::Status statusFromResponse(const HttpResponse& response, std::string_view what) {
  Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  core::Status out;
  if (body.is_object() && jsonString(body, "kind") == "Status") {
    out = statusFromStatusObject(body, response.status, what);
  } else {
    std::string snippet = response.body.substr(0, 200);
    Json fake = {{"code", response.status}};
    if (!snippet.empty()) {
      fake["message"] = snippet;
    }
    out = statusFromStatusObject(fake, response.status, what);
  }
  if (auto header = response.header("Retry-After")) {
    if (auto delay = parseRetryAfter(*header)) {
      out = out.withRetryAfter(*delay);
    }
  }
  return out;
}

}  // namespace novacron::kube
