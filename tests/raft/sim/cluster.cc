#include "raft/sim/cluster.h"

#include "raft/panic.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <utility>

namespace ringkv::raft::sim {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

std::string N(NodeId id) { return "n" + std::to_string(id.value()); }

bool MayChangeLog(raftpb::MessageType t) {
  return t == raftpb::MSG_APP || t == raftpb::MSG_SNAP || t == raftpb::MSG_VOTE_RESP ||
         t == raftpb::MSG_PROP || t == raftpb::MSG_TIMEOUT_NOW;
}

}  // namespace

namespace {

[[noreturn]] void ThrowCorePanic(const std::string& message) { throw CorePanic(message); }

}  // namespace

Cluster::Cluster(const ClusterOptions& options)
    : options_(options),
      rng_(options.seed * 0x9E3779B97F4A7C15ull + 17),
      network_(&rng_),
      trace_(options.trace_capacity) {
  SetPanicHandlerForTesting(&ThrowCorePanic);
  raftpb::ConfState cs;
  for (int i = 1; i <= options_.num_nodes; ++i) cs.add_voters(static_cast<uint64_t>(i));
  for (int i = 1; i <= options_.num_nodes; ++i) {
    const NodeId id(next_node_id_++);
    NodeParams p = options_.node_params;
    p.seed = options_.seed * 7919 + id.value();
    auto n = std::make_unique<SimNode>(id, p, this);
    // Bootstrap from a snapshot at kBootstrapIndex (TiKV's RAFT_INIT_LOG_INDEX idea): logs start
    // after it, so a node added later with an empty log is caught up by a snapshot that carries
    // the membership, never by raw entries that it could not apply to an empty configuration.
    raftpb::Snapshot snap;
    snap.mutable_metadata()->set_index(kBootstrapIndex);
    snap.mutable_metadata()->set_term(kBootstrapTerm);
    *snap.mutable_metadata()->mutable_conf_state() = cs;
    KvStateMachine empty;
    raftpb::Entry at;
    at.set_index(kBootstrapIndex);
    empty.Apply(at);
    snap.set_data(empty.Serialize());
    Status s = n->storage().ApplySnapshot(snap);
    if (!s.ok()) checker_.Fail(N(id) + " bootstrap: " + s.ToString());
    raftpb::HardState hs;
    hs.set_term(kBootstrapTerm);
    hs.set_commit(kBootstrapIndex);
    n->storage().SetHardState(hs);
    if (options_.prepare_storage) options_.prepare_storage(id, n->storage());
    nodes_.emplace(id, std::move(n));
  }
  for (auto& [id, n] : nodes_) {
    Status s = n->Start();
    if (!s.ok()) checker_.Fail(N(id) + " failed to start: " + s.ToString());
  }
  next_tick_ms_ = options_.tick_ms;
}

Cluster::~Cluster() = default;

std::vector<NodeId> Cluster::node_ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, n] : nodes_) ids.push_back(id);
  return ids;
}

std::vector<NodeId> Cluster::up_node_ids() const {
  std::vector<NodeId> ids;
  for (const auto& [id, n] : nodes_) {
    if (n->up()) ids.push_back(id);
  }
  return ids;
}

NodeId Cluster::AddNode() {
  const NodeId id(next_node_id_++);
  NodeParams p = options_.node_params;
  p.seed = options_.seed * 7919 + id.value();
  auto n = std::make_unique<SimNode>(id, p, this);
  SimNode& ref = *n;
  nodes_.emplace(id, std::move(n));
  Status s = ref.Start();
  if (!s.ok()) checker_.Fail(N(id) + " failed to start: " + s.ToString());
  Note(id, "added as a new empty node");
  return id;
}

