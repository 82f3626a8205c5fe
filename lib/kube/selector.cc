#include "lib/kube/selector.h"

#include <algorithm>

namespace novacron::kube {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits on commas that are not inside parentheses.
std::vector<std::string_view> splitTerms(std::string_view text) {
  std::vector<std::string_view> terms;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      terms.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    }
  }
  return terms;
}

bool validKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

core::Status badTerm(std::string_view text, std::string_view term) {
  return core::invalidArgumentError("invalid selector \"" + std::string(text) + "\": term \"" +
                                    std::string(term) + "\"");
}

}  // namespace

core::StatusOr<Selector> Selector::parse(std::string_view text) {
  Selector selector;
  if (trim(text).empty()) {
    return selector;
  }
  for (std::string_view term : splitTerms(text)) {
    if (term.empty()) {
      return badTerm(text, term);
    }
    Requirement req;
    size_t pos;
    if (term.front() == '!') {
      req.key = std::string(trim(term.substr(1)));
      req.op = Op::kDoesNotExist;
    } else if ((pos = term.find("!=")) != std::string_view::npos) {
      req.key = std::string(trim(term.substr(0, pos)));
      req.op = Op::kNotEquals;
      req.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find("==")) != std::string_view::npos) {
      req.key = std::string(trim(term.substr(0, pos)));
      req.values.emplace_back(trim(term.substr(pos + 2)));
    } else if ((pos = term.find('=')) != std::string_view::npos) {
      req.key = std::string(trim(term.substr(0, pos)));
      req.values.emplace_back(trim(term.substr(pos + 1)));
    } else if (size_t open = term.find('('); open != std::string_view::npos) {
      if (term.back() != ')') {
        return badTerm(text, term);
      }
      std::string_view head = trim(term.substr(0, open));
      size_t space = head.find_last_of(" \t");
      if (space == std::string_view::npos) {
        return badTerm(text, term);
      }
      std::string_view op = trim(head.substr(space + 1));
      req.key = std::string(trim(head.substr(0, space)));
      if (op == "in") {
        req.op = Op::kIn;
      } else if (op == "notin") {
        req.op = Op::kNotIn;
      } else {
        return badTerm(text, term);
      }
      std::string_view list = term.substr(open + 1, term.size() - open - 2);
      size_t start = 0;
      for (size_t i = 0; i <= list.size(); ++i) {
        if (i == list.size() || list[i] == ',') {
          std::string_view value = trim(list.substr(start, i - start));
          if (!value.empty()) {
            req.values.emplace_back(value);
          }
          start = i + 1;
        }
      }
      if (req.values.empty()) {
        return badTerm(text, term);
      }
    } else {
      req.key = std::string(term);
      req.op = Op::kExists;
    }
    if (!validKey(req.key)) {
      return badTerm(text, term);
    }
    selector.requirements_.push_back(std::move(req));
  }
  return selector;
}

bool Selector::matches(
    const std::function<std::optional<std::string>(const std::string&)>& lookup) const {
  for (const auto& req : requirements_) {
    std::optional<std::string> value = lookup(req.key);
    bool in = value && std::find(req.values.begin(), req.values.end(), *value) != req.values.end();
    bool ok = false;
    switch (req.op) {
    case Op::kEquals:
    case Op::kIn:
      ok = in;
      break;
    case Op::kNotEquals:
    case Op::kNotIn:
      ok = !in;
      break;
    case Op::kExists:
      ok = value.has_value();
      break;
    case Op::kDoesNotExist:
      ok = !value.has_value();
      break;
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool Selector::matchesLabels(const Json& object) const {
  const Json* labels = nullptr;
  if (object.is_object()) {
    auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) {
      auto it = meta->find("labels");
      if (it != meta->end() && it->is_object()) {
        labels = &*it;
      }
    }
  }
  return matches([&](const std::string& key) -> std::optional<std::string> {
    if (labels == nullptr) {
      return std::nullopt;
    }
    auto it = labels->find(key);
    if (it == labels->end() || !it->is_string()) {
      return std::nullopt;
    }
    return it->get<std::string>();
  });
}

bool Selector::matchesFields(const Json& object) const {
  return matches([&](const std::string& path) -> std::optional<std::string> {
    const Json* node = &object;
    size_t start = 0;
    while (start <= path.size()) {
      size_t dot = path.find('.', start);
      std::string part =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!node->is_object()) {
        return std::nullopt;
      }
      auto it = node->find(part);
      if (it == node->end()) {
        return std::nullopt;
      }
      node = &*it;
      if (dot == std::string::npos) {
        break;
      }
      start = dot + 1;
    }
    if (node->is_string()) {
      return node->get<std::string>();
    }
    if (node->is_null()) {
      return std::nullopt;
    }
    return node->dump();
  });
}

}  // namespace novacron::kube
