// String formats kube-apiserver checks in custom resources (the subset of go-openapi's strfmt
// registry that apiextensions supports). Internal to devapi_schema.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace novacron::devapi::schema {

// True when `format` is one kube checks; unknown formats are ignored, as kube ignores them.
bool isKnownFormat(const std::string& format);
// True when `value` is valid for the known `format`.
bool matchesFormat(const std::string& format, const std::string& value);

}  // namespace novacron::devapi::schema