void Cluster::Push(Event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

bool Cluster::RunUntil(int64_t until_ms) {
  while (!failed()) {
    const int64_t next_event = queue_.empty() ? kNever : queue_.top().time;
    const int64_t next_tick = options_.auto_tick ? next_tick_ms_ : kNever;
    const int64_t next = std::min(next_event, next_tick);
    if (next > until_ms) break;
    now_ms_ = std::max(now_ms_, next);
    if (next_tick <= next_event) {
      next_tick_ms_ += options_.tick_ms;
      if (on_tick_) on_tick_();
      if (failed()) break;
      if (options_.node_params.quiesce) UpdateDetector();
      if (failed()) break;
      TickAll();
      continue;
    }
    Event e = queue_.top();
    queue_.pop();
    Process(std::move(e));
  }
  if (!failed()) now_ms_ = std::max(now_ms_, until_ms);
  return !failed();
}

bool Cluster::Stabilize(uint64_t max_steps) {
  uint64_t n = 0;
  while (!failed() && !queue_.empty() && n++ < max_steps) {
    Event e = queue_.top();
    queue_.pop();
    now_ms_ = std::max(now_ms_, e.time);
    Process(std::move(e));
  }
  return !failed();
}

bool Cluster::PeerLive(NodeId observer, NodeId peer) {
  return !down_.contains({observer, peer});
}

void Cluster::UpdateDetector() {
  const std::vector<NodeId> ids = node_ids();
  std::set<NodeId> changed;
  for (NodeId a : ids) {
    for (NodeId b : ids) {
      if (a == b) continue;
      const bool reachable = node(b).up() && !network_.Blocked(a, b) && !network_.Blocked(b, a);
      bool down = false;
      if (reachable) {
        unreachable_since_.erase({a, b});
      } else {
        const int64_t since = unreachable_since_.try_emplace({a, b}, now_ms_).first->second;
        down = now_ms_ - since >= options_.detect_ms;
      }
      if (down != down_.contains({a, b})) {
        if (down) {
          down_.insert({a, b});
        } else {
          down_.erase({a, b});
        }
        changed.insert(a);
      }
    }
  }
  for (NodeId a : changed) {
    if (failed()) return;
    WithNode(a, [](RawNode& r) { r.LivenessChanged(); });
  }
}

void Cluster::TickAll() {
  // With driver heartbeats, every node beats on the same ticks, as kvd's store does for all
  // its groups (a restarted node joins the rhythm at once).
  ++ticks_;
  const NodeParams& p = options_.node_params;
  const bool beat = p.driver_heartbeats && ticks_ % static_cast<uint64_t>(p.heartbeat_tick) == 0;
  for (NodeId id : up_node_ids()) {
    if (failed()) return;
    WithNode(id, [beat](RawNode& r) {
      r.Tick();
      if (beat) r.Heartbeat();
    });
  }
}

void Cluster::WithNode(NodeId id, const std::function<void(RawNode&)>& f, bool log_may_change) {
  if (!has_node(id) || !node(id).up()) return;
  f(node(id).raw());
  AfterEvent(id, log_may_change);
}

void Cluster::Process(Event e) {
  switch (e.kind) {
    case EventKind::kDeliver:
      Deliver(e);
      break;
    case EventKind::kPersist:
      if (has_node(e.node) && node(e.node).up()) {
        node(e.node).CompletePersist(e.incarnation);
        AfterEvent(e.node, false);
      }
      break;
    case EventKind::kApply:
      if (has_node(e.node) && node(e.node).up()) {
        node(e.node).CompleteApply(e.incarnation);
        AfterEvent(e.node, false);
      }
      break;
    case EventKind::kCrash:
      if (e.incarnation == fault_epoch_ && has_node(e.node) && node(e.node).up()) {
        Crash(e.node);
        if (e.downtime >= 0) {
          Event r;
          r.time = now_ms_ + e.downtime;
          r.kind = EventKind::kRestart;
          r.node = e.node;
          r.incarnation = fault_epoch_;
          Push(std::move(r));
        }
      }
      break;
    case EventKind::kRestart:
      if (e.incarnation == fault_epoch_ && has_node(e.node) && !node(e.node).up()) {
        Restart(e.node);
      }
      break;
  }
}

void Cluster::Deliver(const Event& e) {
  const raftpb::Message& m = *e.msg;
  const NodeId from(m.from()), to(m.to());
  const bool blocked = network_.Blocked(from, to);
  ++steps_;
  if (e.dropped || blocked || (drop_filter_ && drop_filter_(m)) || !has_node(to) ||
      !node(to).up()) {
    TraceMsg(TraceKind::kDrop, m, blocked);
    if (m.type() == raftpb::MSG_SNAP) {
      ReportSnapshotStatus(m, /*failure=*/true);
    } else if (blocked && has_node(from) && node(from).up() && rng_.Bernoulli(0.1)) {
      WithNode(from, [to](RawNode& r) { r.ReportUnreachable(to); });
    }
    return;
  }
  TraceMsg(TraceKind::kDeliver, m);
  Status s = node(to).raw().Step(m);
  if (!s.ok()) {
    // A message the core refuses (e.g. from a removed peer) is the core's business; it must
    // not break the node. Recorded for the trace only.
    Note(to, "Step refused: " + s.ToString());
  }
  --steps_;  // AfterEvent counts this step
  AfterEvent(to, MayChangeLog(m.type()));
  if (m.type() == raftpb::MSG_SNAP) ReportSnapshotStatus(m, /*failure=*/false);
}

void Cluster::ReportSnapshotStatus(const raftpb::Message& m, bool failure) {
  const NodeId from(m.from()), to(m.to());
  if (!failure) ++stats_.snapshots_sent;
  if (!has_node(from) || !node(from).up()) return;
  WithNode(from, [to, failure](RawNode& r) { r.ReportSnapshot(to, failure); });
}

void Cluster::AfterEvent(NodeId id, bool log_may_change) {
  ++steps_;
  if (!has_node(id)) return;
  SimNode& n = node(id);
  if (!n.up()) return;
  n.MaybeHandleReady();
  if (!n.up()) return;
  const RawNode& r = n.raw();
  Observed& o = observed_[id];
  const StateRole role = r.role();
  const Term term = r.term();
  const NodeId lead = r.lead();
  if (role != o.role || term != o.term || lead != o.lead) {
    if (role != o.role || lead != o.lead) {
      TraceEvent t;
      t.kind = TraceKind::kRole;
      t.node = id.value();
      t.peer = lead.value();
      t.a = static_cast<uint64_t>(role);
      t.b = term.value();
      AddTrace(std::move(t));
    }
    if (role == StateRole::kLeader && o.role != StateRole::kLeader) log_may_change = true;
    o.role = role;
    o.term = term;
    o.lead = lead;
  }
  const Index commit = r.committed();
  if (commit > o.commit && role == StateRole::kLeader) {
    checker_.CheckDurableQuorum(n, commit, nodes_);
  }
  if (commit != o.commit) {
    TraceEvent t;
    t.kind = TraceKind::kCommit;
    t.node = id.value();
    t.a = o.commit.value();
    t.b = commit.value();
    t.c = term.value();
    AddTrace(std::move(t));
    o.commit = commit;
  }
  checker_.CheckNode(n, log_may_change);
}

void Cluster::Crash(NodeId id) {
  if (!has_node(id) || !node(id).up()) return;
  node(id).Crash();
  checker_.OnCrash(id);
  observed_.erase(id);
  pending_writes_.erase(id);
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    it = it->second.node == id ? pending_reads_.erase(it) : std::next(it);
  }
  ++stats_.crashes;
  TraceEvent t;
  t.kind = TraceKind::kCrash;
  t.node = id.value();
  AddTrace(std::move(t));
}

