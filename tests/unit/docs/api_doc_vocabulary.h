// The status vocabulary docs/api.md promises, parsed from its tables, and the vocabulary the code
// produced in tests (tests/mocks/status_vocabulary.h), for the docs ↔ code contract test.
//
// Docs format: under each `## <Kind>` heading, a table with the header `| phase | meaning |` lists
// the phases (first column, backticked), and a table with the header
// `| type | writer | True means | reasons |` lists the condition types (first column) and every
// reason the type can carry (the backticked CamelCase words of the `reasons` column).
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace novacron::docs {

struct KindVocabulary {
  std::set<std::string> phases;
  std::map<std::string, std::set<std::string>> reasons;  // condition type → reasons
  bool operator==(const KindVocabulary&) const = default;
};
using Vocabulary = std::map<std::string, KindVocabulary>;  // kind → vocabulary

Vocabulary parseApiDoc(std::string_view markdown);

struct Produced {
  Vocabulary vocabulary;
  // "Kind Type Status Reason" of False conditions written without a reason or a message.
  std::set<std::string> false_without_reason_or_message;
};

// Reads every *.log the recorder wrote in `dir`.
Produced readProduced(const std::string& dir);
// One recorder line into `out` (exposed for tests of the reader).
void addProducedLine(std::string_view line, Produced& out);

}  // namespace novacron::docs
