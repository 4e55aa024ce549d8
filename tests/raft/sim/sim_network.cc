#include "raft/sim/sim_network.h"

namespace ringkv::raft::sim {

std::vector<int64_t> SimNetwork::Route() {
  std::vector<int64_t> delays;
  if (params_.drop > 0 && rng_->Bernoulli(params_.drop)) return delays;
  const int copies = (params_.duplicate > 0 && rng_->Bernoulli(params_.duplicate)) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    int64_t d = params_.min_delay_ms + static_cast<int64_t>(rng_->Uniform(static_cast<uint64_t>(
                                           params_.max_delay_ms - params_.min_delay_ms + 1)));
    if (params_.long_delay > 0 && rng_->Bernoulli(params_.long_delay)) {
      d += static_cast<int64_t>(rng_->Uniform(static_cast<uint64_t>(params_.long_delay_ms) + 1));
    }
    delays.push_back(d);
  }
  return delays;
}

void SimNetwork::Split(const std::vector<NodeId>& a, const std::vector<NodeId>& b) {
  for (NodeId x : a) {
    for (NodeId y : b) {
      if (x == y) continue;
      blocked_.insert({x, y});
      blocked_.insert({y, x});
    }
  }
}

std::string SimNetwork::Describe() const {
  std::string s;
  for (const auto& [from, to] : blocked_) {
    if (!s.empty()) s += ' ';
    s += std::to_string(from.value()) + "-/->" + std::to_string(to.value());
  }
  return s.empty() ? "none" : s;
}

}  // namespace ringkv::raft::sim
