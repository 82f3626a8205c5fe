// FieldError: one validation failure of a field, and the metav1.Status body kube-apiserver returns
// for a list of them (HTTP 422, reason Invalid).
//
// The wording follows k8s.io/apimachinery/pkg/util/validation/field (Error.ErrorBody) and the
// kube-openapi messages the CRD validator passes through, so clients and users see the same text
// as from a real cluster, e.g.
//   spec.resources.cpus: Invalid value: 1000: spec.resources.cpus in body should be less than or
//   equal to 256
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace novacron::devapi::schema {

struct FieldError {
  // The cause type, as in metav1.StatusCause.reason: "FieldValueRequired",
  // "FieldValueNotSupported", "FieldValueInvalid", "FieldValueTypeInvalid", "FieldValueTooLong",
  // "FieldValueTooMany", "FieldValueForbidden", "FieldValueDuplicate", "FieldValueNotFound",
  // "InternalError".
  std::string type;
  // Dotted path of the field: "spec.resources.cpus", "spec.disks[0].name", "metadata.name".
  std::string field;
  // The detail part alone: "should be less than or equal to 256" style text (may be empty).
  std::string detail;
  // The full cause message as kube prints it (ErrorBody): "Invalid value: 1000: spec.x in body
  // should be less than or equal to 256", "Required value", "Unsupported value: \"Foo\": supported
  // values: \"A\", \"B\"".
  std::string message;

  // "<field>: <message>" (field.Error.Error()).
  std::string toString() const;
};

// Constructors mirroring k8s.io/apimachinery/pkg/util/validation/field. `bad_value` is printed
// the way kube prints an unstructured value (strings quoted, numbers and booleans bare).
FieldError requiredError(const std::string& field, const std::string& detail = "");
FieldError forbiddenError(const std::string& field, const std::string& detail);
FieldError invalidError(const std::string& field, const nlohmann::json& bad_value,
                        const std::string& detail);
FieldError typeInvalidError(const std::string& field, const nlohmann::json& bad_value,
                            const std::string& detail);
FieldError notSupportedError(const std::string& field, const nlohmann::json& bad_value,
                             const std::vector<std::string>& supported);
FieldError tooLongError(const std::string& field, long long max_length);
FieldError tooManyError(const std::string& field, long long actual, long long max_items);
FieldError duplicateError(const std::string& field, const nlohmann::json& bad_value);

// The aggregate text kube puts after "is invalid: ": a single error as is, several as
// "[a, b]" (duplicates removed, order kept).
std::string aggregateMessage(const std::vector<FieldError>& errors);

// Full metav1.Status body for HTTP 422:
// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
//  "message":"VirtualMachine.novacron.io \"x\" is invalid: spec.a: Required value",
//  "reason":"Invalid","details":{"name":"x","group":"novacron.io","kind":"VirtualMachine",
//  "causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.a"}]},
//  "code":422}
// `group` may be empty (core group): the qualified kind is then just the kind.
nlohmann::json invalidStatus(const std::string& kind, const std::string& group,
                             const std::string& name, const std::vector<FieldError>& errors);

}  // namespace novacron::devapi::schema
