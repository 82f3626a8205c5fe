#include "dev-apiserver/etcd_client.h"

#include <atomic>
#include <deque>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <sys/socket.h>

#include "dev-apiserver/base64.h"

namespace novacron::devapi {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

int64_t toInt(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) {
    return 0;
  }
  if (it->is_string()) {
    return std::stoll(it->get<std::string>());
  }
  return it->get<int64_t>();
}

KeyValue parseKv(const json& j) {
  KeyValue kv;
  kv.key = base64Decode(j.value("key", "")).value_or("");
  kv.value = base64Decode(j.value("value", "")).value_or("");
  kv.create_revision = toInt(j, "create_revision");
  kv.mod_revision = toInt(j, "mod_revision");
  return kv;
}

core::Status errorFromBody(int http_status, const std::string& body) {
  std::string message = body;
  try {
    auto j = json::parse(body);
    message = j.value("message", body);
  } catch (const std::exception&) {
  }
  if (message.find("required revision has been compacted") != std::string::npos) {
    return core::goneError(message);
  }
  if (message.find("future revision") != std::string::npos) {
    return core::invalidArgumentError(message);
  }
  return core::unavailableError("etcd HTTP " + std::to_string(http_status) + ": " + message);
}

struct Endpoint {
  std::string host;
  std::string port;
};

class WatchImpl : public EtcdWatch {
public:
  WatchImpl(Endpoint ep) : ep_(std::move(ep)), socket_(ioc_) {}

  core::Status start(const std::string& body) {
    try {
      tcp::resolver resolver(ioc_);
      net::connect(socket_, resolver.resolve(ep_.host, ep_.port));
      http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
      req.set(http::field::host, ep_.host);
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      http::write(socket_, req);
      parser_.body_limit(boost::none);
      http::read_header(socket_, buffer_, parser_);
      if (parser_.get().result_int() != 200) {
        return core::unavailableError("etcd watch HTTP " +
                                      std::to_string(parser_.get().result_int()));
      }
    } catch (const std::exception& e) {
      return core::unavailableError(std::string("etcd watch: ") + e.what());
    }
    return core::okStatus();
  }

  core::StatusOr<std::vector<WatchEvent>> next() override {
    while (true) {
      size_t nl;
      while ((nl = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        if (line.empty()) {
          continue;
        }
        json j;
        try {
          j = json::parse(line);
        } catch (const std::exception& e) {
          return core::internalError(std::string("etcd watch: bad JSON: ") + e.what());
        }
        if (j.contains("error")) {
          return core::unavailableError("etcd watch error: " + j["error"].dump());
        }
        const json& r = j.value("result", json::object());
        if (r.contains("compact_revision") && toInt(r, "compact_revision") > 0) {
          return core::goneError("required revision has been compacted; compact revision " +
                                 std::to_string(toInt(r, "compact_revision")));
        }
        if (r.value("canceled", false)) {
          return core::unavailableError("etcd watch canceled: " + r.dump());
        }
        std::vector<WatchEvent> events;
        for (const auto& e : r.value("events", json::array())) {
          WatchEvent ev;
          ev.is_delete = e.value("type", "PUT") == "DELETE";
          ev.kv = parseKv(e.value("kv", json::object()));
          if (e.contains("prev_kv")) {
            ev.prev_kv = parseKv(e["prev_kv"]);
          }
          events.push_back(std::move(ev));
        }
        if (!events.empty()) {
          return events;
        }
      }
      if (cancelled_) {
        return core::cancelledError("watch cancelled");
      }
      char buf[16384];
      parser_.get().body().data = buf;
      parser_.get().body().size = sizeof(buf);
      beast::error_code ec;
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec == http::error::need_buffer) {
        ec = {};
      }
      if (cancelled_) {
        return core::cancelledError("watch cancelled");
      }
      if (ec) {
        return core::unavailableError("etcd watch read: " + ec.message());
      }
      pending_.append(buf, sizeof(buf) - parser_.get().body().size);
      if (parser_.is_done()) {
        return core::unavailableError("etcd watch stream ended");
      }
    }
  }

