// kvd: the RingKV server. One process per node.
//
//   kvd --node_id=1 --data_dir=data/1 --listen_client=127.0.0.1:7001
//       --listen_peer=127.0.0.1:7101
//       --initial_cluster=1=127.0.0.1:7101,2=127.0.0.1:7102,3=127.0.0.1:7103
//       --initial_cluster_clients=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
//
// SIGTERM/SIGINT: graceful stop (draining, leadership handed off, parts stopped, exit 0); a
// second signal stops at once. Flags can also come from KVD_<FLAG> environment variables and
// --flagfile (precedence: command line > environment > flagfile > default; kvd_config.h).
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/failpoint.h"
#include "net/tls.h"
#include "ringkv/version.h"
#include "server/cluster_config.h"
#include "server/json_log_sink.h"
#include "server/kvd_config.h"
#include "server/node.h"
#include "server/sd_notify.h"
#ifdef RINGKV_TEST_BUGS
#include "replica/applier.h"
#include "replica/replica.h"
#include "store/turn_pipeline.h"
#endif

// Identity
DEFINE_uint64(node_id, 0, "This node's id (required, > 0).");
DEFINE_uint64(cluster_id, 1, "Cluster id; peers and data dirs of another cluster are refused.");
DEFINE_string(data_dir, "", "Data directory (default: data/<node_id>).");
// Addresses
DEFINE_string(listen_client, "127.0.0.1:7001", "host:port for clients (kvctl, client library).");
DEFINE_string(advertise_client, "", "Client address others should use (default: listen_client).");
DEFINE_string(listen_peer, "127.0.0.1:7101", "host:port for Raft traffic between nodes.");
DEFINE_string(advertise_peer, "",
              "Peer address others should dial; outgoing peer connections bind to its host "
              "(default: listen_peer).");
DEFINE_string(listen_admin, "",
              "ip:port of the admin HTTP port: /livez /readyz /metrics /version /status and the "
              "status page at / (empty = off; port 0 = chosen by the OS).");
DEFINE_string(advertise_admin, "", "Admin address others should use (default: listen_admin).");
DEFINE_string(metrics, "basic",
              "basic: per-node metric aggregates; extensive: also one series per shard.");
DEFINE_bool(peer_io_on_loop, true,
            "Run the peer transport's sockets on the store loop's thread (no thread hand-off "
            "per Raft frame); false: on a thread of their own.");
DEFINE_bool(client_io_on_loop, true,
            "Run the client port's sockets on the store loop's thread (no thread hand-off per "
            "request and answer); false: on a thread of their own. A client port with TLS always "
            "has a thread of its own (each handshake would stall the loop).");
DEFINE_string(initial_cluster, "",
              "Initial members as id=peer_host:port,... (all nodes of a new cluster, "
              "including this one).");
DEFINE_string(initial_cluster_clients, "",
              "Client addresses of the initial members as id=host:port,... (for leader hints).");
// Sharding and membership
DEFINE_uint32(shards, 32, "Number of shards (Raft groups); fixed when the cluster is bootstrapped.");
DEFINE_uint32(replication, 3, "Replicas per shard; fixed when the cluster is bootstrapped.");
DEFINE_string(join, "",
              "Gossip addresses (host:port,...) of members to join through; a joining node "
              "needs no --initial_cluster.");
DEFINE_string(listen_gossip, "", "UDP host:port for gossip (default: the --listen_peer address).");
DEFINE_int32(gossip_probe_interval_ms, 1000, "SWIM probe interval in ms.");
DEFINE_int32(placement_interval_ms, 1000,
             "How often shard leaders move replicas toward the ring's target (0 = never).");
DEFINE_int32(dead_node_timeout_ms, 10000, "A node dead this long has its replicas replaced.");
DEFINE_int32(stability_delay_ms, 3000, "A node alive this long starts receiving replicas.");
// Raft timing
DEFINE_int32(tick_ms, 10, "Raft tick length in ms.");
DEFINE_int32(election_ticks, 15,
             "Election timeout in ticks; randomized in [n, 2n) (default 150-300 ms).");
