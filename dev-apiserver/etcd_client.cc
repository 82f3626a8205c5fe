#include "dev-apiserver/etcd_client.h"

#include <atomic>
#include <chrono>
#include <mutex>

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include "dev-apiserver/etcdpb/rpc.grpc.pb.h"

namespace novacron::devapi {

namespace pb = etcdserverpb;

namespace {

// Unary calls get a deadline so that a wedged etcd fails requests instead of holding the API
// server's threads forever; a whole-store range of a big cluster takes well under a second.
constexpr auto kCallDeadline = std::chrono::seconds(60);

KeyValue fromPb(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  return out;
}

// etcd's errors arrive as gRPC statuses; the message says which (etcd's rpctypes).
core::Status fromGrpc(const char* method, const grpc::Status& s) {
  const std::string& message = s.error_message();
  if (message.find("required revision has been compacted") != std::string::npos) {
    return core::goneError(message);
  }
  if (message.find("future revision") != std::string::npos) {
    return core::invalidArgumentError(message);
  }
  // Requests that can never succeed as they are (etcd: "request is too large", "too many
  // operations in txn request"; our own receive limit): terminal, not a reason to retry.
  if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
      s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return core::invalidArgumentError(std::string("etcd ") + method + ": " + message);
  }
  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return core::internalError(std::string("etcd ") + method + ": " + message);
  }
  return core::unavailableError(std::string("etcd ") + method + ": " + message + " (gRPC code " +
                                std::to_string(static_cast<int>(s.error_code())) + ")");
}

void setDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
}

TxnResult fromTxn(const pb::TxnResponse& resp) {
  TxnResult r;
  r.succeeded = resp.succeeded();
  r.revision = resp.header().revision();
  for (const auto& op : resp.responses()) {
    if (op.has_response_range()) {
      for (const auto& kv : op.response_range().kvs()) {
        r.current = fromPb(kv);
      }
    }
    if (op.has_response_delete_range()) {
      for (const auto& kv : op.response_delete_range().prev_kvs()) {
        r.deleted.push_back(fromPb(kv));
      }
    }
  }
  return r;
}

// A compare on the key's mod revision (`target` MOD) or create revision (CREATE).
void addCompare(pb::TxnRequest& txn, const std::string& key, pb::Compare::CompareTarget target,
                int64_t revision) {
  pb::Compare* c = txn.add_compare();
  c->set_key(key);
  c->set_target(target);
  c->set_result(pb::Compare::EQUAL);
  if (target == pb::Compare::CREATE) {
    c->set_create_revision(revision);
  } else {
    c->set_mod_revision(revision);
  }
}

void addFailureRead(pb::TxnRequest& txn, const std::string& key) {
  txn.add_failure()->mutable_request_range()->set_key(key);
}

class WatchImpl : public EtcdWatch {
public:
  explicit WatchImpl(pb::Watch::Stub& stub) : stub_(stub) {}

  ~WatchImpl() override {
    ctx_.TryCancel();
    if (stream_ && !finished_) {
      pb::WatchResponse drain;
      while (stream_->Read(&drain)) {
      }
      (void)stream_->Finish();
    }
  }

  core::Status start(const pb::WatchRequest& create) {
    stream_ = stub_.Watch(&ctx_);
    if (!stream_->Write(create)) {
      return finish("etcd watch: the stream closed before the create request was sent");
    }
    // etcd answers a create request first, before any event of that watcher (a compacted start
    // revision comes after it, through next()).
    pb::WatchResponse resp;
    if (!stream_->Read(&resp)) {
      return finish("etcd watch: the stream closed before the watch was created");
    }
    if (resp.canceled()) {
      return core::unavailableError("etcd watch canceled: " + resp.cancel_reason());
    }
    return core::okStatus();
  }

