// Hand-written scans for the patterns of lib/api/schema_rules: each accepts exactly the strings
// its rule's ECMAScript pattern accepts (search semantics, anchored), without std::regex, whose
// backtracking matcher cost the node-daemon ~8 % of its CPU in B1x (issue 15): validate() runs on
// every reconcile of every VM. tests/unit/lib/api/pattern_scans_test.cc checks each scan against
// its pattern on a corpus and on random strings.
// Bytes are compared as `char`, as std::regex<char> does: a byte >= 0x80 is a negative char, so
// it falls in no range such as [\x00-\x1f] (UTF-8 text passes the control-character rules).
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace novacron::api::scans {

bool dns1123Label(std::string_view s);       // [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool dns1123Subdomain(std::string_view s);   // label(\.label)*
bool qualifiedNamePart(std::string_view s);  // ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool labelValue(std::string_view s);         // empty or a qualified name part
bool identifier(std::string_view s);         // [A-Za-z0-9][A-Za-z0-9_.-]*
bool imageUrl(std::string_view s);
bool sha256(std::string_view s);               // [a-f0-9]{64}
bool noControlCharacters(std::string_view s);  // [^\x00-\x1f\x7f]*
bool macAddress(std::string_view s);           // ([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}
bool ipAddress(std::string_view s);            // [0-9A-Fa-f.:]+
bool uuid(std::string_view s);                 // 8-4-4-4-12 hexadecimal digits
bool hostPort(std::string_view s);             // [A-Za-z0-9.:\[\]-]+
bool conditionType(std::string_view s);        // (subdomain/)?qualified name part
bool conditionReason(std::string_view s);      // [A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?
bool quantity(std::string_view s);             // the kQuantity grammar (no sign, no sub-units)

}  // namespace novacron::api::scans
