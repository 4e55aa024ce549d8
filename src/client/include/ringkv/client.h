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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringkv/result.h"
#include "ringkv/status.h"
#include "ringkv/version.h"

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
  // Put and CompareAndSwap only: attach the key to this lease (0 = none; a write without a
  // lease detaches the key from its lease). The lease must live on the key's shard.
  uint64_t lease = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  uint64_t version = 0;  // Raft index of the entry that last wrote the key
  uint64_t lease = 0;    // the lease the key is attached to, 0 = none
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
  // Per shard asked, the version the scan read it at: every change of that shard up to it is
  // reflected in `kvs`. A watch from revision + 1 (WatchOptions::start_versions) follows what
  // was read without a gap or a repeat.
  std::map<uint32_t, uint64_t> revisions;
};

// The largest request, in serialized bytes, a client sends (and a kvd client port reads): a
// 4 MiB value plus key and envelope. A call whose request is larger fails at once with
// kInvalidArgument naming this limit; nothing is sent. Values are further limited by the
// server's --max_value_bytes (default 1 MiB). Same as net::kDefaultClientMaxFrameSize.
inline constexpr size_t kMaxRequestBytes = (size_t{4} << 20) + (size_t{64} << 10);

// ---- Transactions (etcd's Txn within one shard; see docs/client.md) ----

// A condition on a key's current state. An absent key has version 0 and lease 0; a value
// comparison with an absent key is false whatever the operator (as etcd).
struct Compare {
  enum class Target { kVersion, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  std::string value;     // kValue
  uint64_t version = 0;  // kVersion
  uint64_t lease = 0;    // kLease

  static Compare Version(std::string key, Op op, uint64_t v) {
    return {std::move(key), Target::kVersion, op, {}, v, 0};
  }
  static Compare Value(std::string key, Op op, std::string v) {
    return {std::move(key), Target::kValue, op, std::move(v), 0, 0};
  }
  static Compare Lease(std::string key, Op op, uint64_t lease) {
    return {std::move(key), Target::kLease, op, {}, 0, lease};
  }
  static Compare Exists(std::string key) { return Version(std::move(key), Op::kGreater, 0); }
  static Compare Absent(std::string key) { return Version(std::move(key), Op::kEqual, 0); }
};

struct TxnOp {
  enum class Kind { kGet, kPut, kDelete };
  Kind kind = Kind::kGet;
  std::string key;
  std::string value;   // kPut
  uint64_t lease = 0;  // kPut: attach to this lease (0 = none)

  static TxnOp Get(std::string key) { return {Kind::kGet, std::move(key), {}, 0}; }
  static TxnOp Put(std::string key, std::string value, uint64_t lease = 0) {
    return {Kind::kPut, std::move(key), std::move(value), lease};
  }
  static TxnOp Delete(std::string key) { return {Kind::kDelete, std::move(key), {}, 0}; }
};

// If every compare holds, `success` runs, else `failure`; all keys must live on one shard (give
// related keys a common hash tag: "{user42}/name" and "{user42}/email" share shard of
// "user42"). Applied atomically at one version.
struct Txn {
  std::vector<Compare> compare;
  std::vector<TxnOp> success;
  std::vector<TxnOp> failure;
};

struct TxnOpResult {
  TxnOp::Kind kind = TxnOp::Kind::kGet;
  std::optional<KeyValue> kv;  // kGet: the value, nullopt when absent
  bool deleted = false;        // kDelete: whether the key existed
};

struct TxnResult {
  bool succeeded = false;            // the compares held and `success` ran
  std::vector<TxnOpResult> results;  // one per operation of the branch that ran
  uint64_t version = 0;              // the transaction's version (every write's)
};

// ---- Leases (see docs/client.md) ----

struct Lease {
  uint64_t id = 0;
  std::chrono::milliseconds ttl{0};
};

struct LeaseInfo {
  uint64_t id = 0;
  std::chrono::milliseconds granted_ttl{0};
  std::chrono::milliseconds remaining_ttl{0};  // by the shard leader's clock
  std::vector<std::string> keys;               // when asked for
};

// ---- Watch (see docs/client.md) ----

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  std::string key;
  std::string value;          // kPut: the new value
  uint64_t version = 0;       // the version of the change (its shard's log index)
  uint64_t prev_version = 0;  // the key's version before it, 0 = it was absent
  uint64_t lease = 0;         // kPut: the key's lease
  uint32_t shard = 0;         // the shard the key lives on (versions are per shard)
};

struct WatchOptions {
  // Which keys: `key` alone (default), every key starting with `key` (prefix), every key in
  // [key, range_end) (non-empty range_end), or every key >= key (from_key).
  bool prefix = false;
  std::string range_end;
  bool from_key = false;
  // Deliver changes with version >= from_version on every watched shard; 0 = changes made
  // after the watch is established. Versions are per shard: to resume a watch of several
  // shards exactly, pass the positions WatchHandle::Positions() returned (they win over
  // from_version for the shards they name).
  uint64_t from_version = 0;
  std::map<uint32_t, uint64_t> start_versions;
  // How often an idle shard reports progress; 0 = server default (1 s).
  std::chrono::milliseconds progress_interval{0};
};

