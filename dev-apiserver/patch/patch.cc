#include "dev-apiserver/patch/patch.h"

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace novacron::devapi::patch {
namespace {

using json = nlohmann::json;

json mergePatch(const json& target, const json& patch) {
  if (!patch.is_object()) {
    return patch;
  }
  json result = target.is_object() ? target : json::object();
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      result.erase(key);
    } else {
      auto it = result.find(key);
      result[key] = mergePatch(it == result.end() ? json() : *it, value);
    }
  }
  return result;
}

// Splits an RFC 6901 pointer into unescaped reference tokens.
core::StatusOr<std::vector<std::string>> parsePointer(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer[0] != '/') {
    return core::invalidArgumentError("JSON pointer " + json(pointer).dump() +
                                      " must be empty or start with \"/\"");
  }
  std::string token;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(token);
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 < pointer.size() && pointer[i + 1] == '0') {
        token += '~';
      } else if (i + 1 < pointer.size() && pointer[i + 1] == '1') {
        token += '/';
      } else {
        return core::invalidArgumentError("JSON pointer " + json(pointer).dump() +
                                          " has an invalid escape (only ~0 and ~1 are allowed)");
      }
      ++i;
      continue;
    }
    token += pointer[i];
  }
  return tokens;
}

// Array index token: "0" or digits without a leading zero.
std::optional<size_t> parseIndex(const std::string& token) {
  if (token.empty() || token.size() > 18 ||
      token.find_first_not_of("0123456789") != std::string::npos ||
      (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  return static_cast<size_t>(std::stoull(token));
}

core::Status notApplicable(const std::string& op, const std::string& path, const std::string& why) {
  return core::failedPreconditionError(op + " operation does not apply: " + why + ": " + path);
}

// Resolves all tokens; nullptr when missing.
json* resolve(json& doc, const std::vector<std::string>& tokens) {
  json* cur = &doc;
  for (const auto& t : tokens) {
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) {
        return nullptr;
      }
      cur = &*it;
    } else if (cur->is_array()) {
      auto idx = parseIndex(t);
      if (!idx || *idx >= cur->size()) {
        return nullptr;
      }
      cur = &(*cur)[*idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

core::Status addAt(json& doc, const std::vector<std::string>& tokens, json value,
                   const std::string& op, const std::string& path) {
  if (tokens.empty()) {
    doc = std::move(value);
    return core::okStatus();
  }
  std::vector<std::string> parent_tokens(tokens.begin(), tokens.end() - 1);
  json* parent = resolve(doc, parent_tokens);
  if (parent == nullptr) {
    return notApplicable(op, path, "doc is missing path");
  }
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    (*parent)[last] = std::move(value);
    return core::okStatus();
  }
  if (parent->is_array()) {
    if (last == "-") {
      parent->push_back(std::move(value));
      return core::okStatus();
    }
    auto idx = parseIndex(last);
    if (!idx || *idx > parent->size()) {
      return notApplicable(op, path, "index out of bounds");
    }
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*idx), std::move(value));
    return core::okStatus();
  }
  return notApplicable(op, path, "parent is not a container");
}

core::StatusOr<json> removeAt(json& doc, const std::vector<std::string>& tokens,
                              const std::string& op, const std::string& path) {
  if (tokens.empty()) {
    json old = doc;
    doc = json();
    return old;
  }
  std::vector<std::string> parent_tokens(tokens.begin(), tokens.end() - 1);
  json* parent = resolve(doc, parent_tokens);
  if (parent == nullptr) {
    return notApplicable(op, path, "doc is missing path");
  }
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    auto it = parent->find(last);
    if (it == parent->end()) {
      return notApplicable(op, path, "doc is missing key");
    }
    json old = std::move(*it);
    parent->erase(it);
    return old;
  }
  if (parent->is_array()) {
    auto idx = parseIndex(last);
    if (!idx || *idx >= parent->size()) {
      return notApplicable(op, path, "index out of bounds");
    }
    json old = std::move((*parent)[*idx]);
    parent->erase(parent->begin() + static_cast<std::ptrdiff_t>(*idx));
    return old;
  }
  return notApplicable(op, path, "parent is not a container");
}

core::StatusOr<std::string> stringMember(const json& op, const char* key, size_t index) {
  auto it = op.find(key);
  if (it == op.end() || !it->is_string()) {
    return core::invalidArgumentError("json patch operation " + std::to_string(index) +
                                      " is missing a string \"" + key + "\"");
  }
  return it->get<std::string>();
}