void Cluster::Restart(NodeId id) {
  if (!has_node(id) || node(id).up()) return;
  SimNode& n = node(id);
  Status s = n.Start();
  TraceEvent t;
  t.kind = TraceKind::kRestart;
  t.node = id.value();
  t.a = n.storage().hard_state().commit();
  t.b = n.storage().hard_state().term();
  t.c = n.storage().hard_state().vote();
  AddTrace(std::move(t));
  if (!s.ok()) {
    checker_.Fail(N(id) + " failed to restart: " + s.ToString());
    return;
  }
  observed_[id] = Observed{n.raw().role(), n.raw().term(), n.raw().lead(), n.raw().committed()};
  checker_.OnRestart(n);
  AfterEvent(id, true);
}

void Cluster::ScheduleCrash(NodeId id, int64_t at_ms, int64_t downtime_ms) {
  Event e;
  e.time = at_ms;
  e.kind = EventKind::kCrash;
  e.node = id;
  e.incarnation = fault_epoch_;
  e.downtime = downtime_ms;
  Push(std::move(e));
}

NodeId Cluster::Leader() const {
  NodeId best;
  Term best_term;
  for (const auto& [id, n] : nodes_) {
    if (n->up() && n->raw().role() == StateRole::kLeader && n->raw().term() >= best_term) {
      best = id;
      best_term = n->raw().term();
    }
  }
  return best;
}

