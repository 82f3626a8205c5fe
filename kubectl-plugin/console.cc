// console: an interactive serial console. Locally (--libvirt-uri, or no node-daemon pod on the
// VM's hypervisor) through `virsh console` on the domain; in a cluster through `kubectl exec -it`
// into the node-daemon pod of the VM's hypervisor running `virsh console`, so the cluster's RBAC
// for pods/exec decides who may attach. Either way this process is replaced by the tool (exec),
// which owns the terminal until the user leaves with Ctrl-].
#include <cerrno>
#include <cstring>
#include <ostream>

#include <unistd.h>

#include "kubectl-plugin/commands.h"
#include "lib/api/codec.h"
#include "lib/api/virtual_machine.h"

namespace novacron::kubectl_plugin {
namespace {

int execTool(Env& env, const std::vector<std::string>& argv) {
  if (env.tty) {
    env.err << "Connecting: " << argv[0] << " ... (leave with Ctrl-])\n";
  }
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  env.out.flush();
  env.err.flush();
  execvp(args[0], args.data());
  return fail(env, "cannot run " + argv[0] + ": " + std::strerror(errno));
}

}  // namespace

int runConsole(Env& env, const Args& args) {
  if (args.positional.size() != 1) {
    env.err << "error: expected exactly one VM name\n";
    return 2;
  }
  const std::string& name = args.positional[0];
  auto json = env.client->get(kube::kVirtualMachine, env.ns, name);
  if (!json.isOk()) {
    return fail(env, json.status().message());
  }
  auto vm = api::virtualMachineFromJson(*json);
  if (!vm.isOk()) {
    return fail(env, vm.status().message());
  }
  // The node-daemon's domain name: "<namespace>_<name>" (node-daemon/domain/naming.h).
  const std::string domain = env.ns + "_" + name;
  std::vector<std::string> virsh_tail = {"console", domain};
  if (args.has("force")) {
    virsh_tail.push_back("--force");
  }
  if (auto uri = args.get("libvirt-uri")) {
    std::vector<std::string> argv = {"virsh", "-c", *uri};
    argv.insert(argv.end(), virsh_tail.begin(), virsh_tail.end());
    return execTool(env, argv);
  }
  const std::string hv = vm->status.hypervisor.value_or("");
  if (hv.empty()) {
    return fail(env, "virtualmachine/" + name + " is not placed on a hypervisor yet");
  }
  const std::string pod_ns = args.get("daemon-namespace").value_or("novacron-system");
  kube::ListOptions options;
  options.label_selector = "app.kubernetes.io/name=novacron-node-daemon";
  options.field_selector = "spec.nodeName=" + hv;
  static const kube::ResourceType kPod{"", "v1", "pods", "Pod", true};
  auto pods = env.client->list(kPod, pod_ns, options);
  std::string pod;
  if (pods.isOk()) {
    for (const auto& p : (*pods)["items"]) {
      if (p.value("spec", kube::Json::object()).value("nodeName", "") == hv) {
        pod = p["metadata"].value("name", "");
        break;
      }
    }
  }
  if (pod.empty()) {
    // No node-daemon pod (the local demo, where node-daemons run as processes): the local host.
    env.err << "No node-daemon pod for hypervisor " << hv << " in namespace " << pod_ns
            << "; using the local libvirt (qemu:///system).\n";
    std::vector<std::string> argv = {"virsh", "-c", "qemu:///system"};
    argv.insert(argv.end(), virsh_tail.begin(), virsh_tail.end());
    return execTool(env, argv);
  }
  // The Helm chart's libvirtd sidecar carries virsh (images/libvirt); --container overrides it.
  const std::string container = args.get("container").value_or("libvirtd");
  std::vector<std::string> argv = {"kubectl", "exec",    "-it", "-n",    pod_ns, pod,
                                   "-c",      container, "--",  "virsh", "-c",   "qemu:///system"};
  if (auto kc = args.get("kubeconfig")) {
    argv.insert(argv.begin() + 1, "--kubeconfig=" + *kc);
  }
  if (auto ctx = args.get("context")) {
    argv.insert(argv.begin() + 1, "--context=" + *ctx);
  }
  argv.insert(argv.end(), virsh_tail.begin(), virsh_tail.end());
  return execTool(env, argv);
}

}  // namespace novacron::kubectl_plugin
