#include "store/store.h"

#include <glog/logging.h>

#include <boost/asio/post.hpp>
#include <future>

#include "common/crc32c.h"
#include "proto/storage.pb.h"
#include "storage/snapshot.h"

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

kvpb::Response Error(kvpb::ErrorCode code, bool definite, const std::string& msg) {
  kvpb::Response r;
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_definite(definite);
  r.mutable_error()->set_message(msg);
  return r;
}

}  // namespace

Store::Store(StoreOptions options, storage::Engine* engine, StoreTransport* transport)
    : options_(std::move(options)),
      engine_(engine),
      transport_(transport),
      logger_(std::make_unique<GlogRaftLogger>()),
      tick_timer_(std::make_unique<boost::asio::steady_timer>(loop_)) {}

Store::~Store() { Stop(); }

ringkv::Status Store::AddReplica(GroupId group, const raftpb::ConfState* bootstrap) {
  replica::ReplicaOptions ro = options_.replica;
  ro.group = group;
  ro.self = options_.node_id;
  Result<std::unique_ptr<replica::Replica>> r = replica::Replica::Open(engine_, ro, this, bootstrap);
  if (!r.ok()) return r.status();
  replicas_[group] = std::move(r).value();
  return ringkv::Status::OK();
}

void Store::SetClientAddress(NodeId node, std::string address) {
  boost::asio::post(loop_, [this, node, address = std::move(address)]() mutable {
    client_addresses_[node] = std::move(address);
  });
}

void Store::Start() {
  if (running_.exchange(true)) return;
  started_at_ = std::chrono::steady_clock::now();
  storage_worker_.Start();
  snapshot_worker_.Start();
  tick_timer_->expires_after(options_.tick);
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) OnTick();
  });
  loop_thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(loop_);
    loop_.run();
  });
}

void Store::Stop() {
  if (!running_.exchange(false)) return;
  boost::asio::post(loop_, [this] {
    tick_timer_->cancel();
    loop_.stop();
  });
  if (loop_thread_.joinable()) loop_thread_.join();
  snapshot_worker_.Stop();
  storage_worker_.Stop();
}

void Store::OnTick() {
  if (!running_) return;
  auto now = replica::Clock::now();
  for (auto& [g, r] : replicas_) {
    r->Tick();
    r->ExpireRequests(now);
  }
  ScheduleCycle();
  tick_timer_->expires_after(options_.tick);
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) OnTick();
  });
}

void Store::ScheduleCycle() {
  if (cycle_scheduled_) return;
  cycle_scheduled_ = true;
  boost::asio::post(loop_, [this] {
    cycle_scheduled_ = false;
    RunCycle();
  });
}

void Store::RunCycle() {
  if (write_in_flight_) return;  // the next cycle starts when the sync completes
  auto batch = std::make_shared<storage::WriteBatch>();
  bool sync = false;
  for (auto& [g, r] : replicas_) {
    if (!r->HasReady()) continue;
    Result<bool> got = r->CollectReady(batch.get(), &sync);
    if (!got.ok()) FailStop(got.status(), "collecting a Ready");
    if (*got) in_flight_.push_back(r.get());
    NodeId lead = r->lead();
    auto& last = last_leader_[g];
    if (lead != last) {
      LOG(INFO) << "group " << g << ": leader is now "
                << (lead == kNoNode ? std::string("unknown") : "node " + std::to_string(lead.value()))
                << " (term " << r->term() << ")";
      last = lead;
    }
  }
  if (in_flight_.empty()) return;
  write_in_flight_ = true;
  if (batch->Empty()) {
    OnBatchWritten(ringkv::Status::OK());
    return;
  }
  // Injected bug (kvd_buggy only): acknowledge before the log is durable.
  if (options_.replica.test_bug == replica::TestBug::kAckBeforeSync) sync = false;
  storage_worker_.Post([this, batch, sync] {
    ringkv::Status s = engine_->Write(*batch, sync);
    boost::asio::post(loop_, [this, s] { OnBatchWritten(s); });
  });
}