void Cluster::DropPending(const std::function<bool(const raftpb::Message&)>& match) {
  std::vector<Event> keep;
  while (!queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    if (e.kind == EventKind::kDeliver && !e.dropped && match(*e.msg)) {
      TraceMsg(TraceKind::kDrop, *e.msg);
      if (e.msg->type() == raftpb::MSG_SNAP) ReportSnapshotStatus(*e.msg, true);
      continue;
    }
    keep.push_back(std::move(e));
  }
  for (Event& e : keep) queue_.push(std::move(e));
}

void Cluster::DeliverPending(const std::function<bool(const raftpb::Message&)>& match) {
  std::vector<Event> keep, deliver;
  while (!queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    (e.kind == EventKind::kDeliver && match(*e.msg) ? deliver : keep).push_back(std::move(e));
  }
  for (Event& e : keep) queue_.push(std::move(e));
  for (Event& e : deliver) {
    if (failed()) return;
    Deliver(e);
  }
}

size_t Cluster::pending_messages() const {
  size_t n = 0;
  auto copy = queue_;
  while (!copy.empty()) {
    n += copy.top().kind == EventKind::kDeliver ? 1 : 0;
    copy.pop();
  }
  return n;
}

Result<uint64_t> Cluster::Write(NodeId at, const std::string& key) {
  if (!has_node(at) || !node(at).up()) return Status::Unavailable("node down");
  const uint64_t write_id = ++next_write_id_;
  const std::string data = EncodeWrite(KvWrite{key, write_id});
  NodeId target = at;
  Result<EntryId> r = node(at).raw().Propose(data);
  if (!r.ok() && r.status().IsNotLeader()) {
    const NodeId hint(r.status().leader_hint());
    if (hint != kNoNode && hint != at && has_node(hint) && node(hint).up()) {
      target = hint;
      r = node(hint).raw().Propose(data);
    }
  }
  TraceEvent t;
  t.kind = TraceKind::kPropose;
  t.node = target.value();
  t.c = write_id;
  if (r.ok()) {
    t.a = r->index.value();
    t.b = r->term.value();
    pending_writes_[target].push_back(PendingWrite{*r, write_id, key});
    ++stats_.writes_proposed;
  } else {
    t.text = r.status().ToString();
  }
  AddTrace(std::move(t));
  AfterEvent(target, r.ok());
  if (!r.ok()) return r.status();
  return write_id;
}

