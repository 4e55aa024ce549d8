// SimNetwork: many pure Swim cores on a simulated, seeded network in one thread. Messages go
// through the real datagram codec, are lost with a given probability, delayed uniformly, and
// can be cut per link (partitions). Time is simulated milliseconds. Test-only.
//
// Thread-safety: not thread-safe.
#ifndef RINGKV_TESTS_GOSSIP_SIM_NETWORK_H_
#define RINGKV_TESTS_GOSSIP_SIM_NETWORK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/random.h"
#include "gossip/codec.h"
#include "gossip/swim.h"

namespace ringkv::gossip::testing {

struct SimOptions {
  uint64_t seed = 1;
  double loss = 0.0;          // probability a datagram is lost
  int64_t min_delay_ms = 1;   // one-way delay, uniform in [min, max]
  int64_t max_delay_ms = 10;
  int64_t step_ms = 10;       // tick granularity
};

inline std::string SimAddr(uint64_t id) { return "node" + std::to_string(id) + ":7946"; }

// Options of a test node: short, sim-friendly defaults on top of SwimOptions' defaults.
inline SwimOptions SimNodeOptions(uint64_t id, uint64_t seed) {
  SwimOptions o;
  o.cluster_id = "sim";
  o.self.id = NodeId(id);
  o.self.name = "n" + std::to_string(id);
  o.self.gossip_addr = SimAddr(id);
  o.self.peer_addr = "node" + std::to_string(id) + ":9000";
  o.self.client_addr = "node" + std::to_string(id) + ":9001";
  o.seed = seed * 1000003 + id;
  o.push_pull_interval_ms = 10000;
  return o;
}

class SimNetwork {
 public:
  explicit SimNetwork(SimOptions opt) : opt_(opt), rng_(opt.seed) {}

  // Adds a running node. Returns it; owned by the network. Replaces a killed node of that id.
  Swim* AddNode(SwimOptions o) {
    const uint64_t id = o.self.id.value();
    nodes_[id] = std::make_unique<Swim>(std::move(o));
    dead_.erase(id);
    events_[id].clear();
    nodes_[id]->Tick(now_);
    Drain(id);
    return nodes_[id].get();
  }
  Swim* node(uint64_t id) { return nodes_.at(id).get(); }
  bool running(uint64_t id) const { return nodes_.count(id) && !dead_.count(id); }
  // Crash-stops a node: it no longer ticks, and messages to it are lost.
  void Kill(uint64_t id) { dead_.insert(id); }
  // Cuts (or restores) the link a<->b in both directions.
  void Cut(uint64_t a, uint64_t b, bool cut = true) {
    auto key = std::minmax(a, b);
    if (cut) cuts_.insert(key); else cuts_.erase(key);
  }
  // Drains and queues a node's outbox (call after poking a core directly).
  void Drain(uint64_t id) {
    Swim* s = nodes_.at(id).get();
    for (auto& m : s->TakeOutbox()) Enqueue(id, std::move(m));
    for (auto& e : s->TakeEvents()) events_[id].push_back({now_, std::move(e)});
  }

  // Advances simulated time by one step: delivers due messages, then ticks every live node.
  void Step() {
    now_ += opt_.step_ms;
    while (!queue_.empty() && queue_.top().at <= now_) {
      InFlight f = queue_.top();
      queue_.pop();
      auto to = addr_to_id_.find(f.to);
      if (to == addr_to_id_.end() || !running(to->second)) continue;
      Result<gossippb::Envelope> env = DecodeDatagram(f.bytes);
      if (!env.ok()) continue;
      ++delivered_;
      nodes_[to->second]->Receive(SimAddr(f.from), *env).IgnoreError();  // counted in stats
      Drain(to->second);
    }
    for (auto& [id, s] : nodes_) {
      if (dead_.count(id)) continue;
      s->Tick(now_);
      Drain(id);
    }
  }
  void RunFor(int64_t ms) {
    const int64_t end = now_ + ms;
    while (now_ < end) Step();
  }
  // Steps until pred() holds or `max_ms` of simulated time pass; returns pred().
  bool RunUntil(const std::function<bool()>& pred, int64_t max_ms) {
    const int64_t end = now_ + max_ms;
    while (!pred() && now_ < end) Step();
    return pred();
  }

  // The state `observer` holds for `subject`, or nullopt when unknown.
  std::optional<MemberState> StateAt(uint64_t observer, uint64_t subject) {
    const Member* m = nodes_.at(observer)->members().Find(NodeId(subject));
    if (m == nullptr) return std::nullopt;
    return m->state;
  }
  // True when every running node other than `subject` holds `subject` in `state`.
  bool AllSee(uint64_t subject, MemberState state) {
    for (auto& [id, s] : nodes_) {
      if (id == subject || !running(id)) continue;
      if (StateAt(id, subject) != state) return false;
    }
    return true;
  }

  struct TimedEvent {
    int64_t at;
    MemberEvent event;
  };
  const std::vector<TimedEvent>& events(uint64_t id) { return events_[id]; }
  int64_t now() const { return now_; }
  uint64_t delivered() const { return delivered_; }

 private:
  struct InFlight {
    int64_t at;
    uint64_t seq;
    uint64_t from;
    std::string to;
    std::string bytes;
    bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void Enqueue(uint64_t from, OutMessage m) {
    if (addr_to_id_.empty() || addr_to_id_.size() < nodes_.size()) RebuildAddrs();
    auto to = addr_to_id_.find(m.to);
    if (to != addr_to_id_.end() && cuts_.count(std::minmax(from, to->second))) return;
    if (rng_.Bernoulli(opt_.loss)) return;
    Result<std::string> bytes = EncodeDatagram(m.envelope);
    if (!bytes.ok()) return;
    const int64_t delay =
        opt_.min_delay_ms +
        static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(opt_.max_delay_ms - opt_.min_delay_ms + 1)));
    queue_.push(InFlight{now_ + delay, seq_++, from, std::move(m.to), std::move(*bytes)});
  }
  void RebuildAddrs() {
    for (auto& [id, s] : nodes_) addr_to_id_[SimAddr(id)] = id;
  }

  SimOptions opt_;
  Random rng_;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t delivered_ = 0;
  std::map<uint64_t, std::unique_ptr<Swim>> nodes_;
  std::map<std::string, uint64_t> addr_to_id_;
  std::set<uint64_t> dead_;
  std::set<std::pair<uint64_t, uint64_t>> cuts_;
  std::map<uint64_t, std::vector<TimedEvent>> events_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<InFlight>> queue_;
};

}  // namespace ringkv::gossip::testing

#endif  // RINGKV_TESTS_GOSSIP_SIM_NETWORK_H_
