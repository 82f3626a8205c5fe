// A small client for etcd's v3 gRPC API (services KV and Watch; the messages it needs are in
// etcdpb/), over plain HTTP/2 on the client port. Keys and values are raw bytes. gRPC stays inside
// etcd_client.cc: callers see only these types and core::Status.
//
// Thread-safety: EtcdClient is thread-safe (one gRPC channel, shared by every call and watch).
// An EtcdWatch is used by one thread at a time; cancel() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/core/status.h"
#include "lib/core/statusor.h"

namespace novacron::devapi {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

struct RangeResult {
  int64_t revision = 0;  // store revision at which the range was read
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;
};

// Result of a conditional write.
struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;             // header revision (the write's revision when succeeded)
  std::optional<KeyValue> current;  // on failure: the key's current value, if it exists
  std::vector<KeyValue> deleted;    // prev_kvs of a successful delete
};

struct WatchEvent {
  bool is_delete = false;
  KeyValue kv;  // for deletes, kv.mod_revision is the delete's revision
  std::optional<KeyValue> prev_kv;
};

// One streaming etcd watch. next() blocks until events arrive.
class EtcdWatch {
public:
  virtual ~EtcdWatch() = default;
  // Returns the next batch of events (all of one revision or more). kGone with the compact
  // revision in the message when the start revision was compacted; kCancelled after cancel().
  // After any error the watch is over: do not call next() again (start a new watch).
  virtual core::StatusOr<std::vector<WatchEvent>> next() = 0;
  virtual void cancel() = 0;
};

// Returns the prefix end for a range over all keys starting with `prefix`.
std::string prefixEnd(const std::string& prefix);

class EtcdClient {
public:
  // endpoint: "http://127.0.0.1:2379".
  static core::StatusOr<std::unique_ptr<EtcdClient>> create(const std::string& endpoint);
  ~EtcdClient();

  // revision 0 = latest. range_end empty = single key. kGone when `revision` is compacted.
  core::StatusOr<RangeResult> range(const std::string& key, const std::string& range_end,
                                    int64_t limit = 0, int64_t revision = 0,
                                    bool count_only = false);
  core::StatusOr<std::optional<KeyValue>> get(const std::string& key);
  // Creates `key` only if absent.
  core::StatusOr<TxnResult> create(const std::string& key, const std::string& value);
  // Writes `key` only if its mod_revision still equals `mod_revision`.
  core::StatusOr<TxnResult> update(const std::string& key, const std::string& value,
                                   int64_t mod_revision);
  // Deletes `key` only if its mod_revision still equals `mod_revision` (0: unconditionally).
  core::StatusOr<TxnResult> remove(const std::string& key, int64_t mod_revision);
  // Deletes every key in [key, range_end) unconditionally; returns how many were deleted.
  core::StatusOr<int64_t> removeRange(const std::string& key, const std::string& range_end);
  core::Status compact(int64_t revision);
  core::StatusOr<int64_t> currentRevision();
  // Starts a watch of [key, range_end) from start_revision (0: now). With prev_kv, each event
  // carries the key's previous value (etcd reads it from its backend for every event).
  core::StatusOr<std::unique_ptr<EtcdWatch>> watch(const std::string& key,
                                                   const std::string& range_end,
                                                   int64_t start_revision, bool prev_kv = true);

private:
  struct Impl;
  explicit EtcdClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace novacron::devapi