Result<uint64_t> Cluster::Read(NodeId at, const std::string& key) {
  if (!has_node(at) || !node(at).up()) return Status::Unavailable("node down");
  const uint64_t read_id = ++next_read_id_;
  PendingRead pr;
  pr.node = at;
  pr.incarnation = node(at).incarnation();
  pr.key = key;
  auto it = max_acked_version_.find(key);
  pr.required = it == max_acked_version_.end() ? Index(0) : it->second;
  pr.invoked_ms = now_ms_;
  pending_reads_.emplace(read_id, std::move(pr));
  Status s = node(at).raw().ReadIndex("r" + std::to_string(read_id));
  if (!s.ok()) {
    pending_reads_.erase(read_id);
    AfterEvent(at, false);
    return s;
  }
  TraceEvent t;
  t.kind = TraceKind::kRead;
  t.node = at.value();
  t.a = read_id;
  t.text = "begins on key " + key;
  AddTrace(std::move(t));
  AfterEvent(at, false);
  return read_id;
}

Result<EntryId> Cluster::ProposeConfChange(NodeId at, const raftpb::ConfChange& cc) {
  if (!has_node(at) || !node(at).up()) return Status::Unavailable("node down");
  Result<EntryId> r = node(at).raw().ProposeConfChange(cc);
  std::string text = cc.ShortDebugString();
  if (!r.ok()) text += " rejected: " + r.status().ToString();
  TraceEvent t;
  t.kind = TraceKind::kConfChange;
  t.node = at.value();
  t.a = r.ok() ? r->index.value() : 0;
  t.text = "proposed " + text;
  AddTrace(std::move(t));
  AfterEvent(at, r.ok());
  return r;
}

std::optional<KvValue> Cluster::ReadResult(uint64_t read_id) const {
  auto it = read_results_.find(read_id);
  if (it == read_results_.end()) return std::nullopt;
  return it->second;
}

void Cluster::ExpireReads(int64_t older_than_ms) {
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    it = it->second.invoked_ms + older_than_ms < now_ms_ ? pending_reads_.erase(it) : std::next(it);
  }
}

void Cluster::TryCompleteReads(NodeId id) {
  if (!has_node(id)) return;
  const SimNode& n = node(id);
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    PendingRead& pr = it->second;
    if (pr.node != id || !pr.has_index || n.sm().applied() < pr.read_index) {
      ++it;
      continue;
    }
    const KvValue v = n.sm().Get(pr.key);
    TraceEvent t;
    t.kind = TraceKind::kRead;
    t.node = id.value();
    t.a = it->first;
    t.b = pr.read_index.value();
    t.c = v.version.value();
    t.text = "returns w" + std::to_string(v.write_id) + " on key " + pr.key;
    AddTrace(std::move(t));
    if (v.version < pr.required) {
      std::ostringstream os;
      os << "stale read: read r" << it->first << " of key " << pr.key << " at " << N(id)
         << " (read index " << pr.read_index << ") returned the write at version " << v.version
         << ", but a write at version " << pr.required << " was acknowledged before the read began";
      checker_.Fail(os.str());
    }
    read_results_[it->first] = v;
    ++stats_.reads_completed;
    it = pending_reads_.erase(it);
  }
}

void Cluster::Send(raftpb::Message m) {
  Event e;
  e.kind = EventKind::kDeliver;
  e.msg = std::make_shared<raftpb::Message>(std::move(m));
  std::vector<int64_t> delays = network_.Route();
  if (delays.empty()) {
    e.dropped = true;
    e.time = now_ms_ + 1;
    Push(std::move(e));
    return;
  }
  for (size_t i = 0; i < delays.size(); ++i) {
    Event copy = e;
    copy.time = now_ms_ + delays[i];
    Push(std::move(copy));
  }
}

