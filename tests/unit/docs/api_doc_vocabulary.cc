#include "tests/unit/docs/api_doc_vocabulary.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace novacron::docs {
namespace {

std::vector<std::string> splitRow(std::string_view line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {  // skip the leading '|'
    if (line[i] == '|') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  for (auto& c : cells) {
    c.erase(0, c.find_first_not_of(' '));
    c.erase(c.find_last_not_of(' ') + 1);
  }
  return cells;
}

std::vector<std::string> backticked(const std::string& text) {
  static const std::regex word("`([^`]+)`");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), word), end; it != end; ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

bool isReason(const std::string& word) {
  static const std::regex camel("[A-Z][A-Za-z0-9]*");
  return std::regex_match(word, camel) && word != "True" && word != "False" && word != "Unknown";
}

enum class Table { kNone, kPhases, kConditions };

}  // namespace

Vocabulary parseApiDoc(std::string_view markdown) {
  Vocabulary out;
  std::string kind;
  Table table = Table::kNone;
  std::istringstream in{std::string(markdown)};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) {
      kind = line.substr(3);
      table = Table::kNone;
      continue;
    }
    if (line.empty() || line[0] != '|') {
      table = Table::kNone;
      continue;
    }
    const std::vector<std::string> cells = splitRow(line);
    if (cells.size() == 2 && cells[0] == "phase" && cells[1] == "meaning") {
      table = Table::kPhases;
      continue;
    }
    if (cells.size() == 4 && cells[0] == "type" && cells[1] == "writer" && cells[3] == "reasons") {
      table = Table::kConditions;
      continue;
    }
    if (table == Table::kNone || cells.empty() || cells[0].rfind("---", 0) == 0 || kind.empty()) {
      continue;
    }
    const std::vector<std::string> first = backticked(cells[0]);
    if (first.size() != 1) {
      continue;
    }
    KindVocabulary& v = out[kind];
    if (table == Table::kPhases) {
      v.phases.insert(first[0]);
    } else if (cells.size() == 4) {
      std::set<std::string>& reasons = v.reasons[first[0]];
      for (const auto& w : backticked(cells[3])) {
        if (isReason(w)) {
          reasons.insert(w);
        }
      }
    }
  }
  return out;
}

void addProducedLine(std::string_view line, Produced& out) {
  std::istringstream in{std::string(line)};
  std::string what, kind;
  in >> what >> kind;
  if (what == "phase") {
    std::string phase;
    in >> phase;
    out.vocabulary[kind].phases.insert(phase);
  } else if (what == "condition") {
    std::string type, status, reason, message;
    in >> type >> status >> reason >> message;
    if (reason != "-") {
      out.vocabulary[kind].reasons[type].insert(reason);
    } else {
      out.vocabulary[kind].reasons[type];  // the type was produced, without a reason
    }
    if (status == "False" && (reason == "-" || message != "message")) {
      out.false_without_reason_or_message.insert(kind + " " + type + " " + status + " " + reason);
    }
  }
}

Produced readProduced(const std::string& dir) {
  Produced out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".log") {
      continue;
    }
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      addProducedLine(line, out);
    }
  }
  return out;
}

}  // namespace novacron::docs
