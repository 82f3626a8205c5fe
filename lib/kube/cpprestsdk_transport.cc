// The only file that includes cpprestsdk (and through it Boost.Asio's SSL context). Every
// cpprestsdk/Boost exception is caught here and turned into a core::Status.
#include "lib/kube/cpprestsdk_transport.h"

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

// spdlog (fmt) must come before cpprestsdk, whose U() macro breaks fmt's templates.
// clang-format off
#include <spdlog/spdlog.h>
// clang-format on

#include <boost/asio/ssl.hpp>
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lib/kube/exec_credential.h"
#include "lib/kube/line_splitter.h"
#include "lib/kube/sync_request_client.h"
#include "lib/kube/tls_material.h"
#include "lib/kube/token_source.h"

namespace novacron::kube {
namespace {

namespace http = web::http;
namespace client = web::http::client;

bool isTimeout(const std::error_code& ec) {
  return ec == std::errc::timed_out || ec.value() == static_cast<int>(std::errc::timed_out);
}

// Maps an exception thrown by a cpprestsdk task to a Status.
core::Status statusFromException(std::exception_ptr error, const std::string& what) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const http::http_exception& e) {
    if (isTimeout(e.error_code())) {
      return core::deadlineExceededError(what + ": timed out: " + e.what());
    }
    return core::unavailableError(what + ": " + e.what());
  } catch (const pplx::task_canceled&) {
    return core::cancelledError(what + ": cancelled");
  } catch (const boost::system::system_error& e) {
    return core::unavailableError(what + ": " + e.what());
  } catch (const std::exception& e) {
    return core::unavailableError(what + ": " + e.what());
  } catch (...) {
    return core::internalError(what + ": unknown exception");
  }
}

// Checks that PEM text holds at least one certificate / a private key before handing it to the
// TLS context, so a bad kubeconfig fails when the client is built, not on the first request.
core::Status checkPem(const std::string& pem, bool key, const std::string& what) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    return core::internalError("BIO_new_mem_buf failed");
  }
  bool ok;
  if (key) {
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    ok = pkey != nullptr;
    EVP_PKEY_free(pkey);
  } else {
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    ok = cert != nullptr;
    X509_free(cert);
  }
  BIO_free(bio);
  ERR_clear_error();
  if (!ok) {
    return core::invalidArgumentError(what + " is not a valid PEM " +
                                      (key ? "private key" : "certificate"));
  }
  return core::okStatus();
}

// A body reader for one streamed response; see StreamHandle.
class CpprestStreamHandle final : public StreamHandle {
public:
  CpprestStreamHandle(std::shared_ptr<client::http_client> http_client,
                      std::shared_ptr<pplx::cancellation_token_source> cancel, HttpResponse head)
      : http_client_(std::move(http_client)), cancel_(std::move(cancel)), head_(std::move(head)) {}

  ~CpprestStreamHandle() override {
    cancel();
    if (reader_.joinable()) {
      reader_.join();
    }
  }

  // Starts reading `body` on the reader thread.
  void start(concurrency::streams::istream body, LineCallback on_line, std::string what) {
    reader_ = std::thread([this, body, cb = std::move(on_line), what = std::move(what)]() mutable {
      finish(read(body, cb, what));
    });
  }

  // For non-2xx responses: nothing to read.
  void markDone() { finish({StreamEnd::kEof, core::okStatus()}); }

  const HttpResponse& response() const override { return head_; }

  void cancel() override {
    {
      std::lock_guard lock(mu_);
      if (done_ || cancelled_) {
        return;
      }
      cancelled_ = true;
    }
    // Closes the connection; the pending read on the reader thread then fails.
    cancel_->cancel();
  }

  StreamResult wait() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return result_;
  }

  bool done() const override {
    std::lock_guard lock(mu_);
    return done_;
  }

