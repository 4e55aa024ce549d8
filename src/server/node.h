// Node: one kvd process's parts wired together — the storage engine and its metadata checks,
// the peer transport, the store (all replicas and the event loop) and the client service.
// kvd_main.cc turns flags into NodeOptions; tests could build a Node directly.
//
// Start order: engine (+ snapshot-install recovery, identity checks) -> store (replicas) ->
// transport -> client port. Stop runs in reverse, so no callback reaches a stopped part.
//
// Thread-safety: Start/Stop from one thread; Status from any thread.
#ifndef RINGKV_SERVER_NODE_H_
#define RINGKV_SERVER_NODE_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "metrics/metrics.h"
#include "net/io_thread.h"
#include "net/tls.h"
#include "replica/replica.h"
#include "gossip/member.h"
#include "ring/ring_config.h"
#include "ringkv/version.h"
#include "server/admission.h"
#include "server/node_credentials.h"

namespace ringkv::net {
class Transport;
class FrameServer;
}  // namespace ringkv::net
namespace ringkv::storage {
class Engine;
}
namespace ringkv::store {
class AsioNodeEnv;
class Store;
}
namespace ringkv::gossip {
class GossipDriver;
}
namespace ringkv::http {
class HttpServer;
}

namespace ringkv::server {

class PeerTransportAdapter;
class ClientService;
class AdminService;
class HttpApi;
class SpaceGuard;
class Authorizer;
class AuthRefresher;
class StorageCompactor;

struct NodeOptions {
  NodeId node_id;
  uint64_t cluster_id = 1;
  std::string data_dir;
  std::string listen_peer = "127.0.0.1:7101";
  std::string advertise_peer;  // default: listen_peer
  std::string listen_client = "127.0.0.1:7001";
  std::string advertise_client;  // default: listen_client
  // Initial members: peer addresses and (optional) client addresses by node id.
  std::map<NodeId, std::string> initial_peers;
  std::map<NodeId, std::string> initial_clients;
  int tick_ms = 10;
  replica::ReplicaOptions replica;
  int request_timeout_ms = 5000;
  // Payload size of the snapshot chunks this node sends. Default: 1 MiB.
  size_t snapshot_chunk_bytes = 1 << 20;
  // A watch whose client connection holds more unsent bytes is canceled. Default: 8 MiB.
  size_t watch_max_unread_bytes = size_t{8} << 20;
  // Values at least this large are stored in RocksDB blob files (EngineOptions); 0 = never.
  uint64_t blob_min_bytes = 4096;
  // Test-only storage mode: unsynced writes die with the process (see EngineOptions).
  bool test_buffer_unsynced_writes = false;
  // Sharding, fixed when the cluster is bootstrapped (ignored afterwards: the stored ring wins).
  uint32_t shards = 32;
  uint32_t replication = 3;
  // Gossip: UDP "host:port" (default: the peer host and port) and seeds to join through
  // (default: the initial members' gossip addresses, i.e. their peer addresses).
  std::string listen_gossip;
  std::vector<std::string> join;
  int gossip_probe_interval_ms = 1000;
  // Placement timing (see store::StoreOptions).
  int placement_interval_ms = 1000;
  int dead_node_timeout_ms = 10000;
  int stability_delay_ms = 3000;
  // Admin HTTP port (health, metrics, status page; the HTTP API shares it): "ip:port", empty =
  // off, port 0 = chosen by the OS. advertise_admin: what others should use (default: listen).
  std::string listen_admin;
  std::string advertise_admin;
  // Per-shard metric series (--metrics=extensive) instead of per-node aggregates only.
  bool extensive_metrics = false;
  // The peer transport's and the client port's sockets run on the store loop's thread (no
  // thread hand-off per frame) instead of a thread of their own each (docs/benchmarks.md §10).
  // A client port with TLS keeps its own thread regardless (Node::ClientPortOnLoop).
  bool peer_io_on_loop = true;
  bool client_io_on_loop = true;
  // Space guard (server/space_guard.h): quota on the data dir's bytes (0 = none) and floor on
  // the filesystem's free bytes (0 = none); measured every space_check_interval_ms.
  uint64_t storage_quota_bytes = 0;
  uint64_t min_free_disk_bytes = uint64_t{256} << 20;
  int space_check_interval_ms = 1000;
  // Raft log budget of the whole node (store::StoreOptions); 0 = none.
  uint64_t raft_log_node_max_bytes = uint64_t{512} << 20;
  // Slow-operation warnings (see store::StoreOptions and ClientService). Defaults as etcd's.
  int slow_sync_ms = 1000;
  int slow_apply_ms = 100;
  int slow_request_ms = 300;
  // Reported by status, /version and ringkv_build_info.
  std::string version = RINGKV_VERSION_STRING;
  // TLS (docs/security.md). An empty cert_file leaves that port on plain TCP. client_tls is the
  // client port's server side (client_auth: whether clients present certificates); peer_tls
  // holds the node's certificate, key and CA for both directions of the peer port, where
  // certificates are always mutual.
  net::TlsOptions client_tls;
  net::TlsOptions peer_tls;
  // Certificate files are checked for changes this often (0 = only on ReloadCredentials), and
  // certificates expiring within the warning window are logged. Defaults: 5 s, 30 days.
  int tls_reload_interval_ms = 5000;
  int tls_expiry_warning_days = 30;
  // Gossip key ring file (gossip/keyring.h); empty = plain, unauthenticated gossip. Reloaded
  // like the certificates (key rotation: install, use, remove).
  std::string gossip_key_file;
  // With client certificates (client_tls.client_auth not off): how often the permission rules
  // are read from the cluster, and how old they may get before non-superusers are refused
  // (retryable). Defaults: 1 s, 30 s.
  int auth_refresh_ms = 1000;
  int auth_stale_after_ms = 30000;
  // Overload protection of the client port (server/admission.h).
  AdmissionOptions admission;
  // Node-wide budget of the Raft entry caches, divided evenly among the shards (a node hosts
  // at most one replica per shard). Default: 64 MiB.
  size_t raft_entry_cache_bytes = size_t{64} << 20;
  // Node-wide bytes of committed entries applied in one loop turn, divided evenly among the
  // shards (ReplicaOptions::max_committed_size_per_ready). Default: 8 MiB.
  size_t raft_max_apply_bytes = size_t{8} << 20;
};

class Node {
 public:
  explicit Node(NodeOptions options);
  ~Node();

