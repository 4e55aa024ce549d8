#include "server/node.h"

#include <glog/logging.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/status_macros.h"
#include "gossip/gossip_driver.h"
#include "gossip/keyring.h"
#include "net/address.h"
#include "net/transport.h"
#include "ring/shard_map.h"
#include "http/http_server.h"
#include "server/admin_service.h"
#include "server/http_api.h"
#include "server/auth_refresher.h"
#include "server/authorizer.h"
#include "server/client_service.h"
#include "server/credential_watcher.h"
#include "server/peer_metrics.h"
#include "server/security_metrics.h"
#include "server/space_guard.h"
#include "server/storage_compactor.h"
#include "storage/engine.h"
#include "storage/meta_store.h"
#include "storage/snapshot.h"
#include "store/store.h"

namespace ringkv::server {
namespace {

// Changes when the file is rewritten or replaced: "mtime:size:inode", "-" when missing.
std::string FileFingerprint(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return "-";
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_ino);
}

}  // namespace

// Gives the store its outgoing path over the peer transport.
class PeerTransportAdapter final : public store::StoreTransport {
 public:
  void set_transport(net::Transport* t) { transport_ = t; }
  bool Send(raftpb::Message m) override {
    return transport_ != nullptr && transport_->Send(std::move(m));
  }
  // Called on the snapshot thread: a full peer queue is waited out (briefly) rather than
  // failing the whole snapshot, since chunks must arrive without gaps.
  bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) override {
    if (transport_ == nullptr) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!transport_->SendSnapshotChunk(to, chunk)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      // Pacing, not synchronization: the peer's queue drains at network speed.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  net::Transport* transport_ = nullptr;
};

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

Status Node::OpenStorage() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return Status::IOError("cannot create data dir " + options_.data_dir + ": " + ec.message());
  }
  storage::EngineOptions eo;
  eo.path = options_.data_dir;
  eo.create_if_missing = true;
  eo.test_buffer_unsynced_writes = options_.test_buffer_unsynced_writes;
  ASSIGN_OR_RETURN(engine_, storage::Engine::Open(eo));
  RETURN_IF_ERROR(storage::RecoverSnapshotInstalls(engine_.get()));
  storage::MetaStore meta(engine_.get());
  Status s = meta.SetNodeId(options_.node_id);
  if (!s.ok()) {
    return Status::FailedPrecondition("data dir " + options_.data_dir +
                                      " belongs to another node: " + s.ToString());
  }
  s = meta.SetClusterId(options_.cluster_id);
  if (!s.ok()) {
    return Status::FailedPrecondition("data dir " + options_.data_dir +
                                      " belongs to another cluster: " + s.ToString());
  }
  ASSIGN_OR_RETURN(data_incarnation_, meta.InitIncarnationId());
  return Status::OK();
}

Status Node::LoadOrCreateRing(bool* created) {
  storage::MetaStore meta(engine_.get());
  ASSIGN_OR_RETURN(std::optional<std::string> stored, meta.GetRingConfig());
  *created = false;
  if (stored) {
    ASSIGN_OR_RETURN(ring_, ring::RingConfig::Decode(*stored));
    return Status::OK();
  }
  if (!options_.initial_peers.empty() && options_.join.empty()) {
    // Bootstrapping a new cluster: every initial member derives the same ring.
    ring_.num_shards = options_.shards;
    ring_.replication_factor = options_.replication;
    ring_.hash_seed = options_.cluster_id;
    RETURN_IF_ERROR(ring_.Validate());
    RETURN_IF_ERROR(meta.SetRingConfig(ring_.Encode()));
    *created = true;
    return Status::OK();
  }
  // Joining an existing cluster: adopt the ring a member gossips.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    for (const gossip::Member& m : gossip_->Members()) {
      if (m.id == options_.node_id || m.meta.empty()) continue;
      // The ring is the meta's first 24 bytes (a flags byte may follow: PublishMeta).
      Result<ring::RingConfig> r = ring::RingConfig::Decode(std::string_view(m.meta).substr(0, 24));
      if (!r.ok()) continue;
      ring_ = *r;
      RETURN_IF_ERROR(meta.SetRingConfig(ring_.Encode()));
      LOG(INFO) << "joined: adopted ring " << ring_.ToString() << " from node " << m.id;
      return Status::OK();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling gossip's view
  }
  return Status::Unavailable("no cluster member reachable through --join within 30 s");
}