private:
  bool cancelRequested() {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  // Reads whatever bytes have arrived in blocks (waiting for one byte only when none are
  // buffered), so a line is delivered as soon as its newline arrives without paying a task per
  // character (istream::read_line is several times slower for watch-sized events).
  StreamResult read(concurrency::streams::istream& body, const LineCallback& on_line,
                    const std::string& what) {
    using Traits = concurrency::streams::streambuf<uint8_t>::traits;
    LineSplitter lines(on_line);
    std::vector<uint8_t> block(64 * 1024);
    try {
      auto buffer = body.streambuf();
      while (!cancelRequested()) {
        size_t got = 0;  // bytes in `block`
        if (buffer.in_avail() == 0) {
          auto ch = buffer.bumpc().get();  // waits for data, EOF or a failure
          if (cancelRequested()) {
            break;
          }
          if (ch == Traits::eof()) {
            if (!lines.finish()) {
              return stoppedByCallback(what);
            }
            return {StreamEnd::kEof, core::okStatus()};
          }
          block[got++] = static_cast<uint8_t>(ch);
        }
        if (size_t more = buffer.in_avail(); more > 0) {
          got += buffer.getn(block.data() + got, std::min(more, block.size() - got)).get();
        }
        if (cancelRequested()) {
          break;
        }
        if (!lines.feed(std::string_view(reinterpret_cast<const char*>(block.data()), got))) {
          return stoppedByCallback(what);
        }
      }
    } catch (...) {
      if (!cancelRequested()) {
        core::Status status = statusFromException(std::current_exception(), what);
        return {StreamEnd::kError, status};
      }
    }
    return {StreamEnd::kCancelled, core::cancelledError(what + ": stream cancelled")};
  }

  StreamResult stoppedByCallback(const std::string& what) {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cancel_->cancel();
    return {StreamEnd::kCancelled, core::cancelledError(what + ": stopped by the line callback")};
  }

  void finish(StreamResult result) {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      result_ = std::move(result);
    }
    cv_.notify_all();
  }

  std::shared_ptr<client::http_client> http_client_;  // keeps the connection alive
  std::shared_ptr<pplx::cancellation_token_source> cancel_;
  const HttpResponse head_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;  // guarded by mu_
  bool done_ = false;       // guarded by mu_
  StreamResult result_;     // guarded by mu_
  std::thread reader_;
};

class CpprestsdkTransport final : public HttpTransport {
public:
  CpprestsdkTransport(Config config, TlsMaterial tls, ExecCredentialProviderPtr exec,
                      std::unique_ptr<SyncRequestClient> sync)
      : config_(std::move(config)),
        tls_(std::make_shared<TlsMaterial>(std::move(tls))),
        tokens_(config_.token, config_.token_file),
        exec_(std::move(exec)),
        sync_(std::move(sync)) {}

  core::StatusOr<HttpResponse> send(const HttpRequest& request) override {
    auto first = sendOnce(request);
    if (first.isOk() && first->status == 401 && exec_) {
      // An exec credential the server no longer accepts (revoked, expired early): ask the
      // plugin again, once, as client-go does.
      return sendOnce(request);
    }
    return first;
  }

  core::StatusOr<HttpResponse> sendOnce(const HttpRequest& request) {
    std::string what = request.method + " " + config_.server + request.path;
    if (sync_) {
      // Request/response exchanges on the calling thread (sync_request_client.h).
      NOVACRON_ASSIGN_OR_RETURN(Credentials cred, credentials());
      HttpHeaders extra;
      if (!cred.token.empty()) {
        extra.emplace_back("Authorization", "Bearer " + cred.token);
      }
      auto out = sync_->send(request, extra, cred.tls, effectiveTimeout(request));
      if (!out.isOk()) {
        return out.status().withContext(config_.server);
      }
      if (out->status == 401 && exec_) {
        exec_->invalidate(cred.token);
      }
      return out;
    }
    try {
      NOVACRON_ASSIGN_OR_RETURN(Prepared prepared, buildMessage(request));
      auto http_client = clientFor(effectiveTimeout(request), prepared.tls);
      http::http_response response = http_client->request(prepared.message).get();
      HttpResponse out;
      out.status = response.status_code();
      out.headers = headersOf(response);
      out.body = response.extract_utf8string(true).get();
      if (out.status == 401) {
        rejected(prepared);
      }
      return out;
    } catch (...) {
      return statusFromException(std::current_exception(), what);
    }
  }

  core::StatusOr<StreamHandlePtr> openStream(const HttpRequest& request,
                                             LineCallback on_line) override {
    auto first = openStreamOnce(request, on_line);
    if (first.isOk() && (*first)->response().status == 401 && exec_) {
      return openStreamOnce(request, std::move(on_line));
    }
    return first;
  }

