// kvctl's commands, independent of flag parsing: each takes a connected client, its parsed
// arguments and the output streams, prints in the requested format, and returns the exit code
// (errors.h). cli.cc maps the command line onto these.
//
// Thread-safety: each call uses only its arguments; the client is thread-safe.
#ifndef RINGKV_TOOLS_KVCTL_COMMANDS_H_
#define RINGKV_TOOLS_KVCTL_COMMANDS_H_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringkv/client.h"
#include "server/cluster_view.h"

namespace ringkv::kvctl {

enum class OutputFormat { kSimple, kTable, kJson };

struct GlobalOptions {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds dial_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  OutputFormat format = OutputFormat::kSimple;
  bool hex = false;
  bool debug = false;
  std::string EndpointsString() const;
};

struct Streams {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
};

struct PutArgs {
  std::string key;
  std::optional<std::string> value;  // nullopt: read all of stdin
  uint64_t lease = 0;                // attach to this lease (0 = none)
  bool if_absent = false;
  std::optional<uint64_t> if_version;
  std::optional<std::string> if_value;
};

struct GetArgs {
  std::string key;
  std::optional<std::string> range_end;
  bool prefix = false;
  bool from_key = false;
  uint64_t limit = 0;  // 0 = all
  bool keys_only = false;
  bool print_value_only = false;
  bool count_only = false;
  client::Consistency consistency = client::Consistency::kLinearizable;
};

struct DelArgs {
  std::string key;
  std::optional<std::string> range_end;
  bool prefix = false;
  bool from_key = false;
};

struct AppendArgs {
  std::string key;
  std::optional<std::string> suffix;  // nullopt: read all of stdin
};

// user and role commands: `action` is the subcommand ("add", "delete", "list", "get",
// "grant-role", "revoke-role", "grant-permission", "revoke-permission").
struct AuthArgs {
  std::string action;
  std::string name;    // user or role (not for list)
  std::string role;    // grant-role / revoke-role
  std::string prefix;  // grant-permission / revoke-permission ("" = every key)
  bool readwrite = false;
};

struct WatchArgs {
  std::string key;
  std::optional<std::string> range_end;
  bool prefix = false;
  bool from_key = false;
  uint64_t from_version = 0;
  bool progress = false;  // also print progress notifications
};

struct LockArgs {
  std::string name;
  std::vector<std::string> command;  // run while holding the lock; empty = hold until Ctrl-C
  std::chrono::milliseconds ttl{10000};
};

struct ElectArgs {
  std::string name;
  std::optional<std::string> proposal;  // nullopt: --listen
  bool listen = false;
  std::chrono::milliseconds ttl{10000};
};

int RunPut(client::Client& c, const GlobalOptions& g, const PutArgs& a, Streams& s);
int RunGet(client::Client& c, const GlobalOptions& g, const GetArgs& a, Streams& s);
int RunDel(client::Client& c, const GlobalOptions& g, const DelArgs& a, Streams& s);
int RunAppend(client::Client& c, const GlobalOptions& g, const AppendArgs& a, Streams& s);
// Queries every endpoint in g.endpoints; exit 0 when all answered, 5 when any did not (the
// others are still printed).
int RunClusterStatus(client::Client& c, const GlobalOptions& g, Streams& s);
struct DecommissionArgs {
  uint64_t node_id = 0;
  bool force = false;  // skip the pre-flight check (too few nodes left for the replication)
  bool wait = false;   // wait until drained and left, printing progress
  std::chrono::milliseconds stall_after{60000};  // --wait: no progress this long = stalled
};
// Refuses (exit 4) when too few nodes would remain, unless forced; a second call reports the
// drain in progress instead of starting it again.
int RunNodeDecommission(client::Client& c, const GlobalOptions& g, const DecommissionArgs& a,
                        Streams& s);

// One shard as `shard list|status -w json` and `cluster status -w json` print it: range,
// leader, term, commit, applied, each replica's role, applied index and lag, log/data bytes.
nlohmann::json ShardJson(const server::ShardView& sv);
// SHARD RANGE LEADER TERM COMMIT APPLIED REPLICAS LAG LOG DATA, one row per shard.
std::string ShardTable(const server::ClusterView& v);

// Operator commands (commands_ops.cc). `cluster`: also ask every member the endpoints know.
int RunMemberList(client::Client& c, const GlobalOptions& g, Streams& s);
int RunEndpointStatus(client::Client& c, const GlobalOptions& g, bool cluster, Streams& s);
// Exit 5 when some endpoint fails a linearizable read of some shard.
int RunEndpointHealth(client::Client& c, const GlobalOptions& g, bool cluster, Streams& s);
// Every shard, or only `only` (exit 3 when no node knows it).
int RunShardList(client::Client& c, const GlobalOptions& g, std::optional<uint64_t> only,
                 Streams& s);
int RunShardTransferLeader(client::Client& c, const GlobalOptions& g, uint64_t shard, uint64_t to,
                           Streams& s);
int RunAlarmList(client::Client& c, const GlobalOptions& g, Streams& s);
int RunAlarmDisarm(client::Client& c, const GlobalOptions& g, Streams& s);
struct CompactArgs {
  bool cluster = false;    // every member, not only --endpoints
  bool logs_only = false;  // skip the storage compaction
  // Deadline of each node's storage compaction (it reads and rewrites every file).
  std::chrono::milliseconds storage_timeout{600000};
};
// Compacts every shard's Raft log on the endpoints, then each endpoint's storage (RocksDB
// CompactRange), one node at a time. Exit 1 when something failed.
int RunCompact(client::Client& c, const GlobalOptions& g, const CompactArgs& a, Streams& s);
int RunNodeStatus(client::Client& c, const GlobalOptions& g, std::optional<uint64_t> only,
                  Streams& s);
int RunUser(client::Client& c, const GlobalOptions& g, const AuthArgs& a, Streams& s);
int RunRole(client::Client& c, const GlobalOptions& g, const AuthArgs& a, Streams& s);

// txn: reads the transaction from s.in (etcdctl's grammar, txn_parse.h); `interactive` prompts.
// Exit 0 whichever branch ran (prints SUCCESS or FAILURE, as etcdctl).
int RunTxn(client::Client& c, const GlobalOptions& g, bool interactive, Streams& s);

// lease grant|revoke|keep-alive|timetolive.
int RunLeaseGrant(client::Client& c, const GlobalOptions& g, std::chrono::milliseconds ttl,
                  const std::string& shard_key, Streams& s);
int RunLeaseRevoke(client::Client& c, const GlobalOptions& g, uint64_t lease, Streams& s);
// Refreshes the lease every third of its TTL until interrupted (or once with `once`).
int RunLeaseKeepAlive(client::Client& c, const GlobalOptions& g, uint64_t lease, bool once,
                      Streams& s);
int RunLeaseTimeToLive(client::Client& c, const GlobalOptions& g, uint64_t lease, bool keys,
                       Streams& s);

// watch: one event per line until interrupted (exit 130) or the watch ends on its own.
int RunWatch(client::Client& c, const GlobalOptions& g, const WatchArgs& a, Streams& s);
// lock <name> [command...] and elect <name> [proposal] | elect --listen <name>: etcdctl's
// recipes on leases (commands_recipes.cc).
int RunLock(client::Client& c, const GlobalOptions& g, const LockArgs& a, Streams& s);
int RunElect(client::Client& c, const GlobalOptions& g, const ElectArgs& a, Streams& s);

// Backups (commands_backup.cc; docs/operations.md "Backups").
struct BackupArgs {
  std::string file;
  bool force = false;      // restore: into a cluster that holds keys
  size_t concurrency = 32; // restore: puts in flight
};
// Saves every shard (each at one applied index) to a.file. Exit 5 when the cluster cannot be
// read, 1 when the file cannot be written.
int RunBackupSave(client::Client& c, const GlobalOptions& g, const BackupArgs& a, Streams& s);
// Verifies, then writes every key of a.file into the cluster. Exit 4 when the cluster holds
// keys and !a.force, 1 for a damaged file, 2 for a missing file or one that is not a backup.
int RunBackupRestore(client::Client& c, const GlobalOptions& g, const BackupArgs& a, Streams& s);
// Checks a.file without a cluster. Exit 1 when damaged, 2 when missing or not a backup.
int RunBackupVerify(const GlobalOptions& g, const BackupArgs& a, Streams& s);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_COMMANDS_H_