core::Status applyOne(json& doc, const json& op, size_t index) {
  if (!op.is_object()) {
    return core::invalidArgumentError("json patch operation " + std::to_string(index) +
                                      " is not an object");
  }
  NOVACRON_ASSIGN_OR_RETURN(const std::string name, stringMember(op, "op", index));
  NOVACRON_ASSIGN_OR_RETURN(const std::string path, stringMember(op, "path", index));
  NOVACRON_ASSIGN_OR_RETURN(const auto tokens, parsePointer(path));
  auto value_it = op.find("value");
  const bool needs_value = name == "add" || name == "replace" || name == "test";
  if (needs_value && value_it == op.end()) {
    return core::invalidArgumentError("json patch operation " + std::to_string(index) + " (" +
                                      name + ") is missing \"value\"");
  }
  if (name == "add") {
    return addAt(doc, tokens, *value_it, name, path);
  }
  if (name == "remove") {
    auto removed = removeAt(doc, tokens, name, path);
    return removed.status();
  }
  if (name == "replace") {
    json* target = resolve(doc, tokens);
    if (target == nullptr) {
      return notApplicable(name, path, "doc is missing key");
    }
    *target = *value_it;
    return core::okStatus();
  }
  if (name == "test") {
    json* target = resolve(doc, tokens);
    if (target == nullptr) {
      // RFC 6902: testing a missing location against null fails too, as the value must exist.
      return core::failedPreconditionError("testing value " + path + " failed: test failed");
    }
    if (*target != *value_it) {
      return core::failedPreconditionError("testing value " + path + " failed: test failed");
    }
    return core::okStatus();
  }
  if (name == "move" || name == "copy") {
    NOVACRON_ASSIGN_OR_RETURN(const std::string from, stringMember(op, "from", index));
    NOVACRON_ASSIGN_OR_RETURN(const auto from_tokens, parsePointer(from));
    if (name == "move") {
      if (from == path) {
        return resolve(doc, from_tokens) != nullptr
                   ? core::okStatus()
                   : notApplicable(name, from, "doc is missing from path");
      }
      if (path.size() > from.size() && path.compare(0, from.size(), from) == 0 &&
          path[from.size()] == '/') {
        return notApplicable(name, path, "cannot move a value into one of its children");
      }
      auto removed = removeAt(doc, from_tokens, name, from);
      if (!removed.isOk()) {
        return removed.status();
      }
      return addAt(doc, tokens, std::move(removed).value(), name, path);
    }
    json* source = resolve(doc, from_tokens);
    if (source == nullptr) {
      return notApplicable(name, from, "doc is missing from path");
    }
    json copy = *source;
    return addAt(doc, tokens, std::move(copy), name, path);
  }
  return core::invalidArgumentError("Unexpected kind: " + name);
}

}  // namespace

core::StatusOr<json> applyMergePatch(const json& target, const json& patch) {
  if (patch.is_discarded()) {
    return core::invalidArgumentError("invalid JSON in merge patch");
  }
  try {
    return mergePatch(target, patch);
  } catch (const json::exception& e) {
    return core::internalError(std::string("merge patch: ") + e.what());
  }
}

core::StatusOr<json> applyJsonPatch(const json& target, const json& patch) {
  if (!patch.is_array()) {
    return core::invalidArgumentError(
        "json: cannot unmarshal " + std::string(patch.is_object() ? "object" : patch.type_name()) +
        " into Go value of type jsonpatch.Patch");
  }
  try {
    json doc = target;
    for (size_t i = 0; i < patch.size(); ++i) {
      NOVACRON_RETURN_IF_ERROR(applyOne(doc, patch[i], i));
    }
    return doc;
  } catch (const json::exception& e) {
    return core::internalError(std::string("json patch: ") + e.what());
  }
}

int httpCodeForPatchError(const core::Status& error) {
  switch (error.code()) {
  case core::StatusCode::kInvalidArgument:
    return 400;
  case core::StatusCode::kFailedPrecondition:
    return 422;
  default:
    return 500;
  }
}

json patchErrorStatus(const core::Status& error) {
  const int code = httpCodeForPatchError(error);
  json status = {{"kind", "Status"},
                 {"apiVersion", "v1"},
                 {"metadata", json::object()},
                 {"status", "Failure"},
                 {"code", code}};
  if (code == 400) {
    status["reason"] = "BadRequest";
    status["message"] = error.message();
  } else if (code == 422) {
    // kube-apiserver wraps the json-patch library error in NewGenericServerResponse(422), which
    // keeps only this generic text.
    status["reason"] = "Invalid";
    status["message"] = "the server rejected our request due to an error in our request";
    status["details"] = json::object();
  } else {
    status["reason"] = "InternalError";
    status["message"] = "Internal error occurred: " + error.message();
  }
  return status;
}

}  // namespace novacron::devapi::patch
