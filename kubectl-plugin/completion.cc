// completion: bash and zsh completion scripts. Subcommands and flags come from the command table;
// VM, hypervisor and migration names are completed by asking kubectl at completion time.
#include <ostream>
#include <sstream>

#include "kubectl-plugin/commands.h"

namespace novacron::kubectl_plugin {
namespace {

std::string subcommandWords() {
  std::string out;
  for (const auto& c : commands()) {
    out += (out.empty() ? "" : " ") + std::string(c.name);
  }
  return out;
}

// "case" arms: the flags of each subcommand, and what its positional argument names.
std::string bashCases() {
  std::ostringstream out;
  for (const auto& c : commands()) {
    out << "    " << c.name << ")\n      flags=\"--kubeconfig --context --namespace --help";
    for (auto f : c.flags) {
      out << " --" << f;
    }
    out << "\"\n";
    if (c.name == "cancel") {
      out << "      kind=vmmigrations ;;\n";
    } else if (c.name == "top" || c.name == "completion") {
      out << "      kind= ;;\n";
    } else {
      out << "      kind=virtualmachines ;;\n";
    }
  }
  return out.str();
}

std::string bashScript() {
  return R"SH(# bash completion for kubectl-novacron (and `kubectl novacron`)
# Load with: source <(kubectl-novacron completion bash)
_kubectl_novacron() {
  local cur prev sub flags kind i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  sub=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      novacron) ;;
      -*) ;;
      *) sub="${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "$sub" ]]; then
    mapfile -t COMPREPLY < <(compgen -W ")SH" +
         subcommandWords() + R"SH( --kubeconfig --context --namespace --help" -- "$cur")
    return
  fi
  case "$sub" in
)SH" + bashCases() +
         R"SH(    *) flags="--help"; kind= ;;
  esac
  if [[ "$prev" == "--to" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(kubectl get hypervisors -o name 2>/dev/null | sed 's|.*/||')" -- "$cur")
    return
  fi
  if [[ "$sub" == "completion" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "bash zsh" -- "$cur")
    return
  fi
  if [[ "$cur" == -* || -z "$kind" ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
    return
  fi
  mapfile -t COMPREPLY < <(compgen -W "$(kubectl get "$kind" -o name 2>/dev/null | sed 's|.*/||')" -- "$cur")
}
complete -F _kubectl_novacron kubectl-novacron
)SH";
}

std::string zshScript() {
  return R"SH(#compdef kubectl-novacron
# zsh completion for kubectl-novacron. Load with: source <(kubectl-novacron completion zsh)
autoload -U +X bashcompinit && bashcompinit
)SH" + bashScript();
}

}  // namespace

int runCompletion(Env& env, const Args& args) {
  std::string shell = args.positional.empty() ? "" : args.positional[0];
  if (shell == "bash") {
    env.out << bashScript();
    return 0;
  }
  if (shell == "zsh") {
    env.out << zshScript();
    return 0;
  }
  env.err << "error: completion needs a shell: bash or zsh\n";
  return 2;
}

}  // namespace novacron::kubectl_plugin