  void cancel() override {
    cancelled_ = true;
    ::shutdown(socket_.native_handle(), SHUT_RDWR);
  }

private:
  Endpoint ep_;
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::string pending_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::string prefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto c = static_cast<unsigned char>(end.back());
    if (c < 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

struct EtcdClient::Impl {
  Endpoint ep;
  net::io_context ioc;
  std::mutex mu;  // guards idle
  std::deque<std::unique_ptr<tcp::socket>> idle;
};

EtcdClient::EtcdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EtcdClient::~EtcdClient() = default;

core::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::create(const std::string& endpoint) {
  std::string rest = endpoint;
  const std::string scheme = "http://";
  if (rest.rfind(scheme, 0) != 0) {
    return core::invalidArgumentError("etcd endpoint must be http://host:port, got " + endpoint);
  }
  rest = rest.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') {
    rest.pop_back();
  }
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    return core::invalidArgumentError("etcd endpoint needs a port: " + endpoint);
  }
  auto impl = std::make_unique<Impl>();
  impl->ep.host = rest.substr(0, colon);
  impl->ep.port = rest.substr(colon + 1);
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(impl)));
}

core::StatusOr<std::string> EtcdClient::call(const std::string& path, const std::string& body) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<tcp::socket> sock;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (!impl_->idle.empty()) {
        sock = std::move(impl_->idle.front());
        impl_->idle.pop_front();
      }
    }
    bool reused = sock != nullptr;
    try {
      if (!sock) {
        sock = std::make_unique<tcp::socket>(impl_->ioc);
        tcp::resolver resolver(impl_->ioc);
        net::connect(*sock, resolver.resolve(impl_->ep.host, impl_->ep.port));
        sock->set_option(tcp::no_delay(true));
      }
      http::request<http::string_body> req{http::verb::post, path, 11};
      req.set(http::field::host, impl_->ep.host);
      req.set(http::field::content_type, "application/json");
      req.keep_alive(true);
      req.body() = body;
      req.prepare_payload();
      http::write(*sock, req);
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      http::read(*sock, buffer, parser);
      auto res = parser.release();
      if (res.keep_alive()) {
        std::lock_guard<std::mutex> lock(impl_->mu);
        impl_->idle.push_back(std::move(sock));
      }
      if (res.result_int() != 200) {
        return errorFromBody(res.result_int(), res.body());
      }
      return std::move(res.body());
    } catch (const std::exception& e) {
      if (reused) {
        continue;  // a stale keep-alive connection; retry on a fresh one
      }
      return core::unavailableError(std::string("etcd ") + path + ": " + e.what());
    }
  }
  return core::unavailableError("etcd " + path + ": connection failed");
}

namespace {

core::StatusOr<json> callJson(EtcdClient& client, const std::string& path, const json& body) {
  NOVACRON_ASSIGN_OR_RETURN(std::string text, client.call(path, body.dump()));
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    return core::internalError(std::string("etcd: bad JSON response: ") + e.what());
  }
}

TxnResult parseTxn(const json& j) {
  TxnResult r;
  r.succeeded = j.value("succeeded", false);
  r.revision = toInt(j.value("header", json::object()), "revision");
  for (const auto& resp : j.value("responses", json::array())) {
    if (resp.contains("response_range")) {
      for (const auto& kv : resp["response_range"].value("kvs", json::array())) {
        r.current = parseKv(kv);
      }
    }
    if (resp.contains("response_delete_range")) {
      for (const auto& kv : resp["response_delete_range"].value("prev_kvs", json::array())) {
        r.deleted.push_back(parseKv(kv));
      }
    }
  }
  return r;
}

}  // namespace

