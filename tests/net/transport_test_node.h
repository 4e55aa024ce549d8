// A Transport plus what a test needs around it: collected Raft batches, snapshot chunks and
// unreachable reports, each readable under a lock, and message builders.
#ifndef RINGKV_TESTS_NET_TRANSPORT_TEST_NODE_H_
#define RINGKV_TESTS_NET_TRANSPORT_TEST_NODE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/transport.h"
#include "net_test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::net::testing {

inline constexpr uint64_t kClusterId = 7;

struct Received {
  NodeId from;
  raftpb::Message msg;
};

class TestNode {
 public:
  // listen_port 0 = OS-chosen.
  explicit TestNode(uint64_t id, uint16_t listen_port = 0, uint64_t cluster_id = kClusterId,
                    TransportOptions overrides = {})
      : id_(id) {
    TransportOptions o = overrides;
    o.cluster_id = cluster_id;
    o.node_id = NodeId(id);
    o.incarnation = 1;
    o.listen_address = "127.0.0.1:" + std::to_string(listen_port);
    if (overrides.backoff_max == TransportOptions{}.backoff_max) {
      o.backoff_max = std::chrono::milliseconds(200);  // quick redials in tests
    }
    // Round-trip probes are frames too: off unless a test asks, so counts stay exact.
    if (overrides.probe_interval == TransportOptions{}.probe_interval) {
      o.probe_interval = std::chrono::milliseconds(0);
    }
    Transport::Handlers h;
    h.on_raft = [this](NodeId from, std::vector<raftpb::Message> msgs) {
      if (on_raft_) on_raft_();
      std::lock_guard<std::mutex> l(mu_);
      ++batches_;
      for (auto& m : msgs) received_.push_back({from, std::move(m)});
    };
    h.on_snapshot = [this](NodeId from, transportpb::SnapshotChunk c) {
      std::lock_guard<std::mutex> l(mu_);
      chunks_.push_back(std::move(c));
    };
    h.on_unreachable = [this](NodeId peer) {
      std::lock_guard<std::mutex> l(mu_);
      unreachable_.push_back(peer);
    };
    h.on_round_trip = [this](NodeId peer, std::chrono::microseconds rtt) {
      std::lock_guard<std::mutex> l(mu_);
      round_trips_.push_back({peer, rtt});
    };
    transport_ = std::make_unique<Transport>(o, h);
  }

  // Stops the transport first: its thread calls into the members below.
  ~TestNode() { transport_->Stop(); }

  Status Start() { return transport_->Start(); }
  // Runs `f` (on the transport's thread) at every received batch. Set before Start.
  void OnRaftForTesting(std::function<void()> f) { on_raft_ = std::move(f); }
  Transport& t() { return *transport_; }
  uint16_t port() const { return transport_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  NodeId id() const { return id_; }

  size_t received_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return received_.size();
  }
  std::vector<Received> received() const {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }
  size_t batches() const {
    std::lock_guard<std::mutex> l(mu_);
    return batches_;
  }
  std::vector<transportpb::SnapshotChunk> chunks() const {
    std::lock_guard<std::mutex> l(mu_);
    return chunks_;
  }
  size_t unreachable_count(NodeId peer) const {
    std::lock_guard<std::mutex> l(mu_);
    size_t n = 0;
    for (NodeId p : unreachable_) n += p == peer;
    return n;
  }
  std::vector<std::pair<NodeId, std::chrono::microseconds>> round_trips() const {
    std::lock_guard<std::mutex> l(mu_);
    return round_trips_;
  }
  // Whether a message with this (group, index) arrived.
  bool Got(uint64_t group, uint64_t index) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& r : received_) {
      if (r.msg.group_id() == group && r.msg.index() == index) return true;
    }
    return false;
  }

 private:
  NodeId id_;
  std::function<void()> on_raft_;
  std::unique_ptr<Transport> transport_;
  mutable std::mutex mu_;
  std::vector<Received> received_;
  std::vector<transportpb::SnapshotChunk> chunks_;
  std::vector<NodeId> unreachable_;
  std::vector<std::pair<NodeId, std::chrono::microseconds>> round_trips_;
  size_t batches_ = 0;
};

inline raftpb::Message MakeMsg(uint64_t from, uint64_t to, uint64_t group, uint64_t index,
                               size_t payload_bytes = 0) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_APP);
  m.set_from(from);
  m.set_to(to);
  m.set_term(3);
  m.set_group_id(group);
  m.set_index(index);
  if (payload_bytes > 0) {
    auto* e = m.add_entries();
    e->set_index(index + 1);
    e->set_term(3);
    e->set_data(std::string(payload_bytes, 'p'));
  }
  return m;
}

}  // namespace ringkv::net::testing

#endif  // RINGKV_TESTS_NET_TRANSPORT_TEST_NODE_H_