Status Node::StartGossip() {
  std::string listen = options_.listen_gossip.empty() ? options_.listen_peer : options_.listen_gossip;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("bad gossip address " + listen);
  gossip::GossipDriverOptions g;
  g.bind_host = listen.substr(0, colon);
  g.bind_port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
  g.advertise_host = options_.advertise_peer.substr(0, options_.advertise_peer.rfind(':'));
  g.swim.cluster_id = std::to_string(options_.cluster_id);
  g.swim.self.id = options_.node_id;
  g.swim.self.name = "node-" + std::to_string(options_.node_id.value());
  g.swim.self.peer_addr = options_.advertise_peer;
  g.swim.self.client_addr = options_.advertise_client;
  g.swim.seed = data_incarnation_ ^ options_.node_id.value();
  g.swim.probe_interval_ms = options_.gossip_probe_interval_ms;
  g.swim.probe_timeout_ms = options_.gossip_probe_interval_ms / 2;
  if (!options_.gossip_key_file.empty()) {
    ASSIGN_OR_RETURN(gossip::Keyring ring, gossip::Keyring::LoadFile(options_.gossip_key_file));
    LOG(INFO) << "security: gossip datagrams are sealed with AES-GCM; key ring of " << ring.size()
              << " key(s), fingerprints " << ring.Fingerprints() << " (primary first)";
    g.keyring = std::make_shared<const gossip::Keyring>(std::move(ring));
  } else {
    LOG(WARNING) << "security: gossip on " << listen
                 << " is UNAUTHENTICATED and unencrypted (no --gossip_key_file): anyone who can "
                    "send it UDP datagrams can forge membership";
  }
  if (!options_.join.empty()) {
    g.join = options_.join;
  } else {
    for (const auto& [id, addr] : options_.initial_peers) {
      if (id != options_.node_id) g.join.push_back(addr);
    }
  }
  ASSIGN_OR_RETURN(gossip_, gossip::GossipDriver::Start(std::move(g)));
  if (!options_.gossip_key_file.empty()) {
    const std::string path = options_.gossip_key_file;
    auto fingerprint = std::make_shared<std::string>(FileFingerprint(path));
    gossip::GossipDriver* driver = gossip_.get();
    credential_watcher_->AddOther(
        "gossip key ring", [path, fingerprint, driver](bool force) -> Result<bool> {
          const std::string now = FileFingerprint(path);
          if (!force && now == *fingerprint) return false;
          *fingerprint = now;  // a bad file is reported once per change
          ASSIGN_OR_RETURN(gossip::Keyring ring, gossip::Keyring::LoadFile(path));
          LOG(INFO) << "security: gossip key ring now has " << ring.size()
                    << " key(s), fingerprints " << ring.Fingerprints() << " (primary first)";
          driver->SetKeyring(std::make_shared<const gossip::Keyring>(std::move(ring)));
          return true;
        });
  }
  return Status::OK();
}

void Node::MembershipLoop() {
  std::map<NodeId, std::string> peers_set;
  for (;;) {
    bool leave = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_ || leave_requested_; });
      if (stopping_) return;
      leave = leave_requested_;
      leave_requested_ = false;
    }
    if (leave) {
      LOG(INFO) << "node " << options_.node_id << " leaves the cluster (decommissioned)";
      gossip_->Leave(std::chrono::seconds(2)).IgnoreError();  // best effort; others time out
      left_ = true;
    }
    std::vector<store::MemberView> view;
    for (const gossip::Member& m : gossip_->Members()) {
      store::MemberView v;
      v.id = m.id;
      v.peer_addr = m.peer_addr;
      v.client_addr = m.client_addr;
      v.decommissioning = m.decommissioning;
      switch (m.state) {
        case gossip::MemberState::kAlive: v.state = store::MemberView::State::kAlive; break;
        case gossip::MemberState::kSuspect: v.state = store::MemberView::State::kSuspect; break;
        case gossip::MemberState::kDead: v.state = store::MemberView::State::kDead; break;
        case gossip::MemberState::kLeft: v.state = store::MemberView::State::kLeft; break;
      }
      if (m.id != options_.node_id && !m.peer_addr.empty()) {
        auto it = peers_set.find(m.id);
        if (it == peers_set.end() || it->second != m.peer_addr) {
          transport_->SetPeer(m.id, m.peer_addr);
          peers_set[m.id] = m.peer_addr;
        }
      }
      view.push_back(std::move(v));
    }
    store_->SetMembership(std::move(view));
    RefreshClusterAlarm(gossip_->Members());
  }
}

