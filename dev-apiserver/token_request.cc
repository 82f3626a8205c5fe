// The TokenRequest subresource (POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token,
// `kubectl create token`), answered like kube-apiserver: the ServiceAccount must exist (404),
// expirationSeconds defaults to 3600 and must lie in [600, 2^32] (422), audiences default to the
// API server's; the token is bound to the ServiceAccount's uid (authn/service_account_token.h).
#include "dev-apiserver/api_server.h"
#include "dev-apiserver/util.h"

namespace novacron::devapi {

using nlohmann::json;

namespace {

Response reply(int code, const json& body) {
  Response r;
  r.code = code;
  r.body = body.dump();
  return r;
}

Response invalidExpiration(const std::string& name, int64_t value, const std::string& detail) {
  std::string cause = "Invalid value: " + std::to_string(value) + ": " + detail;
  json details = {{"name", name},
                  {"group", "authentication.k8s.io"},
                  {"kind", "TokenRequest"},
                  {"causes",
                   {{{"reason", "FieldValueInvalid"},
                     {"message", cause},
                     {"field", "spec.expirationSeconds"}}}}};
  return reply(422, statusBody(422, "Invalid",
                               "TokenRequest.authentication.k8s.io \"" + name +
                                   "\" is invalid: spec.expirationSeconds: " + cause,
                               details));
}

}  // namespace

Response ApiServer::createToken(const Request& req, const Target& t) {
  if (!options_.service_account_tokens) {
    return reply(404,
                 statusBody(404, "NotFound", "the server could not find the requested resource"));
  }
  if (req.method != "POST" || t.name.empty()) {
    return reply(405,
                 statusBody(405, "MethodNotAllowed",
                            "the server does not allow this method on the requested resource"));
  }
  json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    return reply(400,
                 statusBody(400, "BadRequest", "the body of the request was in an unknown format"));
  }
  json spec = body.value("spec", json::object());
  if (!spec.is_object()) {
    spec = json::object();
  }
  int64_t seconds = 3600;
  if (spec.contains("expirationSeconds") && spec["expirationSeconds"].is_number_integer()) {
    seconds = spec["expirationSeconds"].get<int64_t>();
  }
  if (seconds < 600) {
    return invalidExpiration(t.name, seconds, "may not specify a duration less than 10 minutes");
  }
  if (seconds > (int64_t{1} << 32)) {
    return invalidExpiration(t.name, seconds,
                             "may not specify a duration larger than 2^32 seconds");
  }
  std::vector<std::string> audiences;
  if (spec.contains("audiences") && spec["audiences"].is_array()) {
    for (const auto& a : spec["audiences"]) {
      if (a.is_string()) {
        audiences.push_back(a.get<std::string>());
      }
    }
  }
  if (audiences.empty()) {
    audiences = {authn::kTokenIssuer};
  }
  auto sa = readKey(t.key());
  if (!sa.isOk()) {
    return reply(500, statusBody(500, "InternalError",
                                 "Internal error occurred: " + sa.status().toString()));
  }
  if (!*sa) {
    return reply(404, statusBody(404, "NotFound", "serviceaccounts \"" + t.name + "\" not found",
                                 {{"name", t.name}, {"kind", "serviceaccounts"}}));
  }
  std::string uid = (*sa)->obj["metadata"].value("uid", "");
  auto issued = options_.service_account_tokens->issue(t.ns, t.name, uid,
                                                       std::chrono::seconds(seconds), audiences);
  spec["audiences"] = audiences;
  spec["expirationSeconds"] = seconds;
  if (!spec.contains("boundObjectRef")) {
    spec["boundObjectRef"] = nullptr;
  }
  json out = {
      {"kind", "TokenRequest"},
      {"apiVersion", "authentication.k8s.io/v1"},
      {"metadata", {{"name", t.name}, {"namespace", t.ns}, {"creationTimestamp", nullptr}}},
      {"spec", spec},
      {"status", {{"token", issued.token}, {"expirationTimestamp", rfc3339(issued.expires)}}}};
  return reply(201, out);
}

}  // namespace novacron::devapi
