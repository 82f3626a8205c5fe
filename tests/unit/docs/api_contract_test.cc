// The contract between docs/api.md and the code (issue 16): for each kind, every phase, condition
// type and reason the docs list is produced by the code in some test, and everything the code
// produced is documented. Every condition written False carries a reason and a message.
//
// "Produced" is what the producer tests (the controller's and node-daemon's reconciler tests, see
// CMakeLists.txt) wrote through the FakeClient's status subresource; ctest runs them first (a test
// fixture), with NOVACRON_STATUS_VOCABULARY_DIR pointing at the same directory as here.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/unit/docs/api_doc_vocabulary.h"

namespace novacron::docs {
namespace {

std::string readApiDoc() {
  const char* src = std::getenv("NOVACRON_SOURCE_DIR");
  std::ifstream in(std::filesystem::path(src ? src : ".") / "docs" / "api.md");
  EXPECT_TRUE(in.good()) << "cannot read docs/api.md (NOVACRON_SOURCE_DIR)";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    out += (out.empty() ? "" : ", ") + i;
  }
  return out;
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const auto& x : a) {
    if (b.count(x) == 0) {
      out.insert(x);
    }
  }
  return out;
}

std::set<std::string> keys(const std::map<std::string, std::set<std::string>>& m) {
  std::set<std::string> out;
  for (const auto& [k, v] : m) {
    out.insert(k);
  }
  return out;
}

const std::set<std::string> kKinds = {"VirtualMachine", "VMMigration", "Hypervisor"};

// --- the parser and reader themselves (so the contract cannot pass by parsing nothing) ---------

TEST(ApiDocVocabulary, ParsesPhaseAndConditionTablesPerKind) {
  const Vocabulary v = parseApiDoc(R"(## Widget
| phase | meaning |
|---|---|
| `On` | it is on |
| `Off` | it is off (`On` later) |

| type | writer | True means | reasons |
|---|---|---|---|
| `Ready` | node | it works (`status.x`) | True `Works`; False `Broken` (see `spec.y`), `Gone`; Unknown `Lost` |
| `Other` | node | — | |
## Gadget
| field | meaning |
|---|---|
| `Skipped` | not a phase table |
)");
  ASSERT_EQ(v.size(), 1u);
  const KindVocabulary& w = v.at("Widget");
  EXPECT_EQ(w.phases, (std::set<std::string>{"On", "Off"}));
  EXPECT_EQ(w.reasons.at("Ready"), (std::set<std::string>{"Works", "Broken", "Gone", "Lost"}));
  EXPECT_TRUE(w.reasons.at("Other").empty());
}

TEST(ApiDocVocabulary, ReaderFlagsFalseConditionsWithoutReasonOrMessage) {
  Produced p;
  addProducedLine("phase Widget On", p);
  addProducedLine("condition Widget Ready True Works nomessage", p);
  addProducedLine("condition Widget Ready False Broken nomessage", p);
  addProducedLine("condition Widget Ready False - message", p);
  addProducedLine("condition Widget Ready False Gone message", p);
  EXPECT_EQ(p.vocabulary.at("Widget").phases, (std::set<std::string>{"On"}));
  EXPECT_EQ(p.vocabulary.at("Widget").reasons.at("Ready"),
            (std::set<std::string>{"Works", "Broken", "Gone"}));
  EXPECT_EQ(p.false_without_reason_or_message,
            (std::set<std::string>{"Widget Ready False Broken", "Widget Ready False -"}));
}

// --- the contract ---------------------------------------------------------------------------

class ApiContract : public ::testing::Test {
protected:
  void SetUp() override {
    documented_ = parseApiDoc(readApiDoc());
    const char* dir = std::getenv("NOVACRON_STATUS_VOCABULARY_DIR");
    if (dir == nullptr || !std::filesystem::is_directory(dir)) {
      GTEST_SKIP() << "NOVACRON_STATUS_VOCABULARY_DIR is not set: run through ctest, which runs "
                      "the producer tests first";
    }
    produced_ = readProduced(dir);
  }

  Vocabulary documented_;
  Produced produced_;
};

TEST_F(ApiContract, DocsListPhasesAndConditionsForEveryKind) {
  for (const auto& kind : kKinds) {
    ASSERT_TRUE(documented_.count(kind)) << "docs/api.md has no ## " << kind << " section";
    EXPECT_FALSE(documented_.at(kind).phases.empty() && kind != "Hypervisor")
        << kind << ": no `| phase | meaning |` table";
    EXPECT_FALSE(documented_.at(kind).reasons.empty())
        << kind << ": no `| type | writer | True means | reasons |` table";
  }
}

TEST_F(ApiContract, EveryProducedPhaseIsDocumentedAndEveryDocumentedPhaseIsProduced) {
  for (const auto& kind : kKinds) {
    const auto& doc = documented_[kind].phases;
    const auto& code = produced_.vocabulary[kind].phases;
    EXPECT_EQ(join(minus(code, doc)), "")
        << kind << ": phases the code wrote but docs/api.md does not list";
    EXPECT_EQ(join(minus(doc, code)), "")
        << kind << ": phases docs/api.md lists but no test saw the code write";
  }
}

TEST_F(ApiContract, EveryProducedConditionTypeAndReasonIsDocumentedAndViceVersa) {
  for (const auto& kind : kKinds) {
    const auto& doc = documented_[kind].reasons;
    const auto& code = produced_.vocabulary[kind].reasons;
    EXPECT_EQ(join(minus(keys(code), keys(doc))), "")
        << kind << ": condition types the code wrote but docs/api.md does not list";
    EXPECT_EQ(join(minus(keys(doc), keys(code))), "")
        << kind << ": condition types docs/api.md lists but no test saw the code write";
    for (const auto& [type, reasons] : doc) {
      auto it = code.find(type);
      const std::set<std::string> written = it == code.end() ? std::set<std::string>{} : it->second;
      EXPECT_EQ(join(minus(written, reasons)), "")
          << kind << " " << type << ": reasons the code wrote but docs/api.md does not list";
      EXPECT_EQ(join(minus(reasons, written)), "")
          << kind << " " << type << ": reasons docs/api.md lists but no test saw the code write";
    }
  }
}

TEST_F(ApiContract, EveryFalseConditionCarriesAReasonAndAMessage) {
  EXPECT_EQ(join(produced_.false_without_reason_or_message), "");
}

}  // namespace
}  // namespace novacron::docs
