// The VMMigration that `kubectl novacron migrate` and `kubectl novacron plan` ask for, read from
// their arguments in one place: the VM (the one positional argument), --mode, --to, --name and
// the migration options (--bandwidth, --max-downtime, --auto-converge, --post-copy, --compression,
// --copy-storage), and the VMMigration made of them. Which of those flags a command accepts is its
// Command entry's business. Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kubectl-plugin/args.h"
#include "kubectl-plugin/commands.h"
#include "lib/core/clock.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"

namespace novacron::kubectl_plugin {

struct MigrationRequest {
  std::string vm_name;
  std::string mode;                           // "Live" or "Cold"
  std::optional<std::string> target;          // --to
  std::optional<std::string> name;            // --name
  kube::Json options = kube::Json::object();  // spec.options; empty when no option was given
};

// InvalidArgument with a message for the user on bad input (no or several VMs, an unknown mode,
// a figure that is not a whole non-negative number).
[[nodiscard]] core::StatusOr<MigrationRequest> parseMigrationRequest(const Args& args);

// --name, else "<vm><suffix><unix seconds>" (the VM's name cut to 40 characters).
std::string migrationName(const MigrationRequest& request, std::string_view suffix,
                          const core::Clock& clock);

// The VMMigration object to create in `ns`.
kube::Json migrationObject(const MigrationRequest& request, const std::string& name,
                           const std::string& ns, bool dry_run);

struct CreatedMigration {
  MigrationRequest request;
  std::string name;
  int exit_code = 0;  // not 0: nothing was created, the error is printed; the command returns this
};

// Parses the arguments (a usage error: 2), checks that the VM exists in env.ns and creates the
// VMMigration (an API error: 1), named migrationName(request, name_suffix).
CreatedMigration createMigration(Env& env, const Args& args, std::string_view name_suffix,
                                 bool dry_run);

}  // namespace novacron::kubectl_plugin
