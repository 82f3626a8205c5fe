#include "lib/kube/selector.h"

#include <algorithm>
#include <cctype>

namespace novacron::kube {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits on commas that are not inside parentheses; nullopt when the parentheses do not balance.
std::optional<std::vector<std::string_view>> splitTerms(std::string_view text) {
  std::vector<std::string_view> terms;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      terms.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')' && --depth < 0) {
      return std::nullopt;
    }
  }
  if (depth != 0) {
    return std::nullopt;
  }
  return terms;
}

bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// A field path, or the characters a label key may hold.
bool validPath(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

// kube's label value: empty, or at most 63 of [A-Za-z0-9-_.] beginning and ending alphanumeric.
bool validLabelValue(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  return v.size() <= 63 && isAlnum(v.front()) && isAlnum(v.back()) &&
         std::all_of(v.begin(), v.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// kube's label key: [prefix/]name, the name a non-empty label value, the prefix a DNS subdomain.
bool validLabelKey(std::string_view key) {
  if (!validPath(key)) {
    return false;
  }
  size_t slash = key.rfind('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (name.empty() || !validLabelValue(name)) {
    return false;
  }
  if (slash == std::string_view::npos) {
    return true;
  }
  std::string_view prefix = key.substr(0, slash);
  return !prefix.empty() && prefix.size() <= 253 && isAlnum(prefix.front()) &&
         isAlnum(prefix.back()) && prefix.find('/') == std::string_view::npos;
}

core::Status badTerm(std::string_view text, std::string_view term, std::string_view why) {
  return core::invalidArgumentError("invalid selector \"" + std::string(text) + "\": term \"" +
                                    std::string(term) + "\": " + std::string(why));
}

enum class Kind { kLabels, kFields };

core::StatusOr<Selector::Requirement> parseTerm(std::string_view text, std::string_view term,
                                                Kind kind) {
  using Op = Selector::Op;
  Selector::Requirement req;
  if (term.empty()) {
    return badTerm(text, term, "empty requirement");
  }
  size_t pos;
  if ((pos = term.find("!=")) != std::string_view::npos) {
    req.key = std::string(trim(term.substr(0, pos)));
    req.op = Op::kNotEquals;
    req.values.emplace_back(trim(term.substr(pos + 2)));
  } else if ((pos = term.find("==")) != std::string_view::npos) {
    req.key = std::string(trim(term.substr(0, pos)));
    req.values.emplace_back(trim(term.substr(pos + 2)));
  } else if ((pos = term.find('=')) != std::string_view::npos) {
    req.key = std::string(trim(term.substr(0, pos)));
    req.values.emplace_back(trim(term.substr(pos + 1)));
  } else if (kind == Kind::kFields) {
    return badTerm(text, term, "field selectors take =, == or != only");
  } else if (term.front() == '!') {
    req.key = std::string(trim(term.substr(1)));
    req.op = Op::kDoesNotExist;
  } else if (size_t open = term.find('('); open != std::string_view::npos) {
    if (term.back() != ')') {
      return badTerm(text, term, "expected ')'");
    }
    std::string_view head = trim(term.substr(0, open));
    size_t space = head.find_last_of(" \t");
    if (space == std::string_view::npos) {
      return badTerm(text, term, "expected 'in' or 'notin'");
    }
    std::string_view op = trim(head.substr(space + 1));
    req.key = std::string(trim(head.substr(0, space)));
    if (op == "in") {
      req.op = Op::kIn;
    } else if (op == "notin") {
      req.op = Op::kNotIn;
    } else {
      return badTerm(text, term, "expected 'in' or 'notin'");
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
      return badTerm(text, term, "for 'in', 'notin' operators, values set can't be empty");
    }
  } else {
    req.key = std::string(term);
    req.op = Op::kExists;
  }
  if (kind == Kind::kFields) {
    if (!validPath(req.key)) {
      return badTerm(text, term, "invalid field path \"" + req.key + "\"");
    }
    return req;
  }
  if (!validLabelKey(req.key)) {
    return badTerm(text, term, "invalid label key \"" + req.key + "\"");
  }
  for (const auto& value : req.values) {
    if (!validLabelValue(value)) {
      return badTerm(text, term, "invalid label value \"" + value + "\"");
    }
  }
  return req;
}

core::StatusOr<std::vector<Selector::Requirement>> parseAll(std::string_view text, Kind kind) {
  std::vector<Selector::Requirement> requirements;
  if (trim(text).empty()) {
    return requirements;
  }
  auto terms = splitTerms(text);
  if (!terms) {
    return core::invalidArgumentError("invalid selector \"" + std::string(text) +
                                      "\": unbalanced parentheses");
  }
  for (std::string_view term : *terms) {
    NOVACRON_ASSIGN_OR_RETURN(auto req, parseTerm(text, term, kind));
    requirements.push_back(std::move(req));
  }
  return requirements;
}

}  // namespace

core::StatusOr<Selector> Selector::parse(std::string_view text) {
  Selector selector;
  NOVACRON_ASSIGN_OR_RETURN(selector.requirements_, parseAll(text, Kind::kLabels));
  return selector;
}

core::StatusOr<Selector> Selector::parseFields(std::string_view text) {
  Selector selector;
  NOVACRON_ASSIGN_OR_RETURN(selector.requirements_, parseAll(text, Kind::kFields));
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

bool Selector::matches(const std::map<std::string, std::string>& values) const {
  return matches([&](const std::string& key) -> std::optional<std::string> {
    auto it = values.find(key);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  });
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