  core::StatusOr<StreamHandlePtr> openStreamOnce(const HttpRequest& request, LineCallback on_line) {
    std::string what = request.method + " " + config_.server + request.path;
    if (sync_) {
      NOVACRON_ASSIGN_OR_RETURN(Credentials cred, credentials());
      HttpHeaders extra;
      if (!cred.token.empty()) {
        extra.emplace_back("Authorization", "Bearer " + cred.token);
      }
      auto out = sync_->openStream(request, extra, cred.tls, effectiveTimeout(request),
                                   std::move(on_line));
      if (!out.isOk()) {
        return out.status().withContext(config_.server);
      }
      if ((*out)->response().status == 401 && exec_) {
        exec_->invalidate(cred.token);
      }
      return out;
    }
    try {
      NOVACRON_ASSIGN_OR_RETURN(Prepared prepared, buildMessage(request));
      // One client (and connection) per stream: its timeout is the stream's inactivity limit.
      auto http_client = newClient(effectiveTimeout(request), prepared.tls);
      auto cancel = std::make_shared<pplx::cancellation_token_source>();
      http::http_response response =
          http_client->request(prepared.message, cancel->get_token()).get();
      HttpResponse head;
      head.status = response.status_code();
      head.headers = headersOf(response);
      bool ok = head.status >= 200 && head.status < 300;
      if (!ok) {
        head.body = response.extract_utf8string(true).get();
      }
      if (head.status == 401) {
        rejected(prepared);
      }
      auto handle = std::make_unique<CpprestStreamHandle>(http_client, cancel, std::move(head));
      if (ok) {
        handle->start(response.body(), std::move(on_line), what);
      } else {
        handle->markDone();
      }
      return StreamHandlePtr(std::move(handle));
    } catch (...) {
      return statusFromException(std::current_exception(), what);
    }
  }

private:
  std::chrono::milliseconds effectiveTimeout(const HttpRequest& request) const {
    return request.timeout.count() > 0 ? request.timeout : config_.timeout;
  }

  // A request ready to send, with the credentials it carries.
  struct Prepared {
    http::http_request message;
    std::string token;
    std::shared_ptr<const TlsMaterial> tls;
  };

  // The server refused these credentials: an exec plugin's are fetched again next time.
  void rejected(const Prepared& prepared) {
    if (exec_) {
      exec_->invalidate(prepared.token);
    }
  }

  // The bearer token and TLS material a request goes with now.
  struct Credentials {
    std::string token;
    std::shared_ptr<const TlsMaterial> tls;
  };

  core::StatusOr<Credentials> credentials() {
    Credentials cred;
    cred.tls = tls_;
    NOVACRON_ASSIGN_OR_RETURN(cred.token, tokens_.token());
    if (exec_) {
      NOVACRON_ASSIGN_OR_RETURN(ExecCredential exec_cred, exec_->get());
      if (!exec_cred.token.empty()) {
        cred.token = exec_cred.token;
      }
      if (!exec_cred.client_cert_pem.empty()) {
        cred.tls = execTls(exec_cred);
      }
    }
    return cred;
  }

  core::StatusOr<Prepared> buildMessage(const HttpRequest& request) {
    Prepared prepared;
    prepared.tls = tls_;
    http::http_request message(request.method);
    message.set_request_uri(web::uri(request.path));
    std::string content_type = "application/json";
    for (const auto& [name, value] : request.headers) {
      if (name == "Content-Type" || name == "content-type") {
        content_type = value;
      } else {
        message.headers().add(name, value);
      }
    }
    NOVACRON_ASSIGN_OR_RETURN(std::string token, tokens_.token());
    if (exec_) {
      NOVACRON_ASSIGN_OR_RETURN(ExecCredential cred, exec_->get());
      if (!cred.token.empty()) {
        token = cred.token;
      }
      if (!cred.client_cert_pem.empty()) {
        prepared.tls = execTls(cred);
      }
    }
    if (!token.empty()) {
      message.headers().add("Authorization", "Bearer " + token);
    }
    if (!request.body.empty()) {
      message.set_body(request.body, content_type);
    }
    prepared.message = std::move(message);
    prepared.token = std::move(token);
    return prepared;
  }

  // TLS material with the exec plugin's client certificate; the same object while the plugin
  // returns the same certificate, so pooled connections are reused until it changes.
  std::shared_ptr<const TlsMaterial> execTls(const ExecCredential& cred) {
    std::lock_guard lock(mu_);
    if (!exec_tls_ || exec_tls_->cert_pem != cred.client_cert_pem ||
        exec_tls_->key_pem != cred.client_key_pem) {
      exec_tls_ = std::make_shared<TlsMaterial>(
          TlsMaterial{tls_->ca_pem, cred.client_cert_pem, cred.client_key_pem});
    }
    return exec_tls_;
  }

  static HttpHeaders headersOf(const http::http_response& response) {
    HttpHeaders out;
    for (const auto& [name, value] : response.headers()) {
      out.emplace_back(name, value);
    }
    return out;
  }

