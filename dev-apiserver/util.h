// Small helpers of the dev API server: time stamps, uids, generated names, kube-style ages and
// metav1.Status bodies. Thread-safety: all functions are thread-safe.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace novacron::devapi {

// "2026-01-02T03:04:05Z" (metav1.Time, second precision).
std::string rfc3339Now();
std::string rfc3339(std::chrono::system_clock::time_point t);
// Parses metav1.Time; false on malformed input.
bool parseRfc3339(const std::string& text, std::chrono::system_clock::time_point* out);
// kubectl-style age: "5s", "3m", "2m5s", "4h", "3d".
std::string humanDuration(std::chrono::seconds d);
// Random RFC 4122 version 4 UUID.
std::string newUid();
// kube's generateName suffix: 5 characters from "bcdfghjklmnpqrstvwxz2456789".
std::string randomSuffix();
// Random printable token.
std::string randomToken(size_t bytes);

// metav1.Status of a failure.
nlohmann::json statusBody(int code, const std::string& reason, const std::string& message,
                          nlohmann::json details = nullptr);

}  // namespace novacron::devapi
