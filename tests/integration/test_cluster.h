// TestCluster: N real kvd processes on 127.0.0.1 for integration tests, with free ports taken
// from the OS, a private temp dir (data dirs + logs), clients and admin helpers.
//
// Every wait is a condition polled until a deadline (WaitUntil); nothing sleeps to synchronize.
// The destructor kills every process it started. When the current test has failed, it prints
// the tail of every node's log and keeps the temp dir (path printed); otherwise it removes it.
//
// Node ids are 1..N. Thread-safety: construction, Start/Kill/Stop/Restart and the destructor on
// the test's main thread; client() and the read-only helpers (NodeStatus, Group, LocalGet) may be
// called from any thread once the cluster is built (the Client is thread-safe).
#ifndef RINGKV_TESTS_INTEGRATION_TEST_CLUSTER_H_
#define RINGKV_TESTS_INTEGRATION_TEST_CLUSTER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "integration/kvd_process.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::integration {

using namespace std::chrono_literals;

// Polls `cond` every `poll` until it returns true or `timeout` passes. Returns its last value.
bool WaitUntil(const std::function<bool()>& cond, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = 20ms);

// The kvd / kvctl binaries this test target was built with (compile definitions); kvctl is
// empty when the target did not exist.
std::string KvdBinary();
std::string KvctlBinary();
// kvd_buggy, the test build of kvd (--test_failpoints, --test_inject_bug, ...).
std::string KvdBuggyBinary();

struct TestClusterOptions {
  int nodes = 3;
  uint64_t cluster_id = 42;
  // Extra flags for every node, e.g. "--max_value_bytes=1024".
  std::vector<std::string> extra_flags;
  // The server binary. Default: kvd (KvdBinary()).
  std::string binary;
  // TLS of the clients the cluster makes (client(), NodeStatus, ...), for clusters started
  // with TLS flags.
  client::ClientOptions::Tls client_tls;
};

class TestCluster {
 public:
  explicit TestCluster(TestClusterOptions options = {});
  ~TestCluster();
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  const std::string& dir() const { return dir_; }
  uint64_t cluster_id() const { return options_.cluster_id; }

  // Starts every node not running. Does not wait; see WaitForLeader.
  ringkv::Status StartAll();
  // Starts node `id`, with `extra_flags` for this run only.
  ringkv::Status Start(int id, const std::vector<std::string>& extra_flags = {});
  // Adds node size()+1, which starts with --join (the gossip addresses of the initial
  // members, i.e. their peer ports) and no --initial_cluster, plus options' extra flags and
  // `extra_flags`. Starts it; does not wait. Returns its id.
  Result<int> AddJoiningNode(std::vector<std::string> extra_flags = {});
  // SIGKILL (no shutdown at all, like a power cut for the process).
  void Kill(int id);
  void KillAll();
  // SIGTERM, then SIGKILL after `timeout`; returns the exit code (nullopt if not running).
  std::optional<int> Stop(int id, std::chrono::milliseconds timeout = 10s);
  bool Running(int id);
  KvdProcess& process(int id) { return *nodes_.at(id - 1).process; }

  std::string client_address(int id) const;
  // Node `id`'s data directory.
  std::string data_dir(int id) const { return dir_ + "/node" + std::to_string(id); }
  uint16_t client_port(int id) const { return nodes_.at(id - 1).client_port; }
  uint16_t peer_port(int id) const { return nodes_.at(id - 1).peer_port; }
  uint16_t admin_port(int id) const { return nodes_.at(id - 1).admin_port; }
  // "127.0.0.1:<admin port>" (every node serves its admin HTTP port).
  std::string admin_address(int id) const;
  // "127.0.0.1:a,127.0.0.1:b,..." (for kvctl --endpoints).
  std::string endpoints() const;

  // A client over every node's client address. Until the first successful WaitForLeader it is
  // lazily connected and knows no shard ring; that call replaces it (once) by one that learned
  // the ring, so take references to it only after WaitForLeader.
  client::Client& client();

  // The node's status (one attempt, pinned to that node), with each group's state digest
  // when `with_digests`.
  Result<kvpb::NodeStatus> NodeStatus(int id, std::chrono::milliseconds timeout = 1s,
                                      bool with_digests = false);
  // The status of every group hosted on node `id`, by group id.
  Result<std::map<uint64_t, kvpb::GroupStatus>> Groups(int id,
                                                       std::chrono::milliseconds timeout = 1s);
  // Group `group`'s status on node `id`.
  Result<kvpb::GroupStatus> Group(int id, uint64_t group, std::chrono::milliseconds timeout = 1s);
  // Each group's status as reported by its leader at the highest term among running nodes
  // (voters and learners as the leader's configuration has them), by group id. Nodes in
  // `skip` are not asked (e.g. paused ones, which would only time out).
  std::map<uint64_t, kvpb::GroupStatus> LeaderViews(const std::vector<int>& skip = {});

  // The running node that reports itself leader of `group` (highest term wins); 0 if none.
  int LeaderOf(uint64_t group);
  // Group id -> leader node id, over every group some running node hosts (0 = no leader).
  std::map<uint64_t, int> Leaders();
  // The group owning `key` (as the client's ring routes it, confirmed by the server).
  Result<uint64_t> GroupOf(const std::string& key);

  // Waits until every group hosted by a running node (other than `exclude`) has a running
  // leader and a write through client() succeeds. Returns the node leading the most groups
  // (lowest id on ties), or DeadlineExceeded describing the groups without a leader.
  Result<int> WaitForLeader(std::chrono::milliseconds timeout = 20s, int exclude = 0);

  // Waits until node `id` has applied, in every group it hosts, at least what that group's
  // leader had applied when the wait began. OK, or DeadlineExceeded naming a lagging group.
  ringkv::Status WaitCaughtUp(int id, std::chrono::milliseconds timeout = 30s);

  // Serializable read served by node `id` itself (pinned, no redirect).
  Result<std::optional<kvpb::KeyValue>> LocalGet(int id, const std::string& key,
                                                 std::chrono::milliseconds timeout = 2s);

  // Asks node `id` to compact the log of every group it hosts now.
  ringkv::Status CompactLogs(int id, std::chrono::milliseconds timeout = 5s);

  // Waits until the log of node `id` contains every string of `parts` on one line.
  bool WaitForLogLine(int id, const std::vector<std::string>& parts,
                      std::chrono::milliseconds timeout = 5s);
  // Whether one line of node `id`'s log contains every string of `parts`.
  bool LogHasLine(int id, const std::vector<std::string>& parts) const;

 private:
  struct Node {
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    uint16_t admin_port = 0;
    std::unique_ptr<KvdProcess> process;
  };

  // A lazily connected client pinned to node `id`'s address (for NodeStatus / LocalGet).
  client::Client& NodeClient(int id);
  std::string Binary() const;

  const TestClusterOptions options_;
  std::string dir_;
  std::vector<Node> nodes_;
  std::unique_ptr<client::Client> client_;
  bool client_knows_ring_ = false;
  std::vector<std::unique_ptr<client::Client>> node_clients_;
};

}  // namespace ringkv::integration

#endif  // RINGKV_TESTS_INTEGRATION_TEST_CLUSTER_H_