// What one shard's stream delivered: events of whole versions in version order, a progress
// report, or (created) the version the stream starts at.
struct WatchUpdate {
  uint32_t shard = 0;
  bool created = false;          // the stream is established; changes from start_version follow
  uint64_t start_version = 0;    // created
  std::vector<WatchEvent> events;
  // Every change of the watched keys on this shard with version <= progress_version has been
  // delivered (with this update or before).
  uint64_t progress_version = 0;
};

// Why a watch ended (other than WatchHandle::Cancel):
//   kFailedPrecondition  the start version is compacted away on `shard`; resume_version is the
//                        oldest version it still holds ("compacted, resume from N");
//   kResourceExhausted   the server canceled it: the callback did not keep up; resume_version
//                        is where to continue;
//   kInvalidArgument     the request was refused (empty key, bad range);
//   kPermissionDenied    the client certificate's user may not read the key or range;
//   kUnavailable         the client was closed.
struct WatchEnd {
  Status status;
  uint32_t shard = 0;
  uint64_t resume_version = 0;
};

class WatchHandle {
 public:
  // Cancels the watch.
  virtual ~WatchHandle() = default;
  // Ends the watch: once Cancel returns, no callback of this watch runs (or is running, unless
  // Cancel was called from inside one). Idempotent; safe after the Client is gone.
  virtual void Cancel() = 0;
  // Per shard, the next version the watch will deliver: resume a watch later from here
  // (WatchOptions::start_versions) and nothing is missed or repeated.
  virtual std::map<uint32_t, uint64_t> Positions() const = 0;

 protected:
  WatchHandle() = default;
};

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

  // Runs `txn` atomically on its shard. InvalidArgument when its keys span shards (the message
  // names them) or it breaks a limit; NotFound when a put names an unknown lease (nothing
  // applied). A transaction is a write: exactly-once with retries, kDeadlineExceeded = unknown.
  virtual Result<TxnResult> Commit(const Txn& txn, const CallOptions& opts = {}) = 0;
  virtual void CommitAsync(const Txn& txn, const CallOptions& opts, Callback<TxnResult> done) = 0;

  // Grants a lease of `ttl` on the shard of `shard_key` (keys attached to it must live on that
  // shard). InvalidArgument when the TTL is outside the server's bounds (default 1 s .. 1 day).
  virtual Result<Lease> LeaseGrant(std::chrono::milliseconds ttl, std::string_view shard_key = "",
                                   const CallOptions& opts = {}) = 0;
  // Revokes the lease and deletes its keys; returns how many keys were deleted. NotFound when
  // the lease does not exist (expired, revoked).
  virtual Result<uint32_t> LeaseRevoke(uint64_t lease, const CallOptions& opts = {}) = 0;
  // Restarts the lease's TTL now; returns the TTL. NotFound once it expired. Call it well within
  // the TTL (a third of it, as etcd's client does).
  virtual Result<std::chrono::milliseconds> LeaseKeepAlive(uint64_t lease,
                                                           const CallOptions& opts = {}) = 0;
  // The lease's TTL, its remaining time and (with `keys`) the attached keys.
  virtual Result<LeaseInfo> LeaseTimeToLive(uint64_t lease, bool keys = false,
                                            const CallOptions& opts = {}) = 0;
  // Asynchronous lease calls, as the other *Async methods.
  virtual void LeaseGrantAsync(std::chrono::milliseconds ttl, std::string_view shard_key,
                               const CallOptions& opts, Callback<Lease> done) = 0;
  virtual void LeaseRevokeAsync(uint64_t lease, const CallOptions& opts,
                                Callback<uint32_t> done) = 0;
  virtual void LeaseKeepAliveAsync(uint64_t lease, const CallOptions& opts,
                                   Callback<std::chrono::milliseconds> done) = 0;
  virtual void LeaseTimeToLiveAsync(uint64_t lease, bool keys, const CallOptions& opts,
                                    Callback<LeaseInfo> done) = 0;

  // Watches `key` (or a range, per `options`) and calls `on_update` with every change, in
  // version order per shard, each exactly once, until Cancel. A broken stream (leader change,
  // node restart, lost connection) resumes by itself from the version after the last one
  // delivered. `on_end` runs once if the watch ends on its own (WatchEnd); never after Cancel.
  // Both run on the client's I/O thread and must not block. InvalidArgument at once for an
  // empty key or a bad range.
  virtual Result<std::unique_ptr<WatchHandle>> Watch(
      std::string_view key, const WatchOptions& options,
      std::function<void(const WatchUpdate&)> on_update,
      std::function<void(const WatchEnd&)> on_end = nullptr) = 0;

  // The endpoints this client knows: the configured ones plus leader addresses learned from
  // hints. Thread-safe.
  virtual std::vector<std::string> Endpoints() const = 0;

 protected:
  Client() = default;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_H_
