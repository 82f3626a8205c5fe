#include "dev-apiserver/authz/rbac.h"

#include <algorithm>

namespace novacron::devapi::authz {

using nlohmann::json;

namespace {

std::vector<std::string> strings(const json& obj, const char* field) {
  std::vector<std::string> out;
  if (obj.is_object() && obj.contains(field) && obj[field].is_array()) {
    for (const auto& v : obj[field]) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}

std::string stringField(const json& obj, const char* field) {
  if (obj.is_object() && obj.contains(field) && obj[field].is_string()) {
    return obj[field].get<std::string>();
  }
  return "";
}

bool has(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool verbMatches(const PolicyRule& rule, const std::string& verb) {
  return has(rule.verbs, "*") || has(rule.verbs, verb);
}

bool apiGroupMatches(const PolicyRule& rule, const std::string& group) {
  return has(rule.api_groups, "*") || has(rule.api_groups, group);
}

bool resourceMatches(const PolicyRule& rule, const std::string& combined,
                     const std::string& subresource) {
  for (const auto& r : rule.resources) {
    if (r == "*" || r == combined) {
      return true;
    }
    if (!subresource.empty() && r.size() == subresource.size() + 2 && r.rfind("*/", 0) == 0 &&
        r.compare(2, std::string::npos, subresource) == 0) {
      return true;
    }
  }
  return false;
}

bool resourceNameMatches(const PolicyRule& rule, const std::string& name) {
  return rule.resource_names.empty() || has(rule.resource_names, name);
}

bool nonResourceUrlMatches(const PolicyRule& rule, const std::string& path) {
  for (const auto& u : rule.non_resource_urls) {
    if (u == "*" || u == path) {
      return true;
    }
    if (!u.empty() && u.back() == '*') {
      std::string prefix = u.substr(0, u.find_last_not_of('*') + 1);
      if (path.rfind(prefix, 0) == 0) {
        return true;
      }
    }
  }
  return false;
}

std::string describeSubject(const Subject& s, const std::string& binding_ns) {
  if (s.kind == "ServiceAccount") {
    return s.kind + " \"" + s.name + "/" + (s.ns.empty() ? binding_ns : s.ns) + "\"";
  }
  return s.kind + " \"" + s.name + "\"";
}

// Rules of a binding's roleRef, or the error kube's rule resolver reports.
core::StatusOr<std::vector<PolicyRule>> referencedRules(PolicySource& source, const json& ref,
                                                        const std::string& ns) {
  std::string kind = stringField(ref, "kind");
  std::string name = stringField(ref, "name");
  if (kind == "Role") {
    NOVACRON_ASSIGN_OR_RETURN(auto role, source.role(ns, name));
    if (!role) {
      return core::notFoundError("role.rbac.authorization.k8s.io \"" + name + "\" not found");
    }
    return rulesOf(*role);
  }
  if (kind == "ClusterRole") {
    NOVACRON_ASSIGN_OR_RETURN(auto role, source.clusterRole(name));
    if (!role) {
      return core::notFoundError("clusterrole.rbac.authorization.k8s.io \"" + name +
                                 "\" not found");
    }
    return rulesOf(*role);
  }
  return core::invalidArgumentError("unsupported role reference kind: \"" + kind + "\"");
}

struct Visit {
  const Attributes& attributes;
  bool allowed = false;
  std::string reason;
  std::vector<std::string> errors;

  void error(const core::Status& s) {
    if (!has(errors, s.message())) {
      errors.push_back(s.message());
    }
  }

  // Visits the bindings' rules; true once one allowed the request.
  bool bindings(PolicySource& source, const std::vector<json>& list, const std::string& ns) {
    for (const auto& b : list) {
      std::optional<Subject> applied;
      for (const auto& s : subjectsOf(b)) {
        if (appliesTo(attributes.user, s, ns)) {
          applied = s;
          break;
        }
      }
      if (!applied) {
        continue;
      }
      const json& ref = b.contains("roleRef") ? b["roleRef"] : json();
      auto rules = referencedRules(source, ref, ns);
      if (!rules.isOk()) {
        error(rules.status());
        continue;
      }
      for (const auto& rule : *rules) {
        if (ruleAllows(attributes, rule)) {
          std::string name = stringField(b.value("metadata", json::object()), "name");
          reason = ns.empty() ? "RBAC: allowed by ClusterRoleBinding \"" + name + "\" of "
                              : "RBAC: allowed by RoleBinding \"" + name + "/" + ns + "\" of ";
          reason += stringField(ref, "kind") + " \"" + stringField(ref, "name") + "\" to " +
                    describeSubject(*applied, ns);
          allowed = true;
          return true;
        }
      }
    }
    return false;
  }
};

}  // namespace

std::vector<PolicyRule> rulesOf(const json& role) {
  std::vector<PolicyRule> out;
  if (!role.is_object() || !role.contains("rules") || !role["rules"].is_array()) {
    return out;
  }
  for (const auto& r : role["rules"]) {
    PolicyRule rule;
    rule.verbs = strings(r, "verbs");
    rule.api_groups = strings(r, "apiGroups");
    rule.resources = strings(r, "resources");
    rule.resource_names = strings(r, "resourceNames");
    rule.non_resource_urls = strings(r, "nonResourceURLs");
    out.push_back(std::move(rule));
  }
  return out;
}

std::vector<Subject> subjectsOf(const json& binding) {
  std::vector<Subject> out;
  if (!binding.is_object() || !binding.contains("subjects") || !binding["subjects"].is_array()) {
    return out;
  }
  for (const auto& s : binding["subjects"]) {
    out.push_back({stringField(s, "kind"), stringField(s, "name"), stringField(s, "namespace")});
  }
  return out;
}

bool ruleAllows(const Attributes& a, const PolicyRule& rule) {
  if (a.resource_request) {
    std::string combined = a.subresource.empty() ? a.resource : a.resource + "/" + a.subresource;
    return verbMatches(rule, a.verb) && apiGroupMatches(rule, a.api_group) &&
           resourceMatches(rule, combined, a.subresource) && resourceNameMatches(rule, a.name);
  }
  return verbMatches(rule, a.verb) && nonResourceUrlMatches(rule, a.path);
}

bool appliesTo(const authn::UserInfo& user, const Subject& subject, const std::string& binding_ns) {
  if (subject.kind == "User") {
    return user.name == subject.name;
  }
  if (subject.kind == "Group") {
    return user.inGroup(subject.name);
  }
  if (subject.kind == "ServiceAccount") {
    std::string ns = subject.ns.empty() ? binding_ns : subject.ns;
    if (ns.empty()) {
      return false;
    }
    return user.name == authn::serviceAccountUsername(ns, subject.name);
  }
  return false;
}

Decision RbacAuthorizer::authorize(const Attributes& attributes) {
  Visit visit{attributes};
  auto crbs = source_->clusterRoleBindings();
  if (!crbs.isOk()) {
    visit.error(crbs.status());
  } else if (visit.bindings(*source_, *crbs, "")) {
    return {true, visit.reason, ""};
  }
  if (!attributes.ns.empty()) {
    auto rbs = source_->roleBindings(attributes.ns);
    if (!rbs.isOk()) {
      visit.error(rbs.status());
    } else if (visit.bindings(*source_, *rbs, attributes.ns)) {
      return {true, visit.reason, ""};
    }
  }
  Decision d;
  if (visit.errors.size() == 1) {
    d.reason = "RBAC: " + visit.errors[0];
  } else if (!visit.errors.empty()) {
    d.reason = "RBAC: [";
    for (size_t i = 0; i < visit.errors.size(); ++i) {
      d.reason += (i ? ", " : "") + visit.errors[i];
    }
    d.reason += "]";
  }
  return d;
}

namespace {

json ruleJson(const PolicyRule& r) {
  if (!r.non_resource_urls.empty()) {
    return {{"verbs", r.verbs}, {"nonResourceURLs", r.non_resource_urls}};
  }
  json out = {{"verbs", r.verbs}};
  if (!r.api_groups.empty()) {
    out["apiGroups"] = r.api_groups;
  }
  if (!r.resources.empty()) {
    out["resources"] = r.resources;
  }
  if (!r.resource_names.empty()) {
    out["resourceNames"] = r.resource_names;
  }
  return out;
}

}  // namespace

RuleSet RbacAuthorizer::rulesFor(const authn::UserInfo& user, const std::string& ns) {
  RuleSet out;
  std::vector<std::string> errors;
  auto add = [&](const std::vector<json>& bindings, const std::string& binding_ns) {
    for (const auto& b : bindings) {
      bool applies = false;
      for (const auto& s : subjectsOf(b)) {
        applies = applies || appliesTo(user, s, binding_ns);
      }
      if (!applies) {
        continue;
      }
      auto rules =
          referencedRules(*source_, b.contains("roleRef") ? b["roleRef"] : json(), binding_ns);
      if (!rules.isOk()) {
        errors.push_back(rules.status().message());
        continue;
      }
      for (const auto& r : *rules) {
        (r.non_resource_urls.empty() ? out.resource_rules : out.non_resource_rules)
            .push_back(ruleJson(r));
      }
    }
  };
  auto crbs = source_->clusterRoleBindings();
  if (crbs.isOk()) {
    add(*crbs, "");
  } else {
    errors.push_back(crbs.status().message());
  }
  if (!ns.empty()) {
    auto rbs = source_->roleBindings(ns);
    if (rbs.isOk()) {
      add(*rbs, ns);
    } else {
      errors.push_back(rbs.status().message());
    }
  }
  if (!errors.empty()) {
    out.incomplete = true;
    out.evaluation_error = errors.size() == 1 ? errors[0] : "[" + [&] {
      std::string joined;
      for (size_t i = 0; i < errors.size(); ++i) {
        joined += (i ? ", " : "") + errors[i];
      }
      return joined;
    }() + "]";
  }
  return out;
}

RuleSet AlwaysAllow::rulesFor(const authn::UserInfo&, const std::string&) {
  RuleSet out;
  out.resource_rules.push_back({{"verbs", {"*"}}, {"apiGroups", {"*"}}, {"resources", {"*"}}});
  out.non_resource_rules.push_back({{"verbs", {"*"}}, {"nonResourceURLs", {"*"}}});
  return out;
}

Decision PrivilegedGroupsThen::authorize(const Attributes& attributes) {
  if (attributes.user.inGroup(authn::kSystemMasters)) {
    return {true, "", ""};
  }
  return next_->authorize(attributes);
}

}  // namespace novacron::devapi::authz
