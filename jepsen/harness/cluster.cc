#include "jepsen/harness/cluster.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "client/admin.h"
#include "ring/hash_ring.h"
#include "jepsen/harness/process.h"

namespace ringkv::jepsen {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::string NodeIp(int node) { return "127.0.0." + std::to_string(10 + node); }
std::string NodeClientAddress(int node) { return NodeIp(node) + ":7001"; }
static std::string NodePeerAddress(int node) { return NodeIp(node) + ":7101"; }

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  std::lock_guard<std::mutex> l(mu_);
  procs_.resize(static_cast<size_t>(options_.nodes));
  std::filesystem::create_directories(options_.dir + "/logs");
  std::filesystem::create_directories(options_.dir + "/data");
}

Cluster::~Cluster() {
  {
    std::lock_guard<std::mutex> l(admin_mu_);
    admin_.reset();
  }
  for (int i = 1; i <= size(); ++i) Kill(i);
}

int Cluster::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(procs_.size());
}

std::vector<int> Cluster::Members() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<int> out;
  for (size_t i = 0; i < procs_.size(); ++i) {
    if (procs_[i].membership == Membership::kMember) out.push_back(static_cast<int>(i) + 1);
  }
  return out;
}

std::vector<int> Cluster::RunningNodes() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<int> out;
  for (size_t i = 0; i < procs_.size(); ++i) {
    if (procs_[i].pid > 0) out.push_back(static_cast<int>(i) + 1);
  }
  return out;
}

std::vector<std::string> Cluster::ClientEndpoints() const {
  std::vector<std::string> out;
  for (int i : Members()) out.push_back(NodeClientAddress(i));
  return out;
}

std::string Cluster::LogPath(int node) const {
  return options_.dir + "/logs/n" + std::to_string(node) + ".log";
}

std::vector<std::string> Cluster::Argv(int node) const {
  std::vector<std::string> argv = {
      options_.binary,
      "--node_id=" + std::to_string(node),
      "--data_dir=" + options_.dir + "/data/n" + std::to_string(node),
      "--listen_client=" + NodeClientAddress(node),
      "--listen_peer=" + NodePeerAddress(node),
  };
  if (procs_[static_cast<size_t>(node - 1)].joined) {
    // Gossip (UDP) listens on the peer address: join through every node not removed.
    std::string join;
    for (size_t i = 0; i < procs_.size(); ++i) {
      const int other = static_cast<int>(i) + 1;
      if (other == node || procs_[i].membership == Membership::kRemoved) continue;
      join += (join.empty() ? "" : ",") + NodePeerAddress(other);
    }
    argv.push_back("--join=" + join);
  } else {
    std::string peers, clients;
    for (int i = 1; i <= options_.nodes; ++i) {
      if (i > 1) {
        peers += ",";
        clients += ",";
      }
      peers += std::to_string(i) + "=" + NodePeerAddress(i);
      clients += std::to_string(i) + "=" + NodeClientAddress(i);
    }
    argv.push_back("--initial_cluster=" + peers);
    argv.push_back("--initial_cluster_clients=" + clients);
  }
  argv.insert(argv.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  if (!options_.bug.empty()) argv.push_back("--test_inject_bug=" + options_.bug);
  if (options_.lose_unsynced) argv.push_back("--test_lose_unsynced_writes");
  return argv;
}

Status Cluster::StartAll() {
  for (int i = 1; i <= options_.nodes; ++i) RETURN_IF_ERROR(Start(i));
  return Status::OK();
}

Status Cluster::Start(int node) {
  std::lock_guard<std::mutex> l(mu_);
  ReapDeadLocked();
  Proc& p = ProcLocked(node);
  if (p.pid > 0) return Status::FailedPrecondition("node " + std::to_string(node) + " runs");
  if (p.membership == Membership::kRemoved) {
    return Status::FailedPrecondition("node " + std::to_string(node) + " was removed");
  }
  ASSIGN_OR_RETURN(p.pid, SpawnLogged(Argv(node), LogPath(node)));
  p.paused = false;
  return Status::OK();
}

Result<int> Cluster::AddNode() {
  int node = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (procs_.size() >= 200) return Status::ResourceExhausted("no address left for a node");
    procs_.emplace_back();
    procs_.back().joined = true;
    node = static_cast<int>(procs_.size());
  }
  RETURN_IF_ERROR(Start(node));
  return node;
}