  // Errors: FailedPrecondition when the data dir belongs to another node or cluster;
  // Unavailable when a port cannot be bound; Corruption when stored state is damaged.
  Status Start();
  // Graceful: stops taking requests, hands off leadership where possible, stops the parts.
  void Stop();

  uint16_t client_port() const;
  uint16_t peer_port() const;
  // 0 when the admin port is off.
  uint16_t admin_port() const;
  // The admin port's HTTP server (null when off), for other services to add routes to before
  // Start() — the HTTP/JSON API registers here. Created by the constructor.
  http::HttpServer* http_server() { return http_server_.get(); }
  // Reloads certificates and keys from their files now (SIGHUP). Errors are logged; the
  // previous material stays in use. Returns the first error.
  Status ReloadCredentials();
  store::Store* store() { return store_.get(); }

 private:
  Status OpenStorage();
  Status CheckPeerIncarnation(NodeId peer, uint64_t incarnation, const std::string& remote);
  Status LoadOrCreateRing(bool* created);
  Status StartGossip();
  // Start's steps, in this order (see the file comment). The space guard: NOSPACE from the
  // data dir's usage, published through gossip.
  void StartSpaceGuard();
  // Creates the store and its replicas (bootstrapping this node's share of a new cluster when
  // `ring_created`); not started.
  Status OpenStore(bool ring_created);
  // The peer port, delivering to the store; the store sends through it from then on.
  Status StartPeerTransport();
  // The client port; `enforce`: client certificates on, permissions checked (Authorizer).
  Status StartClientPort(bool enforce);
  // The store loop's io_context, lent to the peer transport and the client port.
  net::SharedIo LoopIo();
  bool ClientPortOnLoop() const;
  Status StartAdmin();
  // Node-level status fields the store does not know (version, admin address, ...).
  void DecorateStatus(kvpb::NodeStatus* st) const;
  // The admin port's storage check: "" when a probe record was written and read back.
  std::string ProbeStorage() const;
  // Gossip meta: the ring, then one flags byte (bit 0: NOSPACE on this node).
  void PublishMeta();
  // Recomputes cluster_nospace_ from this node's guard and gossip's view.
  void RefreshClusterAlarm(const std::vector<gossip::Member>& members);
  std::string WriteGate();
  Status LoadCredentials();
  void MembershipLoop();

  NodeOptions options_;
  uint64_t data_incarnation_ = 0;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<PeerTransportAdapter> transport_adapter_;
  // The store's loop and workers; the peer transport may run on the same loop, so this
  // outlives both (declared before them).
  std::unique_ptr<store::AsioNodeEnv> env_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<ClientService> client_service_;
  std::unique_ptr<gossip::GossipDriver> gossip_;
  std::unique_ptr<http::HttpServer> http_server_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<HttpApi> http_api_;  // the HTTP/JSON API on the admin port
  std::unique_ptr<SpaceGuard> space_guard_;
  std::unique_ptr<StorageCompactor> storage_compactor_;
  // Why writes are refused cluster-wide ("" = accepted): this node's NOSPACE alarm or another
  // member's, as gossip carries it. Refreshed by the membership loop and the space guard.
  std::atomic<bool> cluster_nospace_{false};
  std::mutex alarm_mu_;
  std::string cluster_nospace_reason_;  // guarded by alarm_mu_
  // TLS material (null = plain TCP on that port) and the watcher that reloads it.
  NodeCredentials credentials_;
  // Permission rules (client certificate authentication on; null otherwise).
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<AuthRefresher> auth_refresher_;
  // ringkv_tls_* and ringkv_gossip_* security metrics (server/security_metrics.h).
  metrics::CollectorHandle security_metrics_;
  ring::RingConfig ring_;
  // Syncs gossip's view into the store and transport; also performs the final Leave.
  std::thread membership_thread_;
  std::mutex mu_;
  std::mutex incarnation_mu_;  // serializes CheckPeerIncarnation's read-then-write
  std::condition_variable cv_;
  bool stopping_ = false;          // guarded by mu_
  std::atomic<bool> draining_{false};  // set by Stop(); /readyz fails from then on
  std::atomic<bool> left_{false};      // decommissioned and left gossip; serves no data
  bool leave_requested_ = false;   // guarded by mu_
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_NODE_H_
