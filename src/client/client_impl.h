// ClientImpl: the Client of ringkv/client.h. Owns the I/O thread and the ClientCore that lives
// on it; every public method builds a Request and posts a Call (client/call.h) to that thread.
// Synchronous methods wait on a future for the async result. Internal tools (admin.h) reach the
// Execute entry points through this header.
//
// Thread-safety: as Client (thread-safe; callbacks on the I/O thread).
#ifndef RINGKV_CLIENT_CLIENT_IMPL_H_
#define RINGKV_CLIENT_CLIENT_IMPL_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/call.h"
#include "client/watcher.h"
#include "net/io_thread.h"
#include "ringkv/client.h"

namespace ringkv::client {

class ClientImpl final : public Client {
 public:
  // REQUIRES: options validated (non-empty, parseable endpoints).
  // `tls`: the loaded TLS client context, null for plain TCP.
  ClientImpl(ClientOptions options, std::shared_ptr<net::TlsContext> tls);
  ~ClientImpl() override;

  // Dials every endpoint; OK once one answers, else Unavailable listing each error.
  Status ProbeEndpoints();
  // Fetches the ring from the first endpoint that answers (best effort).
  void LearnRing();

  Result<std::optional<KeyValue>> Get(std::string_view key, const CallOptions& opts) override;
  Result<uint64_t> Put(std::string_view key, std::string_view value,
                       const CallOptions& opts) override;
  Result<bool> Delete(std::string_view key, const CallOptions& opts) override;
  Result<CasResult> CompareAndSwap(std::string_view key, const Expect& expect,
                                   std::string_view new_value, const CallOptions& opts) override;
  Result<AppendResult> Append(std::string_view key, std::string_view suffix,
                              const CallOptions& opts) override;
  Result<ScanResult> Scan(std::string_view start, std::string_view end, const ScanOptions& scan,
                          const CallOptions& opts) override;

  void GetAsync(std::string_view key, const CallOptions& opts,
                Callback<std::optional<KeyValue>> done) override;
  void PutAsync(std::string_view key, std::string_view value, const CallOptions& opts,
                Callback<uint64_t> done) override;
  void DeleteAsync(std::string_view key, const CallOptions& opts, Callback<bool> done) override;
  void CompareAndSwapAsync(std::string_view key, const Expect& expect, std::string_view new_value,
                           const CallOptions& opts, Callback<CasResult> done) override;
  void AppendAsync(std::string_view key, std::string_view suffix, const CallOptions& opts,
                   Callback<AppendResult> done) override;
  void ScanAsync(std::string_view start, std::string_view end, const ScanOptions& scan,
                 const CallOptions& opts, Callback<ScanResult> done) override;

  Result<TxnResult> Commit(const Txn& txn, const CallOptions& opts) override;
  void CommitAsync(const Txn& txn, const CallOptions& opts, Callback<TxnResult> done) override;
  Result<Lease> LeaseGrant(std::chrono::milliseconds ttl, std::string_view shard_key,
                           const CallOptions& opts) override;
  Result<uint32_t> LeaseRevoke(uint64_t lease, const CallOptions& opts) override;
  Result<std::chrono::milliseconds> LeaseKeepAlive(uint64_t lease,
                                                   const CallOptions& opts) override;
  Result<LeaseInfo> LeaseTimeToLive(uint64_t lease, bool keys, const CallOptions& opts) override;
  void LeaseGrantAsync(std::chrono::milliseconds ttl, std::string_view shard_key,
                       const CallOptions& opts, Callback<Lease> done) override;
  void LeaseRevokeAsync(uint64_t lease, const CallOptions& opts, Callback<uint32_t> done) override;
  // A revoke as given, scope included: how a node forwards a user's revoke (the HTTP API) with
  // the scope its authorizer gave (server/authorizer.h ScopeLeaseRevoke); the receiving node
  // keeps a scope a node sent. Not part of the public API.
  void LeaseRevokeAsync(kvpb::LeaseRevokeRequest revoke, const CallOptions& opts,
                        Callback<uint32_t> done);
  void LeaseKeepAliveAsync(uint64_t lease, const CallOptions& opts,
                           Callback<std::chrono::milliseconds> done) override;
  void LeaseTimeToLiveAsync(uint64_t lease, bool keys, const CallOptions& opts,
                            Callback<LeaseInfo> done) override;
  Result<std::unique_ptr<WatchHandle>> Watch(std::string_view key, const WatchOptions& options,
                                             std::function<void(const WatchUpdate&)> on_update,
                                             std::function<void(const WatchEnd&)> on_end) override;

  std::vector<std::string> Endpoints() const override;

  // Runs `req` as a call of `kind` with retries (or one attempt at `pinned_endpoint`; the first
  // attempt at `via_endpoint`); `done` gets the final response or Status on the I/O thread.
  // Thread-safe.
  void Execute(kvpb::Request req, CallKind kind, std::string what, std::chrono::milliseconds timeout,
               Call::Done done, std::string pinned_endpoint = "", std::string via_endpoint = "");
  // Blocking Execute. REQUIRES: not on the I/O thread.
  Result<kvpb::Response> ExecuteSync(kvpb::Request req, CallKind kind, std::string what,
                                     std::chrono::milliseconds timeout,
                                     std::string pinned_endpoint = "");

  const ClientOptions& options() const { return options_; }

  // What a WatchHandle reaches its watch through; `io` is cleared when the client goes away,
  // after which Cancel does nothing.
  struct WatchControl {
    std::mutex mu;
    net::IoThread* io = nullptr;  // guarded by mu
    std::shared_ptr<Watcher> watcher;
  };

 private:
  // The transaction's shard by the ring; InvalidArgument naming the shards when it spans more
  // than one; GroupId(0) when the ring is unknown (the server checks).
  Result<GroupId> TxnShard(const Txn& txn) const;

  const ClientOptions options_;
  net::IoThread io_thread_;
  std::mutex controls_mu_;
  std::vector<std::weak_ptr<WatchControl>> controls_;  // guarded by controls_mu_
  // Lives on the I/O thread; destroyed after it stopped.
  std::unique_ptr<ClientCore> core_;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_CLIENT_IMPL_H_
