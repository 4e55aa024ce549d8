#include "store/store.h"

#include <glog/logging.h>

#include <future>
#include <map>
#include <string>

#include "store/asio_node_env.h"
#include "store/fail_stop.h"

namespace ringkv::store {
namespace {

// Routes the pure Raft core's log lines to glog. Debug lines only at --v=1.
class GlogRaftLogger final : public raft::Logger {
 public:
  void Log(raft::LogLevel level, std::string_view msg) override {
    switch (level) {
      case raft::LogLevel::kDebug: VLOG(1) << msg; break;
      case raft::LogLevel::kInfo: LOG(INFO) << msg; break;
      case raft::LogLevel::kWarning: LOG(WARNING) << msg; break;
      case raft::LogLevel::kError: LOG(ERROR) << msg; break;
    }
  }
};

}  // namespace

const char* MemberStateName(MemberView::State s) {
  switch (s) {
    case MemberView::State::kAlive: return "alive";
    case MemberView::State::kSuspect: return "suspect";
    case MemberView::State::kDead: return "dead";
    case MemberView::State::kLeft: return "left";
  }
  return "unknown";
}

Store::Store(StoreOptions options, storage::Engine* engine, StoreTransport* transport,
             NodeEnv* env)
    : options_(std::move(options)),
      engine_(engine),
      transport_(transport),
      logger_(std::make_unique<GlogRaftLogger>()),
      own_env_(env == nullptr ? std::make_unique<AsioNodeEnv>() : nullptr),
      env_(env == nullptr ? own_env_.get() : env),
      tick_timer_(env_->loop().NewTimer()),
      replicas_(options_, engine, transport, this, ring_,
                [this] { return pipeline_.write_in_flight(); }),
      pipeline_(options_, engine, *env_, running_, replicas_, *this),
      snapshots_(options_, engine, transport, *env_, running_, ring_, replicas_,
                 pipeline_),
      placement_(options_, *env_, running_, ring_, replicas_, pipeline_),
      router_(options_, engine, *env_, ring_, replicas_, pipeline_) {
  Result<ring::HashRing> r = ring::HashRing::Create(options_.ring);
  if (r.ok()) {
    ring_ = std::move(r).value();
  } else {
    LOG(ERROR) << "invalid ring config " << options_.ring.ToString() << ": " << r.status();
  }
}

Store::~Store() { Stop(); }

ringkv::Status Store::AddReplica(GroupId group, const raftpb::ConfState* bootstrap,
                                 std::optional<NodeId> new_raft_id) {
  return replicas_.Add(group, bootstrap, new_raft_id);
}

ringkv::Status Store::OpenExistingReplicas() { return replicas_.OpenExisting(); }

void Store::SetClientAddress(NodeId node, std::string address) {
  env_->loop().Post([this, node, address = std::move(address)]() mutable {
    router_.SetClientAddress(node, std::move(address));
  });
}

void Store::SetMembership(std::vector<MemberView> members) {
  env_->loop().Post([this, members = std::move(members)]() mutable {
    for (const MemberView& m : members) {
      if (!m.client_addr.empty()) router_.SetClientAddress(m.id, m.client_addr);
    }
    UpdateLiveness(members);
    placement_.SetMembers(std::move(members));
  });
}

void Store::SetDecommissioning(std::function<void()> on_drained) {
  env_->loop().Post([this, on_drained = std::move(on_drained)]() mutable {
    placement_.SetDecommissioning(std::move(on_drained));
  });
}

void Store::Start() {
  if (running_.exchange(true)) return;
  started_at_ = env_->clock().Now();
  env_->StartWorkers();
  tick_timer_->RunAfter(options_.tick, [this] { OnTick(); });
  placement_.Start(started_at_);
  env_->StartLoop();
}

void Store::Stop() {
  if (!running_.exchange(false)) return;
  env_->Stop([this] {
    tick_timer_->Cancel();
    placement_.Stop();
  });
}

void Store::UpdateLiveness(const std::vector<MemberView>& members) {
  std::set<NodeId> live;
  for (const MemberView& m : members) {
    if (m.state == MemberView::State::kAlive) live.insert(m.id);
  }
  if (liveness_known_ && live == live_nodes_) return;
  liveness_known_ = true;
  live_nodes_ = std::move(live);
  // Rare (a member changed state): every replica, awake or asleep, re-checks.
  replicas_.ForEachTouching([this](GroupId g, replica::Replica& r) {
    r.LivenessChanged();
    if (r.NeedsTicks()) replicas_.MarkTicking(g);
  });
  pipeline_.ScheduleCycle();
}

void Store::OnTick() {
  if (!running_) return;
  auto now = env_->clock().Now();
  // Only the replicas that are awake or have requests waiting: a quiesced group costs nothing
  // here. Those that fell asleep leave the set; whatever wakes one puts it back (peer messages
  // below, every loop turn in TurnPipeline, liveness changes above). Find marks each one
  // touched: the turn this schedules visits it.
  std::vector<GroupId> asleep;
  replicas_.PollRemoved();
  // Coalesced heartbeats: every group this node leads heartbeats on the same tick, so one turn
  // and one frame per peer carry them all (and the answers come back the same way), instead of
  // heartbeat_tick turns with each group at its own phase.
  ++ticks_;
  const bool heartbeat_due =
      options_.replica.coalesced_heartbeats &&
      ticks_ % static_cast<uint64_t>(options_.replica.heartbeat_tick) == 0;
  for (GroupId g : replicas_.ticking()) {
    replica::Replica* r = replicas_.Find(g);
    if (r == nullptr) {  // deleted since
      asleep.push_back(g);
      continue;
    }
    r->Tick(heartbeat_due);
    r->ExpireRequests(now);
    ringkv::Status s = r->RetryStalledApply(now);
    if (!s.ok()) FailStop(s, "applying committed entries");
    if (!r->NeedsTicks()) asleep.push_back(g);
  }
  const bool ticked = !replicas_.ticking().empty();
  for (GroupId g : asleep) replicas_.StopTicking(g);
  if (ticked) pipeline_.ScheduleCycle();
  tick_timer_->RunAfter(options_.tick, [this] { OnTick(); });
}

void Store::OnRaftMessages(NodeId from, std::vector<raftpb::Message> msgs) {
  env_->loop().Post([this, from, msgs = std::move(msgs)]() mutable {
    for (raftpb::Message& m : msgs) {
      replica::Replica* r = replicas_.Route(from, m);
      if (r == nullptr) continue;
      if (m.type() == raftpb::MSG_TIMEOUT_NOW) placement_.OnTransferReceived(GroupId(m.group_id()));
      r->Step(std::move(m));
      if (r->NeedsTicks()) replicas_.MarkTicking(r->group());
    }
    pipeline_.ScheduleCycle();
  });
}

void Store::OnSnapshotChunk(NodeId from, transportpb::SnapshotChunk chunk) {
  env_->loop().Post([this, from, chunk = std::move(chunk)] {
    snapshots_.OnChunk(from, chunk);
  });
}

void Store::OnUnreachable(NodeId peer) {
  env_->loop().Post([this, peer] {
    // Once per failed dial (with backoff), so it may visit every group.
    replicas_.ForEachTouching(
        [peer](GroupId, replica::Replica& r) { r.ReportUnreachableNode(peer); });
    pipeline_.ScheduleCycle();
  });
}

void Store::SendRaft(raftpb::Message m) {
  // Collected into the turn's output while a turn (or what a log write released) is
  // collected; sent at once otherwise.
  if (pipeline_.Capture(m)) return;
  // A full or unreachable peer queue drops the message; Raft retransmits.
  transport_->Send(std::move(m));
}

void Store::SendSnapshot(GroupId group, raftpb::Message msg) {
  if (pipeline_.CaptureSnapshot(group, msg)) return;
  snapshots_.Send(group, std::move(msg));
}

void Store::SendToPeer(NodeId peer, std::vector<raftpb::Message> messages) {
  // One peer's messages of a turn, in order, queued together: one frame per peer per turn.
  transport_->SendAll(peer, std::move(messages));
}

void Store::StreamSnapshot(GroupId group, raftpb::Message msg) {
  snapshots_.Send(group, std::move(msg));
}

void Store::HandleRequest(kvpb::Request req, ResponseCallback reply,
                          std::chrono::steady_clock::time_point received) {
  env_->loop().Post([this, req = std::move(req), reply = std::move(reply),
                            received]() mutable {
    Dispatch(std::move(req), std::move(reply), received);
    pipeline_.ScheduleCycle();
  });
}

void Store::Dispatch(kvpb::Request req, ResponseCallback reply,
                     std::chrono::steady_clock::time_point received) {
  uint64_t request_id = req.request_id();
  NodeId self = options_.node_id;
  if (req.has_status()) {
    kvpb::Response resp;
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    *resp.mutable_status() = GetNodeStatus(req.status().with_digests());
    reply(std::move(resp));
    return;
  }
  if (req.has_admin() && req.admin().op_case() == kvpb::AdminRequest::kDecommission) {
    kvpb::Response resp;
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    if (on_decommission_request_) {
      on_decommission_request_();
      resp.mutable_admin()->set_message("node " + std::to_string(self.value()) +
                                        " is decommissioning: its replicas move away, then it leaves");
    } else {
      resp.mutable_error()->set_code(kvpb::UNAVAILABLE);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_message("decommissioning needs gossip membership (--join)");
    }
    reply(std::move(resp));
    return;
  }
  router_.Dispatch(std::move(req), std::move(reply), received);
}

void Store::HandleWatch(kvpb::Request req, std::shared_ptr<replica::WatchStream> stream) {
  env_->loop().Post([this, req = std::move(req), stream = std::move(stream)]() mutable {
    router_.HandleWatch(req, std::move(stream));
    pipeline_.ScheduleCycle();  // a replica with a watch is ticked (quiescence): the turn marks it
  });
}

void Store::CancelWatch(uint64_t connection_id, GroupId group, uint64_t watch_request_id) {
  env_->loop().Post([this, connection_id, group, watch_request_id] {
    if (replica::Replica* r = replicas_.Find(group)) r->CancelWatch(connection_id, watch_request_id);
  });
}

void Store::OnConnectionClosed(uint64_t connection_id) {
  env_->loop().Post([this, connection_id] {
    // Ending watches makes no Ready (and a replica left without work of its own falls asleep
    // at its next tick): the replicas are not marked touched.
    for (auto& [g, r] : replicas_.all()) r->CancelConnectionWatches(connection_id);
  });
}

kvpb::NodeStatus Store::GetNodeStatus(bool with_digests) {
  auto fill = [this, with_digests] {
    kvpb::NodeStatus st;
    st.set_node_id(options_.node_id.value());
    const std::map<NodeId, std::string>& client_addresses = router_.client_addresses();
    auto it = client_addresses.find(options_.node_id);
    if (it != client_addresses.end()) st.set_client_address(it->second);
    st.set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                         env_->clock().Now() - started_at_)
                         .count());
    for (auto& [g, r] : replicas_.all()) {
      kvpb::GroupStatus* gs = st.add_groups();
      *gs = r->GroupStatusProto();
      if (!with_digests) continue;
      Result<storage::StateDigest> d = r->Digest();
      if (!d.ok()) {
        LOG(WARNING) << "group " << g << ": state digest failed: " << d.status();
        continue;
      }
      gs->set_has_digest(true);
      gs->set_digest(d->hash);
      gs->set_digest_applied(d->applied.applied_index.value());
    }
    if (ring_) st.set_ring_config(options_.ring.Encode());
    st.set_raft_log_node_max_bytes(options_.raft_log_node_max_bytes);
    st.set_decommissioning(placement_.decommissioning());
    const std::map<NodeId, MemberView>& members = placement_.members();
    if (members.empty()) {
      for (auto& [id, addr] : client_addresses) {
        st.add_member_ids(id.value());
        st.add_member_client_addresses(addr);
        st.add_member_states("static");
        st.add_member_decommissioning(false);
      }
    } else {
      for (auto& [id, m] : members) {
        st.add_member_ids(id.value());
        st.add_member_client_addresses(m.client_addr);
        st.add_member_states(MemberStateName(m.state));
        st.add_member_decommissioning(m.decommissioning);
      }
    }
    return st;
  };
  if (env_->loop().OnLoop() || !running_) return fill();
  std::promise<kvpb::NodeStatus> p;
  auto f = p.get_future();
  env_->loop().Post([&] { p.set_value(fill()); });
  return f.get();
}

bool Store::AllGroupsHaveLeader() {
  kvpb::NodeStatus st = GetNodeStatus();
  for (const auto& g : st.groups()) {
    if (g.leader() == 0) return false;
  }
  return st.groups_size() > 0;
}

}  // namespace ringkv::store
