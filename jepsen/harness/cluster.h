// The kvd nodes of one test: addresses, processes (start, kill -9, SIGSTOP/SIGCONT, restart on
// the same data dir), crash detection, and status queries over the admin API (leader, applied
// indexes, convergence).
//
// Addresses: node i (1-based) listens on 127.0.0.(10+i):7001 for clients and :7101 for peers,
// and binds its outgoing peer connections to 127.0.0.(10+i). The whole cluster runs inside the
// test's network namespace (see jepsen/run), so fixed ports cannot collide.
//
// Thread-safety: thread-safe (one mutex around the process table); status queries block.
#ifndef RINGKV_JEPSEN_HARNESS_CLUSTER_H_
#define RINGKV_JEPSEN_HARNESS_CLUSTER_H_

#include <sys/types.h>

#include <chrono>
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
};

// "127.0.0.(10+i)" for node i.
std::string NodeIp(int node);
std::string NodeClientAddress(int node);

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();  // kills whatever still runs

  int size() const { return options_.nodes; }
  std::vector<std::string> ClientEndpoints() const;
  std::string LogPath(int node) const;

  // Starts every node. Returns the first spawn error.
  Status StartAll();
  // Waits until some node reports a leader and every node answers, or the deadline passes.
  Status WaitReady(std::chrono::seconds timeout);

  Status Start(int node);  // REQUIRES: not running
  void Kill(int node);     // kill -9 and reap; no-op when not running
  void Pause(int node);    // SIGSTOP
  void Resume(int node);   // SIGCONT
  bool Running(int node) const;
  // Resumes and restarts every node that is paused or down.
  Status HealAll();
  // SIGTERM all (after SIGCONT), waits up to `grace`, then SIGKILL. Returns nodes that needed
  // SIGKILL.
  std::vector<int> StopAll(std::chrono::seconds grace);

  // Nodes that exited without being killed by the harness ("node 2: exit 1").
  std::vector<std::string> UnexpectedExits();

  // The status of `node` (one attempt).
  Result<kvpb::NodeStatus> NodeStatus(int node, std::chrono::milliseconds timeout);
  // The node whose group 1 status says leader with the highest term, if any answers.
  std::optional<int> FindLeader();
  // Polls until every node answers and, for every group, all nodes report the same applied
  // index twice in a row. On timeout returns DeadlineExceeded with the last statuses.
  Status WaitConverged(std::chrono::seconds timeout, std::string* summary);

 private:
  struct Proc {
    pid_t pid = -1;
    bool paused = false;
  };
  std::vector<std::string> Argv(int node) const;
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