DEFINE_int32(heartbeat_ticks, 5, "Heartbeat interval in ticks (default 50 ms).");
DEFINE_bool(quiesce, true,
            "Idle shards stop ticking and heartbeating (quiescence); a shard whose leader's node "
            "gossip calls suspect or dead wakes and elects. --noquiesce: every shard ticks.");
DEFINE_bool(lease_reads, false,
            "A shard leader that heard from a quorum within half an election timeout serves "
            "linearizable reads without a heartbeat round (Raft thesis 6.4.1). Assumes the "
            "nodes' clocks do not drift apart by more than that within an election timeout.");
DEFINE_bool(coalesce_heartbeats, true,
            "Every shard this node leads heartbeats on the same tick, so one frame per peer "
            "carries them all. --nocoalesce_heartbeats: each shard heartbeats on its own phase.");
// Limits
DEFINE_uint64(max_key_bytes, 4096, "Largest key accepted, in bytes.");
DEFINE_uint64(max_value_bytes, 1 << 20, "Largest value accepted, in bytes.");
DEFINE_uint64(blob_min_bytes, 4096,
              "Values at least this large are kept in RocksDB blob files, outside the SSTs, so "
              "compactions do not rewrite them; 0 = never.");
DEFINE_uint64(max_pending_proposals, 10000, "Writes waiting per group before BUSY.");
DEFINE_int32(request_timeout_ms, 5000, "Server-side deadline of a request without its own.");
// Log compaction and snapshots
DEFINE_uint64(compact_threshold, 20000,
              "Compact a group's Raft log once it keeps more than this many applied entries.");
DEFINE_uint64(compact_keep, 5000,
              "Applied entries a compaction keeps for slow followers (< --compact_threshold); "
              "a follower further behind is caught up by a snapshot.");
DEFINE_uint64(snapshot_chunk_bytes, 1 << 20, "Payload size of the snapshot chunks sent, in bytes.");
// Space
DEFINE_uint64(storage_quota_bytes, 0,
              "Raise the NOSPACE alarm (writes other than deletes rejected cluster-wide) when the "
              "data dir holds this many bytes; 0 = no quota.");
DEFINE_uint64(min_free_disk_bytes, 256 << 20,
              "Raise the NOSPACE alarm when the data dir's filesystem has fewer free bytes; "
              "0 = no floor.");
DEFINE_int32(space_check_interval_ms, 1000, "How often disk use is measured for the alarm (ms).");
DEFINE_uint64(raft_log_max_bytes, 32 << 20,
              "Compact a shard's Raft log once its applied entries exceed this many bytes, "
              "keeping half (besides the 20000-entry limit); 0 = entry count only.");
DEFINE_uint64(raft_log_node_max_bytes, uint64_t{512} << 20,
              "When the Raft logs of all shards on this node together exceed this many bytes, "
              "compact the shards holding the most log first, down to half; 0 = no node budget.");

// Logging
DEFINE_string(log_format, "text",
              "text: glog's lines; json: one JSON object per line on stderr (ts, level, node, "
              "file, line, msg).");
DEFINE_int32(slow_sync_ms, 1000, "Warn when a Raft log write with fdatasync takes longer (ms).");
DEFINE_int32(slow_apply_ms, 100, "Warn when applying one round of committed entries takes longer (ms).");
DEFINE_int32(slow_request_ms, 300, "Warn when a client request takes longer to answer (ms).");
// Security (docs/security.md)
DEFINE_string(tls_cert, "", "PEM certificate of the client port; enables TLS there (default: "
                            "plain TCP, unauthenticated).");
DEFINE_string(tls_key, "", "PEM private key of --tls_cert.");
DEFINE_string(tls_ca, "", "PEM CA bundle that verifies client certificates (and, by default, "
                          "peers).");
DEFINE_string(client_cert_auth, "off",
              "Client certificates on the client port: off, optional or required.");
