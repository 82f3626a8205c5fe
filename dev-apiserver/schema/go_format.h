// Printing of unstructured JSON values the way Go's fmt prints them in kube-apiserver messages
// (%q for strings, %v for numbers and booleans, %#v for maps and slices). Internal to this library.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace novacron::devapi::schema {

// strconv.Quote: "a\"b" with Go escapes.
std::string goQuote(const std::string& s);
// fmt %v of a float64 (strconv %g, shortest): exponent form when the exponent is < -4 or >= 6.
std::string goFloat(double value);
// fmt %v of a JSON number (int64 printed exactly).
std::string goNumber(const nlohmann::json& number);
// How field.Error.ErrorBody prints a bad value: strings quoted, numbers and booleans bare,
// null as "null" (quoted), objects and arrays as Go's %#v of map[string]interface {} / []interface
// {}.
std::string goValue(const nlohmann::json& value);
// Go's %#v of an interface{} holding the value (used inside maps and slices).
std::string goSyntax(const nlohmann::json& value);

}  // namespace novacron::devapi::schema
