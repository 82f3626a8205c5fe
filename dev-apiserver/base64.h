// Standard base64 (RFC 4648, padded), used for Secret data, continue tokens and
// kubeconfig data fields. Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace novacron::devapi {

std::string base64Encode(std::string_view data);
// Returns nullopt on malformed input.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace novacron::devapi
