#include "dev-apiserver/selector.h"

#include <algorithm>
#include <cctype>

namespace novacron::devapi {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) {
    ++b;
  }
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) {
    --e;
  }
  return s.substr(b, e - b);
}

// Splits on commas that are not inside parentheses.
core::StatusOr<std::vector<std::string>> splitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth < 0) {
        return core::invalidArgumentError("unbalanced parentheses in selector: " + text);
      }
    }
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (depth != 0) {
    return core::invalidArgumentError("unbalanced parentheses in selector: " + text);
  }
  parts.push_back(cur);
  return parts;
}

bool validKey(const std::string& key) {
  if (key.empty() || key.size() > 253 + 1 + 63) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  });
}

bool validValue(const std::string& v) {
  if (v.size() > 63) {
    return false;
  }
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

core::StatusOr<LabelRequirement> parseRequirement(const std::string& raw) {
  std::string s = trim(raw);
  LabelRequirement r;
  if (s.empty()) {
    return core::invalidArgumentError("found '', expected: identifier");
  }
  if (s[0] == '!') {
    r.key = trim(s.substr(1));
    r.op = LabelRequirement::Op::kDoesNotExist;
    if (!validKey(r.key)) {
      return core::invalidArgumentError("invalid label key \"" + r.key + "\"");
    }
    return r;
  }
  // Set-based: "key in (a,b)" / "key notin (a,b)".
  auto paren = s.find('(');
  if (paren != std::string::npos) {
    if (s.back() != ')') {
      return core::invalidArgumentError("found '" + s + "', expected: ')'");
    }
    std::string head = trim(s.substr(0, paren));
    auto sp = head.find_last_of(" \t");
    if (sp == std::string::npos) {
      return core::invalidArgumentError("found '" + head + "', expected: in, notin");
    }
    r.key = trim(head.substr(0, sp));
    std::string op = trim(head.substr(sp + 1));
    if (op == "in") {
      r.op = LabelRequirement::Op::kIn;
    } else if (op == "notin") {
      r.op = LabelRequirement::Op::kNotIn;
    } else {
      return core::invalidArgumentError("found '" + op + "', expected: in, notin");
    }
    std::string inner = s.substr(paren + 1, s.size() - paren - 2);
    size_t start = 0;
    while (true) {
      auto comma = inner.find(',', start);
      std::string v =
          trim(inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!validValue(v)) {
        return core::invalidArgumentError("invalid label value: \"" + v + "\"");
      }
      r.values.push_back(v);
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
    if (!validKey(r.key)) {
      return core::invalidArgumentError("invalid label key \"" + r.key + "\"");
    }
    return r;
  }
  auto pos = s.find("!=");
  size_t oplen = 2;
  if (pos != std::string::npos) {
    r.op = LabelRequirement::Op::kNotEquals;
  } else if ((pos = s.find("==")) != std::string::npos) {
    r.op = LabelRequirement::Op::kEquals;
  } else if ((pos = s.find('=')) != std::string::npos) {
    r.op = LabelRequirement::Op::kEquals;
    oplen = 1;
  } else {
    r.key = s;
    r.op = LabelRequirement::Op::kExists;
    if (!validKey(r.key)) {
      return core::invalidArgumentError("invalid label key \"" + r.key + "\"");
    }
    return r;
  }
  r.key = trim(s.substr(0, pos));
  std::string v = trim(s.substr(pos + oplen));
  if (!validKey(r.key)) {
    return core::invalidArgumentError("invalid label key \"" + r.key + "\"");
  }
  if (!validValue(v)) {
    return core::invalidArgumentError("invalid label value: \"" + v + "\"");
  }
  r.values.push_back(v);
  return r;
}

}  // namespace

core::StatusOr<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) {
    return sel;
  }
  NOVACRON_ASSIGN_OR_RETURN(auto parts, splitTopLevel(text));
  for (const auto& part : parts) {
    NOVACRON_ASSIGN_OR_RETURN(auto req, parseRequirement(part));
    sel.requirements_.push_back(std::move(req));
  }
  return sel;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    auto in = [&] {
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    };
    switch (r.op) {
    case LabelRequirement::Op::kEquals:
    case LabelRequirement::Op::kIn:
      if (!in()) {
        return false;
      }
      break;
    case LabelRequirement::Op::kNotEquals:
    case LabelRequirement::Op::kNotIn:
      if (in()) {
        return false;
      }
      break;
    case LabelRequirement::Op::kExists:
      if (!has) {
        return false;
      }
      break;
    case LabelRequirement::Op::kDoesNotExist:
      if (has) {
        return false;
      }
      break;
    }
  }
  return true;
}

core::StatusOr<FieldSelector> FieldSelector::parse(const std::string& text,
                                                   const std::vector<std::string>& supported) {
  FieldSelector sel;
  if (trim(text).empty()) {
    return sel;
  }
  NOVACRON_ASSIGN_OR_RETURN(auto parts, splitTopLevel(text));
  for (const auto& raw : parts) {
    std::string s = trim(raw);
    FieldRequirement r;
    size_t pos;
    size_t oplen = 2;
    if ((pos = s.find("!=")) != std::string::npos) {
      r.negate = true;
    } else if ((pos = s.find("==")) != std::string::npos) {
    } else if ((pos = s.find('=')) != std::string::npos) {
      oplen = 1;
    } else {
      return core::invalidArgumentError("invalid selector: '" + s + "'; can't understand '" + s +
                                        "'");
    }
    r.field = trim(s.substr(0, pos));
    r.value = trim(s.substr(pos + oplen));
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      return core::invalidArgumentError("field label not supported: " + r.field);
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::matches(const std::map<std::string, std::string>& fields) const {
  for (const auto& r : requirements_) {
    auto it = fields.find(r.field);
    std::string v = it == fields.end() ? "" : it->second;
    if ((v == r.value) == r.negate) {
      return false;
    }
  }
  return true;
}

}  // namespace novacron::devapi
