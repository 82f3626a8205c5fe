// HttpServer: the HTTPS (or, behind an explicit flag, plain HTTP) front end of the dev API
// server. One thread per connection with synchronous Boost.Beast I/O: simple, and 1,000 idle
// watch connections are 1,000 mostly sleeping threads. Authenticates every request by bearer
// token (authn/token_authenticator.h: the admin token, static tokens, service-account tokens) or by
// a client certificate signed by the server's CA (user = CN, groups = O, as kube-apiserver);
// /version and health endpoints are open to anonymous clients, as kube-apiserver's default RBAC
// allows. Impersonate-* headers are collected into the Request for the ApiServer's RequestGate.
// Plain HTTP (an explicit opt-in) authenticates no one: every request is "system:unsecured" in
// system:masters, as kube-apiserver's old insecure port was.
//
// Thread-safety: start()/stop() from one thread; connections are served concurrently. stop()
// shuts every connection down and joins its thread, so nothing runs on the ApiServer after it
// returns (stop the WatchHub first so watchers wake at once).
#pragma once

#include <memory>
#include <string>

#include "dev-apiserver/api_server.h"
#include "dev-apiserver/audit_log.h"
#include "dev-apiserver/authn/token_authenticator.h"
#include "dev-apiserver/certs.h"
#include "dev-apiserver/fault_injection.h"
#include "lib/core/status.h"

namespace novacron::devapi {

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 6443;
  bool plain_http = false;  // no TLS, no authentication
  TlsMaterial tls;
  authn::TokenAuthenticatorPtr authenticator;  // required unless plain_http
  std::shared_ptr<AuditLog> audit;             // null: no audit log
  std::shared_ptr<FaultInjector> faults;       // null: no injected faults (--fault-file)
};

class HttpServer {
public:
  HttpServer(ApiServer& api, HttpServerOptions options);
  ~HttpServer();
  core::Status start();
  void stop();
  int port() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits "a=1&b=x%20y" into a map (percent- and '+'-decoding).
std::map<std::string, std::string> parseQuery(const std::string& query);
std::string percentDecode(const std::string& text, bool plus_is_space);

}  // namespace novacron::devapi
