// String rules shared by validate() and the CRD schemas in crds/: each rule's `pattern` is written
// verbatim into the schema (tests/unit/lib/api/crd_drift_test.cc checks they are identical), so the
// API server and validate() accept exactly the same strings.
//
// Patterns stay in the common subset of RE2 (what the API server uses) and ECMAScript (std::regex,
// used here): anchors, groups, classes, ?, *, +, {m,n}. Fields that can be long (messages,
// cloud-init data) have no pattern, only a length limit, so matching is cheap and cannot recurse
// deeply. Thread-safety: the rules are constants; matches() is safe to call from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace novacron::api {

struct StringRule {
  std::string_view pattern;  // empty: any string
  std::size_t minLength = 0;
  std::size_t maxLength = 0;
  std::string_view description;  // the detail of the field error when the pattern does not match
  // The same language as `pattern`, decided by a hand-written scan (lib/api/pattern_scans.h);
  // null: std::regex decides.
  bool (*scan)(std::string_view) = nullptr;

  // Pattern only (callers check lengths first).
  bool matches(std::string_view value) const;
};

// Whether `value` matches the ECMAScript regular expression `pattern` (search semantics, as OpenAPI
// `pattern`); false if the pattern does not compile. Compiled patterns are cached.
bool matchesPattern(std::string_view pattern, std::string_view value);
// Whether `pattern` compiles.
bool isValidPattern(std::string_view pattern);

namespace rules {

extern const StringRule kDns1123Label;
extern const StringRule kDns1123Subdomain;
extern const StringRule kHypervisorName;  // a node name that also fits in a label value
extern const StringRule kQualifiedNamePart;
extern const StringRule kLabelValue;
extern const StringRule kCpuModel;
extern const StringRule kCpuFeature;
extern const StringRule kImageUrl;
extern const StringRule kSha256;
extern const StringRule kKernelCmdline;
extern const StringRule kCloudInitData;
extern const StringRule kBridgeName;
extern const StringRule kMacAddress;
extern const StringRule kIpAddress;
extern const StringRule kUuid;
extern const StringRule kHostPort;
extern const StringRule kFreeText;
extern const StringRule kConditionType;
extern const StringRule kConditionReason;
extern const StringRule kConditionMessage;
// Quantities in the schema (the C++ side parses them with parseQuantity()): no sign, no sub-unit
// suffixes (m, u, n).
extern const StringRule kQuantity;

}  // namespace rules
}  // namespace novacron::api
