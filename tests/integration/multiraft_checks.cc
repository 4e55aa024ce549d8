#include "integration/multiraft_checks.h"

#include <sstream>

namespace ringkv::integration {

ShardMapView ShardMapView::Take(TestCluster& cluster, const std::vector<int>& skip) {
  ShardMapView v;
  v.shards = cluster.LeaderViews(skip);
  for (const auto& [group, g] : v.shards) {
    for (uint64_t n : g.voters()) ++v.replicas[static_cast<int>(n)];
    for (uint64_t n : g.learners()) ++v.replicas[static_cast<int>(n)];
    ++v.leaders[static_cast<int>(g.leader())];
  }
  return v;
}

std::string ShardMapView::Unhealthy(int num_shards, int replication,
                                    const std::set<int>& live) const {
  std::ostringstream why;
  for (int group = 1; group <= num_shards; ++group) {
    auto it = shards.find(group);
    if (it == shards.end()) {
      why << "group " << group << " has no leader";
      return why.str();
    }
    const kvpb::GroupStatus& g = it->second;
    bool bad = g.voters_size() != replication || g.learners_size() != 0;
    for (uint64_t n : g.voters()) bad = bad || live.count(static_cast<int>(n)) == 0;
    if (bad) {
      why << "group " << group << " voters {";
      for (uint64_t n : g.voters()) why << " " << n;
      why << " } learners {";
      for (uint64_t n : g.learners()) why << " " << n;
      why << " }";
      return why.str();
    }
  }
  if (static_cast<int>(shards.size()) != num_shards) {
    why << shards.size() << " groups, want " << num_shards;
    return why.str();
  }
  return "";
}

int ShardMapView::MostLeaders() const {
  int most = 0;
  int count = -1;
  for (const auto& [node, n] : leaders) {
    if (n > count) {
      most = node;
      count = n;
    }
  }
  return most;
}

std::string ShardMapView::CountsString() const {
  std::ostringstream out;
  for (const auto& [node, n] : replicas) {
    auto it = leaders.find(node);
    out << node << ":" << n << "/" << (it == leaders.end() ? 0 : it->second) << " ";
  }
  return out.str();
}

WriteLoad::WriteLoad(client::Client& c, std::string prefix, int writers)
    : c_(c), prefix_(std::move(prefix)) {
  for (int w = 0; w < writers; ++w) threads_.emplace_back([this, w] { Run(w); });
}

WriteLoad::~WriteLoad() { Stop(); }

void WriteLoad::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WriteLoad::Run(int w) {
  client::CallOptions co;
  co.timeout = std::chrono::seconds(3);
  for (int n = 0; !stop_; ++n) {
    const std::string key = prefix_ + "/" + std::to_string(w) + "/" + std::to_string(n);
    const std::string value = "v" + std::to_string(n) + "-" + key;
    auto r = c_.Put(key, value, co);
    if (r.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      acked_[key] = value;
      ++acked_count_;
    } else {
      ++failed_count_;
    }
  }
}

std::string ReadBackAll(client::Client& c, const std::map<std::string, std::string>& writes) {
  std::ostringstream bad;
  int n_bad = 0;
  client::CallOptions co;
  co.timeout = std::chrono::seconds(10);
  for (const auto& [key, value] : writes) {
    auto r = c.Get(key, co);
    std::string got;
    if (!r.ok()) {
      got = "error " + r.status().ToString();
    } else if (!r->has_value()) {
      got = "<absent>";
    } else if ((*r)->value != value) {
      got = "'" + (*r)->value + "'";
    } else {
      continue;
    }
    if (n_bad++ < 5) bad << key << ": want '" << value << "', got " << got << "; ";
  }
  if (n_bad == 0) return "";
  return std::to_string(n_bad) + " of " + std::to_string(writes.size()) +
         " acknowledged writes not read back: " + bad.str();
}

}  // namespace ringkv::integration
