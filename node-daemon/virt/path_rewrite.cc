#include "node-daemon/virt/path_rewrite.h"

#include <string_view>

namespace novacron::node::virt {
namespace {

std::string trimmed(std::string root) {
  while (root.size() > 1 && root.back() == '/') {
    root.pop_back();
  }
  return root;
}

core::Status checkRoot(const std::string& root) {
  if (root.empty() || root.front() != '/') {
    return core::invalidArgumentError("path root '" + root + "' is not absolute");
  }
  if (root.find_first_of("<>&'\"\n\r\t") != std::string::npos) {
    return core::invalidArgumentError("path root '" + root + "' has characters XML escapes");
  }
  std::string_view rest(root);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '/'
    const auto end = rest.find('/');
    const std::string_view part = rest.substr(0, end);
    if (part == "." || part == "..") {
      return core::invalidArgumentError("path root '" + root + "' has a . or .. component");
    }
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  return core::okStatus();
}

}  // namespace

core::StatusOr<std::string> rewritePaths(std::string xml, const std::vector<PathPrefix>& prefixes) {
  std::vector<PathPrefix> roots;
  for (const auto& p : prefixes) {
    PathPrefix t{trimmed(p.from), trimmed(p.to)};
    NOVACRON_RETURN_IF_ERROR(checkRoot(t.from));
    NOVACRON_RETURN_IF_ERROR(checkRoot(t.to));
    if (t.from != t.to && t.from != "/") {
      roots.push_back(std::move(t));
    }
  }
  std::string out;
  out.reserve(xml.size());
  size_t i = 0;
  while (i < xml.size()) {
    const char c = xml[i];
    out.push_back(c);
    ++i;
    if (c != '\'' && c != '"' && c != '>') {
      continue;
    }
    for (const auto& r : roots) {
      const std::string from = r.from + "/";
      if (xml.compare(i, from.size(), from) == 0) {
        out += r.to + "/";
        i += from.size();
        break;
      }
    }
  }
  return out;
}

std::string rewritePath(const std::string& path, const std::vector<PathPrefix>& prefixes) {
  for (const auto& p : prefixes) {
    const std::string from = trimmed(p.from) + "/";
    if (path.rfind(from, 0) == 0) {
      return trimmed(p.to) + "/" + path.substr(from.size());
    }
  }
  return path;
}

}  // namespace novacron::node::virt