void Cluster::SchedulePersist(NodeId id, uint64_t incarnation, bool must_sync) {
  int64_t delay = 0;
  if (must_sync) {
    delay = options_.persist_min_ms + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(
                                          options_.persist_max_ms - options_.persist_min_ms + 1)));
    if (window_crash_p_ > 0 && rng_.Bernoulli(window_crash_p_)) {
      // Crash inside the persistence window: after `messages` left, before the write.
      const int64_t at =
          now_ms_ + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(delay) + 1));
      ScheduleCrash(id, at, static_cast<int64_t>(rng_.Uniform(40)));
    }
  }
  Event e;
  e.time = now_ms_ + delay;
  e.kind = EventKind::kPersist;
  e.node = id;
  e.incarnation = incarnation;
  Push(std::move(e));
}

bool Cluster::ScheduleSnapshotApply(NodeId id, uint64_t incarnation) {
  if (!options_.split_snapshot_apply) return false;
  const int64_t delay =
      static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(options_.persist_max_ms) + 1));
  if (window_crash_p_ > 0 && rng_.Bernoulli(window_crash_p_)) {
    // Crash after the snapshot is durable, before the state machine took it.
    ScheduleCrash(id, now_ms_ + static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(delay) + 1)),
                  static_cast<int64_t>(rng_.Uniform(40)));
  }
  Note(id, "snapshot durable; applying it in " + std::to_string(delay) + " ms");
  Event e;
  e.time = now_ms_ + delay;
  e.kind = EventKind::kApply;
  e.node = id;
  e.incarnation = incarnation;
  Push(std::move(e));
  return true;
}

void Cluster::OnPersisted(NodeId id, const Ready& rd) {
  checker_.OnPersisted(id, rd);
  if (rd.entries.empty() && !rd.hard_state.has_value() && !rd.snapshot.has_value()) return;
  TraceEvent t;
  t.kind = TraceKind::kPersist;
  t.node = id.value();
  t.a = rd.entries.size();
  t.b = rd.entries.empty() ? 0 : rd.entries.back().index();
  if (rd.hard_state.has_value()) {
    t.c = rd.hard_state->commit();
    t.text = "hs(term=" + std::to_string(rd.hard_state->term()) +
             " vote=" + std::to_string(rd.hard_state->vote()) + ")";
  }
  if (rd.snapshot.has_value()) {
    t.text += " snapshot@" + std::to_string(rd.snapshot->metadata().index());
  }
  AddTrace(std::move(t));
}

void Cluster::OnApplied(NodeId id, const raftpb::Entry& e) {
  const bool up = has_node(id) && node(id).up();
  checker_.OnApplied(id, e, up ? node(id).raw().committed() : Index(0));
  auto pw = pending_writes_.find(id);
  if (pw != pending_writes_.end()) {
    std::vector<PendingWrite>& v = pw->second;
    for (auto it = v.begin(); it != v.end();) {
      if (it->id.index.value() > e.index()) {
        ++it;
        continue;
      }
      if (it->id.index.value() == e.index() && it->id.term.value() == e.term()) {
        Result<KvWrite> w = DecodeWrite(e.data());
        if (!w.ok() || w->write_id != it->write_id) {
          std::ostringstream os;
          os << N(id) << " applied (index " << e.index() << ", term " << e.term()
             << ") returned by Propose for write w" << it->write_id
             << ", but that entry holds another command";
          checker_.Fail(os.str());
        } else {
          acked_writes_.insert(it->write_id);
          Index& max = max_acked_version_[it->key];
          max = std::max(max, Index(e.index()));
          ++stats_.writes_acked;
          Note(id, "write w" + std::to_string(it->write_id) + " acknowledged at index " +
                       std::to_string(e.index()));
        }
      }
      // Otherwise another entry took that index: the proposal definitely failed.
      it = v.erase(it);
    }
  }
  if (up) TryCompleteReads(id);
}

