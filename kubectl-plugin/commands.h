// The subcommands of kubectl-novacron. Each takes the parsed arguments and an Env (the API client,
// the namespace, where to print, the clock) and returns the process exit code: 0 success, 1 the
// operation failed (a failed migration, a VM that does not exist), 2 a usage error.
// Thread-safety: one command runs at a time on the calling thread.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "kubectl-plugin/args.h"
#include "lib/core/clock.h"
#include "lib/core/process.h"
#include "lib/kube/client.h"

namespace novacron::kubectl_plugin {

struct Env {
  kube::ClientPtr client;
  std::string ns;  // --namespace, else the context's, else "default"
  std::ostream& out;
  std::ostream& err;
  core::ClockPtr clock;
  bool tty = false;  // stdout is a terminal: redraw the progress bar in place
};

struct Command {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;  // full --help text
  int (*run)(Env& env, const Args& args);
  // Flags this command accepts beyond the global ones, and which of them take no value.
  std::vector<std::string_view> flags;
  std::vector<std::string_view> boolean_flags;
  bool needs_client = true;
};

// Every subcommand, in the order --help lists them.
const std::vector<Command>& commands();
const Command* findCommand(std::string_view name);

// The top-level --help text.
std::string mainUsage();

int runStart(Env& env, const Args& args);
int runStop(Env& env, const Args& args);
int runRestart(Env& env, const Args& args);
int runPause(Env& env, const Args& args);
int runUnpause(Env& env, const Args& args);
int runMigrate(Env& env, const Args& args);
int runCancel(Env& env, const Args& args);
int runPlan(Env& env, const Args& args);
int runConsole(Env& env, const Args& args);
int runExplain(Env& env, const Args& args);
int runTop(Env& env, const Args& args);
int runCompletion(Env& env, const Args& args);

// Shared by the commands: prints "error: <message>" and returns 1.
int fail(Env& env, const std::string& message);

}  // namespace novacron::kubectl_plugin