void Store::OnBatchWritten(const ringkv::Status& s) {
  // Style tier 3: a failed write on the Raft log path leaves the log state unknown; stop and
  // recover from disk on restart.
  if (!s.ok()) FailStop(s, "syncing the Raft log");
  write_in_flight_ = false;
  std::vector<replica::Replica*> done;
  done.swap(in_flight_);
  for (replica::Replica* r : done) {
    ringkv::Status st = r->FinishReady();
    if (!st.ok()) FailStop(st, "applying committed entries");
  }
  RunCycle();
}

void Store::FailStop(const ringkv::Status& s, const char* what) {
  LOG(FATAL) << "storage failure while " << what << ": " << s.ToString()
             << "; stopping so that nothing wrong is served (restart recovers from disk)";
}

replica::Replica* Store::FindReplica(GroupId group) {
  auto it = replicas_.find(group);
  return it == replicas_.end() ? nullptr : it->second.get();
}

void Store::OnRaftMessages(NodeId from, std::vector<raftpb::Message> msgs) {
  boost::asio::post(loop_, [this, msgs = std::move(msgs)]() mutable {
    for (raftpb::Message& m : msgs) {
      replica::Replica* r = FindReplica(GroupId(m.group_id()));
      if (r != nullptr) r->Step(std::move(m));
    }
    ScheduleCycle();
  });
}

void Store::OnSnapshotChunk(NodeId from, transportpb::SnapshotChunk chunk) {
  boost::asio::post(loop_, [this, from, chunk = std::move(chunk)] {
    replica::Replica* r = FindReplica(GroupId(chunk.group_id()));
    if (r != nullptr) r->OnSnapshotChunk(from, chunk);
    ScheduleCycle();
  });
}

void Store::OnUnreachable(NodeId peer) {
  boost::asio::post(loop_, [this, peer] {
    for (auto& [g, r] : replicas_) r->ReportUnreachable(peer);
  });
}

void Store::SendRaft(raftpb::Message m) {
  // A full or unreachable peer queue drops the message; Raft retransmits.
  transport_->Send(std::move(m));
}

void Store::SendSnapshot(GroupId group, raftpb::Message msg) {
  NodeId to(msg.to());
  Result<std::unique_ptr<storage::SnapshotSender>> created =
      storage::SnapshotSender::Create(engine_, group);
  if (!created.ok()) {
    LOG(WARNING) << "group " << group << ": cannot snapshot for node " << to << ": "
                 << created.status();
    if (auto* r = FindReplica(group)) r->ReportSnapshot(to, /*failure=*/true);
    return;
  }
  std::shared_ptr<storage::SnapshotSender> sender = std::move(created).value();
  *msg.mutable_snapshot()->mutable_metadata() = sender->metadata();
  LOG(INFO) << "group " << group << ": streaming snapshot at index " << sender->metadata().index()
            << " to node " << to;
  snapshot_worker_.Post([this, group, to, sender, msg = std::move(msg)] {
    bool failed = false;
    while (!sender->done() && running_) {
      Result<storagepb::SnapshotChunk> sc = sender->NextChunk();
      if (!sc.ok()) {
        LOG(WARNING) << "group " << group << ": snapshot read failed: " << sc.status();
        failed = true;
        break;
      }
      transportpb::SnapshotChunk chunk;
      chunk.set_group_id(group.value());
      chunk.set_snapshot_index(sender->metadata().index());
      chunk.set_snapshot_term(sender->metadata().term());
      chunk.set_seq(sc->seq());
      chunk.set_last(sc->last());
      chunk.set_data(sc->SerializeAsString());
      chunk.set_crc(crc32c::Value(chunk.data()));
      if (sc->last()) *chunk.mutable_message() = msg;
      if (!transport_->SendSnapshotChunk(to, std::move(chunk))) {
        failed = true;
        break;
      }
    }
    boost::asio::post(loop_, [this, group, to, failed] {
      if (auto* r = FindReplica(group)) r->ReportSnapshot(to, failed);
      ScheduleCycle();
    });
  });
}