core::StatusOr<RangeResult> EtcdClient::range(const std::string& key, const std::string& range_end,
                                              int64_t limit, int64_t revision, bool count_only) {
  json body = {{"key", base64Encode(key)}};
  if (!range_end.empty()) {
    body["range_end"] = base64Encode(range_end);
  }
  if (limit > 0) {
    body["limit"] = std::to_string(limit);
  }
  if (revision > 0) {
    body["revision"] = std::to_string(revision);
  }
  if (count_only) {
    body["count_only"] = true;
  }
  NOVACRON_ASSIGN_OR_RETURN(json j, callJson(*this, "/v3/kv/range", body));
  RangeResult r;
  r.revision = toInt(j.value("header", json::object()), "revision");
  for (const auto& kv : j.value("kvs", json::array())) {
    r.kvs.push_back(parseKv(kv));
  }
  r.more = j.value("more", false);
  r.count = toInt(j, "count");
  return r;
}

core::StatusOr<std::optional<KeyValue>> EtcdClient::get(const std::string& key) {
  NOVACRON_ASSIGN_OR_RETURN(RangeResult r, range(key, ""));
  if (r.kvs.empty()) {
    return std::optional<KeyValue>();
  }
  return std::optional<KeyValue>(r.kvs.front());
}

core::StatusOr<TxnResult> EtcdClient::create(const std::string& key, const std::string& value) {
  std::string k = base64Encode(key);
  json body = {
      {"compare",
       {{{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
      {"success", {{{"request_put", {{"key", k}, {"value", base64Encode(value)}}}}}},
      {"failure", {{{"request_range", {{"key", k}}}}}}};
  NOVACRON_ASSIGN_OR_RETURN(json j, callJson(*this, "/v3/kv/txn", body));
  return parseTxn(j);
}

core::StatusOr<TxnResult> EtcdClient::update(const std::string& key, const std::string& value,
                                             int64_t mod_revision) {
  std::string k = base64Encode(key);
  json body = {{"compare",
                {{{"key", k},
                  {"target", "MOD"},
                  {"result", "EQUAL"},
                  {"mod_revision", std::to_string(mod_revision)}}}},
               {"success", {{{"request_put", {{"key", k}, {"value", base64Encode(value)}}}}}},
               {"failure", {{{"request_range", {{"key", k}}}}}}};
  NOVACRON_ASSIGN_OR_RETURN(json j, callJson(*this, "/v3/kv/txn", body));
  return parseTxn(j);
}

core::StatusOr<TxnResult> EtcdClient::remove(const std::string& key, int64_t mod_revision) {
  std::string k = base64Encode(key);
  json body = {{"success", {{{"request_delete_range", {{"key", k}, {"prev_kv", true}}}}}},
               {"failure", {{{"request_range", {{"key", k}}}}}}};
  if (mod_revision > 0) {
    body["compare"] = {{{"key", k},
                        {"target", "MOD"},
                        {"result", "EQUAL"},
                        {"mod_revision", std::to_string(mod_revision)}}};
  }
  NOVACRON_ASSIGN_OR_RETURN(json j, callJson(*this, "/v3/kv/txn", body));
  TxnResult r = parseTxn(j);
  if (mod_revision == 0) {
    r.succeeded = true;
  }
  return r;
}

core::Status EtcdClient::compact(int64_t revision) {
  json body = {{"revision", std::to_string(revision)}, {"physical", true}};
  auto r = callJson(*this, "/v3/kv/compaction", body);
  return r.status();
}

core::StatusOr<int64_t> EtcdClient::currentRevision() {
  NOVACRON_ASSIGN_OR_RETURN(RangeResult r, range(std::string(1, '\0'), "", 1, 0, true));
  return r.revision;
}

core::StatusOr<std::unique_ptr<EtcdWatch>> EtcdClient::watch(const std::string& key,
                                                             const std::string& range_end,
                                                             int64_t start_revision, bool prev_kv) {
  json req = {{"key", base64Encode(key)}};
  if (prev_kv) {
    req["prev_kv"] = true;
  }
  if (!range_end.empty()) {
    req["range_end"] = base64Encode(range_end);
  }
  if (start_revision > 0) {
    req["start_revision"] = std::to_string(start_revision);
  }
  auto w = std::make_unique<WatchImpl>(impl_->ep);
  NOVACRON_RETURN_IF_ERROR(w->start(json{{"create_request", req}}.dump()));
  return std::unique_ptr<EtcdWatch>(std::move(w));
}

}  // namespace novacron::devapi
