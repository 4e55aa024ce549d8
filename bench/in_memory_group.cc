#include "bench/in_memory_group.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace ringkv::bench {
namespace {

// Storage calls in this driver fail only on a driver bug; a benchmark must not silently go on.
void CheckOk(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "in_memory_group: %s failed: %s\n", what, s.ToString().c_str());
  std::abort();
}

}  // namespace

Result<std::unique_ptr<InMemoryGroup>> InMemoryGroup::Create(int n, uint64_t seed) {
  if (n < 1) return Status::InvalidArgument("group needs at least one node");
  std::unique_ptr<InMemoryGroup> g(new InMemoryGroup());
  raftpb::ConfState cs;
  for (int i = 1; i <= n; ++i) cs.add_voters(i);
  g->nodes_.resize(n);
  for (int i = 1; i <= n; ++i) {
    Node& node = g->nodes_[i - 1];
    node.storage = std::make_unique<raft::MemoryStorage>();
    node.storage->SetConfState(cs);
    raft::Config c;
    c.id = NodeId(i);
    c.storage = node.storage.get();
    c.seed = seed * 1000003 + i;
    Result<std::unique_ptr<raft::RawNode>> raw = raft::RawNode::Create(c);
    if (!raw.ok()) return raw.status();
    node.raw = std::move(raw).value();
  }
  return g;
}

Status InMemoryGroup::ElectFirst() {
  node(1).Campaign();
  Stabilize();
  if (node(1).role() != raft::StateRole::kLeader) {
    return Status::Unavailable("node 1 did not become leader");
  }
  return Status::OK();
}

void InMemoryGroup::TickAll() {
  for (Node& n : nodes_) n.raw->Tick();
}

uint64_t InMemoryGroup::Stabilize() {
  uint64_t delivered = 0;
  while (true) {
    bool progress = false;
    for (Node& n : nodes_) progress |= HandleReady(n);
    if (queue_.empty()) {
      if (!progress) return delivered;
      continue;
    }
    delivering_.swap(queue_);
    for (raftpb::Message& m : delivering_) {
      uint64_t to = m.to();
      if (to < 1 || to > nodes_.size()) continue;  // no such member: dropped
      ++delivered;
      // Peers' messages can be rejected (e.g. from a removed member); the group goes on.
      nodes_[to - 1].raw->Step(std::move(m)).IgnoreError();
    }
    delivering_.clear();
  }
}

bool InMemoryGroup::HandleReady(Node& n) {
  if (!n.raw->HasReady()) return false;
  raft::Ready rd = n.raw->GetReady();
  Send(rd.messages);
  if (rd.snapshot) CheckOk(n.storage->ApplySnapshot(*rd.snapshot), "ApplySnapshot");
  if (!rd.entries.empty()) CheckOk(n.storage->Append(rd.entries), "Append");
  if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
  Send(rd.messages_after_persist);
  for (const raftpb::Entry& e : rd.committed_entries) {
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      raftpb::ConfChange cc;
      if (!cc.ParseFromString(e.data())) CheckOk(Status::Corruption("conf change"), "parse");
      n.storage->SetConfState(n.raw->ApplyConfChange(cc));
    } else if (!e.data().empty()) {
      ++n.applied_entries;
      n.applied_bytes += e.data().size();
    }
  }
  n.raw->Advance();
  return true;
}

void InMemoryGroup::Send(std::vector<raftpb::Message>& msgs) {
  for (raftpb::Message& m : msgs) queue_.push_back(std::move(m));
}

void InMemoryGroup::MaybeCompact(uint64_t threshold) {
  for (Node& n : nodes_) {
    Index applied = n.raw->applied();
    Result<Index> first = n.storage->FirstIndex();
    CheckOk(first.status(), "FirstIndex");
    if (applied < *first || applied - *first < threshold) continue;
    CheckOk(n.storage->CreateSnapshot(applied, nullptr, std::string()).status(), "CreateSnapshot");
    CheckOk(n.storage->Compact(applied), "Compact");
  }
}

}  // namespace ringkv::bench
