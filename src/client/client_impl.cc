#include "client/client_impl.h"

#include <algorithm>
#include <map>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <utility>

#include <boost/asio/post.hpp>

#include "client/admin.h"
#include "client/convert.h"
#include "client/scan_fan_out.h"
#include "ring/ring_config.h"
#include "net/address.h"
#include "net/tls.h"
#include "proto/kv_request_key.h"
#include "client/watcher.h"

namespace ringkv::client {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

uint64_t SeedFrom(const ClientOptions& o) {
  if (o.seed != 0) return o.seed;
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

// Blocks until `start` delivers a result through the callback it is given.
template <typename T, typename F>
Result<T> Wait(F&& start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

// Adapts a Call::Done to an operation's callback through its converter.
template <typename T>
Call::Done Adapt(Result<T> (*convert)(const kvpb::Response&), Callback<T> done) {
  return [convert, done = std::move(done)](Result<kvpb::Response> r) {
    if (!r.ok()) return done(r.status());
    done(convert(*r));
  };
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  if (options.endpoints.empty()) {
    return Status::InvalidArgument("no endpoints given (expected host:port,...)");
  }
  for (const auto& e : options.endpoints) {
    auto hp = net::ParseHostPort(e);
    if (!hp.ok()) {
      return Status::InvalidArgument("bad endpoint \"" + e + "\": " +
                                     std::string(hp.status().message()));
    }
  }
  if (options.request_timeout.count() <= 0 || options.dial_timeout.count() <= 0 ||
      options.attempt_timeout.count() <= 0 || options.initial_backoff.count() <= 0 || options.max_backoff < options.initial_backoff) {
    return Status::InvalidArgument(
        "timeouts must be positive and max_backoff >= initial_backoff");
  }
  std::shared_ptr<net::TlsContext> tls;
  if (options.tls.enabled()) {
    net::TlsOptions to;
    to.ca_file = options.tls.ca_file;
    to.cert_file = options.tls.cert_file;
    to.key_file = options.tls.key_file;
    to.insecure_skip_verify = options.tls.insecure_skip_verify;
    auto ctx = net::TlsContext::Load(net::TlsRole::kClient, to);
    if (!ctx.ok()) return Status::InvalidArgument("TLS: " + std::string(ctx.status().message()));
    tls = *ctx;
  }
  auto client = std::make_unique<ClientImpl>(options, std::move(tls));
  if (!options.lazy_connect) {
    Status st = client->ProbeEndpoints();
    if (!st.ok()) return st;
    client->LearnRing();
  }
  return std::unique_ptr<Client>(std::move(client));
}

ClientImpl::ClientImpl(ClientOptions options, std::shared_ptr<net::TlsContext> tls)
    : options_(std::move(options)), io_thread_("ringkv-client") {
  core_ = std::make_unique<ClientCore>(io_thread_.io(), options_, SeedFrom(options_),
                                       std::move(tls));
  io_thread_.Start();
}

ClientImpl::~ClientImpl() {
  {
    // Handles that outlive the client find no I/O thread and do nothing. Done here, not on the
    // I/O thread: a Cancel holds its control's mutex while it waits for the I/O thread.
    std::lock_guard<std::mutex> l(controls_mu_);
    for (auto& weak : controls_) {
      if (auto c = weak.lock()) {
        std::lock_guard<std::mutex> cl(c->mu);
        c->io = nullptr;
      }
    }
  }
  io_thread_.RunSync([this] {
    core_->shutting_down = true;
    auto watchers = core_->watchers;  // Abort erases
    for (auto& [id, w] : watchers) w->Abort(Status::Unavailable("client closed"));
    // Channels first: an attempt in flight completes as lost, so its call knows the outcome is
    // unknown; then the calls waiting in backoff.
    for (auto& [addr, ch] : core_->channels) ch->Shutdown();
    auto active = core_->active;  // Abort erases
    for (auto& [id, call] : active) call->Abort(Status::Unavailable("client closed"));
  });
  io_thread_.Stop();
  core_.reset();
}

Status ClientImpl::ProbeEndpoints() {
  struct State {
    size_t pending = 0;
    bool done = false;
    std::string errors;
    std::promise<Status> promise;
  };
  auto state = std::make_shared<State>();
  auto future = state->promise.get_future();
  asio::post(io_thread_.io(), [this, state] {
    state->pending = options_.endpoints.size();
    for (const auto& e : options_.endpoints) {
      core_->ChannelFor(e)->Probe([state, e](const Status& st) {
        --state->pending;
        if (state->done) return;
        if (st.ok()) {
          state->done = true;
          state->promise.set_value(Status::OK());
          return;
        }
        if (!state->errors.empty()) state->errors += "; ";
        state->errors += std::string(st.message());
        if (state->pending == 0) {
          state->done = true;
          state->promise.set_value(Status::Unavailable("no endpoint reachable: " + state->errors));
        }
      });
    }
  });
  return future.get();
}

void ClientImpl::LearnRing() {
  for (const std::string& e : options_.endpoints) {
    Result<kvpb::NodeStatus> st = NodeStatus(*this, e, options_.dial_timeout);
    if (!st.ok() || st->ring_config().empty()) continue;
    Result<ring::RingConfig> cfg = ring::RingConfig::Decode(st->ring_config());
    if (!cfg.ok()) continue;
    Result<ring::HashRing> r = ring::HashRing::Create(*cfg);
    if (!r.ok()) continue;
    core_->router.SetRing(std::move(r).value());
    return;
  }
  // Without the ring the servers still route single-key requests; scans then ask one node.
}

void ClientImpl::Execute(kvpb::Request req, CallKind kind, std::string what, milliseconds timeout,
                         Call::Done done, std::string pinned_endpoint,
                         std::string via_endpoint) {
  if (timeout.count() <= 0) timeout = options_.request_timeout;
  if (req.group_id() == 0) {
    if (const std::string* key = kvpb::RequestKey(req)) {
      req.set_group_id(core_->router.GroupFor(*key).value());
    }
  }
  const auto deadline = Call::Clock::now() + timeout;
  ClientCore* core = core_.get();
  asio::post(io_thread_.io(), [core, req = std::move(req), kind, what = std::move(what), deadline,
                               done = std::move(done),
                               pinned = std::move(pinned_endpoint),
                               via = std::move(via_endpoint)]() mutable {
    Call::Start(core, std::move(req), kind, std::move(what), deadline, std::move(done),
                std::move(pinned), std::move(via));
  });
}

Result<kvpb::Response> ClientImpl::ExecuteSync(kvpb::Request req, CallKind kind, std::string what,
                                               milliseconds timeout, std::string pinned_endpoint) {
  return Wait<kvpb::Response>([&](Call::Done done) {
    Execute(std::move(req), kind, std::move(what), timeout, std::move(done),
            std::move(pinned_endpoint));
  });
}

void ClientImpl::GetAsync(std::string_view key, const CallOptions& opts,
                          Callback<std::optional<KeyValue>> done) {
  Execute(MakeGet(key, opts.consistency), CallKind::kRead, "get", opts.timeout,
          Adapt(&ToGet, std::move(done)), /*pinned_endpoint=*/"", opts.via_endpoint);
}

void ClientImpl::PutAsync(std::string_view key, std::string_view value, const CallOptions& opts,
                          Callback<uint64_t> done) {
  Execute(MakePut(key, value, opts.lease), CallKind::kWrite, "put", opts.timeout,
          Adapt(&ToPut, std::move(done)), /*pinned_endpoint=*/"", opts.via_endpoint);
}

void ClientImpl::DeleteAsync(std::string_view key, const CallOptions& opts, Callback<bool> done) {
  Execute(MakeDelete(key), CallKind::kWrite, "delete", opts.timeout,
          Adapt(&ToDelete, std::move(done)), /*pinned_endpoint=*/"", opts.via_endpoint);
}

void ClientImpl::CompareAndSwapAsync(std::string_view key, const Expect& expect,
                                     std::string_view new_value, const CallOptions& opts,
                                     Callback<CasResult> done) {
  Execute(MakeCas(key, expect, new_value, opts.lease), CallKind::kWrite, "compare-and-swap", opts.timeout,
          Adapt(&ToCas, std::move(done)), /*pinned_endpoint=*/"", opts.via_endpoint);
}

void ClientImpl::AppendAsync(std::string_view key, std::string_view suffix,
                             const CallOptions& opts, Callback<AppendResult> done) {
  Execute(MakeAppend(key, suffix), CallKind::kWrite, "append", opts.timeout,
          Adapt(&ToAppend, std::move(done)), /*pinned_endpoint=*/"", opts.via_endpoint);
}

void ClientImpl::ScanAsync(std::string_view start, std::string_view end, const ScanOptions& scan,
                           const CallOptions& opts, Callback<ScanResult> done) {
  // TODO(#4): with ring routing, fan out to every group owning part of [start, end) and merge
  // in key order honouring the limit.
  uint32_t groups = core_->router.num_groups();
  const GroupId one = core_->router.GroupForRange(start, end);
  if (groups <= 1 || one.value() != 0) {
    // One shard holds the whole range (one shard in all, or a hash-tagged range).
    kvpb::Request req = MakeScan(start, end, scan, opts.consistency);
    req.set_group_id(one.value());
    Execute(std::move(req), CallKind::kRead, "scan", opts.timeout,
            Adapt(&ToScan, std::move(done)));
    return;
  }
  // Keys are spread over the shards by hash: ask every shard for its first `limit` keys in the
  // range and merge them in key order, keeping the first `limit`.
  auto state = std::make_shared<ScanFanOut>(groups, scan.limit, std::move(done));
  for (uint32_t g = 1; g <= groups; ++g) {
    kvpb::Request req = MakeScan(start, end, scan, opts.consistency);
    req.set_group_id(g);
    Execute(std::move(req), CallKind::kRead, "scan", opts.timeout,
            Adapt<ScanResult>(&ToScan, [state](Result<ScanResult> r) {
              state->OnShard(std::move(r));
            }));
  }
}

Result<std::optional<KeyValue>> ClientImpl::Get(std::string_view key, const CallOptions& opts) {
  return Wait<std::optional<KeyValue>>([&](auto done) { GetAsync(key, opts, std::move(done)); });
}

Result<uint64_t> ClientImpl::Put(std::string_view key, std::string_view value,
                                 const CallOptions& opts) {
  return Wait<uint64_t>([&](auto done) { PutAsync(key, value, opts, std::move(done)); });
}

Result<bool> ClientImpl::Delete(std::string_view key, const CallOptions& opts) {
  return Wait<bool>([&](auto done) { DeleteAsync(key, opts, std::move(done)); });
}

Result<CasResult> ClientImpl::CompareAndSwap(std::string_view key, const Expect& expect,
                                             std::string_view new_value,
                                             const CallOptions& opts) {
  return Wait<CasResult>(
      [&](auto done) { CompareAndSwapAsync(key, expect, new_value, opts, std::move(done)); });
}

Result<AppendResult> ClientImpl::Append(std::string_view key, std::string_view suffix,
                                        const CallOptions& opts) {
  return Wait<AppendResult>([&](auto done) { AppendAsync(key, suffix, opts, std::move(done)); });
}

Result<ScanResult> ClientImpl::Scan(std::string_view start, std::string_view end,
                                    const ScanOptions& scan, const CallOptions& opts) {
  return Wait<ScanResult>([&](auto done) { ScanAsync(start, end, scan, opts, std::move(done)); });
}

std::vector<std::string> ClientImpl::Endpoints() const { return core_->router.Endpoints(); }

Result<GroupId> ClientImpl::TxnShard(const Txn& txn) const {
  if (core_->router.num_groups() == 0) return GroupId(0);
  std::map<uint64_t, std::string> shards;  // shard -> first key seen there
  auto add = [&](const std::string& key) { shards.try_emplace(core_->router.GroupFor(key).value(), key); };
  for (const Compare& c : txn.compare) add(c.key);
  for (const auto* ops : {&txn.success, &txn.failure}) {
    for (const TxnOp& op : *ops) add(op.key);
  }
  if (shards.size() <= 1) return GroupId(shards.empty() ? 0 : shards.begin()->first);
  std::string msg = "transaction spans shards";
  bool first = true;
  for (const auto& [shard, key] : shards) {
    msg += std::string(first ? " " : ", ") + std::to_string(shard) + " (key \"" +
           (key.size() > 40 ? key.substr(0, 40) + "..." : key) + "\")";
    first = false;
  }
  return Status::InvalidArgument(msg +
                                 ": a transaction's keys must live on one shard; give related "
                                 "keys a common hash tag, e.g. {user42}/name and {user42}/email");
}

void ClientImpl::CommitAsync(const Txn& txn, const CallOptions& opts, Callback<TxnResult> done) {
  Result<GroupId> shard = TxnShard(txn);
  if (!shard.ok()) {
    done(shard.status());
    return;
  }
  kvpb::Request req = MakeTxn(txn);
  req.set_group_id(shard->value());
  Execute(std::move(req), CallKind::kWrite, "txn", opts.timeout, Adapt(&ToTxn, std::move(done)),
          /*pinned_endpoint=*/"", opts.via_endpoint);
}

Result<TxnResult> ClientImpl::Commit(const Txn& txn, const CallOptions& opts) {
  return Wait<TxnResult>([&](auto done) { CommitAsync(txn, opts, std::move(done)); });
}

void ClientImpl::LeaseGrantAsync(std::chrono::milliseconds ttl, std::string_view shard_key,
                                 const CallOptions& opts, Callback<Lease> done) {
  Execute(MakeLeaseGrant(ttl, shard_key), CallKind::kWrite, "lease grant", opts.timeout,
          Adapt<Lease>(&ToLeaseGrant, std::move(done)));
}

void ClientImpl::LeaseRevokeAsync(uint64_t lease, const CallOptions& opts,
                                  Callback<uint32_t> done) {
  kvpb::Request req = MakeLeaseRevoke(lease);
  req.set_group_id(kvpb::LeaseShardOf(lease));
  Execute(std::move(req), CallKind::kWrite, "lease revoke", opts.timeout,
          Adapt<uint32_t>(&ToLeaseRevoke, std::move(done)));
}

void ClientImpl::LeaseRevokeAsync(kvpb::LeaseRevokeRequest revoke, const CallOptions& opts,
                                  Callback<uint32_t> done) {
  kvpb::Request req;
  req.set_group_id(kvpb::LeaseShardOf(revoke.lease_id()));
  *req.mutable_lease_revoke() = std::move(revoke);
  Execute(std::move(req), CallKind::kWrite, "lease revoke", opts.timeout,
          Adapt<uint32_t>(&ToLeaseRevoke, std::move(done)));
}

void ClientImpl::LeaseKeepAliveAsync(uint64_t lease, const CallOptions& opts,
                                     Callback<std::chrono::milliseconds> done) {
  kvpb::Request req = MakeLeaseKeepAlive(lease);
  req.set_group_id(kvpb::LeaseShardOf(lease));
  // Like a read: the keep-alive has no effect in the log, so a retry is always safe.
  Execute(std::move(req), CallKind::kRead, "lease keep-alive", opts.timeout,
          Adapt<std::chrono::milliseconds>(&ToLeaseKeepAlive, std::move(done)));
}

void ClientImpl::LeaseTimeToLiveAsync(uint64_t lease, bool keys, const CallOptions& opts,
                                      Callback<LeaseInfo> done) {
  kvpb::Request req = MakeLeaseTimeToLive(lease, keys);
  req.set_group_id(kvpb::LeaseShardOf(lease));
  Execute(std::move(req), CallKind::kRead, "lease time-to-live", opts.timeout,
          Adapt<LeaseInfo>(&ToLeaseTimeToLive,
                           [lease, done = std::move(done)](Result<LeaseInfo> r) {
                             if (r.ok()) r->id = lease;
                             done(std::move(r));
                           }));
}

Result<Lease> ClientImpl::LeaseGrant(std::chrono::milliseconds ttl, std::string_view shard_key,
                                     const CallOptions& opts) {
  return Wait<Lease>([&](auto done) { LeaseGrantAsync(ttl, shard_key, opts, std::move(done)); });
}

Result<uint32_t> ClientImpl::LeaseRevoke(uint64_t lease, const CallOptions& opts) {
  return Wait<uint32_t>([&](auto done) { LeaseRevokeAsync(lease, opts, std::move(done)); });
}

Result<std::chrono::milliseconds> ClientImpl::LeaseKeepAlive(uint64_t lease,
                                                             const CallOptions& opts) {
  return Wait<std::chrono::milliseconds>(
      [&](auto done) { LeaseKeepAliveAsync(lease, opts, std::move(done)); });
}

Result<LeaseInfo> ClientImpl::LeaseTimeToLive(uint64_t lease, bool keys, const CallOptions& opts) {
  return Wait<LeaseInfo>(
      [&](auto done) { LeaseTimeToLiveAsync(lease, keys, opts, std::move(done)); });
}

}  // namespace ringkv::client