Status Cluster::Decommission(int node) {
  Result<std::string> r = Status::Unavailable("no admin client");
  {
    std::lock_guard<std::mutex> l(admin_mu_);
    if (ringkv::client::Client* c = AdminClient()) {
      r = ringkv::client::Decommission(*c, NodeClientAddress(node), milliseconds(2000));
    }
  }
  if (!r.ok()) return r.status();
  std::lock_guard<std::mutex> l(mu_);
  ProcLocked(node).membership = Membership::kDecommissioned;
  return Status::OK();
}

void Cluster::Remove(int node) {
  Kill(node);
  {
    std::lock_guard<std::mutex> l(mu_);
    ProcLocked(node).membership = Membership::kRemoved;
  }
  std::error_code ec;
  std::filesystem::remove_all(options_.dir + "/data/n" + std::to_string(node), ec);
}

void Cluster::Kill(int node) {
  std::lock_guard<std::mutex> l(mu_);
  ReapDeadLocked();
  Proc& p = ProcLocked(node);
  if (p.pid <= 0) return;
  kill(p.pid, SIGKILL);
  Reap(p.pid);
  p.pid = -1;
  p.paused = false;
}

void Cluster::Pause(int node) {
  std::lock_guard<std::mutex> l(mu_);
  Proc& p = ProcLocked(node);
  if (p.pid <= 0 || p.paused) return;
  kill(p.pid, SIGSTOP);
  p.paused = true;
}

void Cluster::Resume(int node) {
  std::lock_guard<std::mutex> l(mu_);
  Proc& p = ProcLocked(node);
  if (p.pid <= 0 || !p.paused) return;
  kill(p.pid, SIGCONT);
  p.paused = false;
}

bool Cluster::Running(int node) const {
  std::lock_guard<std::mutex> l(mu_);
  return procs_[static_cast<size_t>(node - 1)].pid > 0;
}

Status Cluster::HealAll() {
  for (int i = 1; i <= size(); ++i) {
    Resume(i);
    bool removed;
    {
      std::lock_guard<std::mutex> l(mu_);
      removed = ProcLocked(i).membership == Membership::kRemoved;
    }
    if (!removed && !Running(i)) RETURN_IF_ERROR(Start(i));
  }
  return Status::OK();
}

std::vector<int> Cluster::StopAll(std::chrono::seconds grace) {
  {
    std::lock_guard<std::mutex> l(admin_mu_);
    admin_.reset();
  }
  std::vector<int> forced;
  std::lock_guard<std::mutex> l(mu_);
  ReapDeadLocked();
  for (Proc& p : procs_) {
    if (p.pid <= 0) continue;
    kill(p.pid, SIGCONT);
    kill(p.pid, SIGTERM);
  }
  const auto deadline = Clock::now() + grace;
  for (size_t i = 0; i < procs_.size(); ++i) {
    Proc& p = procs_[i];
    if (p.pid <= 0) continue;
    std::optional<std::string> exit;
    while (!(exit = TryReap(p.pid)) && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    if (!exit) {
      forced.push_back(static_cast<int>(i) + 1);
      kill(p.pid, SIGKILL);
      Reap(p.pid);
    } else if (*exit != "exit 0") {
      unexpected_.push_back("node " + std::to_string(i + 1) + ": graceful stop ended with " +
                            *exit);
    }
    p.pid = -1;
  }
  return forced;
}

void Cluster::ReapDeadLocked() {
  for (size_t i = 0; i < procs_.size(); ++i) {
    Proc& p = procs_[i];
    if (p.pid <= 0) continue;
    if (std::optional<std::string> exit = TryReap(p.pid)) {
      unexpected_.push_back("node " + std::to_string(i + 1) + " exited by itself: " + *exit);
      p.pid = -1;
    }
  }
}

std::vector<std::string> Cluster::UnexpectedExits() {
  std::lock_guard<std::mutex> l(mu_);
  ReapDeadLocked();
  return unexpected_;
}

ringkv::client::Client* Cluster::AdminClient() {
  if (!admin_) {
    ringkv::client::ClientOptions o;
    o.endpoints = {NodeClientAddress(1)};  // every admin call names its node's endpoint
    o.lazy_connect = true;
    o.dial_timeout = milliseconds(500);
    o.request_timeout = milliseconds(1000);
    o.attempt_timeout = milliseconds(1000);
    auto c = ringkv::client::Client::Connect(o);
    if (!c.ok()) return nullptr;
    admin_ = std::move(*c);
  }
  return admin_.get();
}

Result<kvpb::NodeStatus> Cluster::NodeStatus(int node, milliseconds timeout, bool with_digests) {
  std::lock_guard<std::mutex> l(admin_mu_);
  ringkv::client::Client* c = AdminClient();
  if (c == nullptr) return Status::Unavailable("no admin client");
  return ringkv::client::NodeStatus(*c, NodeClientAddress(node), timeout, with_digests);
}

std::optional<int> Cluster::FindLeader() {
  // With several groups: the node leading the most of them (ties: the higher summed term).
  std::optional<int> best;
  std::pair<int, uint64_t> best_score{0, 0};
  std::vector<int> members = Members();
  for (int i : RunningNodes()) {
    if (std::find(members.begin(), members.end(), i) == members.end()) continue;
    auto st = NodeStatus(i, milliseconds(300));
    if (!st.ok()) continue;
    std::pair<int, uint64_t> score{0, 0};
    for (const auto& g : st->groups()) {
      if (g.role() == "leader") {
        ++score.first;
        score.second += g.term();
      }
    }
    if (score.first > 0 && score > best_score) {
      best = i;
      best_score = score;
    }
  }
  return best;
}

Status Cluster::WaitReady(std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    int answered = 0;
    bool leader = false;
    for (int i = 1; i <= options_.nodes; ++i) {
      auto st = NodeStatus(i, milliseconds(300));
      if (!st.ok()) {
        last = "node " + std::to_string(i) + ": " + st.status().ToString();
        continue;
      }
      ++answered;
      for (const auto& g : st->groups()) leader = leader || g.role() == "leader";
    }
    if (answered == options_.nodes && leader) return Status::OK();
    std::this_thread::sleep_for(milliseconds(100));
  }
  return Status::DeadlineExceeded("cluster not ready: " + last);
}

