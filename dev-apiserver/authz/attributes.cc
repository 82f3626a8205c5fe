#include "dev-apiserver/authz/attributes.h"

#include <algorithm>
#include <vector>

#include "lib/kube/selector.h"

namespace novacron::devapi::authz {

namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  std::string trimmed = path;
  while (!trimmed.empty() && trimmed.front() == '/') {
    trimmed.erase(trimmed.begin());
  }
  while (!trimmed.empty() && trimmed.back() == '/') {
    trimmed.pop_back();
  }
  if (trimmed.empty()) {
    return parts;
  }
  while (true) {
    auto slash = trimmed.find('/', start);
    parts.push_back(trimmed.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  return parts;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

// path.IsValidPathSegmentName: not "." or "..", no '/' or '%'.
bool validPathSegmentName(const std::string& name) {
  return name != "." && name != ".." && name.find_first_of("/%") == std::string::npos;
}

}  // namespace

bool watchRequested(const std::map<std::string, std::string>& query) {
  auto it = query.find("watch");
  if (it == query.end()) {
    return false;
  }
  return it->second != "0" && lower(it->second) != "false";
}

Attributes requestAttributes(const std::string& method, const std::string& path,
                             const std::map<std::string, std::string>& query) {
  Attributes a;
  a.path = path;
  a.verb = lower(method);
  std::vector<std::string> parts = splitPath(path);
  if (parts.size() < 3 || (parts[0] != "api" && parts[0] != "apis")) {
    return a;
  }
  bool groupless = parts[0] == "api";
  parts.erase(parts.begin());
  if (!groupless) {
    if (parts.size() < 3) {
      return a;
    }
    a.api_group = parts[0];
    parts.erase(parts.begin());
  }
  a.resource_request = true;
  a.api_version = parts[0];
  parts.erase(parts.begin());

  if (parts[0] == "watch" || parts[0] == "proxy") {
    if (parts.size() < 2) {
      return a;  // kube: an error; nothing is allowed for it
    }
    a.verb = parts[0];
    parts.erase(parts.begin());
  } else if (method == "POST") {
    a.verb = "create";
  } else if (method == "GET" || method == "HEAD") {
    a.verb = "get";
  } else if (method == "PUT") {
    a.verb = "update";
  } else if (method == "PATCH") {
    a.verb = "patch";
  } else if (method == "DELETE") {
    a.verb = "delete";
  } else {
    a.verb = "";
  }

  if (parts[0] == "namespaces") {
    if (parts.size() > 1) {
      a.ns = parts[1];
      if (parts.size() > 2 && parts[2] != "status" && parts[2] != "finalize") {
        parts.erase(parts.begin(), parts.begin() + 2);
      }
    }
  }
  if (parts.size() >= 3 && a.verb != "proxy") {
    a.subresource = parts[2];
  }
  if (parts.size() >= 2) {
    a.name = parts[1];
  }
  a.resource = parts[0];

  if (a.name.empty() && a.verb == "get") {
    a.verb = watchRequested(query) ? "watch" : "list";
    auto fs = query.find("fieldSelector");
    if (fs != query.end()) {
      auto selector = kube::Selector::parseFields(fs->second);
      if (selector.isOk()) {
        for (const auto& r : selector->requirements()) {
          if (r.key == "metadata.name" && r.op == kube::Selector::Op::kEquals &&
              r.values.size() == 1 && validPathSegmentName(r.values[0])) {
            a.name = r.values[0];
          }
        }
      }
    }
  }
  if (a.name.empty() && a.verb == "delete") {
    a.verb = "deletecollection";
  }
  return a;
}

}  // namespace novacron::devapi::authz
