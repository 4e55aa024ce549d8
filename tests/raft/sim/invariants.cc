#include "raft/sim/invariants.h"

#include <functional>
#include <sstream>

namespace ringkv::raft::sim {
namespace {

std::string N(NodeId id) { return "n" + std::to_string(id.value()); }

}  // namespace

uint64_t InvariantChecker::Hash(const raftpb::Entry& e) {
  return std::hash<std::string>()(e.data()) * 31 + static_cast<uint64_t>(e.type());
}

void InvariantChecker::Fail(std::string violation) {
  if (violation_.empty()) violation_ = std::move(violation);
}

void InvariantChecker::CheckNode(const SimNode& node, bool log_may_have_changed) {
  if (failed() || !node.up()) return;
  const RawNode& r = node.raw();
  const NodeId id = node.id();
  NodeTrack& t = tracks_[id];
  const Term term = r.term();
  const StateRole role = r.role();

  // Election safety (Raft §5.2): at most one leader per term, over the whole run.
  if (role == StateRole::kLeader) {
    auto [it, inserted] = leaders_.emplace(term, id);
    if (!inserted && it->second != id) {
      std::ostringstream os;
      os << "election safety: two leaders in term " << term << ": " << N(it->second) << " and "
         << N(id);
      return Fail(os.str());
    }
  }
  if (term.value() < t.last_term) {
    std::ostringstream os;
    os << "term of " << N(id) << " went back from " << t.last_term << " to " << term
       << " without a crash";
    return Fail(os.str());
  }
  t.last_term = term.value();

  // Commit index: monotone while up, never below the durable commit after a restart.
  const Index c = r.committed();
  if (c < t.commit) {
    std::ostringstream os;
    os << "commit index of " << N(id) << " went back from " << t.commit << " to " << c;
    return Fail(os.str());
  }
  const Index first = r.FirstIndexForTesting();
  const Index last = r.LastIndexForTesting();
  if (c > last) {
    std::ostringstream os;
    os << N(id) << " commit " << c << " is beyond its last log index " << last;
    return Fail(os.str());
  }
  const bool leader_check =
      role == StateRole::kLeader && (t.lc_term != term.value() || t.lc_verified < max_committed());
  if (!log_may_have_changed && c == t.commit && !leader_check) return;

  std::vector<raftpb::Entry> log;
  if (first <= last) {
    Result<std::vector<raftpb::Entry>> got = r.LogEntriesForTesting(first, last + 1);
    if (!got.ok()) {
      return Fail(N(id) + " LogEntriesForTesting failed: " + got.status().ToString());
    }
    log = std::move(*got);
  }
  if (log_may_have_changed) CheckLog(node, log, first);
  if (failed()) return;
  if (c > t.commit) CheckCommits(node, log, first, t.commit + 1, c);
  t.commit = c;
  if (failed()) return;
  if (role == StateRole::kLeader) {
    if (t.lc_term != term.value()) {
      t.lc_term = term.value();
      t.lc_verified = Index(0);
    }
    for (Index i = t.lc_verified + 1; i <= max_committed(); ++i) {
      const CommittedEntry& ce = committed_[i.value()];
      if (!ce.known || ce.committed_in_term >= term.value() || i < first) continue;
      std::ostringstream os;
      if (i > last) {
        os << "leader completeness: " << N(id) << " leads term " << term << " but its log ends at "
           << last << ", missing index " << i << " committed in term " << ce.committed_in_term;
        return Fail(os.str());
      }
      const raftpb::Entry& e = log[i - first];
      if (e.term() != ce.term || Hash(e) != ce.hash) {
        os << "leader completeness: " << N(id) << " leads term " << term << " with entry (" << i
           << ", term " << e.term() << ") but (" << i << ", term " << ce.term
           << ") was committed in term " << ce.committed_in_term;
        return Fail(os.str());
      }
    }
    t.lc_verified = max_committed();
  }
}

void InvariantChecker::CheckLog(const SimNode& node, const std::vector<raftpb::Entry>& log,
                                Index first) {
  for (size_t k = 0; k < log.size(); ++k) {
    const raftpb::Entry& e = log[k];
    const uint64_t i = e.index();
    if (i != first.value() + k) {
      std::ostringstream os;
      os << N(node.id()) << " log is not contiguous: position " << k << " from " << first
         << " holds index " << i;
      return Fail(os.str());
    }
    if (seen_.size() <= i) seen_.resize(i + 1);
    const uint64_t h = Hash(e);
    Fingerprint* fp = nullptr;
    for (Fingerprint& f : seen_[i]) {
      if (f.term == e.term()) fp = &f;
    }
    const bool prev_known = k > 0;
    const uint64_t prev = prev_known ? log[k - 1].term() : 0;
    if (fp == nullptr) {
      seen_[i].push_back(Fingerprint{e.term(), prev, prev_known, h});
      continue;
    }
    if (fp->hash != h) {
      std::ostringstream os;
      os << "log matching: " << N(node.id()) << " holds a different entry at (index " << i
         << ", term " << e.term() << ") than another log did";
      return Fail(os.str());
    }
    if (prev_known) {
      if (fp->prev_known && fp->prev_term != prev) {
        std::ostringstream os;
        os << "log matching: entry (index " << i << ", term " << e.term() << ") follows term "
           << prev << " in " << N(node.id()) << " but term " << fp->prev_term << " in another log";
        return Fail(os.str());
      }
      fp->prev_known = true;
      fp->prev_term = prev;
    }
  }
}

void InvariantChecker::CheckCommits(const SimNode& node, const std::vector<raftpb::Entry>& log,
                                    Index first, Index from, Index to) {
  if (committed_.size() <= to.value()) committed_.resize(to.value() + 1);
  for (Index i = from; i <= to; ++i) {
    if (i < first) continue;  // compacted: it came with a snapshot
    const raftpb::Entry& e = log[i - first];
    CommittedEntry& ce = committed_[i.value()];
    if (!ce.known) {
      ce = CommittedEntry{true, e.term(), Hash(e), node.raw().term().value(), node.id()};
      continue;
    }
    if (ce.term != e.term() || ce.hash != Hash(e)) {
      std::ostringstream os;
      os << "committed entry lost: " << N(node.id()) << " commits (index " << i << ", term "
         << e.term() << ") but " << N(ce.first_by) << " committed (index " << i << ", term "
         << ce.term << ") in term " << ce.committed_in_term;
      return Fail(os.str());
    }
  }
}

void InvariantChecker::CheckDurableQuorum(const SimNode& leader, Index commit,
                                          const std::map<NodeId, std::unique_ptr<SimNode>>& nodes) {
  if (failed() || !leader.up()) return;
  // Checked once, when the first node commits the index: that is a leader counting acks in its
  // own configuration. A leader that commits it again (after a restart, or one that learned the
  // index from a vote response, Raft::MaybeLearnCommit) may not have applied the conf changes
  // below it yet, so its configuration is not the one that committed it (membership seeds 7118,
  // 17884, 35240: learned past a leave-joint entry, checked against the joint configuration).
  if (commit.value() < committed_.size() && committed_[commit.value()].known) return;
  Result<std::vector<raftpb::Entry>> ent = leader.raw().LogEntriesForTesting(commit, commit + 1);
  if (!ent.ok() || ent->empty()) return;  // compacted at the leader: nothing to compare
  const uint64_t term = (*ent)[0].term();
  auto durable_on = [&](uint64_t id) {
    auto it = nodes.find(NodeId(id));
    if (it == nodes.end()) return false;
    const MemoryStorage& s = it->second->storage();
    Result<Term> t = s.TermOf(commit);
    if (t.ok()) return t->value() == term;
    Result<raftpb::Snapshot> snap = s.GetSnapshot();
    return snap.ok() && snap->metadata().index() >= commit.value();
  };
  const raftpb::ConfState cs = leader.raw().GetStatus().conf_state;
  for (const auto* voters : {&cs.voters(), &cs.voters_outgoing()}) {
    if (voters->empty()) continue;
    int durable = 0;
    for (uint64_t id : *voters) durable += durable_on(id) ? 1 : 0;
    if (2 * durable <= voters->size()) {
      std::ostringstream os;
      os << "durability: leader " << N(leader.id()) << " committed (index " << commit << ", term "
         << term << ") but it is durable on only " << durable << " of the " << voters->size()
         << " voters {";
      for (uint64_t id : *voters) os << " n" << id << (durable_on(id) ? "*" : "");
      os << " } (* = durable)";
      return Fail(os.str());
    }
  }
}

void InvariantChecker::CheckAll(const std::map<NodeId, std::unique_ptr<SimNode>>& nodes) {
  for (const auto& [id, n] : nodes) CheckNode(*n, true);
}

void InvariantChecker::OnCrash(NodeId id) {
  NodeTrack& t = tracks_[id];
  t.lc_term = 0;
  t.lc_verified = Index(0);
  t.role = -1;
}

void InvariantChecker::OnRestart(const SimNode& node) {
  NodeTrack& t = tracks_[node.id()];
  t.commit = Index(node.storage().hard_state().commit());
  t.last_term = node.storage().hard_state().term();
  CheckNode(node, true);
}

void InvariantChecker::OnPersisted(NodeId id, const Ready& rd) {
  if (!rd.hard_state.has_value()) return;
  const raftpb::HardState& hs = *rd.hard_state;
  NodeTrack& t = tracks_[id];
  if (t.has_durable) {
    std::ostringstream os;
    if (hs.term() < t.durable.term()) {
      os << N(id) << " persisted term " << hs.term() << " below its durable term "
         << t.durable.term();
      return Fail(os.str());
    }
    if (hs.term() == t.durable.term() && t.durable.vote() != 0 && hs.vote() != t.durable.vote()) {
      os << N(id) << " changed its durable vote in term " << hs.term() << " from n"
         << t.durable.vote() << " to n" << hs.vote();
      return Fail(os.str());
    }
    if (hs.commit() < t.durable.commit()) {
      os << N(id) << " persisted commit " << hs.commit() << " below its durable commit "
         << t.durable.commit();
      return Fail(os.str());
    }
  }
  t.has_durable = true;
  t.durable = hs;
}

void InvariantChecker::OnApplied(NodeId id, const raftpb::Entry& e, Index node_commit) {
  const uint64_t i = e.index();
  std::ostringstream os;
  if (node_commit.value() != 0 && i > node_commit.value()) {
    os << N(id) << " applied index " << i << " beyond its commit " << node_commit;
    return Fail(os.str());
  }
  const uint64_t h = Hash(e);
  if (applied_.size() <= i) applied_.resize(i + 1, {0, 0});
  auto& [term, hash] = applied_[i];
  if (term == 0) {
    term = e.term();
    hash = h;
  } else if (term != e.term() || hash != h) {
    os << "state machine safety: " << N(id) << " applied (index " << i << ", term " << e.term()
       << ") but another node applied (index " << i << ", term " << term << ")";
    return Fail(os.str());
  }
  if (i < committed_.size() && committed_[i].known &&
      (committed_[i].term != e.term() || committed_[i].hash != h)) {
    os << "state machine safety: " << N(id) << " applied (index " << i << ", term " << e.term()
       << ") but (index " << i << ", term " << committed_[i].term << ") was committed";
    return Fail(os.str());
  }
}

void InvariantChecker::OnSnapshot(NodeId id, Index index, const std::string& data) {
  const uint64_t h = std::hash<std::string>()(data);
  auto [it, inserted] = snapshot_digest_.emplace(index.value(), h);
  if (!inserted && it->second != h) {
    std::ostringstream os;
    os << "state machine safety: " << N(id) << " has a state machine snapshot at index " << index
       << " that differs from another node's snapshot at the same index";
    Fail(os.str());
  }
}

}  // namespace ringkv::raft::sim