  core::StatusOr<std::vector<WatchEvent>> next() override {
    while (true) {
      pb::WatchResponse resp;
      if (cancelled_) {
        return core::cancelledError("watch cancelled");
      } else if (!stream_->Read(&resp)) {
        if (cancelled_) {
          return core::cancelledError("watch cancelled");
        }
        return finish("etcd watch stream ended");
      }
      if (resp.compact_revision() > 0) {
        return compacted(resp.compact_revision());
      }
      if (resp.canceled()) {
        return core::unavailableError("etcd watch canceled: " + resp.cancel_reason());
      }
      if (resp.events_size() == 0) {
        continue;  // a progress notification
      }
      std::vector<WatchEvent> events;
      events.reserve(static_cast<size_t>(resp.events_size()));
      for (auto& e : *resp.mutable_events()) {
        WatchEvent ev;
        ev.is_delete = e.type() == mvccpb::Event::DELETE;
        ev.kv = fromPb(e.kv());
        if (e.has_prev_kv()) {
          ev.prev_kv = fromPb(e.prev_kv());
        }
        events.push_back(std::move(ev));
      }
      return events;
    }
  }

  void cancel() override {
    cancelled_ = true;
    ctx_.TryCancel();
  }

private:
  static core::Status compacted(int64_t compact_revision) {
    return core::goneError("required revision has been compacted; compact revision " +
                           std::to_string(compact_revision));
  }

  // The stream is over: its status says why.
  core::Status finish(const std::string& what) {
    finished_ = true;
    grpc::Status s = stream_->Finish();
    if (s.ok()) {
      return core::unavailableError(what);
    }
    return fromGrpc("watch", s);
  }

  pb::Watch::Stub& stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
  bool finished_ = false;
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
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
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
  if (colon == std::string::npos || colon + 1 == rest.size()) {
    return core::invalidArgumentError("etcd endpoint needs a port: " + endpoint);
  }
  // Debian builds Abseil without NDEBUG, so every absl::Mutex that gRPC locks (several per call)
  // also maintained a process-wide lock-order graph under one global lock, for a deadlock report
  // nobody reads (perf: GraphCycles in the dev API server's Txn path, issue 15). gRPC is the only
  // user of Abseil here.
  static std::once_flag no_deadlock_graph;
  std::call_once(no_deadlock_graph,
                 [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
  grpc::ChannelArguments args;
  // Lists of a whole resource come back in one message (gRPC's default limit is 4 MiB).
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  // etcd may start after us or restart under us: reconnect within a second, not gRPC's 2 minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto impl = std::make_unique<Impl>();
  // etcd serves gRPC and its HTTP gateway on the same client port (plain HTTP/2 here).
  impl->channel = grpc::CreateCustomChannel(rest, grpc::InsecureChannelCredentials(), args);
  impl->kv = pb::KV::NewStub(impl->channel);
  impl->watch = pb::Watch::NewStub(impl->channel);
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(impl)));
}

core::StatusOr<RangeResult> EtcdClient::range(const std::string& key, const std::string& range_end,
                                              int64_t limit, int64_t revision, bool count_only) {
  pb::RangeRequest req;
  req.set_key(key);
  req.set_range_end(range_end);
  req.set_limit(limit);
  req.set_revision(revision);
  req.set_count_only(count_only);
  pb::RangeResponse resp;
  grpc::ClientContext ctx;
  setDeadline(ctx);
  grpc::Status s = impl_->kv->Range(&ctx, req, &resp);
  if (!s.ok()) {
    return fromGrpc("range", s);
  }
  RangeResult r;
  r.revision = resp.header().revision();
  r.kvs.reserve(static_cast<size_t>(resp.kvs_size()));
  for (auto& kv : *resp.mutable_kvs()) {
    KeyValue out;
    out.key = std::move(*kv.mutable_key());
    out.value = std::move(*kv.mutable_value());
    out.create_revision = kv.create_revision();
    out.mod_revision = kv.mod_revision();
    r.kvs.push_back(std::move(out));
  }
  r.more = resp.more();
  r.count = resp.count();
  return r;
}

