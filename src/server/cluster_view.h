// ClusterView: the cluster as several nodes report it, merged — one row per member and one per
// shard (its leader, term, commit/applied, replicas, each replica's lag behind the leader and
// the shard's token range). Used by the admin port's /status (the status page) and by kvctl's
// shard, member and endpoint commands, so both tell the same story.
//
// Merging rules: a shard's row comes from the replica claiming leadership at the highest term;
// without one, from the report with the highest term (its `leader` then says whom that
// replica believes leads, 0 if nobody). Followers' positions come from their own reports when
// reachable, else from the leader's match index. Nodes that did not answer still appear as
// members (from any answering node's gossip view) with reachable=false.
//
// Thread-safety: pure functions over values.
#ifndef RINGKV_SERVER_CLUSTER_VIEW_H_
#define RINGKV_SERVER_CLUSTER_VIEW_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/kv.pb.h"

namespace ringkv::server {

struct ReplicaView {
  uint64_t node = 0;
  std::string role;         // "leader", "follower", "learner", ... or "unknown" (no report)
  bool voter = true;
  uint64_t applied = 0;     // from its own report; 0 when unknown
  uint64_t match = 0;       // the leader's match index for it (0 when unknown)
  // Entries behind the leader's last index (from its own report, else the leader's match);
  // nullopt when neither is known.
  std::optional<uint64_t> lag;
};

struct ShardView {
  uint64_t shard = 0;
  uint64_t leader = 0;  // node id, 0 = none known
  uint64_t term = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  bool leader_reported = false;  // the leader itself answered
  uint64_t token_first = 0, token_last = 0;  // inclusive token range
  std::vector<ReplicaView> replicas;
  // Largest lag of any replica (0 when none known).
  uint64_t max_lag = 0;
  uint64_t log_bytes = 0;   // the leader's (or best reporter's) Raft log bytes on disk
  uint64_t log_entry_bytes = 0;  // its entries' serialized bytes (what log budgets count)
  uint64_t data_bytes = 0;  // approximate user data bytes
};

struct MemberInfo {
  uint64_t node = 0;
  std::string client_address;
  std::string admin_address;
  std::string state;  // alive, suspect, dead, left, static
  bool decommissioning = false;
  bool reachable = false;  // answered the status request
  std::string error;       // why not, when not reachable
  std::string version;
  uint64_t uptime_ms = 0;
  int replicas = 0;
  int leaders = 0;
  std::vector<std::string> alarms;
};

struct ClusterView {
  std::vector<MemberInfo> members;  // by node id
  std::vector<ShardView> shards;    // by shard id
  uint32_t num_shards = 0;
  uint32_t replication = 0;
  int leaderless = 0;               // shards without a known leader
};

// One node's answer (or why there is none).
struct NodeAnswer {
  std::string endpoint;
  std::optional<kvpb::NodeStatus> status;
  std::string error;
};

ClusterView BuildClusterView(const std::vector<NodeAnswer>& answers);

// The view as JSON (the /status document's "members" and "shards").
std::string ClusterViewJson(const ClusterView& v, int indent = -1);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_CLUSTER_VIEW_H_