void Node::PublishMeta() {
  std::string meta = ring_.Encode();
  meta.push_back(static_cast<char>(space_guard_ && space_guard_->nospace() ? 1 : 0));
  gossip_->SetMeta(std::move(meta));
}

void Node::RefreshClusterAlarm(const std::vector<gossip::Member>& members) {
  std::string reason;
  if (space_guard_ && space_guard_->nospace()) {
    reason = "NOSPACE alarm on node " + std::to_string(options_.node_id.value()) + " (this node: " +
             space_guard_->Reason() + ")";
  } else {
    for (const gossip::Member& m : members) {
      if (m.id == options_.node_id || !m.IsLive() || m.meta.size() < 25) continue;
      if ((static_cast<uint8_t>(m.meta[24]) & 1) != 0) {
        reason = "NOSPACE alarm on node " + std::to_string(m.id.value());
        break;
      }
    }
  }
  std::lock_guard<std::mutex> lock(alarm_mu_);
  cluster_nospace_reason_ = reason;
  cluster_nospace_ = !reason.empty();
}

std::string Node::WriteGate() {
  if (!cluster_nospace_.load(std::memory_order_relaxed)) return "";
  std::lock_guard<std::mutex> lock(alarm_mu_);
  return cluster_nospace_reason_;
}

Status Node::CheckPeerIncarnation(NodeId peer, uint64_t incarnation, const std::string& remote) {
  // Each data directory has a random incarnation id, sent in every peer handshake. The first
  // one seen for a node id is remembered (synced); a different one later means that node's
  // disk was wiped or replaced: its votes and log are gone, so trusting it could elect two
  // leaders in one term or lose committed entries. It must rejoin under a new node id.
  std::lock_guard<std::mutex> lock(incarnation_mu_);
  storage::MetaStore meta(engine_.get());
  Result<std::optional<uint64_t>> known = meta.GetPeerIncarnation(peer);
  if (!known.ok()) return known.status();
  if (!known->has_value()) return meta.SetPeerIncarnation(peer, incarnation);
  if (**known == incarnation) return Status::OK();
  LOG(ERROR) << "refusing node " << peer << " at " << remote << ": its data directory changed "
             << "(incarnation " << std::hex << incarnation << ", expected " << **known << std::dec
             << "); a node whose data was wiped must rejoin under a new --node_id";
  return Status::FailedPrecondition("node " + std::to_string(peer.value()) +
                                    "'s data directory was replaced (incarnation mismatch); "
                                    "rejoin under a new node id");
}

Status Node::LoadCredentials() {
  CredentialWatcherOptions wo;
  wo.interval = std::chrono::milliseconds(options_.tls_reload_interval_ms);
  wo.expiry_warning = std::chrono::seconds(int64_t{options_.tls_expiry_warning_days} * 86400);
  credential_watcher_ = std::make_unique<CredentialWatcher>(wo);
  if (!options_.client_tls.cert_file.empty()) {
    auto c = net::TlsCredentials::Create(net::TlsRole::kServer, options_.client_tls);
    if (!c.ok()) return Status(c.status().code(), "client port TLS: " + c.status().ToString());
    client_tls_ = *c;
    credential_watcher_->AddTls("client port", client_tls_);
  } else {
    LOG(WARNING) << "security: the client port " << options_.listen_client
                 << " is UNAUTHENTICATED and unencrypted (no --tls_cert): anyone who can reach "
                    "it can read and write every key";
  }
  if (client_tls_ != nullptr) {
    // The admin port serves health checks (no certificates there) and the HTTP API (which
    // must know its clients): certificates are asked for, not required, when the client port
    // asks for them.
    net::TlsOptions admin = options_.client_tls;
    if (admin.client_auth != net::ClientCertAuth::kOff) {
      admin.client_auth = net::ClientCertAuth::kOptional;
    }
    auto a = net::TlsCredentials::Create(net::TlsRole::kServer, admin);
    if (!a.ok()) return Status(a.status().code(), "admin port TLS: " + a.status().ToString());
    admin_tls_ = *a;
    credential_watcher_->AddTls("admin port", admin_tls_, /*warn_expiry=*/false);
    net::TlsOptions dial;
    dial.cert_file = options_.client_tls.cert_file;
    dial.key_file = options_.client_tls.key_file;
    dial.ca_file = options_.client_tls.ca_file;
    auto d = net::TlsCredentials::Create(net::TlsRole::kClient, dial);
    if (!d.ok()) return Status(d.status().code(), "client port TLS: " + d.status().ToString());
    client_dial_tls_ = *d;
    credential_watcher_->AddTls("client port (dialing)", client_dial_tls_, false);
  }
  if (client_tls_ != nullptr && options_.client_tls.client_auth == net::ClientCertAuth::kOff) {
    LOG(WARNING) << "security: the client port uses TLS without client certificates "
                    "(--client_cert_auth=off): clients are not authenticated";
  }
  if (!options_.peer_tls.cert_file.empty()) {
    if (options_.peer_tls.ca_file.empty()) {
      return Status::InvalidArgument(
          "peer port TLS needs a CA file (--peer_tls_ca or --tls_ca): peers authenticate each "
          "other");
    }
    net::TlsOptions server = options_.peer_tls;
    server.client_auth = net::ClientCertAuth::kRequired;
    auto s = net::TlsCredentials::Create(net::TlsRole::kServer, server);
    if (!s.ok()) return Status(s.status().code(), "peer port TLS: " + s.status().ToString());
    net::TlsOptions client = options_.peer_tls;
    client.insecure_skip_verify = false;
    auto c = net::TlsCredentials::Create(net::TlsRole::kClient, client);
    if (!c.ok()) return Status(c.status().code(), "peer port TLS: " + c.status().ToString());
    peer_tls_server_ = *s;
    peer_tls_client_ = *c;
    credential_watcher_->AddTls("peer port", peer_tls_server_);
    credential_watcher_->AddTls("peer port (dialing)", peer_tls_client_, false);
  } else {
    LOG(WARNING) << "security: the peer port " << options_.listen_peer
                 << " is UNAUTHENTICATED and unencrypted (no --peer_tls_cert / --tls_cert): "
                    "anyone who can reach it and knows the cluster id can join as a peer";
  }
  return Status::OK();
}