// The statuses of every running node that answers, keyed by node; `error` names one that did
// not.
static std::map<int, kvpb::NodeStatus> StatusesOf(Cluster* c, const std::vector<int>& nodes,
                                                  bool with_digests, std::string* error) {
  std::map<int, kvpb::NodeStatus> out;
  for (int i : nodes) {
    auto st = c->NodeStatus(i, milliseconds(1000), with_digests);
    if (!st.ok()) {
      *error = "node " + std::to_string(i) + ": " + st.status().ToString();
      continue;
    }
    out[i] = std::move(*st);
  }
  return out;
}

// group -> node -> that node's status of the group.
using GroupView = std::map<uint64_t, std::map<int, const kvpb::GroupStatus*>>;

static GroupView ByGroup(const std::map<int, kvpb::NodeStatus>& statuses) {
  GroupView v;
  for (const auto& [node, st] : statuses) {
    for (const auto& g : st.groups()) v[g.group_id()][node] = &g;
  }
  return v;
}

// The replica of the group that leads it in the highest term, if any.
static const kvpb::GroupStatus* LeaderOf(const std::map<int, const kvpb::GroupStatus*>& replicas,
                                         int* leader_node) {
  const kvpb::GroupStatus* best = nullptr;
  for (const auto& [node, g] : replicas) {
    if (g->role() == "leader" && (best == nullptr || g->term() > best->term())) {
      best = g;
      *leader_node = node;
    }
  }
  return best;
}

Status Cluster::ReplicasHealthy(size_t replication) {
  std::string error;
  std::vector<int> running = RunningNodes();
  std::map<int, kvpb::NodeStatus> statuses = StatusesOf(this, running, false, &error);
  if (!error.empty()) return Status::FailedPrecondition(error);
  std::vector<int> members = Members();
  auto is_live_member = [&](uint64_t id) {
    const int n = static_cast<int>(id);
    return std::find(members.begin(), members.end(), n) != members.end() &&
           std::find(running.begin(), running.end(), n) != running.end();
  };
  GroupView groups = ByGroup(statuses);
  if (groups.empty()) return Status::FailedPrecondition("no groups");
  for (const auto& [group, replicas] : groups) {
    int leader_node = 0;
    const kvpb::GroupStatus* leader = LeaderOf(replicas, &leader_node);
    const std::string name = "group " + std::to_string(group);
    if (leader == nullptr) return Status::FailedPrecondition(name + " has no leader");
    if (static_cast<size_t>(leader->voters_size()) != replication || leader->learners_size() > 0) {
      return Status::FailedPrecondition(name + " is changing its configuration");
    }
    for (uint64_t v : leader->voters()) {
      if (!is_live_member(v)) {
        return Status::FailedPrecondition(name + " has voter n" + std::to_string(v) +
                                          " that is down or not a member");
      }
    }
  }
  return Status::OK();
}

