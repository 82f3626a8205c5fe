#include "dev-apiserver/authz/access_review.h"

#include "dev-apiserver/util.h"

namespace novacron::devapi::authz {

using nlohmann::json;

namespace {

std::string str(const json& obj, const char* field) {
  if (obj.is_object() && obj.contains(field) && obj[field].is_string()) {
    return obj[field].get<std::string>();
  }
  return "";
}

ReviewResult invalid(const std::string& kind, const std::string& field, const std::string& value,
                     const std::string& detail) {
  std::string cause = "Invalid value: " + value + ": " + detail;
  json details = {
      {"group", "authorization.k8s.io"},
      {"kind", kind},
      {"causes", {{{"reason", "FieldValueInvalid"}, {"message", cause}, {"field", field}}}}};
  return {422, statusBody(422, "Invalid",
                          kind + ".authorization.k8s.io \"\" is invalid: " + field + ": " + cause,
                          details)};
}

}  // namespace

ReviewResult accessReview(const std::string& kind, const std::string& body,
                          const authn::UserInfo& requester, Authorizer& authorizer) {
  json review = json::parse(body, nullptr, false);
  if (!review.is_object()) {
    return {400, statusBody(400, "BadRequest", "the body of the request was in an unknown format")};
  }
  json spec = review.value("spec", json::object());
  if (!spec.is_object()) {
    spec = json::object();
  }
  if (kind == "SelfSubjectRulesReview") {
    RuleSet rules = authorizer.rulesFor(requester, str(spec, "namespace"));
    json status = {{"resourceRules", rules.resource_rules},
                   {"nonResourceRules", rules.non_resource_rules},
                   {"incomplete", rules.incomplete}};
    if (!rules.evaluation_error.empty()) {
      status["evaluationError"] = rules.evaluation_error;
    }
    return {201,
            {{"kind", kind},
             {"apiVersion", "authorization.k8s.io/v1"},
             {"metadata", {{"creationTimestamp", nullptr}}},
             {"spec", spec},
             {"status", status}}};
  }
  bool has_resource = spec.contains("resourceAttributes") && spec["resourceAttributes"].is_object();
  bool has_non_resource =
      spec.contains("nonResourceAttributes") && spec["nonResourceAttributes"].is_object();
  if (has_resource == has_non_resource) {
    return invalid(kind, "spec.resourceAttributes",
                   has_resource ? "\"resourceAttributes\"" : "\"null\"",
                   "exactly one of nonResourceAttributes or resourceAttributes must be specified");
  }
  Attributes a;
  if (kind == "SelfSubjectAccessReview") {
    a.user = requester;
  } else {
    a.user.name = str(spec, "user");
    a.user.uid = str(spec, "uid");
    if (spec.contains("groups") && spec["groups"].is_array()) {
      for (const auto& g : spec["groups"]) {
        if (g.is_string()) {
          a.user.groups.push_back(g.get<std::string>());
        }
      }
    }
    if (spec.contains("extra") && spec["extra"].is_object()) {
      for (const auto& [k, v] : spec["extra"].items()) {
        if (v.is_array()) {
          for (const auto& e : v) {
            if (e.is_string()) {
              a.user.extra[k].push_back(e.get<std::string>());
            }
          }
        }
      }
    }
    if (a.user.name.empty() && a.user.groups.empty()) {
      return invalid(kind, "spec.user", "\"\"", "at least one of user or group must be specified");
    }
  }
  if (has_resource) {
    const json& r = spec["resourceAttributes"];
    a.resource_request = true;
    a.ns = str(r, "namespace");
    a.verb = str(r, "verb");
    a.api_group = str(r, "group");
    a.api_version = str(r, "version");
    a.resource = str(r, "resource");
    a.subresource = str(r, "subresource");
    a.name = str(r, "name");
  } else {
    const json& n = spec["nonResourceAttributes"];
    a.path = str(n, "path");
    a.verb = str(n, "verb");
  }
  Decision d = authorizer.authorize(a);
  json status = {{"allowed", d.allowed}};
  if (!d.reason.empty()) {
    status["reason"] = d.reason;
  }
  if (!d.evaluation_error.empty()) {
    status["evaluationError"] = d.evaluation_error;
  }
  review["apiVersion"] = "authorization.k8s.io/v1";
  review["kind"] = kind;
  if (!review.contains("metadata") || !review["metadata"].is_object()) {
    review["metadata"] = json::object();
  }
  review["metadata"]["creationTimestamp"] = nullptr;
  review["spec"] = spec;
  review["status"] = status;
  return {201, review};
}

}  // namespace novacron::devapi::authz