  std::shared_ptr<client::http_client> newClient(std::chrono::milliseconds timeout,
                                                 std::shared_ptr<const TlsMaterial> tls) const {
    client::http_client_config cfg;
    cfg.set_timeout(timeout);
    cfg.set_validate_certificates(!config_.insecure_skip_tls_verify);
    cfg.set_ssl_context_callback([tls](boost::asio::ssl::context& ctx) {
      // Exceptions here would escape into cpprestsdk's connection setup; report and continue so
      // the handshake fails with a clear verification error instead.
      try {
        if (!tls->ca_pem.empty()) {
          ctx.add_certificate_authority(boost::asio::buffer(tls->ca_pem));
        }
        if (!tls->cert_pem.empty()) {
          ctx.use_certificate_chain(boost::asio::buffer(tls->cert_pem));
          ctx.use_private_key(boost::asio::buffer(tls->key_pem), boost::asio::ssl::context::pem);
        }
      } catch (const std::exception& e) {
        spdlog::error("kube transport: configuring TLS failed: {}", e.what());
      }
    });
    return std::make_shared<client::http_client>(web::uri(config_.server), cfg);
  }

  std::shared_ptr<client::http_client> clientFor(std::chrono::milliseconds timeout,
                                                 const std::shared_ptr<const TlsMaterial>& tls) {
    std::lock_guard lock(mu_);
    if (clients_tls_ != tls) {
      clients_.clear();  // a new client certificate from the exec plugin: new connections
      clients_tls_ = tls;
    }
    auto& slot = clients_[timeout.count()];
    if (!slot) {
      slot = newClient(timeout, tls);
    }
    return slot;
  }

  const Config config_;
  const std::shared_ptr<const TlsMaterial> tls_;
  TokenSource tokens_;
  const ExecCredentialProviderPtr exec_;           // null without an exec plugin
  const std::unique_ptr<SyncRequestClient> sync_;  // null: everything through cpprestsdk
  std::mutex mu_;
  std::shared_ptr<const TlsMaterial> exec_tls_;     // guarded by mu_
  std::shared_ptr<const TlsMaterial> clients_tls_;  // what clients_ were built with; guarded by mu_
  // Clients by timeout (ms): cpprestsdk fixes the timeout per client; each pools connections.
  std::map<int64_t, std::shared_ptr<client::http_client>> clients_;  // guarded by mu_
};

}  // namespace

core::StatusOr<HttpTransportPtr> newCpprestsdkTransport(const Config& config) {
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    return core::invalidArgumentError(config.source + ": server \"" + config.server +
                                      "\" is not an http(s) URL");
  }
  try {
    web::uri check(config.server);
    (void)check;
  } catch (const std::exception& e) {
    return core::invalidArgumentError(config.source + ": server \"" + config.server +
                                      "\": " + e.what());
  }
  if (config.server.rfind("http://", 0) == 0 &&
      (!config.token.empty() || !config.token_file.empty() || config.exec)) {
    // A bearer token in clear text is a credential handed to anyone on the path.
    return core::invalidArgumentError(config.source +
                                      ": refusing to send a bearer token over plain http:// to " +
                                      config.server + "; use an https:// server");
  }
  if (!config.ca_pem.empty()) {
    NOVACRON_RETURN_IF_ERROR(checkPem(config.ca_pem, false, config.source + ": CA data"));
  }
  if (!config.client_cert_pem.empty() || !config.client_key_pem.empty()) {
    NOVACRON_RETURN_IF_ERROR(
        checkPem(config.client_cert_pem, false, config.source + ": client certificate"));
    NOVACRON_RETURN_IF_ERROR(checkPem(config.client_key_pem, true, config.source + ": client key"));
  }
  TlsMaterial tls{config.ca_pem, config.client_cert_pem, config.client_key_pem};
  ExecCredentialProviderPtr exec;
  if (config.exec) {
    exec = std::make_shared<ExecCredentialProvider>(config, core::newProcessRunner(),
                                                    core::systemClock());
  }
  // Requests on the calling thread, streams on their own reader thread;
  // NOVACRON_KUBE_SEND=cpprestsdk keeps both on cpprestsdk (to compare).
  std::unique_ptr<SyncRequestClient> sync;
  const char* send_impl = std::getenv("NOVACRON_KUBE_SEND");
  if (send_impl == nullptr || std::string(send_impl) != "cpprestsdk") {
    auto created = SyncRequestClient::create(config.server, config.insecure_skip_tls_verify);
    if (created.isOk()) {
      sync = std::move(*created);
    } else {
      spdlog::warn("kube transport: {}; sending through cpprestsdk", created.status().toString());
    }
  }
  return HttpTransportPtr(std::make_unique<CpprestsdkTransport>(config, std::move(tls),
                                                                std::move(exec), std::move(sync)));
}

}  // namespace novacron::kube
