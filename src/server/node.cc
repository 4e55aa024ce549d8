#include "server/node.h"

#include <glog/logging.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/status_macros.h"
#include "net/transport.h"
#include "server/client_service.h"
#include "storage/engine.h"
#include "storage/meta_store.h"
#include "storage/snapshot.h"
#include "store/store.h"

namespace ringkv::server {

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

Status Node::Start() {
  RETURN_IF_ERROR(OpenStorage());

  store::StoreOptions so;
  so.node_id = options_.node_id;
  so.tick = std::chrono::milliseconds(options_.tick_ms);
  so.default_request_timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  so.replica = options_.replica;
  so.replica.seed = data_incarnation_;
  transport_adapter_ = std::make_unique<PeerTransportAdapter>();
  store_ = std::make_unique<store::Store>(so, engine_.get(), transport_adapter_.get());

  // One group over the whole key space, all initial members voters (sharding: issue #4).
  raftpb::ConfState bootstrap;
  for (const auto& [id, addr] : options_.initial_peers) bootstrap.add_voters(id.value());
  RETURN_IF_ERROR(store_->AddReplica(GroupId(1), &bootstrap));
  for (const auto& [id, addr] : options_.initial_clients) store_->SetClientAddress(id, addr);
  store_->SetClientAddress(options_.node_id, options_.advertise_client);

  net::TransportOptions to;
  to.cluster_id = options_.cluster_id;
  to.node_id = options_.node_id;
  to.incarnation = data_incarnation_;
  to.listen_address = options_.listen_peer;
  to.advertised_address = options_.advertise_peer;
  store::Store* store = store_.get();
  net::Transport::Handlers h;
  h.on_raft = [store](NodeId from, std::vector<raftpb::Message> msgs) {
    store->OnRaftMessages(from, std::move(msgs));
  };
  h.on_snapshot = [store](NodeId from, transportpb::SnapshotChunk chunk) {
    store->OnSnapshotChunk(from, std::move(chunk));
  };
  h.on_unreachable = [store](NodeId peer) { store->OnUnreachable(peer); };
  transport_ = std::make_unique<net::Transport>(to, h);
  RETURN_IF_ERROR(transport_->Start());
  for (const auto& [id, addr] : options_.initial_peers) {
    if (id != options_.node_id) transport_->SetPeer(id, addr);
  }
  transport_adapter_->set_transport(transport_.get());
  store_->Start();

  client_service_ = std::make_unique<ClientService>(store_.get(), options_.listen_client,
                                                    options_.cluster_id, options_.node_id);
  RETURN_IF_ERROR(client_service_->Start());
  LOG(INFO) << "node " << options_.node_id << " serving: clients on " << options_.listen_client
            << " (port " << client_service_->port() << "), peers on " << options_.listen_peer
            << " (port " << transport_->port() << "), data dir " << options_.data_dir
            << ", data incarnation " << std::hex << data_incarnation_ << std::dec;
  return Status::OK();
}

void Node::Stop() {
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
  // Transport first: after it stops no callback can reach the store. The store's snapshot
  // thread may still call Send on the stopped transport, which refuses safely.
  if (transport_) transport_->Stop();
  if (store_) store_->Stop();
  store_.reset();
  transport_.reset();
  transport_adapter_.reset();
  engine_.reset();
}

uint16_t Node::client_port() const { return client_service_ ? client_service_->port() : 0; }
uint16_t Node::peer_port() const { return transport_ ? transport_->port() : 0; }

}  // namespace ringkv::server
