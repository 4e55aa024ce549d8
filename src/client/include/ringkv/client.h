// The RingKV client library: the public API an application (and kvctl, kvbench, the Jepsen
// client) uses to talk to a RingKV cluster.
//
// A Client connects to any of the given endpoints, sends each request to the leader of the key's
// group (following NOT_LEADER hints and caching the leader per group), and retries with
// exponential backoff and jitter within a per-call deadline. Writes (Put, Delete,
// CompareAndSwap, Append) carry a session (client id, sequence); a retry of a write reuses the
// same pair, so the cluster applies it at most once and a retry of an applied write gets its
// original answer, however many writes are in flight (Raft thesis §6.3).
//
// Outcomes. Every call ends in exactly one of:
//   - OK with a value;
//   - a definite failure: the operation did not and will never take effect —
//       kInvalidArgument   the cluster rejected the request (key or value over the limits, ...);
//       kUnavailable       no endpoint reachable / no leader / cluster unavailable, until the
//                          deadline (every attempt failed definitely);
//       kResourceExhausted the cluster shed the request (overload, "too many requests") until
//                          the deadline, or asked to retry later than the deadline;
//   - kDeadlineExceeded: the outcome is UNKNOWN — a write may or may not have been applied (an
//     attempt timed out or its connection dropped after sending). The message says so. For reads
//     it means the last attempt timed out (a read has no effect either way).
// A compare failure of CompareAndSwap is not an error: the call returns OK with
// CasResult::succeeded == false and the current value.
//
// Thread-safety: a Client is thread-safe; any number of threads may call it concurrently. All
// network work runs on one internal I/O thread; async callbacks run on that thread and must not
// block (in particular they must not call the synchronous methods). Synchronous methods must not
// be called from a callback.
#ifndef RINGKV_CLIENT_H_
#define RINGKV_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace ringkv::client {

struct ClientOptions {
  // "host:port" client addresses of (some of) the cluster's nodes. REQUIRES: non-empty.
  std::vector<std::string> endpoints;
  // Dial + handshake timeout per connection attempt. Default: 2 s.
  std::chrono::milliseconds dial_timeout{2000};
  // Default per-call deadline, covering all retries. Default: 5 s.
  std::chrono::milliseconds request_timeout{5000};
  // Longest wait for one attempt's answer before trying again (possibly elsewhere) within the
  // call's deadline, so one hung node does not eat the whole deadline. Default: 2 s.
  std::chrono::milliseconds attempt_timeout{2000};
  // Retry backoff: first delay and cap; each retry doubles it, jittered to [d/2, d]. A server's
  // retry_after_ms (an overloaded node sheds with BUSY) is honoured as a lower bound, jittered
  // up to 1.5x; a call whose deadline comes before it ends at once with kResourceExhausted.
  // Defaults: 10 ms .. 1 s.
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{1000};
  // Cluster id to expect in the handshake; 0 = any. Default: 0.
  uint64_t cluster_id = 0;
  // If true, Connect() returns at once without checking that an endpoint answers; otherwise it
  // waits until one endpoint accepted a connection (or all failed). Default: false.
  bool lazy_connect = false;
  // Seed for backoff jitter; 0 = from std::random_device. Default: 0. Session ids always come
  // from std::random_device: clients with equal seeds never share a session.
  uint64_t seed = 0;
  // TLS to the cluster's client ports (kvctl --cacert --cert --key --insecure-skip-tls-verify).
  // Off unless `enable` or any other field is set. Connect() returns InvalidArgument naming
  // the file when one cannot be loaded.
  struct Tls {
    bool enable = false;
    // PEM CA bundle that verifies the servers; empty = the system's trust store.
    std::string ca_file;
    // Client certificate and key, for clusters that authenticate clients by certificate
    // (the certificate's CN names the user). Both or neither.
    std::string cert_file;
    std::string key_file;
    // Accept any server certificate (no chain or host name check). Development only.
    bool insecure_skip_verify = false;

    bool enabled() const {
      return enable || !ca_file.empty() || !cert_file.empty() || !key_file.empty() ||
             insecure_skip_verify;
    }
  } tls;
};

enum class Consistency {
  kLinearizable,  // read served by the leader after a ReadIndex round (default)
  kSerializable,  // read served by any replica's local state; may be stale
};

struct CallOptions {
  // Deadline of the whole call including retries; 0 = ClientOptions::request_timeout.
  std::chrono::milliseconds timeout{0};
  // Reads only. Default: linearizable.
  Consistency consistency = Consistency::kLinearizable;
  // Single-key operations (scans ignore it): where the first attempt goes, as "host:port".
  // Default: empty = the cached leader of the key's shard. Non-empty: that node, which answers or redirects like any node (a follower
  // answers a linearizable read with NOT_LEADER and the leader's address); later attempts
  // follow hints and the cache as usual. For tests and diagnostics that must exercise one
  // node's request path, as Jepsen's node-bound clients do.
  std::string via_endpoint;
};

