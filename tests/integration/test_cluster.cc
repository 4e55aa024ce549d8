#include "integration/test_cluster.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include "client/admin.h"
#include "client/client_impl.h"
#include "testutil/ports.h"

namespace ringkv::integration {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

bool WaitUntil(const std::function<bool()>& cond, milliseconds timeout, milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

std::string KvdBinary() { return RINGKV_KVD_PATH; }
std::string KvctlBinary() { return RINGKV_KVCTL_PATH; }
std::string KvdBuggyBinary() { return RINGKV_KVD_BUGGY_PATH; }

namespace {

std::string MakeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ringkv-integ-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

std::unique_ptr<client::Client> MakeClient(std::vector<std::string> endpoints,
                                           uint64_t cluster_id,
                                           const client::ClientOptions::Tls& tls,
                                           bool lazy = true) {
  client::ClientOptions o;
  o.tls = tls;
  o.endpoints = std::move(endpoints);
  o.lazy_connect = lazy;
  o.cluster_id = cluster_id;
  o.dial_timeout = 1s;
  o.request_timeout = 10s;
  o.attempt_timeout = 1s;
  auto c = client::Client::Connect(std::move(o));
  if (!c.ok()) {
    ADD_FAILURE() << "client: " << c.status().ToString();
    return nullptr;
  }
  return std::move(c).value();
}

}  // namespace

TestCluster::TestCluster(TestClusterOptions options) : options_(std::move(options)) {
  dir_ = MakeTempDir();
  if (dir_.empty()) ADD_FAILURE() << "cannot create a temp dir";
  nodes_.resize(options_.nodes);
  // Ports free a moment ago, all distinct, reserved against other tests (testutil/ports.h).
  for (auto& n : nodes_) {
    n.client_port = ringkv::testing::PickFreePort();
    n.peer_port = ringkv::testing::PickFreePort();
    n.admin_port = ringkv::testing::PickFreePort();
  }
  std::string peers, clients;
  for (int id = 1; id <= size(); ++id) {
    const Node& n = nodes_[id - 1];
    peers += (id > 1 ? "," : "") + std::to_string(id) + "=127.0.0.1:" +
             std::to_string(n.peer_port);
    clients += (id > 1 ? "," : "") + std::to_string(id) + "=127.0.0.1:" +
               std::to_string(n.client_port);
  }
  std::vector<std::string> all_endpoints;
  for (int id = 1; id <= size(); ++id) {
    Node& n = nodes_[id - 1];
    std::vector<std::string> args = {
        "--node_id=" + std::to_string(id),
        "--cluster_id=" + std::to_string(options_.cluster_id),
        "--data_dir=" + dir_ + "/node" + std::to_string(id),
        "--listen_client=" + client_address(id),
        "--listen_peer=127.0.0.1:" + std::to_string(n.peer_port),
        "--listen_admin=" + admin_address(id),
        "--initial_cluster=" + peers,
        "--initial_cluster_clients=" + clients,
    };
    args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
    n.process = std::make_unique<KvdProcess>(Binary(), std::move(args),
                                             dir_ + "/node" + std::to_string(id) + ".log");
    all_endpoints.push_back(client_address(id));
    node_clients_.push_back(MakeClient({client_address(id)}, options_.cluster_id, options_.client_tls));
  }
  client_ = MakeClient(all_endpoints, options_.cluster_id, options_.client_tls);
}

TestCluster::~TestCluster() {
  // Clients first: they must not outlive nothing in particular, but closing them before the
  // servers die keeps the servers' logs free of reconnect noise.
  client_.reset();
  node_clients_.clear();
  for (auto& n : nodes_) n.process->Kill();
  const bool failed = ::testing::Test::HasFailure();
  if (failed) {
    for (int id = 1; id <= size(); ++id) {
      std::cerr << "===== node " << id << " log (last 60 lines; full: "
                << nodes_[id - 1].process->log_path() << ") =====\n"
                << nodes_[id - 1].process->LogTail(60) << "\n";
    }
    std::cerr << "===== test failed: cluster dir kept at " << dir_ << " =====\n";
  } else if (!dir_.empty() && std::getenv("RINGKV_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

Status TestCluster::StartAll() {
  for (int id = 1; id <= size(); ++id) {
    if (Running(id)) continue;
    if (Status s = Start(id); !s.ok()) return s;
  }
  return Status::OK();
}

Result<int> TestCluster::AddJoiningNode(std::vector<std::string> extra_flags) {
  Node n;
  n.client_port = ringkv::testing::PickFreePort();
  n.peer_port = ringkv::testing::PickFreePort();
  n.admin_port = ringkv::testing::PickFreePort();
  const int id = size() + 1;
  std::string join;
  for (int other = 1; other <= options_.nodes; ++other) {
    join += (other > 1 ? "," : "") + std::string("127.0.0.1:") +
            std::to_string(nodes_[other - 1].peer_port);
  }
  const std::string client_addr = "127.0.0.1:" + std::to_string(n.client_port);
  std::vector<std::string> args = {
      "--node_id=" + std::to_string(id),
      "--cluster_id=" + std::to_string(options_.cluster_id),
      "--data_dir=" + dir_ + "/node" + std::to_string(id),
      "--listen_client=" + client_addr,
      "--listen_peer=127.0.0.1:" + std::to_string(n.peer_port),
      "--listen_admin=127.0.0.1:" + std::to_string(n.admin_port),
      "--join=" + join,
  };
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  n.process = std::make_unique<KvdProcess>(Binary(), std::move(args),
                                           dir_ + "/node" + std::to_string(id) + ".log");
  nodes_.push_back(std::move(n));
  node_clients_.push_back(MakeClient({client_addr}, options_.cluster_id, options_.client_tls));
  if (Status s = Start(id); !s.ok()) return s;
  return id;
}

Status TestCluster::Start(int id, const std::vector<std::string>& extra_flags) {
  return process(id).Start(extra_flags);
}
std::string TestCluster::Binary() const {
  return options_.binary.empty() ? KvdBinary() : options_.binary;
}
void TestCluster::Kill(int id) { process(id).Kill(); }
void TestCluster::KillAll() {
  for (int id = 1; id <= size(); ++id) Kill(id);
}
std::optional<int> TestCluster::Stop(int id, milliseconds timeout) {
  return process(id).Stop(timeout);
}
bool TestCluster::Running(int id) { return process(id).Running(); }

std::string TestCluster::client_address(int id) const {
  return "127.0.0.1:" + std::to_string(client_port(id));
}

std::string TestCluster::admin_address(int id) const {
  return "127.0.0.1:" + std::to_string(admin_port(id));
}

std::string TestCluster::endpoints() const {
  std::string out;
  for (int id = 1; id <= size(); ++id) out += (id > 1 ? "," : "") + client_address(id);
  return out;
}

client::Client& TestCluster::client() { return *client_; }
client::Client& TestCluster::NodeClient(int id) { return *node_clients_.at(id - 1); }

Result<kvpb::NodeStatus> TestCluster::NodeStatus(int id, milliseconds timeout,
                                                 bool with_digests) {
  return client::NodeStatus(NodeClient(id), client_address(id), timeout, with_digests);
}

Result<std::map<uint64_t, kvpb::GroupStatus>> TestCluster::Groups(int id,
                                                                  milliseconds timeout) {
  auto st = NodeStatus(id, timeout);
  if (!st.ok()) return st.status();
  std::map<uint64_t, kvpb::GroupStatus> out;
  for (const auto& g : st->groups()) out[g.group_id()] = g;
  return out;
}

Result<kvpb::GroupStatus> TestCluster::Group(int id, uint64_t group, milliseconds timeout) {
  auto gs = Groups(id, timeout);
  if (!gs.ok()) return gs.status();
  auto it = gs->find(group);
  if (it == gs->end()) {
    return Status::NotFound("node " + std::to_string(id) + " hosts no group " +
                            std::to_string(group));
  }
  return it->second;
}

std::map<uint64_t, int> TestCluster::Leaders() {
  std::map<uint64_t, std::pair<uint64_t, int>> best;  // group -> (term, leader)
  for (int id = 1; id <= size(); ++id) {
    if (!Running(id)) continue;
    auto gs = Groups(id);
    if (!gs.ok()) continue;
    for (const auto& [group, g] : *gs) {
      auto& b = best[group];
      if (g.role() == "leader" && g.term() >= b.first) b = {g.term(), id};
    }
  }
  std::map<uint64_t, int> out;
  for (const auto& [group, b] : best) out[group] = b.second;
  return out;
}

std::map<uint64_t, kvpb::GroupStatus> TestCluster::LeaderViews(const std::vector<int>& skip) {
  std::map<uint64_t, kvpb::GroupStatus> out;
  for (int id = 1; id <= size(); ++id) {
    if (std::find(skip.begin(), skip.end(), id) != skip.end() || !Running(id)) continue;
    auto gs = Groups(id);
    if (!gs.ok()) continue;
    for (const auto& [group, g] : *gs) {
      if (g.role() != "leader") continue;
      auto it = out.find(group);
      if (it == out.end() || g.term() > it->second.term()) out[group] = g;
    }
  }
  return out;
}

int TestCluster::LeaderOf(uint64_t group) {
  auto leaders = Leaders();
  auto it = leaders.find(group);
  return it == leaders.end() ? 0 : it->second;
}

Result<uint64_t> TestCluster::GroupOf(const std::string& key) {
  kvpb::Request req;
  req.set_consistency(kvpb::SERIALIZABLE);
  req.mutable_get()->set_key(key);
  auto& impl = static_cast<client::ClientImpl&>(client());
  auto r = impl.ExecuteSync(std::move(req), client::CallKind::kRead, "group of key", 5s);
  if (!r.ok()) return r.status();
  if (r->group_id() == 0) return Status::Unavailable("response names no group");
  return r->group_id();
}

Result<int> TestCluster::WaitForLeader(milliseconds timeout, int exclude) {
  std::map<uint64_t, int> leaders;
  std::string last_put;
  const bool ok = WaitUntil(
      [&] {
        leaders = Leaders();
        if (leaders.empty()) return false;
        for (const auto& [group, leader] : leaders) {
          if (leader == 0 || leader == exclude) return false;
        }
        client::CallOptions co;
        co.timeout = 2s;
        auto put = client().Put("__integration_probe", "x", co);
        last_put = put.status().ToString();
        return put.ok();
      },
      timeout, 50ms);
  if (ok && !client_knows_ring_) {
    // A lazily connected client never learns the shard ring (so it cannot fan out scans);
    // replace it, once, by one that connects now and learns it.
    std::vector<std::string> all;
    for (int id = 1; id <= size(); ++id) {
      if (Running(id)) all.push_back(client_address(id));
    }
    if (auto c = MakeClient(all, options_.cluster_id, options_.client_tls, /*lazy=*/false)) {
      client_ = std::move(c);
      client_knows_ring_ = true;
    }
  }
  if (!ok) {
    std::string missing;
    int shown = 0;
    for (const auto& [group, leader] : leaders) {
      if ((leader == 0 || leader == exclude) && shown++ < 8) {
        missing += " " + std::to_string(group);
      }
    }
    return Status::DeadlineExceeded(
        "no leader for every group within " + std::to_string(timeout.count()) + " ms (" +
        std::to_string(leaders.size()) + " groups seen; leaderless:" + missing +
        "; last probe write: " + last_put + ")");
  }
  std::map<int, int> count;
  for (const auto& [group, leader] : leaders) ++count[leader];
  int busiest = 0;
  for (const auto& [node, n] : count) {
    if (busiest == 0 || n > count[busiest]) busiest = node;
  }
  return busiest;
}

Status TestCluster::WaitCaughtUp(int id, milliseconds timeout) {
  // Targets: each group's leader's applied index now.
  std::map<uint64_t, uint64_t> target;
  for (const auto& [group, leader] : Leaders()) {
    if (leader == 0 || leader == id) continue;
    auto g = Group(leader, group);
    if (g.ok()) target[group] = g->applied();
  }
  if (target.empty()) return Status::Unavailable("no leaders to catch up with");
  std::string lag;
  const bool ok = WaitUntil(
      [&] {
        auto gs = Groups(id);
        if (!gs.ok()) {
          lag = gs.status().ToString();
          return false;
        }
        for (const auto& [group, want] : target) {
          auto it = gs->find(group);
          if (it == gs->end() || it->second.applied() < want) {
            lag = "group " + std::to_string(group) + " applied " +
                  (it == gs->end() ? std::string("<not hosted>")
                                   : std::to_string(it->second.applied())) +
                  " < leader's " + std::to_string(want);
            return false;
          }
        }
        return true;
      },
      timeout, 50ms);
  if (ok) return Status::OK();
  return Status::DeadlineExceeded("node " + std::to_string(id) + " did not catch up: " + lag);
}

Result<std::optional<kvpb::KeyValue>> TestCluster::LocalGet(int id, const std::string& key,
                                                            milliseconds timeout) {
  kvpb::Request req;
  req.set_consistency(kvpb::SERIALIZABLE);
  req.mutable_get()->set_key(key);
  auto& impl = static_cast<client::ClientImpl&>(NodeClient(id));
  auto r = impl.ExecuteSync(std::move(req), client::CallKind::kRead,
                            "local get at node " + std::to_string(id), timeout,
                            client_address(id));
  if (!r.ok()) return r.status();
  if (r->has_error() && r->error().code() != kvpb::OK && r->error().code() != kvpb::NOT_FOUND) {
    return Status::Unavailable("node " + std::to_string(id) + ": " + r->error().message());
  }
  if (r->served_by() != static_cast<uint64_t>(id)) {
    return Status::FailedPrecondition("read served by node " + std::to_string(r->served_by()) +
                                      ", not " + std::to_string(id));
  }
  if (!r->get().found()) return std::optional<kvpb::KeyValue>();
  return std::optional<kvpb::KeyValue>(r->get().kv());
}

Status TestCluster::CompactLogs(int id, milliseconds timeout) {
  auto gs = Groups(id);
  if (!gs.ok()) return gs.status();
  for (const auto& [group, g] : *gs) {
    auto r = client::TriggerSnapshot(NodeClient(id), client_address(id), GroupId(group), timeout);
    if (!r.ok()) {
      return Status::Unavailable("compact group " + std::to_string(group) + " on node " +
                                 std::to_string(id) + ": " + r.status().ToString());
    }
  }
  return Status::OK();
}

bool TestCluster::LogHasLine(int id, const std::vector<std::string>& parts) const {
  std::istringstream in(nodes_.at(id - 1).process->ReadLog());
  std::string line;
  while (std::getline(in, line)) {
    bool all = true;
    for (const auto& p : parts) {
      if (line.find(p) == std::string::npos) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

bool TestCluster::WaitForLogLine(int id, const std::vector<std::string>& parts,
                                 milliseconds timeout) {
  return WaitUntil([&] { return LogHasLine(id, parts); }, timeout);
}

}  // namespace ringkv::integration