core::StatusOr<std::optional<KeyValue>> EtcdClient::get(const std::string& key) {
  NOVACRON_ASSIGN_OR_RETURN(RangeResult r, range(key, ""));
  if (r.kvs.empty()) {
    return std::optional<KeyValue>();
  }
  return std::optional<KeyValue>(std::move(r.kvs.front()));
}

namespace {

core::StatusOr<TxnResult> runTxn(pb::KV::Stub& kv, const pb::TxnRequest& req) {
  pb::TxnResponse resp;
  grpc::ClientContext ctx;
  setDeadline(ctx);
  grpc::Status s = kv.Txn(&ctx, req, &resp);
  if (!s.ok()) {
    return fromGrpc("txn", s);
  }
  return fromTxn(resp);
}

}  // namespace

core::StatusOr<TxnResult> EtcdClient::create(const std::string& key, const std::string& value) {
  pb::TxnRequest txn;
  addCompare(txn, key, pb::Compare::CREATE, 0);
  pb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  addFailureRead(txn, key);
  return runTxn(*impl_->kv, txn);
}

core::StatusOr<TxnResult> EtcdClient::update(const std::string& key, const std::string& value,
                                             int64_t mod_revision) {
  pb::TxnRequest txn;
  addCompare(txn, key, pb::Compare::MOD, mod_revision);
  pb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  addFailureRead(txn, key);
  return runTxn(*impl_->kv, txn);
}

core::StatusOr<TxnResult> EtcdClient::remove(const std::string& key, int64_t mod_revision) {
  pb::TxnRequest txn;
  if (mod_revision > 0) {
    addCompare(txn, key, pb::Compare::MOD, mod_revision);
  }
  pb::DeleteRangeRequest* del = txn.add_success()->mutable_request_delete_range();
  del->set_key(key);
  del->set_prev_kv(true);
  addFailureRead(txn, key);
  NOVACRON_ASSIGN_OR_RETURN(TxnResult r, runTxn(*impl_->kv, txn));
  if (mod_revision == 0) {
    r.succeeded = true;
  }
  return r;
}

core::StatusOr<int64_t> EtcdClient::removeRange(const std::string& key,
                                                const std::string& range_end) {
  pb::DeleteRangeRequest req;
  req.set_key(key);
  req.set_range_end(range_end);
  pb::DeleteRangeResponse resp;
  grpc::ClientContext ctx;
  setDeadline(ctx);
  grpc::Status s = impl_->kv->DeleteRange(&ctx, req, &resp);
  if (!s.ok()) {
    return fromGrpc("deleterange", s);
  }
  return resp.deleted();
}

core::Status EtcdClient::compact(int64_t revision) {
  pb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(true);
  pb::CompactionResponse resp;
  grpc::ClientContext ctx;
  setDeadline(ctx);
  grpc::Status s = impl_->kv->Compact(&ctx, req, &resp);
  if (!s.ok()) {
    return fromGrpc("compact", s);
  }
  return core::okStatus();
}

core::StatusOr<int64_t> EtcdClient::currentRevision() {
  NOVACRON_ASSIGN_OR_RETURN(RangeResult r, range(std::string(1, '\0'), "", 1, 0, true));
  return r.revision;
}

core::StatusOr<std::unique_ptr<EtcdWatch>> EtcdClient::watch(const std::string& key,
                                                             const std::string& range_end,
                                                             int64_t start_revision, bool prev_kv) {
  pb::WatchRequest req;
  pb::WatchCreateRequest* create = req.mutable_create_request();
  create->set_key(key);
  create->set_range_end(range_end);
  create->set_start_revision(start_revision);
  create->set_prev_kv(prev_kv);
  auto w = std::make_unique<WatchImpl>(*impl_->watch);
  NOVACRON_RETURN_IF_ERROR(w->start(req));
  return std::unique_ptr<EtcdWatch>(std::move(w));
}

}  // namespace novacron::devapi
