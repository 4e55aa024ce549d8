// Checks shared by the multi-Raft integration tests (integ_multiraft_*_test.cc): the shard map
// as the shards' leaders report it, replica and leader counts per node, a write load that
// remembers every acknowledged write, and reading every acknowledged write back.
//
// Thread-safety: ShardMapView/ReadBackAll on the test's main thread; WriteLoad runs its own
// writer threads and is driven from the main thread.
#ifndef RINGKV_TESTS_INTEGRATION_MULTIRAFT_CHECKS_H_
#define RINGKV_TESTS_INTEGRATION_MULTIRAFT_CHECKS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/test_cluster.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::integration {

// The cluster's shard map from the leaders' point of view (TestCluster::LeaderViews).
struct ShardMapView {
  std::map<uint64_t, kvpb::GroupStatus> shards;  // group id -> leader's status
  std::map<int, int> replicas;                   // node -> voters + learners it appears in
  std::map<int, int> leaders;                    // node -> groups it leads

  static ShardMapView Take(TestCluster& cluster, const std::vector<int>& skip = {});

  // Empty when all `num_shards` groups (ids 1..num_shards) have a leader, exactly
  // `replication` voters, no learners, and every voter in `live`; otherwise why not.
  std::string Unhealthy(int num_shards, int replication, const std::set<int>& live) const;
  // The node leading the most groups (the lowest id on a tie). A node that leads none is
  // absent from `leaders`.
  int MostLeaders() const;
  // "node:replicas/leaders ..." for messages.
  std::string CountsString() const;
};

// Writers putting unique keys ("<prefix>/<writer>/<n>") until stopped; remembers which were
// acknowledged. A write whose outcome is unknown is neither acked nor retried.
class WriteLoad {
 public:
  WriteLoad(client::Client& c, std::string prefix, int writers);
  ~WriteLoad();
  void Stop();
  int acked() const { return acked_count_.load(); }
  int failed() const { return failed_count_.load(); }
  // REQUIRES: Stop() returned.
  const std::map<std::string, std::string>& acked_writes() const { return acked_; }

 private:
  void Run(int w);

  client::Client& c_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_count_{0};
  std::atomic<int> failed_count_{0};
  std::mutex mu_;
  std::map<std::string, std::string> acked_;
  std::vector<std::thread> threads_;
};

// Reads every key of `writes` back (linearizable Get through `c`); empty when all hold their
// value, else a description of the first few missing or wrong ones.
std::string ReadBackAll(client::Client& c, const std::map<std::string, std::string>& writes);

}  // namespace ringkv::integration

#endif  // RINGKV_TESTS_INTEGRATION_MULTIRAFT_CHECKS_H_