void Store::HandleRequest(kvpb::Request req, ResponseCallback reply) {
  boost::asio::post(loop_, [this, req = std::move(req), reply = std::move(reply)]() mutable {
    Dispatch(req, std::move(reply));
    ScheduleCycle();
  });
}

void Store::Dispatch(const kvpb::Request& req, ResponseCallback reply) {
  uint64_t request_id = req.request_id();
  NodeId self = options_.node_id;
  if (req.has_status()) {
    kvpb::Response resp;
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    *resp.mutable_status() = GetNodeStatus();
    reply(std::move(resp));
    return;
  }
  GroupId group(req.group_id());
  if (group.value() == 0) {
    // One group spans the whole key space until sharding arrives (issue #4).
    group = replicas_.empty() ? GroupId(0) : replicas_.begin()->first;
  }
  replica::Replica* r = FindReplica(group);
  auto wrapped = [this, request_id, self, group, reply = std::move(reply)](kvpb::Response resp) {
    resp.set_request_id(request_id);
    resp.set_served_by(self.value());
    resp.set_group_id(group.value());
    if (resp.has_error() && resp.error().leader_hint() != 0) {
      auto it = client_addresses_.find(NodeId(resp.error().leader_hint()));
      if (it != client_addresses_.end()) resp.mutable_error()->set_leader_address(it->second);
    }
    reply(std::move(resp));
  };
  if (r == nullptr) {
    wrapped(Error(kvpb::WRONG_SHARD, true,
                  "node " + std::to_string(self.value()) + " has no replica of group " +
                      std::to_string(group.value())));
    return;
  }
  if (req.has_admin()) {
    HandleAdmin(req, r, std::move(wrapped));
    return;
  }
  auto timeout = req.timeout_ms() != 0 ? std::chrono::milliseconds(req.timeout_ms())
                                       : options_.default_request_timeout;
  r->HandleRequest(req, std::move(wrapped), replica::Clock::now() + timeout);
}

void Store::HandleAdmin(const kvpb::Request& req, replica::Replica* r, ResponseCallback reply) {
  kvpb::Response resp;
  const kvpb::AdminRequest& a = req.admin();
  if (a.op_case() == kvpb::AdminRequest::kTransferLeaderTo) {
    r->TransferLeader(NodeId(a.transfer_leader_to()));
    resp.mutable_admin()->set_message("leadership transfer of group " +
                                      std::to_string(r->group().value()) + " to node " +
                                      std::to_string(a.transfer_leader_to()) + " requested");
  } else if (a.op_case() == kvpb::AdminRequest::kSnapshot) {
    ringkv::Status s = r->CompactNow();
    if (!s.ok()) {
      resp = Error(kvpb::INTERNAL, true, s.ToString());
    } else {
      resp.mutable_admin()->set_message("group " + std::to_string(r->group().value()) +
                                        ": log compacted to the applied index");
    }
  } else {
    resp = Error(kvpb::INVALID_ARGUMENT, true, "unknown admin operation");
  }
  reply(std::move(resp));
}

kvpb::NodeStatus Store::GetNodeStatus() {
  auto fill = [this] {
    kvpb::NodeStatus st;
    st.set_node_id(options_.node_id.value());
    auto it = client_addresses_.find(options_.node_id);
    if (it != client_addresses_.end()) st.set_client_address(it->second);
    st.set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started_at_)
                         .count());
    for (auto& [g, r] : replicas_) *st.add_groups() = r->GroupStatusProto();
    for (auto& [id, addr] : client_addresses_) {
      st.add_member_ids(id.value());
      st.add_member_client_addresses(addr);
      st.add_member_states("static");
    }
    return st;
  };
  if (loop_thread_.get_id() == std::this_thread::get_id() || !running_) return fill();
  std::promise<kvpb::NodeStatus> p;
  auto f = p.get_future();
  boost::asio::post(loop_, [&] { p.set_value(fill()); });
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