DEFINE_string(peer_tls_cert, "", "PEM node certificate of the peer port (default: --tls_cert); "
                                 "enables mutual TLS between nodes.");
DEFINE_string(peer_tls_key, "", "PEM private key of --peer_tls_cert (default: --tls_key).");
DEFINE_string(peer_tls_ca, "", "PEM CA bundle that verifies peers (default: --tls_ca).");
DEFINE_string(tls_min_version, "1.2", "Lowest TLS version accepted: 1.2 or 1.3.");
DEFINE_int32(tls_reload_interval_ms, 5000,
             "How often certificate files are checked for changes (0 = only on SIGHUP).");
DEFINE_int32(tls_expiry_warning_days, 30,
             "Log a warning when a certificate expires within this many days.");
DEFINE_int32(auth_refresh_ms, 1000,
             "With client certificates: how often permission rules are read from the cluster.");
DEFINE_int32(auth_stale_after_ms, 30000,
             "With client certificates: rules not refreshed for this long stop serving users "
             "other than root (retryable UNAVAILABLE).");
DEFINE_string(gossip_key_file, "",
              "Gossip key ring: one base64 AES key (16/24/32 bytes) per line, the first one "
              "seals (default: plain, unauthenticated gossip). Reloaded when it changes.");

// Overload protection (server/admission.h): requests over these limits are answered at once
// with BUSY "too many requests" and a retry_after_ms, without being executed.
DEFINE_uint64(admission_max_node_requests, 4096,
              "Most client requests the node holds admitted and not yet answered.");
DEFINE_uint64(admission_max_node_bytes, 64 << 20,
              "Most bytes (request frames) the node holds admitted and not yet answered.");
DEFINE_uint64(admission_max_connection_requests, 1024,
              "Most requests one client connection has admitted and not yet answered.");
DEFINE_uint64(admission_max_connection_bytes, 32 << 20,
              "Most bytes one client connection has admitted and not yet answered.");
DEFINE_int32(admission_target_latency_ms, 500,
             "The adaptive request limit steers the latency of admitted requests toward this, "
             "in ms (0 = only the fixed limits).");
DEFINE_uint64(admission_min_node_requests, 8, "Floor of the adaptive request limit.");
DEFINE_uint64(raft_entry_cache_bytes, 64 << 20,
              "Node-wide memory for the newest Raft log entries, in bytes, shared evenly by the "
              "shards.");
DEFINE_uint64(raft_max_apply_bytes, 8 << 20,
              "Node-wide bytes of committed entries applied in one loop turn, shared evenly by the "
              "shards (bounds the turn, so heartbeats are not delayed).");

// Transactions, leases and watches
DEFINE_uint64(max_txn_ops, 128, "Most compares, and most operations per branch, of a transaction.");
DEFINE_uint64(min_lease_ttl_ms, 1000,
              "Shortest lease TTL granted, in ms (must exceed the election timeout).");
DEFINE_uint64(max_lease_ttl_ms, 24 * 3600 * 1000, "Longest lease TTL granted, in ms.");
DEFINE_uint64(watch_history_entries, 10000,
              "Change history kept per shard for watches, in log entries that changed keys.");
DEFINE_uint64(watch_history_bytes, 64 << 20, "Change history kept per shard, in bytes.");
DEFINE_int32(watch_progress_interval_ms, 1000, "How often an idle watch gets a progress report.");
DEFINE_uint64(watch_max_unread_bytes, 8 << 20,
              "A watch whose connection holds more unsent bytes is canceled as too slow.");

#ifdef RINGKV_TEST_BUGS
// Only in kvd_buggy, the test build used by the Jepsen suite's "teeth" tests.
DEFINE_string(test_inject_bug, "",
              "TEST ONLY: inject a known bug (a bug point, common/failpoint.h): stale_reads | "
              "follower_reads | ack_before_commit | ack_before_apply | forget_sessions | "
              "one_answer_sessions | retry_in_batch_applies_twice | ack_before_sync, or a bug "
              "point's full name (bug.<module>.<name>)");