Status Node::ReloadCredentials() {
  if (credential_watcher_ == nullptr) return Status::OK();
  return credential_watcher_->ReloadAll();
}

Status Node::Start() {
  RETURN_IF_ERROR(LoadCredentials());
  RETURN_IF_ERROR(OpenStorage());
  RETURN_IF_ERROR(StartGossip());
  bool ring_created = false;
  RETURN_IF_ERROR(LoadOrCreateRing(&ring_created));
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
  store_ = std::make_unique<store::Store>(so, engine_.get(), transport_adapter_.get());

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

  net::TransportOptions to;
  to.cluster_id = options_.cluster_id;
  to.node_id = options_.node_id;
  to.incarnation = data_incarnation_;
  to.listen_address = options_.listen_peer;
  to.advertised_address = options_.advertise_peer;
  to.tls_server = peer_tls_server_;
  to.tls_client = peer_tls_client_;
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
  store_->Start();
  membership_thread_ = std::thread([this] { MembershipLoop(); });

  // Before the client port, so every status answer carries the admin address.
  RETURN_IF_ERROR(StartAdmin());
  const bool enforce = client_tls_ != nullptr &&
                       options_.client_tls.client_auth != net::ClientCertAuth::kOff;
  if (enforce) {
    authorizer_ = std::make_unique<Authorizer>(
        std::chrono::milliseconds(options_.auth_stale_after_ms));
  }
  client_service_ = std::make_unique<ClientService>(store_.get(), options_.listen_client,
                                                    options_.cluster_id, options_.node_id,
                                                    client_tls_, authorizer_.get(),
                                                    options_.admission,
                                                    options_.watch_max_unread_bytes);
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
  RETURN_IF_ERROR(client_service_->Start());
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
  credential_watcher_->Start();
  security_metrics_ = metrics::Registry::Default().AddCollector([this](metrics::Sink& out) {
    SecurityCounters c;
    c.expiry_seconds = credential_watcher_->ExpirySeconds();
    c.reload_failures = credential_watcher_->reload_failures();
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
  if (credential_watcher_) credential_watcher_->Stop();
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
    client_service_.reset();
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
  store_.reset();
  transport_.reset();
  transport_adapter_.reset();
  if (space_guard_) space_guard_->Stop();
  if (gossip_) gossip_->Stop();
  gossip_.reset();
  engine_.reset();
}

Status Node::StartAdmin() {
  if (!http_server_) return Status::OK();
  AdminServiceOptions ao;
  ao.self = options_.node_id;
  ao.cluster_id = options_.cluster_id;
  ao.version = options_.version;
  ao.store = store_.get();
  ao.extensive_metrics = options_.extensive_metrics;
  ao.decorate_status = [this](kvpb::NodeStatus* st) { DecorateStatus(st); };
  ao.storage_probe = [this] { return ProbeStorage(); };
  ao.peers = [this] {
    return transport_ ? transport_->AllPeerStats()
                      : std::vector<std::pair<NodeId, net::PeerStats>>{};
  };
  ao.members = [this] { return gossip_->Members(); };
  ao.gossip_joined = [this]() -> std::pair<bool, std::string> {
    size_t live_others = 0;
    for (const gossip::Member& m : gossip_->Members()) {
      if (m.id != options_.node_id && m.IsLive()) ++live_others;
    }
    bool alone = options_.join.empty() && options_.initial_peers.size() <= 1;
    if (live_others > 0 || alone) {
      return {true, std::to_string(live_others) + " other live members"};
    }
    return {false, "sees no other live member yet (joining through " +
                       std::to_string(options_.join.empty() ? options_.initial_peers.size() - 1
                                                            : options_.join.size()) +
                       " seeds)"};
  };
  ao.draining = [this] { return draining_.load(); };
  ao.alarms = [this] { return space_guard_->Alarms(); };
  ao.client_tls = [creds = client_dial_tls_]() -> std::shared_ptr<net::TlsContext> {
    return creds != nullptr ? creds->Current() : nullptr;
  };
  admin_service_ = std::make_unique<AdminService>(std::move(ao));
  admin_service_->Register(http_server_->router());
  // The HTTP/JSON API on the same port, with the client port's edge (server/http_api.h); its
  // client connects once the client port serves (Start).
  HttpApiOptions api;
  api.cluster_id = options_.cluster_id;
  if (client_tls_ != nullptr) {
    api.tls.enable = true;
    api.tls.ca_file = options_.client_tls.ca_file;
    api.tls.cert_file = options_.client_tls.cert_file;
    api.tls.key_file = options_.client_tls.key_file;
    api.client_auth = options_.client_tls.client_auth;
  }
  api.admission = options_.admission;
  api.max_key_bytes = options_.replica.max_key_bytes;
  api.max_value_bytes = options_.replica.max_value_bytes;
  api.request_timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  api.draining = [this] { return draining_.load(); };
  http_api_ = std::make_unique<HttpApi>(std::move(api));
  http_api_->Register(http_server_->router());
  http_server_->SetTls(admin_tls_);
  RETURN_IF_ERROR(http_server_->Start());
  if (options_.advertise_admin.empty()) options_.advertise_admin = http_server_->bound_address();
  LOG(INFO) << "node " << options_.node_id << " admin port on " << http_server_->bound_address()
            << " (status page " << (admin_tls_ != nullptr ? "https://" : "http://")
            << options_.advertise_admin << "/)";
  return Status::OK();
}

void Node::DecorateStatus(kvpb::NodeStatus* st) const {
  st->set_version(options_.version);
  if (client_service_) {
    FillAdmissionStatus(client_service_->admission(), std::chrono::steady_clock::now(),
                        st->mutable_admission());
  }
  st->set_cluster_id(options_.cluster_id);
  if (http_server_) st->set_admin_address(options_.advertise_admin);
  if (space_guard_) {
    for (const std::string& a : space_guard_->Alarms()) st->add_alarms(a);
    SpaceUsage u = space_guard_->usage();
    st->set_storage_used_bytes(u.used_bytes);
    st->set_storage_quota_bytes(u.quota_bytes);
    st->set_storage_free_bytes(u.free_bytes);
  }
  for (auto& g : *st->mutable_groups()) {
    GroupId id(g.group_id());
    g.set_log_bytes(engine_->ApproximateBytes(storage::Cf::kRaft, storage::RaftGroupRange(id)));
    g.set_data_bytes(engine_->ApproximateBytes(storage::Cf::kData, storage::DataGroupRange(id)));
  }
}

std::string Node::ProbeStorage() const {
  storage::WriteBatch b;
  const std::string value = std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  b.Put(storage::Cf::kMeta, storage::HealthProbeKey(), value);
  Status s = engine_->Write(b, /*sync=*/false);
  if (!s.ok()) return "probe write failed: " + s.ToString();
  Result<std::optional<std::string>> got = engine_->Get(storage::Cf::kMeta, storage::HealthProbeKey());
  if (!got.ok()) return "probe read failed: " + got.status().ToString();
  if (!got->has_value() || **got != value) return "probe read back something else";
  return "";
}

uint16_t Node::admin_port() const { return http_server_ ? http_server_->port() : 0; }

uint16_t Node::client_port() const { return client_service_ ? client_service_->port() : 0; }
uint16_t Node::peer_port() const { return transport_ ? transport_->port() : 0; }

}  // namespace ringkv::server
