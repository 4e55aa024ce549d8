// Four in-process stores on an in-memory network: a node removed from a group while cut off,
// then added back, comes back as a new Raft peer (a new replica id). Its old replica, which
// missed its removal, must never count for the new one: it is deleted when the network heals,
// and the new replica catches up by snapshot and holds every acknowledged write.
//
// This is the scenario of a real failure (integ_multiraft_heal_test, once in three runs): with
// the node id as the Raft id, the old replica acknowledged entries under the re-added id, the
// leader took that for the new replica's progress, and the new, empty replica was never sent
// the snapshot it needed.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ring/shard_map.h"
#include "storage/engine.h"
#include "storage/raft_log_store.h"
#include "storage/test_util.h"
#include "store/store.h"
#include "testutil/status_matchers.h"

namespace ringkv::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr GroupId kGroup{1};

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// Delivers every message to the destination store's inbox, unless a link is cut.
class Network {
 public:
  void Add(NodeId id, Store* s) {
    std::lock_guard<std::mutex> l(mu_);
    stores_[id] = s;
  }
  void Isolate(NodeId id, bool isolated) {
    std::lock_guard<std::mutex> l(mu_);
    if (isolated) {
      isolated_.insert(id);
    } else {
      isolated_.erase(id);
    }
  }
  void Shutdown() {
    std::lock_guard<std::mutex> l(mu_);
    stores_.clear();
  }
  bool Deliver(NodeId from, NodeId to, const std::function<void(Store*)>& f) {
    std::lock_guard<std::mutex> l(mu_);
    if (isolated_.count(from) > 0 || isolated_.count(to) > 0) return false;
    auto it = stores_.find(to);
    if (it == stores_.end()) return false;
    f(it->second);  // only posts to the store's loop
    return true;
  }

 private:
  std::mutex mu_;
  std::map<NodeId, Store*> stores_;
  std::set<NodeId> isolated_;
};

class FakeTransport : public StoreTransport {
 public:
  FakeTransport(Network* net, NodeId self) : net_(net), self_(self) {}
  bool Send(raftpb::Message m) override {
    const NodeId to = NodeOfReplica(NodeId(m.to()));
    return net_->Deliver(self_, to, [&](Store* s) { s->OnRaftMessages(self_, {std::move(m)}); });
  }
  bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) override {
    return net_->Deliver(self_, to,
                         [&](Store* s) { s->OnSnapshotChunk(self_, std::move(chunk)); });
  }

 private:
  Network* const net_;
  const NodeId self_;
};

struct TestNode {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::Engine> engine;
  std::unique_ptr<FakeTransport> transport;
  std::unique_ptr<Store> store;
};

class StoreReAddTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ring_.num_shards = 1;
    ring_.replication_factor = 3;
    // The bootstrap placement over nodes 1-3; node 4 starts empty.
    auto map = ring::ShardMap::Compute(ring_, std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)});
    ASSERT_OK(map);
    raftpb::ConfState cs;
    for (NodeId n : map->Replicas(kGroup)) cs.add_voters(n.value());
    for (uint64_t id = 1; id <= 4; ++id) {
      auto n = std::make_unique<TestNode>();
      auto e = storage::Engine::Open(storage::EngineOptions{.path = n->dir.path()});
      ASSERT_OK(e);
      n->engine = std::move(e).value();
      n->transport = std::make_unique<FakeTransport>(&net_, NodeId(id));
      StoreOptions o;
      o.node_id = NodeId(id);
      o.ring = ring_;
      o.placement_interval = 100ms;
      o.dead_node_timeout = 300ms;
      o.stability_delay = 200ms;
      o.replica.seed = id;
      n->store = std::make_unique<Store>(o, n->engine.get(), n->transport.get());
      if (id <= 3) {
        ASSERT_OK(n->store->AddReplica(kGroup, &cs));
      }
      net_.Add(NodeId(id), n->store.get());
      nodes_[NodeId(id)] = std::move(n);
    }
    SetLive({NodeId(1), NodeId(2), NodeId(3)});
    for (auto& [id, n] : nodes_) n->store->Start();
  }

  void TearDown() override {
    net_.Shutdown();
    for (auto& [id, n] : nodes_) n->store->Stop();
  }

  // Every store's gossip view: `live` alive, the others dead.
  void SetLive(const std::set<NodeId>& live) {
    std::vector<MemberView> members;
    for (uint64_t id = 1; id <= 4; ++id) {
      MemberView m;
      m.id = NodeId(id);
      m.state = live.count(NodeId(id)) > 0 ? MemberView::State::kAlive : MemberView::State::kDead;
      members.push_back(m);
    }
    for (auto& [id, n] : nodes_) n->store->SetMembership(members);
  }

  std::optional<kvpb::GroupStatus> Group(NodeId node, bool with_digest = false) {
    kvpb::NodeStatus st = nodes_.at(node)->store->GetNodeStatus(with_digest);
    for (const auto& g : st.groups()) {
      if (g.group_id() == kGroup.value()) return g;
    }
    return std::nullopt;
  }

  // The node that leads the group and knows it, kNoNode if none.
  NodeId Leader() {
    for (auto& [id, n] : nodes_) {
      auto g = Group(id);
      if (g && g->leader() == id.value()) return id;
    }
    return kNoNode;
  }

  // The leader's voters, as node ids.
  std::set<uint64_t> Voters() {
    NodeId l = Leader();
    if (l == kNoNode) return {};
    auto g = Group(l);
    return g ? std::set<uint64_t>(g->voters().begin(), g->voters().end()) : std::set<uint64_t>{};
  }

  kvpb::Response Call(NodeId node, kvpb::Request req) {
    auto p = std::make_shared<std::promise<kvpb::Response>>();
    auto f = p->get_future();
    req.set_timeout_ms(1000);
    nodes_.at(node)->store->HandleRequest(req, [p](kvpb::Response r) { p->set_value(r); });
    return f.get();
  }

  // Puts until the leader acknowledges it (within 10 s).
  bool Put(const std::string& key, const std::string& value) {
    kvpb::Request req;
    req.mutable_put()->set_key(key);
    req.mutable_put()->set_value(value);
    return WaitUntil(
        [&] {
          NodeId l = Leader();
          return l != kNoNode && !Call(l, req).has_error();
        },
        10s);
  }

  std::optional<std::string> LocalGet(NodeId node, const std::string& key) {
    kvpb::Request req;
    req.set_consistency(kvpb::SERIALIZABLE);
    req.mutable_get()->set_key(key);
    kvpb::Response r = Call(node, req);
    if (r.has_error() || !r.get().found()) return std::nullopt;
    return r.get().kv().value();
  }

  ring::RingConfig ring_;
  Network net_;
  std::map<NodeId, std::unique_ptr<TestNode>> nodes_;
};

