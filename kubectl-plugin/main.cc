// kubectl-novacron: parses the command line, loads the kubeconfig exactly as kubectl does
// (lib/kube/config.h), builds the client and runs one subcommand (commands.h).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "kubectl-plugin/args.h"
#include "kubectl-plugin/commands.h"
#include "lib/kube/config.h"
#include "lib/kube/rest_client.h"

namespace {

using novacron::kubectl_plugin::Args;
using novacron::kubectl_plugin::Command;

int run(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  std::vector<std::string> words(argv + 1, argv + argc);
  std::set<std::string, std::less<>> booleans = {"help", "all-namespaces"};
  // Find the subcommand first: its boolean flags decide how the rest parses.
  const Command* command = nullptr;
  for (const auto& c : novacron::kubectl_plugin::commands()) {
    for (const auto& w : words) {
      if (w == c.name) {
        command = &c;
        break;
      }
    }
    if (command != nullptr) {
      break;
    }
  }
  if (command != nullptr) {
    for (auto b : command->boolean_flags) {
      booleans.emplace(b);
    }
  }
  auto args = novacron::kubectl_plugin::parseArgs(words, booleans);
  if (!args.isOk()) {
    std::cerr << "error: " << args.status().message() << "\n";
    return 2;
  }
  if (args->positional.empty() || command == nullptr) {
    if (!args->positional.empty()) {
      std::cerr << "error: unknown command \"" << args->positional[0] << "\"\n\n";
      std::cerr << novacron::kubectl_plugin::mainUsage();
      return 2;
    }
    std::cout << novacron::kubectl_plugin::mainUsage();
    return args->has("help") ? 0 : 2;
  }
  // Drop the subcommand's own name from the positional arguments.
  args->positional.erase(
      std::find(args->positional.begin(), args->positional.end(), std::string(command->name)));
  if (args->has("help")) {
    std::cout << command->usage;
    return 0;
  }
  std::set<std::string, std::less<>> known = {"kubeconfig", "context", "namespace", "help"};
  for (auto f : command->flags) {
    known.emplace(f);
  }
  if (auto s = args->checkKnown(known); !s.isOk()) {
    std::cerr << "error: " << s.message() << "\n\n" << command->usage;
    return 2;
  }
  novacron::kubectl_plugin::Env env{
      nullptr, "", std::cout, std::cerr, novacron::core::systemClock(), isatty(STDOUT_FILENO) == 1};
  if (command->needs_client) {
    auto sources = novacron::kube::configSourcesFromEnvironment(
        args->get("kubeconfig"), args->get("context").value_or(""),
        args->get("namespace").value_or(""));
    auto config = novacron::kube::loadConfig(sources);
    if (!config.isOk()) {
      std::cerr << "error: " << config.status().message() << "\n";
      return 1;
    }
    novacron::kube::RestClientOptions options;
    options.user_agent = "kubectl-novacron";
    auto client = novacron::kube::newRestClient(*config, options);
    if (!client.isOk()) {
      std::cerr << "error: " << client.status().message() << "\n";
      return 1;
    }
    env.client = *client;
    env.ns = config->default_namespace.empty() ? "default" : config->default_namespace;
  }
  return command->run(env, *args);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
