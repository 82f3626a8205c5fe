// GCC 12 reports a false -Wmaybe-uninitialized inside <regex> (std::function in _State) when
// built with -fsanitize (NOVACRON_SANITIZE=1); the warning is in the library, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "lib/api/schema_rules.h"

#include <map>
#include <mutex>
#include <regex>
#include <string>

#include "lib/api/pattern_scans.h"

namespace novacron::api {

namespace {

const std::regex& compiled(std::string_view pattern) {
  static std::mutex mu;
  static std::map<std::string, std::regex, std::less<>>* cache =
      new std::map<std::string, std::regex, std::less<>>();  // never destroyed: used at exit too
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(pattern);
  if (it == cache->end()) {
    it = cache->emplace(std::string(pattern), std::regex(std::string(pattern))).first;
  }
  return it->second;
}

}  // namespace

bool StringRule::matches(std::string_view value) const {
  if (pattern.empty()) {
    return true;
  }
  return scan != nullptr ? scan(value) : matchesPattern(pattern, value);
}

bool matchesPattern(std::string_view pattern, std::string_view value) {
  try {
    return std::regex_search(value.begin(), value.end(), compiled(pattern));
  } catch (const std::regex_error&) {
    return false;
  }
}

bool isValidPattern(std::string_view pattern) {
  try {
    (void)compiled(pattern);
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

namespace rules {

#define NOVACRON_DNS_LABEL "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define NOVACRON_DNS_SUBDOMAIN NOVACRON_DNS_LABEL "(\\." NOVACRON_DNS_LABEL ")*"

const StringRule kDns1123Label{
    "^" NOVACRON_DNS_LABEL "$", 1, 63,
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name', regex used for "
    "validation is '" NOVACRON_DNS_LABEL "')",
    &scans::dns1123Label};
const StringRule kDns1123Subdomain{
    "^" NOVACRON_DNS_SUBDOMAIN "$", 1, 253,
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com')",
    &scans::dns1123Subdomain};
const StringRule kHypervisorName{
    "^" NOVACRON_DNS_SUBDOMAIN "$", 1, 63,
    "a hypervisor (node) name must be a lowercase RFC 1123 subdomain of at most 63 characters "
    "(e.g. 'node-1' or 'node-1.rack2')",
    &scans::dns1123Subdomain};
const StringRule kQualifiedNamePart{
    "^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$", 1, 63,
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character",
    &scans::qualifiedNamePart};
const StringRule kLabelValue{
    "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", 0, 63,
    "a valid label value must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character",
    &scans::labelValue};
const StringRule kCpuModel{
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$", 1, 64,
    "must be host-model, host-passthrough or a CPU model name of alphanumerics, '-', '_' or '.'",
    &scans::identifier};
const StringRule kCpuFeature{"^[A-Za-z0-9][A-Za-z0-9_.-]*$", 1, 64,
                             "must consist of alphanumerics, '-', '_' or '.'", &scans::identifier};
const StringRule kImageUrl{
    "^(https?://[^\\x00-\\x20\\x7f<>\"'\\\\{}|^`]+|image:" NOVACRON_DNS_SUBDOMAIN ")$", 1, 2048,
    "must be an http:// or https:// URL, or image:<name> naming an image in the node image store "
    "(name: a lowercase RFC 1123 subdomain); host paths are not allowed",
    &scans::imageUrl};
const StringRule kSha256{"^[a-f0-9]{64}$", 64, 64,
                         "must be a SHA-256 digest: 64 lowercase hexadecimal characters",
                         &scans::sha256};
const StringRule kKernelCmdline{"^[^\\x00-\\x1f\\x7f]*$", 0, 1024,
                                "must not contain control characters", &scans::noControlCharacters};
const StringRule kCloudInitData{"", 0, 65536, ""};
const StringRule kBridgeName{
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$", 1, 15,
    "must be a Linux interface name: at most 15 alphanumerics, '-', '_' or '.', starting with an "
    "alphanumeric",
    &scans::identifier};
const StringRule kMacAddress{"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$", 17, 17,
                             "must be a MAC address such as 52:54:00:12:34:56", &scans::macAddress};
const StringRule kIpAddress{"^[0-9A-Fa-f.:]+$", 2, 45, "must be an IPv4 or IPv6 address",
                            &scans::ipAddress};
const StringRule kUuid{
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", 36, 36,
    "must be a UUID", &scans::uuid};
const StringRule kHostPort{"^[A-Za-z0-9.:\\[\\]-]+$", 1, 261,
                           "must be a host name or IP address, optionally with :port",
                           &scans::hostPort};
const StringRule kFreeText{"^[^\\x00-\\x1f\\x7f]*$", 0, 256, "must not contain control characters",
                           &scans::noControlCharacters};
const StringRule kConditionType{
    "^(" NOVACRON_DNS_SUBDOMAIN "/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$", 1, 316,
    "must be a qualified name such as Ready or example.com/Ready", &scans::conditionType};
const StringRule kConditionReason{
    "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", 1, 1024,
    "must be CamelCase: a letter followed by letters, digits, '_', ',' or ':'",
    &scans::conditionReason};
const StringRule kConditionMessage{"", 0, 32768, ""};
const StringRule kQuantity{
    "^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[kMGTPE]|([eE]\\+?[0-9]+))?$", 0, 64,
    "must be a non-negative quantity such as 512Mi, 2Gi or 1G", &scans::quantity};

#undef NOVACRON_DNS_SUBDOMAIN
#undef NOVACRON_DNS_LABEL

}  // namespace rules
}  // namespace novacron::api