TEST_F(StoreReAddTest, ANodeAddedBackIsANewPeerAndItsStaleReplicaNeverCounts) {
  ASSERT_TRUE(WaitUntil([&] { return Leader() != kNoNode; }, 10s));
  ASSERT_TRUE(Put("a", "1"));

  // Cut off a follower and declare it dead: placement replaces it by node 4. It never hears
  // of its removal, so its old replica lives on.
  const NodeId leader = Leader();
  NodeId victim = kNoNode;
  for (uint64_t v : Voters()) {
    if (NodeId(v) != leader) victim = NodeId(v);
  }
  ASSERT_NE(victim, kNoNode);
  std::set<NodeId> live = {NodeId(1), NodeId(2), NodeId(3), NodeId(4)};
  live.erase(victim);
  net_.Isolate(victim, true);
  SetLive(live);
  std::set<uint64_t> want;
  for (NodeId n : live) want.insert(n.value());
  ASSERT_TRUE(WaitUntil([&] { return Voters() == want; }, 20s))
      << "node " << victim << " not replaced by node 4";
  auto old_replica = Group(victim);
  ASSERT_TRUE(old_replica.has_value()) << "the cut-off replica should still exist";
  ASSERT_TRUE(Put("b", "2"));

  // Heal it and make it live again, and node 4 dead: the ring gives the group back to the
  // victim, which is added as a learner under a new replica id.
  net_.Isolate(victim, false);
  live.insert(victim);
  live.erase(NodeId(4));
  SetLive(live);
  want.clear();
  for (NodeId n : live) want.insert(n.value());
  ASSERT_TRUE(WaitUntil([&] { return Voters() == want; }, 20s))
      << "node " << victim << " not added back";
  ASSERT_TRUE(Put("c", "3"));

  // The victim now holds a replica with a new Raft id (epoch > 0), caught up with the leader:
  // same applied index and state digest, every write readable locally.
  std::string why;
  EXPECT_TRUE(WaitUntil(
      [&] {
        Result<std::optional<NodeId>> id = storage::GetReplicaId(*nodes_.at(victim)->engine, kGroup);
        if (!id.ok() || !id->has_value() || ReplicaEpoch(**id) == 0) {
          why = "node's replica has no new replica id";
          return false;
        }
        NodeId l = Leader();
        if (l == kNoNode) return false;
        auto lg = Group(l, true);
        auto vg = Group(victim, true);
        if (!lg || !vg || !vg->has_digest() || !lg->has_digest()) {
          why = "no status";
          return false;
        }
        why = "applied " + std::to_string(vg->applied()) + " vs leader " +
              std::to_string(lg->applied());
        return vg->applied() == lg->applied() && vg->digest() == lg->digest();
      },
      20s))
      << why;
  EXPECT_EQ(LocalGet(victim, "a"), std::optional<std::string>("1"));
  EXPECT_EQ(LocalGet(victim, "b"), std::optional<std::string>("2"));
  EXPECT_EQ(LocalGet(victim, "c"), std::optional<std::string>("3"));
  // Node 4's replica, removed, is gone once the group is down to three.
  EXPECT_TRUE(WaitUntil([&] { return !Group(NodeId(4)).has_value(); }, 10s));
}

}  // namespace
}  // namespace ringkv::store
