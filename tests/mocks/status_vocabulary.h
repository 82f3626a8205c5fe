// Records the status vocabulary (phase, condition type/status/reason, and whether a condition has
// a message) of every status the code under test writes through the FakeClient, so that
// tests/unit/docs/api_contract_test.cc can check docs/api.md against what the code produces.
//
// Off unless NOVACRON_STATUS_VOCABULARY_DIR is set (CMake sets it for the producer tests): each
// process then appends one line per distinct observation to <dir>/<pid>.log:
//   phase <Kind> <Phase>
//   condition <Kind> <Type> <Status> <Reason> <message|nomessage>
// Thread-safety: noteStatusWrite() may be called from any thread.
#pragma once

#include "lib/kube/client.h"

namespace novacron::testing {

// `object` is a custom resource as stored after a status write (has kind and status).
void noteStatusWrite(const kube::Json& object);
// A status the code computed (e.g. a pure decide function's result, encoded) for `kind`.
void noteStatus(const std::string& kind, const kube::Json& status);

}  // namespace novacron::testing
