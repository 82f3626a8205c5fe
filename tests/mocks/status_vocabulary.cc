#include "tests/mocks/status_vocabulary.h"

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <string>

#include <unistd.h>

namespace novacron::testing {
namespace {

struct Recorder {
  std::mutex mu;
  std::set<std::string> seen;  // guarded by mu
  std::ofstream out;           // guarded by mu
  bool enabled = false;

  Recorder() {
    const char* dir = std::getenv("NOVACRON_STATUS_VOCABULARY_DIR");
    if (dir == nullptr || *dir == '\0') {
      return;
    }
    out.open(std::string(dir) + "/" + std::to_string(::getpid()) + ".log", std::ios::app);
    enabled = out.is_open();
  }

  void note(const std::string& line) {
    std::lock_guard lock(mu);
    if (seen.insert(line).second) {
      out << line << '\n';
      out.flush();
    }
  }
};

Recorder& recorder() {
  static Recorder* r = new Recorder();  // never destroyed: watch threads may outlive statics
  return *r;
}

std::string field(const kube::Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

void noteStatusWrite(const kube::Json& object) {
  if (!recorder().enabled || !object.is_object()) {
    return;
  }
  auto status = object.find("status");
  if (status != object.end()) {
    noteStatus(field(object, "kind"), *status);
  }
}

void noteStatus(const std::string& kind, const kube::Json& status) {
  Recorder& r = recorder();
  if (!r.enabled || kind.empty() || !status.is_object()) {
    return;
  }
  if (std::string phase = field(status, "phase"); !phase.empty()) {
    r.note("phase " + kind + " " + phase);
  }
  auto conditions = status.find("conditions");
  if (conditions == status.end() || !conditions->is_array()) {
    return;
  }
  for (const auto& c : *conditions) {
    if (!c.is_object()) {
      continue;
    }
    std::string reason = field(c, "reason");
    r.note("condition " + kind + " " + field(c, "type") + " " + field(c, "status") + " " +
           (reason.empty() ? "-" : reason) + " " +
           (field(c, "message").empty() ? "nomessage" : "message"));
  }
}

}  // namespace novacron::testing
