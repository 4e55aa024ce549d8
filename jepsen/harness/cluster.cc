#include "jepsen/harness/cluster.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <thread>

#include "client/admin.h"
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
  for (int i = 1; i <= options_.nodes; ++i) Kill(i);
}

std::vector<std::string> Cluster::ClientEndpoints() const {
  std::vector<std::string> out;
  for (int i = 1; i <= options_.nodes; ++i) out.push_back(NodeClientAddress(i));
  return out;
}

std::string Cluster::LogPath(int node) const {
  return options_.dir + "/logs/n" + std::to_string(node) + ".log";
}

std::vector<std::string> Cluster::Argv(int node) const {
  std::string peers, clients;
  for (int i = 1; i <= options_.nodes; ++i) {
    if (i > 1) {
      peers += ",";
      clients += ",";
    }
    peers += std::to_string(i) + "=" + NodePeerAddress(i);
    clients += std::to_string(i) + "=" + NodeClientAddress(i);
  }
  std::vector<std::string> argv = {
      options_.binary,
      "--node_id=" + std::to_string(node),
      "--data_dir=" + options_.dir + "/data/n" + std::to_string(node),
      "--listen_client=" + NodeClientAddress(node),
      "--listen_peer=" + NodePeerAddress(node),
      "--initial_cluster=" + peers,
      "--initial_cluster_clients=" + clients,
  };
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
  Proc& p = procs_[static_cast<size_t>(node - 1)];
  if (p.pid > 0) return Status::FailedPrecondition("node " + std::to_string(node) + " runs");
  ASSIGN_OR_RETURN(p.pid, SpawnLogged(Argv(node), LogPath(node)));
  p.paused = false;
  return Status::OK();
}

void Cluster::Kill(int node) {
  std::lock_guard<std::mutex> l(mu_);
  ReapDeadLocked();
  Proc& p = procs_[static_cast<size_t>(node - 1)];
  if (p.pid <= 0) return;
  kill(p.pid, SIGKILL);
  Reap(p.pid);
  p.pid = -1;
  p.paused = false;
}

void Cluster::Pause(int node) {
  std::lock_guard<std::mutex> l(mu_);
  Proc& p = procs_[static_cast<size_t>(node - 1)];
  if (p.pid <= 0 || p.paused) return;
  kill(p.pid, SIGSTOP);
  p.paused = true;
}

void Cluster::Resume(int node) {
  std::lock_guard<std::mutex> l(mu_);
  Proc& p = procs_[static_cast<size_t>(node - 1)];
  if (p.pid <= 0 || !p.paused) return;
  kill(p.pid, SIGCONT);
  p.paused = false;
}

bool Cluster::Running(int node) const {
  std::lock_guard<std::mutex> l(mu_);
  return procs_[static_cast<size_t>(node - 1)].pid > 0;
}

Status Cluster::HealAll() {
  for (int i = 1; i <= options_.nodes; ++i) {
    Resume(i);
    if (!Running(i)) RETURN_IF_ERROR(Start(i));
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
    o.endpoints = ClientEndpoints();
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

Result<kvpb::NodeStatus> Cluster::NodeStatus(int node, milliseconds timeout) {
  std::lock_guard<std::mutex> l(admin_mu_);
  ringkv::client::Client* c = AdminClient();
  if (c == nullptr) return Status::Unavailable("no admin client");
  return ringkv::client::NodeStatus(*c, NodeClientAddress(node), timeout);
}

std::optional<int> Cluster::FindLeader() {
  // With several groups: the node leading the most of them (ties: the higher summed term).
  std::optional<int> best;
  std::pair<int, uint64_t> best_score{0, 0};
  for (int i = 1; i <= options_.nodes; ++i) {
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

Status Cluster::WaitConverged(std::chrono::seconds timeout, std::string* summary) {
  const auto deadline = Clock::now() + timeout;
  std::string prev;
  while (true) {
    std::map<uint64_t, std::map<int, uint64_t>> applied;  // group -> node -> applied
    std::string desc, error;
    for (int i = 1; i <= options_.nodes; ++i) {
      auto st = NodeStatus(i, milliseconds(500));
      if (!st.ok()) {
        error = "node " + std::to_string(i) + ": " + st.status().ToString();
        continue;
      }
      for (const auto& g : st->groups()) applied[g.group_id()][i] = g.applied();
    }
    bool equal = error.empty();
    size_t shown = 0;
    for (const auto& [group, per_node] : applied) {
      bool group_equal = per_node.size() == static_cast<size_t>(options_.nodes);
      for (const auto& [node, idx] : per_node) group_equal = group_equal && idx == per_node.begin()->second;
      equal = equal && group_equal;
      // Show the groups that differ, and the first few.
      if (!group_equal || shown < 3) {
        ++shown;
        desc += "group " + std::to_string(group) + " applied:";
        for (const auto& [node, idx] : per_node) {
          desc += " n" + std::to_string(node) + "=" + std::to_string(idx);
        }
        desc += "; ";
      }
    }
    if (applied.empty()) equal = false;  // no group at all: nothing to compare, not healthy
    desc = std::to_string(applied.size()) + " groups; " + desc;
    if (!error.empty()) desc += error;
    if (summary) *summary = desc;
    if (equal && desc == prev) return Status::OK();
    prev = equal ? desc : "";
    if (Clock::now() >= deadline) return Status::DeadlineExceeded("replicas did not converge: " + desc);
    std::this_thread::sleep_for(milliseconds(200));
  }
}

}  // namespace ringkv::jepsen
