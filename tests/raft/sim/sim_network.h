// SimNetwork: the simulated network's fault model. It decides, from the simulation's seeded
// Random, what happens to each message: dropped, delivered after a delay (different delays
// reorder messages), or duplicated; and it keeps the partition state as a set of blocked
// directed links, so majority/minority splits, an isolated leader and one-way (asymmetric)
// partitions are all expressed the same way. The Cluster owns the event queue; this class only
// decides.
//
// Thread-safety: not thread-safe; owned by one Cluster.
#ifndef RINGKV_TESTS_RAFT_SIM_SIM_NETWORK_H_
#define RINGKV_TESTS_RAFT_SIM_SIM_NETWORK_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/random.h"

namespace ringkv::raft::sim {

struct NetworkParams {
  double drop = 0;       // probability that a message is lost
  double duplicate = 0;  // probability that a message is delivered twice
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 10;
  // Probability that a message is held back much longer (reordering past later messages).
  double long_delay = 0;
  int64_t long_delay_ms = 100;
};

class SimNetwork {
 public:
  explicit SimNetwork(Random* rng) : rng_(rng) {}

  void set_params(const NetworkParams& p) { params_ = p; }
  const NetworkParams& params() const { return params_; }

  // The delivery delays of one send: empty when dropped (by chance, not by partition), two
  // entries when duplicated.
  std::vector<int64_t> Route();

  bool Blocked(NodeId from, NodeId to) const { return blocked_.count({from, to}) > 0; }
  void Block(NodeId from, NodeId to) { blocked_.insert({from, to}); }
  // Blocks both directions between every node of `a` and every node of `b`.
  void Split(const std::vector<NodeId>& a, const std::vector<NodeId>& b);
  void HealAll() { blocked_.clear(); }
  bool partitioned() const { return !blocked_.empty(); }
  std::string Describe() const;

 private:
  Random* rng_;
  NetworkParams params_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
};

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_SIM_NETWORK_H_
