// A tiny synchronous harness for Raft unit tests: N RawNodes over MemoryStorage, a message
// queue delivered in FIFO order with an optional drop filter, and a driver that follows the
// Ready contract (persist, then send after-persist messages, apply, Advance). The randomized
// deterministic simulation lives in tests/raft/sim/; this is for small, readable cases.
#ifndef RINGKV_TESTS_RAFT_TEST_NETWORK_H_
#define RINGKV_TESTS_RAFT_TEST_NETWORK_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/memory_storage.h"
#include "raft/raw_node.h"

namespace ringkv::raft::testing {

struct TestNode {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  std::vector<std::string> applied;  // data of applied normal entries, in order
  std::vector<ReadState> read_states;
};

class TestNetwork {
 public:
  // Nodes 1..n, all voters, fresh logs. `tweak` may adjust each node's config.
  explicit TestNetwork(int n, std::function<void(Config&)> tweak = nullptr) {
    raftpb::ConfState cs;
    for (int i = 1; i <= n; ++i) cs.add_voters(i);
    for (int i = 1; i <= n; ++i) AddNode(NodeId(i), cs, tweak);
  }

  // An empty network; add nodes with AddNode / AddNodeWithStorage.
  TestNetwork() = default;

  void AddNode(NodeId id, const raftpb::ConfState& cs, std::function<void(Config&)> tweak = nullptr) {
    auto storage = std::make_unique<MemoryStorage>();
    storage->SetConfState(cs);
    AddNodeWithStorage(id, std::move(storage), std::move(tweak));
  }

  // A node that starts (or restarts) from `storage`: its log, hard state and membership.
  void AddNodeWithStorage(NodeId id, std::unique_ptr<MemoryStorage> storage,
                          std::function<void(Config&)> tweak = nullptr) {
    TestNode tn;
    tn.storage = std::move(storage);
    Config c;
    c.id = id;
    c.storage = tn.storage.get();
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.seed = id.value();
    if (tweak) tweak(c);
    auto r = RawNode::Create(c);
    if (!r.ok()) std::abort();
    tn.node = std::move(r).value();
    nodes_[id] = std::move(tn);
  }

  // Crash and restart: the node loses everything but its storage (what it persisted) and
  // starts again from it. Messages queued for it stay queued.
  void RestartNode(uint64_t id, std::function<void(Config&)> tweak = nullptr) {
    TestNode& tn = nodes_.at(NodeId(id));
    std::unique_ptr<MemoryStorage> storage = std::move(tn.storage);
    nodes_.erase(NodeId(id));
    AddNodeWithStorage(NodeId(id), std::move(storage), std::move(tweak));
  }

  RawNode& node(uint64_t id) { return *nodes_.at(NodeId(id)).node; }
  TestNode& test_node(uint64_t id) { return nodes_.at(NodeId(id)); }

  // Drops every message for which the filter returns true.
  void SetDrop(std::function<bool(const raftpb::Message&)> drop) { drop_ = std::move(drop); }
  void Isolate(uint64_t id) {
    SetDrop([id](const raftpb::Message& m) { return m.from() == id || m.to() == id; });
  }
  void Heal() { drop_ = nullptr; }

  // Handles every node's Ready and delivers messages until nothing is left to do.
  void Stabilize() {
    for (int rounds = 0; rounds < 10000; ++rounds) {
      bool progress = false;
      for (auto& [id, tn] : nodes_) progress |= HandleReady(tn);
      while (!queue_.empty()) {
        raftpb::Message m = std::move(queue_.front());
        queue_.pop_front();
        progress = true;
        auto it = nodes_.find(NodeId(m.to()));
        if (it == nodes_.end()) continue;
        it->second.node->Step(std::move(m)).IgnoreError();  // test delivery
      }
      if (!progress) return;
    }
  }

  void TickAll(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, tn] : nodes_) tn.node->Tick();
      Stabilize();
    }
  }

 private:
  bool HandleReady(TestNode& tn) {
    if (!tn.node->HasReady()) return false;
    Ready rd = tn.node->GetReady();
    Send(rd.messages);
    if (rd.snapshot) tn.storage->ApplySnapshot(*rd.snapshot).IgnoreError();  // newer by contract
    tn.storage->Append(rd.entries).IgnoreError();  // contiguous by contract
    if (rd.hard_state) tn.storage->SetHardState(*rd.hard_state);
    Send(rd.messages_after_persist);
    for (const auto& e : rd.committed_entries) {
      if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
        raftpb::ConfChange cc;
        cc.ParseFromString(e.data());
        raftpb::ConfState cs = tn.node->ApplyConfChange(cc);
        tn.storage->SetConfState(cs);
      } else if (!e.data().empty()) {
        tn.applied.push_back(e.data());
      }
    }
    for (auto& rs : rd.read_states) tn.read_states.push_back(rs);
    tn.node->Advance();
    return true;
  }

  void Send(std::vector<raftpb::Message>& msgs) {
    for (auto& m : msgs) {
      if (drop_ && drop_(m)) continue;
      queue_.push_back(std::move(m));
    }
  }

  std::map<NodeId, TestNode> nodes_;
  std::deque<raftpb::Message> queue_;
  std::function<bool(const raftpb::Message&)> drop_;
};

}  // namespace ringkv::raft::testing

#endif  // RINGKV_TESTS_RAFT_TEST_NETWORK_H_