void Cluster::OnSnapshotApplied(NodeId id, const raftpb::Snapshot& snap) {
  const Index index(snap.metadata().index());
  checker_.OnSnapshot(id, index, snap.data());
  TraceEvent t;
  t.kind = TraceKind::kSnapshotApplied;
  t.node = id.value();
  t.a = index.value();
  t.b = snap.metadata().term();
  AddTrace(std::move(t));
  // Proposals covered by the snapshot are indeterminate: their entries were never applied here.
  auto pw = pending_writes_.find(id);
  if (pw != pending_writes_.end()) {
    std::erase_if(pw->second, [&](const PendingWrite& w) { return w.id.index <= index; });
  }
  TryCompleteReads(id);
}

void Cluster::OnSnapshotCreated(NodeId id, Index index, const std::string& data) {
  checker_.OnSnapshot(id, index, data);
  TraceEvent t;
  t.kind = TraceKind::kCompact;
  t.node = id.value();
  t.a = index.value();
  AddTrace(std::move(t));
}

void Cluster::OnReadState(NodeId id, const ReadState& rs) {
  if (rs.request_ctx.size() < 2 || rs.request_ctx[0] != 'r') return;
  const uint64_t read_id = std::stoull(rs.request_ctx.substr(1));
  auto it = pending_reads_.find(read_id);
  if (it == pending_reads_.end() || it->second.node != id ||
      it->second.incarnation != node(id).incarnation()) {
    return;
  }
  it->second.has_index = true;
  it->second.read_index = rs.index;
  TryCompleteReads(id);
}

void Cluster::OnConfChangeApplied(NodeId id, Index index, const raftpb::ConfState& cs) {
  ++stats_.conf_changes_applied;
  TraceEvent t;
  t.kind = TraceKind::kConfChange;
  t.node = id.value();
  t.a = index.value();
  t.text = "applied -> " + cs.ShortDebugString();
  AddTrace(std::move(t));
}

void Cluster::OnFatal(NodeId id, const std::string& what) { checker_.Fail(N(id) + ": " + what); }

void Cluster::OnRaftLog(NodeId id, LogLevel level, std::string_view message) {
  if (level == LogLevel::kDebug && message.find("] quiesced at index") != std::string_view::npos) {
    ++stats_.quiesces;
    Note(id, "quiesced");
  }
  if (level != LogLevel::kError) return;
  // A core panic: Panic calls ThrowCorePanic next, which ends the seed.
  checker_.Fail(N(id) + " raft panic: " + std::string(message));
}

void Cluster::Note(NodeId node, std::string text) {
  TraceEvent t;
  t.kind = TraceKind::kNote;
  t.node = node.value();
  t.text = std::move(text);
  AddTrace(std::move(t));
}

void Cluster::TraceMsg(TraceKind kind, const raftpb::Message& m, bool by_partition) {
  if (options_.trace_capacity == 0) return;
  TraceEvent t;
  t.kind = kind;
  t.node = kind == TraceKind::kDeliver ? m.to() : m.from();
  t.peer = kind == TraceKind::kDeliver ? m.from() : m.to();
  t.msg_type = m.type();
  t.term = m.term();
  t.log_term = m.log_term();
  t.index = m.index();
  t.commit = m.commit();
  t.entries = static_cast<uint64_t>(m.entries_size());
  t.reject = m.reject();
  t.b = by_partition ? 1 : 0;
  AddTrace(std::move(t));
}

void Cluster::AddTrace(TraceEvent e) {
  e.time_ms = now_ms_;
  e.step = steps_;
  trace_.Add(std::move(e));
}

std::string Cluster::Report() const {
  std::ostringstream os;
  if (failed()) {
    os << "VIOLATION --seed=" << options_.seed << ": " << checker_.violation() << "\n";
  } else {
    os << "no violation, --seed=" << options_.seed << "\n";
  }
  os << "  at t=" << now_ms_ << "ms, step " << steps_
     << "; rerun alone with --seed=" << options_.seed << "\n"
     << "  last events (oldest first):\n"
     << trace_.Dump();
  return os.str();
}

}  // namespace ringkv::raft::sim
