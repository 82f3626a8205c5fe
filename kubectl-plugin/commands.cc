#include "kubectl-plugin/commands.h"

#include <ostream>

namespace novacron::kubectl_plugin {

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"start",
       "Start a stopped VM (spec.runStrategy Always, or --run-strategy)",
       R"(Start a VM: sets spec.runStrategy to Always (or --run-strategy RerunOnFailure|Once).

Usage: kubectl novacron start VM [--run-strategy S] [--wait] [--timeout 120s]
)",
       runStart,
       {"run-strategy", "wait", "timeout"},
       {"wait"}},
      {"stop",
       "Stop a VM (spec.runStrategy Halted: graceful shutdown, then power-off)",
       R"(Stop a VM: sets spec.runStrategy to Halted. The guest gets an ACPI shutdown and is powered
off after spec.terminationGracePeriodSeconds.

Usage: kubectl novacron stop VM [--wait] [--timeout 120s]
)",
       runStop,
       {"wait", "timeout"},
       {"wait"}},
      {"restart",
       "Restart a running VM (spec.restartRequestedAt)",
       R"(Restart a VM: sets spec.restartRequestedAt to now. The node-daemon powers the guest off and
starts it again once (a hard reset, like pressing the reset button).

Usage: kubectl novacron restart VM [--wait] [--timeout 120s]
)",
       runRestart,
       {"wait", "timeout"},
       {"wait"}},
      {"pause",
       "Pause a VM (spec.paused: the guest is suspended, memory kept)",
       R"(Pause a VM: sets spec.paused. The guest's vCPUs stop; its memory stays allocated.

Usage: kubectl novacron pause VM [--wait] [--timeout 120s]
)",
       runPause,
       {"wait", "timeout"},
       {"wait"}},
      {"unpause",
       "Resume a paused VM",
       R"(Unpause a VM: removes spec.paused (and the deprecated novacron.io/paused annotation).

Usage: kubectl novacron unpause VM [--wait] [--timeout 120s]
)",
       runUnpause,
       {"wait", "timeout"},
       {"wait"}},
      {"migrate",
       "Move a VM to another hypervisor and follow the migration",
       R"(Migrate a VM: creates a VMMigration and follows it with a progress bar (percent, bytes,
ETA). Exits 0 when it succeeded and 1 when it failed or was cancelled. Interrupting this command
does not stop the migration (use `kubectl novacron cancel`).

Usage: kubectl novacron migrate VM [--to HYPERVISOR] [--mode live|cold] [--name NAME]
                                   [--no-wait] [--timeout 1h]
)",
       runMigrate,
       {"to", "mode", "name", "no-wait", "timeout"},
       {"no-wait"}},
      {"plan",
       "Plan a migration without moving anything: target, bytes, forecast",
       R"(Plan a migration (a VMMigration with spec.dryRun): the controller picks the target as for
a real migration and the source node-daemon measures the guest's memory dirty rate for a few
seconds; then the plan is printed: the target and why, its free capacity after the move, CPU
compatibility, bytes to send, the dirty rate, the bandwidth assumed, the strategy (pre-copy,
auto-converge, post-copy, compression) and a forecast of total time and downtime with a verdict.
Nothing moves and nothing is reserved. Exits 0 when the plan is ready, 1 when it failed.

Usage: kubectl novacron plan VM [--to HYPERVISOR] [--mode live|cold] [--bandwidth MIBPS]
                                [--max-downtime MS] [--auto-converge] [--post-copy]
                                [--compression None|XBZRLE|Zstd] [--copy-storage Auto|Always|Never]
                                [--name NAME]
)",
       runPlan,
       {"to", "mode", "bandwidth", "max-downtime", "auto-converge", "post-copy", "compression",
        "copy-storage", "name"},
       {"auto-converge", "post-copy"}},
      {"cancel",
       "Cancel a migration (by VMMigration name, or a VM's active migration)",
       R"(Cancel a migration: sets spec.cancel on the VMMigration (named, or the VM's active one).
A live migration is aborted and the guest keeps running on the source.

Usage: kubectl novacron cancel MIGRATION|VM [--wait] [--timeout 5m]
)",
       runCancel,
       {"wait", "timeout"},
       {"wait"}},
      {"console",
       "Attach to a VM's serial console",
       R"(Attach to a VM's serial console (leave with Ctrl-]).

In a cluster this runs `kubectl exec -it` into the node-daemon pod on the VM's hypervisor (so
RBAC on pods/exec in the node-daemon's namespace decides who may attach) and `virsh console`
there. With --libvirt-uri, or when no node-daemon pod is found (the local demo), virsh connects
to libvirt directly.

Usage: kubectl novacron console VM [--libvirt-uri URI] [--daemon-namespace novacron-system]
                                   [--container libvirtd] [--force]
)",
       runConsole,
       {"libvirt-uri", "daemon-namespace", "container", "force"},
       {"force"}},
      {"explain",
       "Why a VM is placed where it is, or why it is unschedulable",
       R"(Explain a VM's placement: its phase, binding and conditions, how each hypervisor fares in
the controller's scheduler filters (selector, Ready, cordon, maintenance, anti-affinity, CPU and
memory after overcommit), and the VM's Events.

Usage: kubectl novacron explain VM
)",
       runExplain,
       {},
       {}},
      {"top",
       "Hypervisor capacity and allocation",
       R"(Show every hypervisor's readiness, scheduling state, allocated/available CPU and memory
(the controller's ledger against status.allocatable), VM count and migrations in flight.

Usage: kubectl novacron top
)",
       runTop,
       {},
       {}},
      {"completion",
       "Print a shell completion script (bash or zsh)",
       R"(Print a completion script.

Usage: kubectl novacron completion bash|zsh
  bash:  source <(kubectl-novacron completion bash)
  zsh:   source <(kubectl-novacron completion zsh)
)",
       runCompletion,
       {},
       {},
       false},
  };
  return kCommands;
}

const Command* findCommand(std::string_view name) {
  for (const auto& c : commands()) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

std::string mainUsage() {
  std::string out = "kubectl novacron: operate NovaCron virtual machines.\n\nCommands:\n";
  for (const auto& c : commands()) {
    std::string name(c.name);
    out += "  " + name + std::string(12 - std::min<size_t>(name.size(), 11), ' ') +
           std::string(c.summary) + "\n";
  }
  out += R"(
Global flags:
  --kubeconfig PATH   kubeconfig file (default $KUBECONFIG, else ~/.kube/config)
  --context NAME      kubeconfig context
  -n, --namespace NS  namespace (default: the context's, else "default")
  -h, --help          help (also per command: kubectl novacron migrate --help)
)";
  return out;
}

int fail(Env& env, const std::string& message) {
  env.err << "error: " << message << "\n";
  return 1;
}

}  // namespace novacron::kubectl_plugin