DEFINE_bool(test_lose_unsynced_writes, false,
            "TEST ONLY: keep unsynced writes in process memory so kill -9 loses them");
DEFINE_string(test_failpoints, "",
              "TEST ONLY: arm failpoints (common/failpoint.h), "
              "<name>=crash|error[@<nth hit>],... e.g. snapshot.install.after_marker=crash");
#endif

namespace {

constexpr char kVersion[] = RINGKV_VERSION_STRING;  // ringkv/version.h (the CMake project version)

// --help, by topic (gflags' --helpfull lists every flag by source file).
const std::vector<std::pair<std::string, std::vector<std::string>>> kHelpGroups = {
    {"Identity", {"node_id", "cluster_id", "data_dir"}},
    {"Addresses", {"listen_client", "advertise_client", "listen_peer", "advertise_peer",
                   "listen_admin", "advertise_admin", "initial_cluster",
                   "initial_cluster_clients"}},
    {"Sharding and membership", {"shards", "replication", "join", "listen_gossip",
                                 "gossip_probe_interval_ms", "placement_interval_ms",
                                 "dead_node_timeout_ms", "stability_delay_ms"}},
    {"Raft timing",
     {"tick_ms", "election_ticks", "heartbeat_ticks", "quiesce", "coalesce_heartbeats",
      "lease_reads"}},
    {"Limits", {"max_key_bytes", "max_value_bytes", "max_pending_proposals",
                "request_timeout_ms"}},
    {"Log compaction and snapshots", {"compact_threshold", "compact_keep", "snapshot_chunk_bytes"}},
    {"Space", {"storage_quota_bytes", "min_free_disk_bytes", "space_check_interval_ms",
               "raft_log_max_bytes", "raft_log_node_max_bytes"}},
    {"Transactions, leases and watches",
     {"max_txn_ops", "min_lease_ttl_ms", "max_lease_ttl_ms", "watch_history_entries",
      "watch_history_bytes", "watch_progress_interval_ms", "watch_max_unread_bytes"}},
    {"Observability", {"metrics", "log_format", "slow_sync_ms", "slow_apply_ms", "slow_request_ms"}},
    {"Security (docs/security.md)",
     {"tls_cert", "tls_key", "tls_ca", "client_cert_auth", "peer_tls_cert", "peer_tls_key",
      "peer_tls_ca", "tls_min_version", "tls_reload_interval_ms", "tls_expiry_warning_days",
      "auth_refresh_ms", "auth_stale_after_ms", "gossip_key_file"}},
};

bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-help" || a == "-h" || a == "--helpshort") return true;
  }
  return false;
}

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "kvd: " << msg << "\n";
  LOG(ERROR) << msg;
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("RingKV server. See --help for flags.");
  gflags::SetVersionString(kVersion);
  if (WantsHelp(argc, argv)) {
    std::cout << ringkv::server::GroupedHelp(
        "kvd: the RingKV server, one process per node. Flags (--name=default):", kHelpGroups,
        "kvd_main.cc");
    return 0;
  }
  auto sources = ringkv::server::ResolveFlags(
      &argc, &argv, [](const std::string& name) { return std::getenv(name.c_str()); });
  if (!sources.ok()) {
    std::cerr << "kvd: " << sources.status().message() << "\n";
    return 2;
  }
  FLAGS_logtostderr = FLAGS_logtostderr || std::getenv("GLOG_log_dir") == nullptr;
  google::InitGoogleLogging(argv[0]);
  if (FLAGS_log_format == "json") {
    ringkv::server::JsonLogSink::Install(FLAGS_node_id);
  } else if (FLAGS_log_format != "text") {
    Die("--log_format must be text or json, not '" + FLAGS_log_format + "'");
  }

  if (FLAGS_node_id == 0) Die("--node_id is required (a positive integer)");
  if (FLAGS_node_id > ringkv::kMaxNodeId) {
    Die("--node_id must be at most " + std::to_string(ringkv::kMaxNodeId) +
        " (a replica's Raft id keeps the node id in 24 bits)");
  }
  ringkv::server::NodeOptions o;
  o.node_id = ringkv::NodeId(FLAGS_node_id);
  o.cluster_id = FLAGS_cluster_id;
  o.data_dir = FLAGS_data_dir.empty() ? "data/" + std::to_string(FLAGS_node_id) : FLAGS_data_dir;
  o.listen_client = FLAGS_listen_client;
  o.advertise_client = FLAGS_advertise_client;
  o.listen_peer = FLAGS_listen_peer;
  o.advertise_peer = FLAGS_advertise_peer;
  auto peers = ringkv::server::ParseMemberList(FLAGS_initial_cluster);
  if (!peers.ok()) Die("--initial_cluster: " + peers.status().ToString());
  auto clients = ringkv::server::ParseMemberList(FLAGS_initial_cluster_clients);
  if (!clients.ok()) Die("--initial_cluster_clients: " + clients.status().ToString());
  o.initial_peers = *peers;
  o.initial_clients = *clients;
  for (size_t pos = 0; !FLAGS_join.empty() && pos <= FLAGS_join.size();) {
    size_t comma = FLAGS_join.find(',', pos);
    o.join.push_back(FLAGS_join.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (o.initial_peers.empty() && o.join.empty()) o.initial_peers[o.node_id] = o.listen_peer;
  if (!o.initial_peers.empty() && o.join.empty() && o.initial_peers.count(o.node_id) == 0) {
    Die("--initial_cluster does not contain this node's id " + std::to_string(FLAGS_node_id));
  }
  o.listen_admin = FLAGS_listen_admin;
  o.advertise_admin = FLAGS_advertise_admin;
  if (FLAGS_metrics != "basic" && FLAGS_metrics != "extensive") {
    Die("--metrics must be basic or extensive, not '" + FLAGS_metrics + "'");
  }
  o.extensive_metrics = FLAGS_metrics == "extensive";
  o.peer_io_on_loop = FLAGS_peer_io_on_loop;
  o.client_io_on_loop = FLAGS_client_io_on_loop;
  o.version = kVersion;
  o.shards = FLAGS_shards;
  o.replication = FLAGS_replication;
  o.listen_gossip = FLAGS_listen_gossip;
  o.gossip_probe_interval_ms = FLAGS_gossip_probe_interval_ms;
  o.placement_interval_ms = FLAGS_placement_interval_ms;
  o.dead_node_timeout_ms = FLAGS_dead_node_timeout_ms;
  o.stability_delay_ms = FLAGS_stability_delay_ms;
  if (FLAGS_heartbeat_ticks <= 0 || FLAGS_election_ticks <= FLAGS_heartbeat_ticks) {
    Die("--election_ticks must be greater than --heartbeat_ticks > 0");
  }
  o.tick_ms = FLAGS_tick_ms;
  o.replica.election_tick = FLAGS_election_ticks;
  o.replica.heartbeat_tick = FLAGS_heartbeat_ticks;
  o.replica.quiesce = FLAGS_quiesce;
  o.replica.coalesced_heartbeats = FLAGS_coalesce_heartbeats;
  o.replica.lease_reads = FLAGS_lease_reads;
  o.replica.max_key_bytes = FLAGS_max_key_bytes;
  o.replica.max_value_bytes = FLAGS_max_value_bytes;
  o.replica.max_pending_proposals = FLAGS_max_pending_proposals;
  o.request_timeout_ms = FLAGS_request_timeout_ms;
  o.storage_quota_bytes = FLAGS_storage_quota_bytes;
  o.replica.compact_log_bytes = FLAGS_raft_log_max_bytes;
  o.raft_log_node_max_bytes = FLAGS_raft_log_node_max_bytes;
  o.min_free_disk_bytes = FLAGS_min_free_disk_bytes;
  o.space_check_interval_ms = FLAGS_space_check_interval_ms;
  o.slow_sync_ms = FLAGS_slow_sync_ms;
  o.slow_apply_ms = FLAGS_slow_apply_ms;
  o.slow_request_ms = FLAGS_slow_request_ms;
  if (FLAGS_compact_keep >= FLAGS_compact_threshold) {
    Die("--compact_keep must be less than --compact_threshold");
  }
  o.replica.compact_threshold = FLAGS_compact_threshold;
  o.replica.compact_keep = FLAGS_compact_keep;
  if (FLAGS_snapshot_chunk_bytes == 0) Die("--snapshot_chunk_bytes must be positive");
  o.snapshot_chunk_bytes = FLAGS_snapshot_chunk_bytes;
  auto client_auth = ringkv::net::ParseClientCertAuth(FLAGS_client_cert_auth);
  if (!client_auth.ok()) Die("--client_cert_auth: " + client_auth.status().ToString());
  if (FLAGS_tls_min_version != "1.2" && FLAGS_tls_min_version != "1.3") {
    Die("--tls_min_version must be 1.2 or 1.3");
  }
  const int min_version = FLAGS_tls_min_version == "1.3" ? 13 : 12;
  if (FLAGS_tls_cert.empty() && *client_auth != ringkv::net::ClientCertAuth::kOff) {
    Die("--client_cert_auth needs TLS on the client port (--tls_cert, --tls_key, --tls_ca)");
  }
  o.client_tls.cert_file = FLAGS_tls_cert;
  o.client_tls.key_file = FLAGS_tls_key;
  o.client_tls.ca_file = FLAGS_tls_ca;
  o.client_tls.client_auth = *client_auth;
  o.client_tls.min_version = min_version;
  o.peer_tls.cert_file = FLAGS_peer_tls_cert.empty() ? FLAGS_tls_cert : FLAGS_peer_tls_cert;
  o.peer_tls.key_file = FLAGS_peer_tls_key.empty() ? FLAGS_tls_key : FLAGS_peer_tls_key;
  o.peer_tls.ca_file = FLAGS_peer_tls_ca.empty() ? FLAGS_tls_ca : FLAGS_peer_tls_ca;
  o.peer_tls.min_version = min_version;
  o.tls_reload_interval_ms = FLAGS_tls_reload_interval_ms;
  o.tls_expiry_warning_days = FLAGS_tls_expiry_warning_days;
  o.gossip_key_file = FLAGS_gossip_key_file;
  o.auth_refresh_ms = FLAGS_auth_refresh_ms;
  o.auth_stale_after_ms = FLAGS_auth_stale_after_ms;
  if (FLAGS_admission_target_latency_ms < 0) Die("--admission_target_latency_ms must be >= 0");
  o.admission.max_node_requests = FLAGS_admission_max_node_requests;
  o.admission.max_node_bytes = FLAGS_admission_max_node_bytes;
  o.admission.max_connection_requests = FLAGS_admission_max_connection_requests;
  o.admission.max_connection_bytes = FLAGS_admission_max_connection_bytes;
  o.admission.target_latency = std::chrono::milliseconds(FLAGS_admission_target_latency_ms);
  o.admission.min_node_requests = FLAGS_admission_min_node_requests;
  o.raft_entry_cache_bytes = FLAGS_raft_entry_cache_bytes;
  o.raft_max_apply_bytes = FLAGS_raft_max_apply_bytes;
  o.replica.max_txn_ops = FLAGS_max_txn_ops;
  if (FLAGS_min_lease_ttl_ms <= uint64_t(2 * FLAGS_election_ticks * FLAGS_tick_ms) ||
      FLAGS_max_lease_ttl_ms < FLAGS_min_lease_ttl_ms) {
    Die("--min_lease_ttl_ms must exceed the longest election timeout (2 * --election_ticks * "
        "--tick_ms) and be at most --max_lease_ttl_ms");
  }
  o.replica.min_lease_ttl = std::chrono::milliseconds(FLAGS_min_lease_ttl_ms);
  o.replica.max_lease_ttl = std::chrono::milliseconds(FLAGS_max_lease_ttl_ms);
  if (FLAGS_watch_history_entries == 0 || FLAGS_watch_progress_interval_ms < 100) {
    Die("--watch_history_entries must be > 0 and --watch_progress_interval_ms >= 100");
  }
  o.replica.history.max_entries = FLAGS_watch_history_entries;
  o.replica.history.max_bytes = FLAGS_watch_history_bytes;
  o.replica.watch.progress_interval = std::chrono::milliseconds(FLAGS_watch_progress_interval_ms);
  o.watch_max_unread_bytes = FLAGS_watch_max_unread_bytes;
#ifdef RINGKV_TEST_BUGS
  // The Jepsen suite's names of the bug points it injects (one per run).
  const std::map<std::string, std::string_view> bugs = {
      {"stale_reads", ringkv::replica::kBugStaleReads},
      {"follower_reads", ringkv::replica::kBugFollowerReads},
      {"ack_before_commit", ringkv::replica::kBugAckBeforeCommit},
      {"ack_before_apply", ringkv::replica::kBugAckBeforeApply},
      {"forget_sessions", ringkv::replica::kBugForgetSessions},
      {"one_answer_sessions", ringkv::replica::kBugOneAnswerSessions},
      {"retry_in_batch_applies_twice", ringkv::replica::kBugRetryInBatchAppliesTwice},
      {"ack_before_sync", ringkv::store::kBugAckBeforeSync}};
  if (!FLAGS_test_inject_bug.empty()) {
    auto bug = bugs.find(FLAGS_test_inject_bug);
    const bool full_name = FLAGS_test_inject_bug.starts_with("bug.");
    if (bug == bugs.end() && !full_name) Die("unknown --test_inject_bug=" + FLAGS_test_inject_bug);
    const std::string_view point = bug != bugs.end() ? bug->second : FLAGS_test_inject_bug;
    ringkv::failpoint::Arm(point, ringkv::failpoint::Action::kInject);
    LOG(WARNING) << "TEST BUILD: injected bug " << point;
  }
  o.blob_min_bytes = FLAGS_blob_min_bytes;
  o.test_buffer_unsynced_writes = FLAGS_test_lose_unsynced_writes;
  if (!FLAGS_test_failpoints.empty()) {
    ringkv::Status armed = ringkv::failpoint::ArmFromSpec(FLAGS_test_failpoints);
    if (!armed.ok()) Die("--test_failpoints: " + armed.ToString());
    LOG(WARNING) << "TEST BUILD: failpoints armed: " << FLAGS_test_failpoints;
  }
#endif

  LOG(INFO) << "kvd " << kVersion << " starting as node " << FLAGS_node_id
            << "; effective configuration: "
            << ringkv::server::EffectiveConfig(*sources, "kvd_main.cc");

  // Block the stop signals and SIGHUP in every thread; main waits for them below.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  ringkv::server::Node node(o);
  ringkv::Status s = node.Start();
  if (!s.ok()) Die("cannot start: " + s.ToString());
  // systemd Type=notify: started means ports bound and replicas open (readiness proper, a
  // leader for every shard, is /readyz's business).
  if (!ringkv::server::SdNotify("READY=1\nSTATUS=serving")) {
    LOG(WARNING) << "could not notify systemd on $NOTIFY_SOCKET";
  }

  int sig = 0;
  for (;;) {
    sigwait(&set, &sig);
    if (sig != SIGHUP) break;
    LOG(INFO) << "received SIGHUP: reloading certificates and keys";
    node.ReloadCredentials().IgnoreError();  // each failure is logged; old material stays
  }
  sigdelset(&set, SIGHUP);
  LOG(INFO) << "received signal " << sig << "; shutting down gracefully (signal again to stop now)";
  // A second signal stops at once.
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  (void)ringkv::server::SdNotify("STOPPING=1\nSTATUS=draining");  // best effort
  node.Stop();
  LOG(INFO) << "kvd stopped";
  return 0;
}