struct KeyValue {
  std::string key;
  std::string value;
  uint64_t version = 0;  // Raft index of the entry that last wrote the key
};

// The condition of a CompareAndSwap.
struct Expect {
  enum class Kind { kValue, kVersion, kAbsent };
  Kind kind = Kind::kAbsent;
  std::string value;     // kValue: the current value must equal this
  uint64_t version = 0;  // kVersion: the current version must equal this (0 = absent)

  static Expect Value(std::string v) { return {Kind::kValue, std::move(v), 0}; }
  static Expect Version(uint64_t v) { return {Kind::kVersion, {}, v}; }
  static Expect Absent() { return {Kind::kAbsent, {}, 0}; }
};

struct CasResult {
  bool succeeded = false;
  uint64_t version = 0;  // the new version when succeeded
  // When !succeeded: the key's current value and version; nullopt when the key is absent.
  std::optional<KeyValue> current;
};

struct AppendResult {
  uint64_t version = 0;  // version of the append
  std::string value;     // the whole value after the append
};

struct ScanOptions {
  // Most keys returned; 0 = the server's default page size.
  uint32_t limit = 0;
  // Return keys and versions only (values empty).
  bool keys_only = false;
};

struct ScanResult {
  std::vector<KeyValue> kvs;  // in key order
  // More keys may remain: continue with a scan that starts after `continue_after`. It is at
  // least kvs.back().key, and may be past it when the cluster skipped keys the user may not
  // read (then kvs may even be empty).
  bool more = false;
  std::string continue_after;
};

// The largest request, in serialized bytes, a client sends (and a kvd client port reads): a
// 4 MiB value plus key and envelope. A call whose request is larger fails at once with
// kInvalidArgument naming this limit; nothing is sent. Values are further limited by the
// server's --max_value_bytes (default 1 MiB). Same as net::kDefaultClientMaxFrameSize.
inline constexpr size_t kMaxRequestBytes = (size_t{4} << 20) + (size_t{64} << 10);

template <typename T>
using Callback = std::function<void(Result<T>)>;

class Client {
 public:
  // Creates a client for `options.endpoints`. Returns InvalidArgument for no endpoints or a
  // malformed address; Unavailable when no endpoint accepted a connection within dial_timeout
  // (unless lazy_connect), with every endpoint's error in the message.
  static Result<std::unique_ptr<Client>> Connect(ClientOptions options);

  // Completes every call still in flight (writes with kDeadlineExceeded "outcome unknown" when
  // an attempt was sent, others with kUnavailable) and closes the connections.
  virtual ~Client() = default;

  // The value of `key`, or nullopt when absent.
  virtual Result<std::optional<KeyValue>> Get(std::string_view key,
                                              const CallOptions& opts = {}) = 0;
  // Sets `key` to `value`; returns the new version.
  virtual Result<uint64_t> Put(std::string_view key, std::string_view value,
                               const CallOptions& opts = {}) = 0;
  // Deletes `key`; returns whether it existed.
  virtual Result<bool> Delete(std::string_view key, const CallOptions& opts = {}) = 0;
  // Sets `key` to `new_value` if `expect` holds. A failed compare returns OK with
  // succeeded == false and the current value.
  virtual Result<CasResult> CompareAndSwap(std::string_view key, const Expect& expect,
                                           std::string_view new_value,
                                           const CallOptions& opts = {}) = 0;
  // Atomically appends `suffix` to the key's value (absent = empty).
  virtual Result<AppendResult> Append(std::string_view key, std::string_view suffix,
                                      const CallOptions& opts = {}) = 0;
  // Keys in [start, end) in key order; empty `end` = no upper bound.
  virtual Result<ScanResult> Scan(std::string_view start, std::string_view end,
                                  const ScanOptions& scan = {}, const CallOptions& opts = {}) = 0;

  // Asynchronous variants: return at once; `done` runs exactly once on the client's I/O thread
  // with the same result the synchronous call would return. `done` must not block.
  virtual void GetAsync(std::string_view key, const CallOptions& opts,
                        Callback<std::optional<KeyValue>> done) = 0;
  virtual void PutAsync(std::string_view key, std::string_view value, const CallOptions& opts,
                        Callback<uint64_t> done) = 0;
  virtual void DeleteAsync(std::string_view key, const CallOptions& opts,
                           Callback<bool> done) = 0;
  virtual void CompareAndSwapAsync(std::string_view key, const Expect& expect,
                                   std::string_view new_value, const CallOptions& opts,
                                   Callback<CasResult> done) = 0;
  virtual void AppendAsync(std::string_view key, std::string_view suffix, const CallOptions& opts,
                           Callback<AppendResult> done) = 0;
  virtual void ScanAsync(std::string_view start, std::string_view end, const ScanOptions& scan,
                         const CallOptions& opts, Callback<ScanResult> done) = 0;

  // The endpoints this client knows: the configured ones plus leader addresses learned from
  // hints. Thread-safe.
  virtual std::vector<std::string> Endpoints() const = 0;

 protected:
  Client() = default;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_H_
