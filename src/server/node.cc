// Node: wiring — building the parts in start order and stopping them in reverse (see
// node.h). Gossip, the ring and the membership loop are in node_membership.cc, the engine and
// peer identity checks in node_storage.cc, the admin port in node_admin.cc; the TLS material
// is NodeCredentials (node_credentials.h).
#include "server/node.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/status_macros.h"
#include "gossip/gossip_driver.h"
#include "net/transport.h"
#include "ring/shard_map.h"
#include "http/http_server.h"
#include "server/admin_service.h"
#include "server/http_api.h"
#include "server/auth_refresher.h"
#include "server/authorizer.h"
#include "server/client_service.h"
#include "server/peer_metrics.h"
#include "server/peer_transport_adapter.h"
#include "server/security_metrics.h"
#include "server/space_guard.h"
#include "server/storage_compactor.h"
#include "storage/engine.h"
#include "store/asio_node_env.h"
#include "store/store.h"

namespace ringkv::server {

Node::Node(NodeOptions options) : options_(std::move(options)) {
  if (options_.advertise_peer.empty()) options_.advertise_peer = options_.listen_peer;
  if (options_.advertise_client.empty()) options_.advertise_client = options_.listen_client;
  if (!options_.listen_admin.empty()) {
    http::HttpServerOptions ho;
    ho.listen_address = options_.listen_admin;
    ho.name = "admin";
    http_server_ = std::make_unique<http::HttpServer>(ho);
  }
}

Node::~Node() { Stop(); }

Status Node::LoadCredentials() {
  CredentialWatcherOptions wo;
  wo.interval = std::chrono::milliseconds(options_.tls_reload_interval_ms);
  wo.expiry_warning = std::chrono::seconds(int64_t{options_.tls_expiry_warning_days} * 86400);
  return credentials_.Load(options_.client_tls, options_.peer_tls, options_.listen_client,
                           options_.listen_peer, wo);
}

Status Node::ReloadCredentials() {
  if (credentials_.watcher() == nullptr) return Status::OK();
  return credentials_.watcher()->ReloadAll();
}

Status Node::Start() {
  RETURN_IF_ERROR(LoadCredentials());
  RETURN_IF_ERROR(OpenStorage());
  RETURN_IF_ERROR(StartGossip());
  bool ring_created = false;
  RETURN_IF_ERROR(LoadOrCreateRing(&ring_created));
  StartSpaceGuard();
  RETURN_IF_ERROR(OpenStore(ring_created));
  RETURN_IF_ERROR(StartPeerTransport());
  store_->Start();
  membership_thread_ = std::thread([this] { MembershipLoop(); });

  // Before the client port, so every status answer carries the admin address.
  RETURN_IF_ERROR(StartAdmin());
  const bool enforce = credentials_.client() != nullptr &&
                       options_.client_tls.client_auth != net::ClientCertAuth::kOff;
  RETURN_IF_ERROR(StartClientPort(enforce));
  if (http_api_) {
    // Any node answers any key: the API's client dials this node's client port and the other
    // members'. Best effort: without it the API answers 503, the rest of the node serves.
    std::vector<std::string> endpoints = {options_.advertise_client};
    for (const auto& [id, addr] : options_.initial_clients) {
      if (id != options_.node_id && !addr.empty()) endpoints.push_back(addr);
    }
    Status api = http_api_->Start(std::move(endpoints), authorizer_.get());
    if (!api.ok()) LOG(WARNING) << "HTTP/JSON API unavailable: " << api;
  }
  if (enforce) {
    AuthRefresherOptions ro;
    ro.endpoints.push_back(options_.advertise_client);
    for (const auto& [id, addr] : options_.initial_clients) {
      if (id != options_.node_id) ro.endpoints.push_back(addr);
    }
    ro.cluster_id = options_.cluster_id;
    ro.tls.ca_file = options_.client_tls.ca_file;
    ro.tls.cert_file = options_.client_tls.cert_file;
    ro.tls.key_file = options_.client_tls.key_file;
    ro.interval = std::chrono::milliseconds(options_.auth_refresh_ms);
    auth_refresher_ = std::make_unique<AuthRefresher>(ro, authorizer_.get());
    auth_refresher_->Start();
    LOG(INFO) << "security: client certificates "
              << net::ClientCertAuthName(options_.client_tls.client_auth)
              << "; permissions enforced, rules read from the cluster every "
              << options_.auth_refresh_ms << " ms";
  }
  credentials_.watcher()->Start();
  security_metrics_ = metrics::Registry::Default().AddCollector([this](metrics::Sink& out) {
    SecurityCounters c;
    c.expiry_seconds = credentials_.watcher()->ExpirySeconds();
    c.reload_failures = credentials_.watcher()->reload_failures();
    c.client_tls_refused = client_service_->tls_refused();
    c.peer_tls_refused = transport_->tls_refused();
    const gossip::GossipDriverStats g = gossip_->stats();
    c.gossip_auth_failures = g.auth_failures;
    c.gossip_replays_dropped = g.replays_dropped;
    CollectSecurityMetrics(c, out);
  });
  LOG(INFO) << "node " << options_.node_id << " serving: clients on " << options_.listen_client
            << " (port " << client_service_->port() << "), peers on " << options_.listen_peer
            << " (port " << transport_->port() << "), data dir " << options_.data_dir
            << ", data incarnation " << std::hex << data_incarnation_ << std::dec;
  return Status::OK();
}

void Node::StartSpaceGuard() {
  SpaceGuardOptions sg;
  sg.data_dir = options_.data_dir;
  sg.quota_bytes = options_.storage_quota_bytes;
  sg.min_free_bytes = options_.min_free_disk_bytes;
  sg.interval = std::chrono::milliseconds(options_.space_check_interval_ms);
  sg.on_change = [this](bool, const std::string&) {
    PublishMeta();
    RefreshClusterAlarm(gossip_->Members());
  };
  space_guard_ = std::make_unique<SpaceGuard>(sg);
  space_guard_->Start();
  PublishMeta();
}

Status Node::OpenStore(bool ring_created) {
  store::StoreOptions so;
  so.ring = ring_;
  so.placement_interval = std::chrono::milliseconds(options_.placement_interval_ms);
  so.dead_node_timeout = std::chrono::milliseconds(options_.dead_node_timeout_ms);
  so.stability_delay = std::chrono::milliseconds(options_.stability_delay_ms);
  so.node_id = options_.node_id;
  so.tick = std::chrono::milliseconds(options_.tick_ms);
  so.default_request_timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  so.replica = options_.replica;
  so.slow_sync = std::chrono::milliseconds(options_.slow_sync_ms);
  so.slow_apply = std::chrono::milliseconds(options_.slow_apply_ms);
  so.snapshot.chunk_bytes = options_.snapshot_chunk_bytes;
  so.raft_log_node_max_bytes = options_.raft_log_node_max_bytes;
  so.replica.seed = data_incarnation_;
  // Node-wide memory and per-turn budgets, shared evenly: a node hosts at most one replica per
  // shard.
  const uint32_t shards = std::max<uint32_t>(1, ring_.num_shards);
  so.replica.entry_cache_bytes = std::max<size_t>(1, options_.raft_entry_cache_bytes / shards);
  so.replica.max_committed_size_per_ready =
      std::max<size_t>(1, options_.raft_max_apply_bytes / shards);
  transport_adapter_ = std::make_unique<PeerTransportAdapter>();
  env_ = std::make_unique<store::AsioNodeEnv>();
  store_ = std::make_unique<store::Store>(so, engine_.get(), transport_adapter_.get(), env_.get());

  RETURN_IF_ERROR(store_->OpenExistingReplicas());
  if (ring_created) {
    // A new cluster: every initial member computes the same initial placement from the ring
    // and creates its replicas with that membership. From here on only Raft changes it.
    std::vector<NodeId> initial;
    for (const auto& [id, addr] : options_.initial_peers) initial.push_back(id);
    ASSIGN_OR_RETURN(ring::ShardMap map, ring::ShardMap::Compute(ring_, initial));
    for (GroupId g : map.ShardsOf(options_.node_id)) {
      raftpb::ConfState cs;
      for (NodeId n : map.Replicas(g)) cs.add_voters(n.value());
      RETURN_IF_ERROR(store_->AddReplica(g, &cs));
    }
    LOG(INFO) << "bootstrapped ring " << ring_.ToString() << ": this node hosts "
              << map.ShardsOf(options_.node_id).size() << " shards";
  }
  store_->SetDecommissionHandler([this] {
    gossip_->SetDecommissioning(true);
    store_->SetDecommissioning([this] {
      std::lock_guard<std::mutex> lock(mu_);
      leave_requested_ = true;
      cv_.notify_all();
    });
  });
  for (const auto& [id, addr] : options_.initial_clients) store_->SetClientAddress(id, addr);
  store_->SetClientAddress(options_.node_id, options_.advertise_client);
  return Status::OK();
}

net::SharedIo Node::LoopIo() {
  return net::SharedIo{&env_->io(),
                       [env = env_.get()](const std::function<void()>& fn) { env->RunSync(fn); }};
}

bool Node::ClientPortOnLoop() const {
  // With TLS, every connection starts with a handshake of a millisecond or more of CPU: a
  // storm of reconnecting clients would stall the loop's Raft work (heartbeats, elections), so
  // a TLS client port keeps a thread of its own. A peer port has two connections per peer.
  return options_.client_io_on_loop && credentials_.client() == nullptr;
}

Status Node::StartPeerTransport() {
  net::TransportOptions to;
  to.cluster_id = options_.cluster_id;
  to.node_id = options_.node_id;
  to.incarnation = data_incarnation_;
  to.listen_address = options_.listen_peer;
  to.advertised_address = options_.advertise_peer;
  to.tls_server = credentials_.peer_server();
  to.tls_client = credentials_.peer_client();
  if (options_.peer_io_on_loop) to.io = LoopIo();
  store::Store* store = store_.get();
  net::Transport::Handlers h;
  h.on_raft = [store](NodeId from, std::vector<raftpb::Message> msgs) {
    store->OnRaftMessages(from, std::move(msgs));
  };
  h.on_snapshot = [store](NodeId from, transportpb::SnapshotChunk chunk) {
    store->OnSnapshotChunk(from, std::move(chunk));
  };
  h.on_unreachable = [store](NodeId peer) { store->OnUnreachable(peer); };
  h.on_peer_handshake = [this](NodeId peer, uint64_t incarnation, const std::string& remote) {
    return CheckPeerIncarnation(peer, incarnation, remote);
  };
  h.on_round_trip = [](NodeId peer, std::chrono::microseconds rtt) {
    ObservePeerRoundTrip(peer, rtt);
  };
  transport_ = std::make_unique<net::Transport>(to, h);
  RETURN_IF_ERROR(transport_->Start());
  for (const auto& [id, addr] : options_.initial_peers) {
    if (id != options_.node_id) transport_->SetPeer(id, addr);
  }
  transport_adapter_->set_transport(transport_.get());
  return Status::OK();
}

Status Node::StartClientPort(bool enforce) {
  if (enforce) {
    authorizer_ = std::make_unique<Authorizer>(
        std::chrono::milliseconds(options_.auth_stale_after_ms));
  }
  client_service_ = std::make_unique<ClientService>(store_.get(), options_.listen_client,
                                                    options_.cluster_id, options_.node_id,
                                                    credentials_.client(), authorizer_.get(),
                                                    options_.admission,
                                                    options_.watch_max_unread_bytes,
                                                    ClientPortOnLoop() ? LoopIo()
                                                                       : net::SharedIo{});
  client_service_->SetStatusDecorator([this](kvpb::NodeStatus* st) { DecorateStatus(st); });
  client_service_->SetSlowRequestThreshold(std::chrono::milliseconds(options_.slow_request_ms));
  client_service_->SetWriteGate([this] { return WriteGate(); });
  client_service_->SetServingGate([this] {
    if (!left_.load()) return std::string();
    return "node " + std::to_string(options_.node_id.value()) +
           " left the cluster (decommissioned) and serves no data; use the other members' "
           "endpoints (kvctl member list), and stop this kvd";
  });
  client_service_->SetDisarmHandler([this] {
    const bool had = space_guard_->nospace();
    space_guard_->Disarm();
    space_guard_->CheckNow();  // raised again at once when a limit is still exceeded
    if (!had) return std::string("node ") + std::to_string(options_.node_id.value()) + " has no alarm";
    return space_guard_->nospace()
               ? "NOSPACE on node " + std::to_string(options_.node_id.value()) +
                     " is still due and was raised again: " + space_guard_->Reason()
               : "NOSPACE on node " + std::to_string(options_.node_id.value()) + " disarmed";
  });
  storage_compactor_ = std::make_unique<StorageCompactor>(engine_.get(), options_.node_id.value());
  client_service_->SetCompactStorageHandler(
      [compactor = storage_compactor_.get()](std::function<void(kvpb::Response)> reply) {
        compactor->Compact([reply = std::move(reply)](Status s, kvpb::AdminResponse admin) {
          kvpb::Response resp;
          if (s.ok()) {
            *resp.mutable_admin() = std::move(admin);
          } else {
            resp.mutable_error()->set_code(kvpb::INTERNAL);
            resp.mutable_error()->set_definite(true);  // compaction changes no data
            resp.mutable_error()->set_message(std::string(s.message()));
          }
          reply(std::move(resp));
        });
      });
  return client_service_->Start();
}

void Node::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  // /readyz fails from here on, while the admin port still answers during the hand-off.
  draining_ = true;
  if (membership_thread_.joinable()) membership_thread_.join();
  security_metrics_.Reset();  // reads the parts stopped below
  if (credentials_.watcher()) credentials_.watcher()->Stop();
  if (auth_refresher_) auth_refresher_->Stop();  // reads through the client port: stop first
  if (client_service_) {
    client_service_->SetDraining();
    // Hand off leadership so clients find a new leader at once instead of after an election
    // timeout (etcd's TryTransferLeadershipOnShutdown).
    if (store_) {
      kvpb::NodeStatus st = store_->GetNodeStatus();
      for (const auto& g : st.groups()) {
        if (g.leader() != options_.node_id.value()) continue;
        for (uint64_t v : g.voters()) {
          if (v == options_.node_id.value()) continue;
          kvpb::Request req;
          req.set_group_id(g.group_id());
          req.mutable_admin()->set_transfer_leader_to(v);
          store_->HandleRequest(req, [](kvpb::Response) {});
          break;
        }
      }
      // Give the transfer a moment to complete (bounded; shutdown proceeds regardless).
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
      while (std::chrono::steady_clock::now() < deadline) {
        bool leads = false;
        kvpb::NodeStatus now = store_->GetNodeStatus();
        for (const auto& g : now.groups()) {
          leads = leads || g.leader() == options_.node_id.value();
        }
        if (!leads) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    client_service_->Stop();
  }
  // A storage compaction still running is cancelled (RocksDB stops it soon).
  storage_compactor_.reset();
  // The admin port before the store and gossip, which its handlers reach into.
  if (http_server_) http_server_->Stop();
  admin_service_.reset();
  http_api_.reset();  // ends its watches and closes its client
  // Transport first: after it stops no callback can reach the store. The store's snapshot
  // thread may still call Send on the stopped transport, which refuses safely.
  if (transport_) transport_->Stop();
  if (store_) store_->Stop();
  // Only now, with the loop stopped: the client port and the transport may run on the loop
  // (Node::LoopIo), and the completions their Stop set off (an aborted accept or read, a
  // cancelled timer) run there afterwards and reach into them; a loop that has stopped runs
  // none, and the io_context (env_) outlives their sockets.
  client_service_.reset();
  store_.reset();
  transport_.reset();
  transport_adapter_.reset();
  if (space_guard_) space_guard_->Stop();
  if (gossip_) gossip_->Stop();
  gossip_.reset();
  engine_.reset();
}

uint16_t Node::admin_port() const { return http_server_ ? http_server_->port() : 0; }

uint16_t Node::client_port() const { return client_service_ ? client_service_->port() : 0; }
uint16_t Node::peer_port() const { return transport_ ? transport_->port() : 0; }

}  // namespace ringkv::server