std::map<std::string, std::vector<std::string>> Cluster::ReplicaEndpoints(
    const std::vector<std::string>& keys) {
  std::string error;
  std::map<int, kvpb::NodeStatus> statuses = StatusesOf(this, RunningNodes(), false, &error);
  std::map<std::string, std::vector<std::string>> out;
  std::optional<ring::HashRing> ring;
  for (const auto& [node, st] : statuses) {
    Result<ring::RingConfig> rc = ring::RingConfig::Decode(st.ring_config());
    if (!rc.ok()) continue;
    Result<ring::HashRing> r = ring::HashRing::Create(*rc);
    if (r.ok()) ring.emplace(std::move(*r));
    break;
  }
  if (!ring) return out;
  GroupView groups = ByGroup(statuses);
  for (const std::string& key : keys) {
    auto it = groups.find(ring->ShardForKey(key).value());
    if (it == groups.end()) continue;
    int leader_node = 0;
    const kvpb::GroupStatus* leader = LeaderOf(it->second, &leader_node);
    if (leader == nullptr) continue;
    std::vector<uint64_t> config(leader->voters().begin(), leader->voters().end());
    config.insert(config.end(), leader->learners().begin(), leader->learners().end());
    for (uint64_t id : config) {
      if (it->second.count(static_cast<int>(id)) > 0) {
        out[key].push_back(NodeClientAddress(static_cast<int>(id)));
      }
    }
  }
  return out;
}

Status Cluster::WaitConverged(std::chrono::seconds timeout, std::string* summary) {
  const auto deadline = Clock::now() + timeout;
  std::string prev;
  while (true) {
    std::string error;
    std::map<int, kvpb::NodeStatus> statuses = StatusesOf(this, RunningNodes(), true, &error);
    GroupView groups = ByGroup(statuses);
    bool equal = error.empty() && !groups.empty();  // no group at all is not healthy
    std::string desc;
    size_t shown = 0;
    for (const auto& [group, replicas] : groups) {
      // The configuration to converge is the leader's; replicas outside it (removed, awaiting
      // their tombstone) are not compared.
      int leader_node = 0;
      const kvpb::GroupStatus* leader = LeaderOf(replicas, &leader_node);
      bool group_equal = leader != nullptr;
      std::string line = "group " + std::to_string(group);
      if (leader == nullptr) {
        line += " has no leader";
      } else {
        std::vector<uint64_t> config(leader->voters().begin(), leader->voters().end());
        config.insert(config.end(), leader->learners().begin(), leader->learners().end());
        line += " applied/digest:";
        for (uint64_t id : config) {
          const int n = static_cast<int>(id);
          auto it = replicas.find(n);
          if (it == replicas.end()) {
            group_equal = false;
            line += " n" + std::to_string(n) + "=missing";
            continue;
          }
          const kvpb::GroupStatus* g = it->second;
          group_equal = group_equal && g->applied() == leader->applied() && g->has_digest() &&
                        leader->has_digest() && g->digest_applied() == g->applied() &&
                        leader->digest_applied() == leader->applied() &&
                        g->digest() == leader->digest();
          char hex[17];
          snprintf(hex, sizeof(hex), "%08llx",
                   static_cast<unsigned long long>(g->digest() & 0xffffffffull));
          line += " n" + std::to_string(n) + "=" + std::to_string(g->applied()) + "/" +
                  (g->has_digest() ? std::to_string(g->digest_applied()) + ":" + hex : "none");
        }
      }
      equal = equal && group_equal;
      // Show the groups that differ, and the first few.
      if (!group_equal || shown < 3) {
        ++shown;
        desc += line + "; ";
      }
    }
    desc = std::to_string(groups.size()) + " groups; " + desc;
    if (!error.empty()) desc += error;
    if (summary) *summary = desc;
    if (equal && desc == prev) return Status::OK();
    prev = equal ? desc : "";
    if (Clock::now() >= deadline) return Status::DeadlineExceeded("replicas did not converge: " + desc);
    std::this_thread::sleep_for(milliseconds(200));
  }
}

}  // namespace ringkv::jepsen
