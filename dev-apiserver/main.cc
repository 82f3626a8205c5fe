// novacron-dev-apiserver: a Kubernetes API server on real etcd for development, the local demo and
// tests (it warns at startup that it is nothing more). Parses flags and wires the pieces
// together; see api_server.h for the REST semantics.
//
//   novacron-dev-apiserver --etcd-servers=http://127.0.0.1:2379 --secure-port=6443
//       --cert-dir=DIR [--token=T] [--kubeconfig-out=PATH] [--insecure-port=N]
//       [--bind-address=127.0.0.1] [--bookmark-interval-ms=5000] [--watch-window=50000]
//       [--authorization-mode=RBAC|AlwaysAllow] [--token-auth-file=CSV]
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "dev-apiserver/api_server.h"
#include "dev-apiserver/authn/service_account_token.h"
#include "dev-apiserver/authn/token_authenticator.h"
#include "dev-apiserver/authz/etcd_policy_source.h"
#include "dev-apiserver/authz/rbac.h"
#include "dev-apiserver/certs.h"
#include "dev-apiserver/controllers.h"
#include "dev-apiserver/file_write.h"
#include "dev-apiserver/http_server.h"
#include "dev-apiserver/util.h"
#include "lib/core/logging.h"

namespace {

using namespace novacron::devapi;

int usage(const std::string& error) {
  std::cerr << "novacron-dev-apiserver: " << error << "\n"
            << "usage: novacron-dev-apiserver --etcd-servers=http://127.0.0.1:2379 "
               "[--secure-port=6443] [--bind-address=127.0.0.1] [--cert-dir=DIR] [--token=T] "
               "[--kubeconfig-out=PATH] [--insecure-port=N] [--bookmark-interval-ms=5000] "
               "[--watch-window=50000] [--authorization-mode=RBAC|AlwaysAllow] "
               "[--token-auth-file=CSV] [--log-level=info] [--audit-log=FILE] "
               "[--fault-file=JSON (tests only: dev-apiserver/fault_injection.h)]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"secure-port", "6443"},
                                              {"bind-address", "127.0.0.1"},
                                              {"cert-dir", "novacron-dev-certs"},
                                              {"bookmark-interval-ms", "5000"},
                                              {"watch-window", "50000"},
                                              {"authorization-mode", "RBAC"},
                                              {"log-level", "info"}};
  static const std::set<std::string> known = {"etcd-servers",
                                              "secure-port",
                                              "bind-address",
                                              "cert-dir",
                                              "token",
                                              "kubeconfig-out",
                                              "insecure-port",
                                              "log-level",
                                              "watch-window",
                                              "bookmark-interval-ms",
                                              "authorization-mode",
                                              "token-auth-file",
                                              "audit-log",
                                              "fault-file"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a.find('=') == std::string::npos) {
      return usage("bad argument " + a + " (use --flag=value)");
    }
    std::string k = a.substr(2, a.find('=') - 2);
    if (!known.count(k)) {
      return usage("unknown flag --" + k);
    }
    flags[k] = a.substr(a.find('=') + 1);
  }
  if (!flags.count("etcd-servers")) {
    return usage("--etcd-servers is required");
  }
  if (flags["authorization-mode"] != "RBAC" && flags["authorization-mode"] != "AlwaysAllow") {
    return usage("--authorization-mode must be RBAC or AlwaysAllow");
  }
  auto log_opts = novacron::core::resolveLogOptions("dev-apiserver", flags["log-level"], "text");
  if (!log_opts.isOk()) {
    return usage(log_opts.status().message());
  }
  (void)novacron::core::initLogging(*log_opts);
  spdlog::warn(
      "novacron-dev-apiserver is for development and tests only, not a production API server: "
      "do not expose it or keep data in it that matters");

  // Signals are handled by sigwait on the main thread; block them before starting threads.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // One socket per watch: lift the soft descriptor limit to the hard one.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  auto etcd = EtcdClient::create(flags["etcd-servers"]);
  if (!etcd.isOk()) {
    return usage(etcd.status().message());
  }
  auto tls = loadOrCreateTls(flags["cert-dir"]);
  if (!tls.isOk()) {
    spdlog::critical("TLS material: {}", tls.status().toString());
    return 1;
  }
  std::string token = flags.count("token") ? flags["token"] : "";
  std::string token_file = flags["cert-dir"] + "/token";
  if (token.empty()) {
    std::ifstream in(token_file);
    std::getline(in, token);
  }
  if (token.empty()) {
    token = randomToken(24);
  }
  if (auto s = writeFileAtomically(token_file, token + "\n", kSecretFileMode); !s.isOk()) {
    spdlog::critical("token file: {}", s.toString());
    return 1;
  }

  // Service-account token signing key, kept with the certificates so tokens survive restarts.
  std::string sa_key_file = flags["cert-dir"] + "/sa.key";
  std::string sa_key;
  {
    std::ifstream in(sa_key_file);
    std::getline(in, sa_key);
  }
  if (sa_key.empty()) {
    sa_key = randomToken(32);
    if (auto s = writeFileAtomically(sa_key_file, sa_key + "\n", kSecretFileMode); !s.isOk()) {
      spdlog::critical("service-account key: {}", s.toString());
      return 1;
    }
  }
  EtcdClient& etcd_ref = **etcd;
  auto sa_tokens = std::make_shared<authn::ServiceAccountTokens>(
      sa_key,
      [&etcd_ref](const std::string& ns,
                  const std::string& name) -> novacron::core::StatusOr<std::optional<std::string>> {
        NOVACRON_ASSIGN_OR_RETURN(auto kv,
                                  etcd_ref.get("/registry/serviceaccounts/" + ns + "/" + name));
        if (!kv) {
          return std::optional<std::string>();
        }
        auto obj = nlohmann::json::parse(kv->value, nullptr, false);
        if (!obj.is_object() || !obj.contains("metadata")) {
          return std::optional<std::string>();
        }
        return std::optional<std::string>(obj["metadata"].value("uid", ""));
      });
  std::map<std::string, authn::UserInfo> static_tokens = {{token, authn::adminUser("admin")}};
  if (flags.count("token-auth-file")) {
    std::ifstream in(flags["token-auth-file"]);
    if (!in) {
      return usage("cannot read --token-auth-file " + flags["token-auth-file"]);
    }
    std::stringstream content;
    content << in.rdbuf();
    auto parsed = authn::parseTokenFile(content.str());
    if (!parsed.isOk()) {
      return usage(parsed.status().message());
    }
    static_tokens.insert(parsed->begin(), parsed->end());
    spdlog::info("{} static tokens from {}", parsed->size(), flags["token-auth-file"]);
  }
  auto authenticator =
      std::make_shared<authn::UnionTokenAuthenticator>(std::vector<authn::TokenAuthenticatorPtr>{
          std::make_shared<authn::StaticTokenAuthenticator>(std::move(static_tokens)), sa_tokens});
  authz::AuthorizerPtr authorizer;
  if (flags["authorization-mode"] == "RBAC") {
    authorizer =
        std::make_shared<authz::PrivilegedGroupsThen>(std::make_shared<authz::RbacAuthorizer>(
            std::make_shared<authz::EtcdPolicySource>(etcd_ref)));
  } else {
    authorizer = std::make_shared<authz::AlwaysAllow>();
    spdlog::warn("--authorization-mode=AlwaysAllow: every authenticated user may do anything");
  }

  Registry registry;
  WatchHub hub(**etcd, "/registry/", std::stoul(flags["watch-window"]));
  ApiServerOptions api_opts;
  api_opts.server_address = flags["bind-address"] + ":" + flags["secure-port"];
  api_opts.bookmark_interval = std::chrono::milliseconds(std::stol(flags["bookmark-interval-ms"]));
  api_opts.gate = std::make_shared<authz::RequestGate>(authorizer);
  api_opts.service_account_tokens = sa_tokens;
  ApiServer api(**etcd, registry, hub, api_opts);

  // etcd may still be starting: retry bootstrap for a while.
  novacron::core::Status boot;
  for (int i = 0; i < 100; ++i) {
    boot = api.bootstrap();
    if (boot.isOk()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!boot.isOk()) {
    spdlog::critical("cannot reach etcd at {}: {}", flags["etcd-servers"], boot.toString());
    return 1;
  }
  const std::string crd_prefix = "/registry/apiextensions.k8s.io/customresourcedefinitions/";
  hub.subscribe([&registry, crd_prefix](const HubEvent& e) {
    if (e.key.rfind(crd_prefix, 0) != 0) {
      return;
    }
    std::string name = e.key.substr(crd_prefix.size());
    (void)registry.applyCrd(name, e.is_delete || e.obj().is_null() ? nullptr : &e.obj());
  });
  if (auto s = hub.start(); !s.isOk()) {
    spdlog::critical("watch hub: {}", s.toString());
    return 1;
  }
  Controllers controllers(api, hub);
  if (auto s = controllers.start(); !s.isOk()) {
    spdlog::critical("controllers: {}", s.toString());
    return 1;
  }

  HttpServerOptions http_opts;
  http_opts.bind_address = flags["bind-address"];
  http_opts.port = std::stoi(flags["secure-port"]);
  http_opts.tls = *tls;
  http_opts.authenticator = authenticator;
  if (flags.count("audit-log")) {
    auto audit = AuditLog::open(flags["audit-log"]);
    if (!audit.isOk()) {
      spdlog::critical("{}", audit.status().toString());
      return 1;
    }
    http_opts.audit = *audit;
  }
  if (flags.count("fault-file")) {
    // The TLS port only: the fault suite reads the truth through the plain port.
    http_opts.faults = std::make_shared<FaultInjector>(flags["fault-file"]);
    spdlog::warn("fault injection enabled from {}", flags["fault-file"]);
  }
  HttpServer https(api, http_opts);
  if (auto s = https.start(); !s.isOk()) {
    spdlog::critical("{}", s.toString());
    return 1;
  }
  std::unique_ptr<HttpServer> plain;
  if (flags.count("insecure-port")) {
    HttpServerOptions p = http_opts;
    p.plain_http = true;
    p.faults = nullptr;
    p.port = std::stoi(flags["insecure-port"]);
    plain = std::make_unique<HttpServer>(api, p);
    if (auto s = plain->start(); !s.isOk()) {
      spdlog::critical("{}", s.toString());
      return 1;
    }
    spdlog::warn("serving plain HTTP without authentication on {}:{}", p.bind_address, p.port);
  }
  std::string server_url = "https://" + flags["bind-address"] + ":" + std::to_string(https.port());
  if (flags.count("kubeconfig-out")) {
    if (auto s = writeKubeconfig(flags["kubeconfig-out"], server_url, *tls, token); !s.isOk()) {
      spdlog::critical("kubeconfig: {}", s.toString());
      return 1;
    }
  }
  spdlog::info("novacron-dev-apiserver serving on {} (etcd {})", server_url, flags["etcd-servers"]);

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("signal {}: shutting down", sig);
  // Stop the hub first so every watcher wakes at once, then the HTTP servers join their
  // connection threads (nothing may run on `api`/`hub` after they are destroyed).
  hub.stop();
  if (plain) {
    plain->stop();
  }
  https.stop();
  controllers.stop();
  return 0;
}
