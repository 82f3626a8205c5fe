// Transport-neutral request/response types between the HTTPS front end (http_server.h) and the
// REST logic (api_server.h), so the logic does not see Beast or TLS.
//
// Thread-safety: plain values; a ResponseWriter is used by one thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dev-apiserver/authn/user_info.h"

namespace novacron::devapi {

struct Request {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string path;    // decoded path without the query
  std::map<std::string, std::string> query;
  std::string accept;
  std::string content_type;
  std::string body;
  authn::UserInfo user;  // the authenticated user (the impersonated one after RequestGate)
  // The Impersonate-* headers, names lower-cased, in the order received.
  std::vector<std::pair<std::string, std::string>> impersonation;
};

// A streaming response body (watch). writeChunk returns false once the client is gone.
class ResponseWriter {
public:
  virtual ~ResponseWriter() = default;
  virtual bool writeChunk(const std::string& data) = 0;
  virtual bool clientGone() = 0;
};

struct Response {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // A write request answered without writing: the update or patch changed nothing (as
  // kube-apiserver, the server keeps the object and its resourceVersion). For the audit log only.
  bool unchanged = false;
  // When set, the response is streamed with chunked encoding by calling this.
  std::function<void(ResponseWriter&)> stream;
};

}  // namespace novacron::devapi
