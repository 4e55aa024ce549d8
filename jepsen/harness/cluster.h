// The kvd nodes of one test: addresses, processes (start, kill -9, SIGSTOP/SIGCONT, restart on
// the same data dir), membership (nodes added by gossip --join, decommissioned, or removed for
// good), crash detection, and status queries over the admin API (leader, replica health,
// convergence of applied indexes and state digests).
//
// Addresses: node i (1-based) listens on 127.0.0.(10+i):7001 for clients and :7101 for peers,
// and binds its outgoing peer connections to 127.0.0.(10+i). The whole cluster runs inside the
// test's network namespace (see jepsen/run), so fixed ports cannot collide. Nodes 1..nodes
// bootstrap the cluster (--initial_cluster); nodes added later get the next ids.
//
// Thread-safety: thread-safe (one mutex around the process table); status queries block.
#ifndef RINGKV_JEPSEN_HARNESS_CLUSTER_H_
#define RINGKV_JEPSEN_HARNESS_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status_macros.h"
#include "common/thread_annotations.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::jepsen {

struct ClusterOptions {
  int nodes = 3;
  std::string binary;     // kvd or kvd_buggy
  std::string bug;        // --test_inject_bug (kvd_buggy only)
  bool lose_unsynced = false;  // --test_lose_unsynced_writes (kvd_buggy only)
  std::string dir;        // data/ and logs/ go below it
  std::vector<std::string> extra_flags;  // given to every node (e.g. placement timings)
};

// Where a node stands in the cluster's membership, as the harness made it.
enum class Membership {
  kMember,          // bootstrapped or added, and not taken out since
  kDecommissioned,  // asked to decommission: draining, then it leaves (the process stays up)
  kRemoved,         // killed and its data dir wiped: gone for good, never restarted
};

// "127.0.0.(10+i)" for node i.
std::string NodeIp(int node);
std::string NodeClientAddress(int node);

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();  // kills whatever still runs

  // Every node id ever used: 1..size() (log files, final stop).
  int size() const;
  // Nodes whose membership is kMember, in id order.
  std::vector<int> Members() const;
  // Client addresses of the members.
  std::vector<std::string> ClientEndpoints() const;
  std::string LogPath(int node) const;

  // Starts every node. Returns the first spawn error.
  Status StartAll();
  // Waits until some node reports a leader and every node answers, or the deadline passes.
  Status WaitReady(std::chrono::seconds timeout);

  Status Start(int node);  // REQUIRES: not running and not removed
  // Starts a new node that joins through the members' gossip addresses. Returns its id.
  Result<int> AddNode();
  // Asks `node` to decommission itself; on success it is no longer a member.
  Status Decommission(int node);
  // kill -9 of `node` and removal of its data dir: it never comes back (a lost machine).
  void Remove(int node);
  void Kill(int node);     // kill -9 and reap; no-op when not running
  void Pause(int node);    // SIGSTOP
  void Resume(int node);   // SIGCONT
  bool Running(int node) const;
  // Resumes and restarts every node that is paused or down (removed nodes stay down).
  Status HealAll();
  // SIGTERM all (after SIGCONT), waits up to `grace`, then SIGKILL. Returns nodes that needed
  // SIGKILL.
  std::vector<int> StopAll(std::chrono::seconds grace);

  // Nodes that exited without being killed by the harness ("node 2: exit 1").
  std::vector<std::string> UnexpectedExits();

  // The status of `node` (one attempt), with state digests if asked.
  Result<kvpb::NodeStatus> NodeStatus(int node, std::chrono::milliseconds timeout,
                                      bool with_digests = false);
  // The running member leading the most groups (ties: the higher summed term), if any answers.
  std::optional<int> FindLeader();
  // OK when every group has a leader whose configuration is `replication` voters, no learners,
  // all of them running members: losing any one node now cannot cost a group its quorum.
  // FailedPrecondition naming the first group that is not so.
  Status ReplicasHealthy(size_t replication);
  // For each key, the client addresses of the nodes holding a replica of its shard (the
  // members of the shard leader's configuration that answer with that replica).
  std::map<std::string, std::vector<std::string>> ReplicaEndpoints(
      const std::vector<std::string>& keys);
  // Polls until every running node answers and, for every group, every replica in its
  // leader's configuration reports the same applied index and the same state digest at it,
  // twice in a row. On timeout returns DeadlineExceeded naming the groups that differ.
  Status WaitConverged(std::chrono::seconds timeout, std::string* summary);

 private:
  struct Proc {
    pid_t pid = -1;
    bool paused = false;
    bool joined = false;  // added after bootstrap: starts with --join
    Membership membership = Membership::kMember;
  };
  std::vector<std::string> Argv(int node) const REQUIRES(mu_);
  Proc& ProcLocked(int node) REQUIRES(mu_) { return procs_[static_cast<size_t>(node - 1)]; }
  // Running nodes, in id order.
  std::vector<int> RunningNodes() const;
  void ReapDeadLocked() REQUIRES(mu_);
  ringkv::client::Client* AdminClient();

  const ClusterOptions options_;
  mutable std::mutex mu_;
  std::vector<Proc> procs_ GUARDED_BY(mu_);  // index node-1
  std::vector<std::string> unexpected_ GUARDED_BY(mu_);
  std::mutex admin_mu_;
  std::unique_ptr<ringkv::client::Client> admin_;
};

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_CLUSTER_H_
