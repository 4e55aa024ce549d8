#include "cli.h"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "cli_coord.h"
#include "errors.h"
#include "txn_parse.h"
#include "format.h"
#include "net/handshake.h"
#include "client/admin.h"
#include "ringkv/version.h"

namespace ringkv::kvctl {
namespace {

constexpr char kVersion[] = RINGKV_VERSION_STRING;  // ringkv/version.h

std::vector<std::string> SplitEndpoints(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string part = s.substr(start, comma - start);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    start = comma + 1;
  }
  return out;
}

int Usage(Streams& s, const std::string& msg) {
  s.err << "Error: " << msg << ". Try: kvctl --help\n";
  return kExitUsage;
}

// Notes, with --debug, every KVCTL_* variable that a flag overrode.
void NoteOverrides(const CLI::App& app, Streams& s) {
  for (const CLI::Option* opt : app.get_options()) {
    const std::string& env = opt->get_envname();
    if (env.empty() || opt->count() == 0) continue;
    if (const char* v = std::getenv(env.c_str()); v != nullptr) {
      s.err << "note: flag " << opt->get_name() << " overrides " << env << "\n";
    }
  }
}

// Levenshtein distance, for "did you mean".
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    prev.swap(cur);
  }
  return prev[b.size()];
}

// When the command line names a command (or sub-command) that does not exist, a message naming
// it and the nearest known one; "" otherwise. Skips global flags and their values.
std::string UnknownCommand(const CLI::App& app, int argc, const char* const* argv) {
  static const std::set<std::string> kWithValue = {"--endpoints", "--dial-timeout",
                                                   "--command-timeout", "-w", "--write-out"};
  const CLI::App* level = &app;
  std::string path = "kvctl";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (!arg.empty() && arg[0] == '-') {
      if (kWithValue.count(arg) > 0) ++i;
      continue;
    }
    std::vector<const CLI::App*> subs = level->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return "";  // positional arguments of a leaf command
    const CLI::App* match = nullptr;
    std::string nearest;
    size_t best = std::string::npos;
    for (const CLI::App* sc : subs) {
      if (sc->get_name() == arg) match = sc;
      size_t d = EditDistance(arg, sc->get_name());
      if (d < best) {
        best = d;
        nearest = sc->get_name();
      }
    }
    if (match == nullptr) {
      std::string msg = "unknown command '" + arg + "' for '" + path + "'";
      if (best <= std::max<size_t>(2, arg.size() / 2)) {
        const std::string prefix = path == "kvctl" ? "" : path.substr(6) + " ";
        msg += " (did you mean '" + prefix + nearest + "'?)";
      } else {
        msg += " (commands:";
        for (const CLI::App* sc : subs) msg += " " + sc->get_name();
        msg += ")";
      }
      return msg;
    }
    level = match;
    path += " " + arg;
  }
  return "";
}

}  // namespace

int RunCli(int argc, const char* const* argv, Streams& s) {
  CLI::App app{"kvctl: command line for RingKV", "kvctl"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command: kvctl get k -w json
  app.set_help_all_flag("--help-all", "Show help for every command");

  std::string endpoints = kDefaultEndpoint, dial_timeout = "2s", command_timeout = "5s";
  std::string write_out = "simple";
  GlobalOptions g;
  app.add_option("--endpoints", endpoints, "Client addresses host:port,host:port,...")
      ->envname("KVCTL_ENDPOINTS")
      ->capture_default_str();
  app.add_option("--dial-timeout", dial_timeout, "Connect timeout per endpoint (e.g. 2s)")
      ->envname("KVCTL_DIAL_TIMEOUT")
      ->capture_default_str();
  app.add_option("--command-timeout", command_timeout,
                 "Deadline of one command including retries (e.g. 5s)")
      ->envname("KVCTL_COMMAND_TIMEOUT")
      ->capture_default_str();
  app.add_option("-w,--write-out", write_out, "Output format: simple, table or json")
      ->envname("KVCTL_WRITE_OUT")
      ->check(CLI::IsMember({"simple", "table", "json"}))
      ->capture_default_str();
  app.add_flag("--hex", g.hex, "Print keys and values as hex")->envname("KVCTL_HEX");
  client::ClientOptions::Tls tls;
  app.add_option("--cacert", tls.ca_file, "TLS: verify servers with this PEM CA bundle")
      ->envname("KVCTL_CACERT");
  app.add_option("--cert", tls.cert_file, "TLS: client certificate (PEM); its CN is the user")
      ->envname("KVCTL_CERT");
  app.add_option("--key", tls.key_file, "TLS: key of --cert (PEM)")->envname("KVCTL_KEY");
  app.add_flag("--insecure-skip-tls-verify", tls.insecure_skip_verify,
               "TLS without checking the server certificate (development only)")
      ->envname("KVCTL_INSECURE_SKIP_TLS_VERIFY");
  app.add_flag("--debug", g.debug, "Verbose client logging and flag/env notes")
      ->envname("KVCTL_DEBUG");

  PutArgs put;
  std::string put_value;
  uint64_t if_version = 0;
  std::string if_value;
  auto* put_cmd = app.add_subcommand("put", "Write a key (value from stdin when omitted)");
  put_cmd->add_option("key", put.key, "Key")->required();
  auto* put_value_opt = put_cmd->add_option("value", put_value, "Value (use -- before a value "
                                                                "starting with -)");
  auto* if_absent_opt = put_cmd->add_flag("--if-absent", put.if_absent, "Only if the key is absent");
  auto* if_version_opt =
      put_cmd->add_option("--if-version", if_version, "Only if the key's version is N (0 = absent)");
  auto* if_value_opt = put_cmd->add_option("--if-value", if_value, "Only if the value is V");
  std::string put_lease;
  auto* put_lease_opt =
      put_cmd->add_option("--lease", put_lease, "Attach the key to this lease (hex id)");
  if_absent_opt->excludes(if_version_opt)->excludes(if_value_opt);
  if_version_opt->excludes(if_value_opt);

  GetArgs get;
  std::string get_end, consistency = "l";
  auto* get_cmd = app.add_subcommand("get", "Read a key, or keys in [key, range_end)");
  get_cmd->add_option("key", get.key, "Key (or range start)")->required();
  auto* get_end_opt = get_cmd->add_option("range_end", get_end, "Range end (exclusive)");
  auto* get_prefix = get_cmd->add_flag("--prefix", get.prefix, "Keys starting with key");
  auto* get_from = get_cmd->add_flag("--from-key", get.from_key, "Keys >= key");
  get_prefix->excludes(get_from)->excludes(get_end_opt);
  get_from->excludes(get_end_opt);
  get_cmd->add_option("--limit", get.limit, "Most keys to return (0 = all)");
  get_cmd->add_flag("--keys-only", get.keys_only, "Print keys only");
  get_cmd->add_flag("--print-value-only", get.print_value_only, "Print raw value bytes only");
  get_cmd->add_flag("--count-only", get.count_only, "Print the number of keys only");
  get_cmd->add_option("--consistency", consistency, "l = linearizable, s = serializable")
      ->check(CLI::IsMember({"l", "s"}))
      ->capture_default_str();

  DelArgs del;
  std::string del_end;
  auto* del_cmd = app.add_subcommand("del", "Delete a key, or keys in [key, range_end)");
  del_cmd->add_option("key", del.key, "Key (or range start)")->required();
  auto* del_end_opt = del_cmd->add_option("range_end", del_end, "Range end (exclusive)");
  auto* del_prefix = del_cmd->add_flag("--prefix", del.prefix, "Keys starting with key");
  auto* del_from = del_cmd->add_flag("--from-key", del.from_key, "Keys >= key");
  del_prefix->excludes(del_from)->excludes(del_end_opt);
  del_from->excludes(del_end_opt);

  AppendArgs app_args;
  std::string suffix;
  auto* append_cmd = app.add_subcommand("append", "Append to a key's value (stdin when omitted)");
  append_cmd->add_option("key", app_args.key, "Key")->required();
  auto* suffix_opt = append_cmd->add_option("suffix", suffix, "Suffix to append");

  auto* cluster_cmd = app.add_subcommand("cluster", "Cluster-wide commands");
  cluster_cmd->require_subcommand(1);
  auto* status_cmd = cluster_cmd->add_subcommand(
      "status", "Every endpoint's node id, role, term, commit/applied index and leader per group");

  DecommissionArgs decommission;
  std::string stall_after = "60s";
  auto* node_cmd = app.add_subcommand("node", "Node commands");
  node_cmd->require_subcommand(1);
  auto* decommission_cmd = node_cmd->add_subcommand(
      "decommission", "Drain a node: its replicas move to other nodes, then it leaves");
  decommission_cmd->add_option("id", decommission.node_id, "Node id")->required();
  decommission_cmd->add_flag("--force", decommission.force,
                             "Even when fewer nodes than the replication factor would remain");
  decommission_cmd->add_flag("--wait", decommission.wait,
                             "Wait until drained and left, printing replicas left to move");
  decommission_cmd->add_option("--stall-after", stall_after,
                               "With --wait: no progress this long is reported as a stall")
      ->capture_default_str();

  auto* version_cmd = app.add_subcommand("version", "Client, API and server versions");
  auto coord = AddCoordCommands(app);

  auto* member_cmd = app.add_subcommand("member", "Cluster membership (gossip view)");
  member_cmd->require_subcommand(1);
  auto* member_list_cmd = member_cmd->add_subcommand(
      "list", "Every member: id, name, client and admin address, state, version, uptime");

  bool endpoint_cluster = false;
  auto* endpoint_cmd = app.add_subcommand("endpoint", "Per-endpoint status and health");
  endpoint_cmd->require_subcommand(1);
  auto* ep_status_cmd = endpoint_cmd->add_subcommand(
      "status", "Each endpoint's node, version, shards, leaders, disk use and alarms");
  auto* ep_health_cmd = endpoint_cmd->add_subcommand(
      "health", "Each endpoint answers a linearizable read of every shard (a quorum round)");
  for (auto* sc : {ep_status_cmd, ep_health_cmd}) {
    sc->add_flag("--cluster", endpoint_cluster, "Every member, not only --endpoints");
  }

  uint64_t shard_id = 0, shard_to = 0;
  auto* shard_cmd = app.add_subcommand("shard", "Shards (Raft groups)");
  shard_cmd->require_subcommand(1);
  auto* shard_list_cmd = shard_cmd->add_subcommand(
      "list", "Every shard: range, leader, term, commit, applied, replicas, lag, log/data bytes");
  auto* shard_status_cmd = shard_cmd->add_subcommand("status", "One shard in detail");
  shard_status_cmd->add_option("id", shard_id, "Shard id")->required();
  auto* shard_transfer_cmd = shard_cmd->add_subcommand(
      "transfer-leader", "Move a shard's leadership to another of its voters");
  shard_transfer_cmd->add_option("id", shard_id, "Shard id")->required();
  shard_transfer_cmd->add_option("node", shard_to, "Target node id")->required();

  auto* alarm_cmd = app.add_subcommand("alarm", "Alarms (NOSPACE)");
  alarm_cmd->require_subcommand(1);
  auto* alarm_list_cmd = alarm_cmd->add_subcommand("list", "Raised alarms on every member");
  auto* alarm_disarm_cmd = alarm_cmd->add_subcommand(
      "disarm", "Clear alarms (raised again at once where the disk is still over its limit)");

  CompactArgs compact;
  std::string storage_timeout = "10m";
  auto* compact_cmd = app.add_subcommand(
      "compact", "Compact the Raft logs of every shard, then each node's storage (RocksDB)");
  compact_cmd->add_flag("--cluster", compact.cluster, "Every member, not only --endpoints");
  compact_cmd->add_flag("--logs-only", compact.logs_only,
                        "Only the Raft logs, not the storage compaction");
  compact_cmd->add_option("--storage-timeout", storage_timeout,
                          "Deadline of each node's storage compaction")
      ->capture_default_str();

  BackupArgs backup;
  auto* backup_cmd = app.add_subcommand(
      "backup", "Logical backups: every shard's keys at one applied index, checksummed");
  backup_cmd->require_subcommand(1);
  auto* backup_save_cmd = backup_cmd->add_subcommand(
      "save", "Save every shard's keys to a file (each shard read at one applied index)");
  auto* backup_restore_cmd = backup_cmd->add_subcommand(
      "restore", "Write a backup's keys into an empty cluster (any shard count)");
  auto* backup_verify_cmd = backup_cmd->add_subcommand(
      "verify", "Check a backup's checksum and structure (no cluster needed)");
  for (auto* sc : {backup_save_cmd, backup_restore_cmd, backup_verify_cmd}) {
    sc->add_option("file", backup.file, "Backup file")->required();
  }
  backup_restore_cmd->add_flag("--force", backup.force,
                               "Restore into a cluster that holds keys (overwrites the backup's "
                               "keys; the others stay)");
  backup_restore_cmd->add_option("--concurrency", backup.concurrency, "Puts in flight")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();

  uint64_t node_status_id = 0;
  auto* node_status_cmd = node_cmd->add_subcommand(
      "status", "Members with their state, replicas, leaders and decommissioning progress");
  auto* node_status_id_opt = node_status_cmd->add_option("id", node_status_id, "Node id");
  // user / role (docs/security.md); like etcdctl's.
  AuthArgs auth;
  std::string access;
  auto* user_cmd = app.add_subcommand("user", "Users (client certificate names) and their roles");
  user_cmd->require_subcommand(1);
  for (const char* action : {"add", "delete", "get"}) {
    user_cmd->add_subcommand(action, std::string(action) + " a user")
        ->add_option("name", auth.name, "User name (the certificate's CN)")
        ->required();
  }
  user_cmd->add_subcommand("list", "List users");
  for (const char* action : {"grant-role", "revoke-role"}) {
    auto* c = user_cmd->add_subcommand(action, std::string(action == std::string("grant-role")
                                                                ? "Grant a role to"
                                                                : "Revoke a role from") +
                                                   " a user");
    c->add_option("name", auth.name, "User name")->required();
    c->add_option("role", auth.role, "Role name")->required();
  }
  auto* role_cmd = app.add_subcommand("role", "Roles: read or read-write on key prefixes");
  role_cmd->require_subcommand(1);
  for (const char* action : {"add", "delete", "get"}) {
    role_cmd->add_subcommand(action, std::string(action) + " a role")
        ->add_option("name", auth.name, "Role name")
        ->required();
  }
  role_cmd->add_subcommand("list", "List roles");
  auto* grant_perm = role_cmd->add_subcommand(
      "grant-permission", "Grant read or readwrite on every key starting with PREFIX");
  grant_perm->add_option("name", auth.name, "Role name")->required();
  grant_perm->add_option("access", access, "read or readwrite")
      ->required()
      ->check(CLI::IsMember({"read", "readwrite"}));
  grant_perm->add_option("prefix", auth.prefix, "Key prefix (\"\" = every key)")->required();
  grant_perm->add_flag("--prefix")->description(
      "Accepted for etcdctl compatibility: keys are always prefixes");
  auto* revoke_perm =
      role_cmd->add_subcommand("revoke-permission", "Revoke the permission on PREFIX");
  revoke_perm->add_option("name", auth.name, "Role name")->required();
  revoke_perm->add_option("prefix", auth.prefix, "Key prefix")->required();
  revoke_perm->add_flag("--prefix")->description("Accepted for etcdctl compatibility");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, s.out, s.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, s.out, s.err);
  } catch (const CLI::ParseError& e) {
    if (std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
      return Usage(s, unknown);
    }
    return Usage(s, e.what());
  }
  if (g.debug) NoteOverrides(app, s);

  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Usage(s, "--cert and --key go together");
  }
  g.endpoints = SplitEndpoints(endpoints);
  if (g.endpoints.empty()) return Usage(s, "--endpoints is empty");
  auto dt = ParseDuration(dial_timeout);
  if (!dt.ok()) return Usage(s, "--dial-timeout: " + std::string(dt.status().message()));
  auto ct = ParseDuration(command_timeout);
  if (!ct.ok()) return Usage(s, "--command-timeout: " + std::string(ct.status().message()));
  if (dt->count() == 0 || ct->count() == 0) return Usage(s, "timeouts must be positive");
  g.dial_timeout = *dt;
  g.command_timeout = *ct;
  g.format = write_out == "json"    ? OutputFormat::kJson
             : write_out == "table" ? OutputFormat::kTable
                                    : OutputFormat::kSimple;

  // The one command that needs no cluster.
  if (backup_verify_cmd->parsed()) return RunBackupVerify(g, backup, s);

  client::ClientOptions co;
  co.endpoints = g.endpoints;
  co.dial_timeout = g.dial_timeout;
  co.request_timeout = g.command_timeout;
  co.attempt_timeout = std::min(co.attempt_timeout, g.command_timeout);
  co.tls = tls;
  // Commands that report unreachable nodes themselves connect lazily.
  co.lazy_connect = status_cmd->parsed() || version_cmd->parsed() || decommission_cmd->parsed() ||
                    member_cmd->parsed() || endpoint_cmd->parsed() || shard_list_cmd->parsed() ||
                    shard_status_cmd->parsed() || alarm_cmd->parsed() || compact_cmd->parsed() ||
                    node_status_cmd->parsed();
  auto client = client::Client::Connect(co);
  if (!client.ok() && client.status().IsInvalidArgument() && tls.enabled() &&
      client.status().message().rfind("TLS", 0) == 0) {
    return Usage(s, std::string(client.status().message()));
  }
  if (!client.ok() && client.status().message().find("TLS") != std::string_view::npos) {
    s.err << "Error: " << client.status().message()
          << ". Try: check --cacert (the cluster's CA), --cert/--key (a certificate of that CA) "
             "and that the endpoints use TLS\n";
    return ExitCodeFor(client.status());
  }
  if (!client.ok()) {
    s.err << "Error: " << client.status().message()
          << ". Try: start a cluster (tools/launch_cluster.sh start) or point --endpoints / "
             "KVCTL_ENDPOINTS at running nodes\n";
    return client.status().IsInvalidArgument() ? kExitUsage : ExitCodeFor(client.status());
  }
  client::Client& c = **client;

  if (put_cmd->parsed()) {
    if (put_value_opt->count() > 0) put.value = put_value;
    if (if_version_opt->count() > 0) put.if_version = if_version;
    if (if_value_opt->count() > 0) put.if_value = if_value;
    if (put_lease_opt->count() > 0) {
      Result<uint64_t> id = ParseLeaseId(put_lease);
      if (!id.ok()) return Usage(s, "--lease: " + std::string(id.status().message()));
      put.lease = *id;
    }
    return RunPut(c, g, put, s);
  }
  if (get_cmd->parsed()) {
    if (get_end_opt->count() > 0) get.range_end = get_end;
    get.consistency = consistency == "s" ? client::Consistency::kSerializable
                                         : client::Consistency::kLinearizable;
    return RunGet(c, g, get, s);
  }
  if (del_cmd->parsed()) {
    if (del_end_opt->count() > 0) del.range_end = del_end;
    return RunDel(c, g, del, s);
  }
  if (append_cmd->parsed()) {
    if (suffix_opt->count() > 0) app_args.suffix = suffix;
    return RunAppend(c, g, app_args, s);
  }
  for (CLI::App* cmd : {user_cmd, role_cmd}) {
    if (!cmd->parsed()) continue;
    auth.action = cmd->get_subcommands().front()->get_name();
    auth.readwrite = access == "readwrite";
    return cmd == user_cmd ? RunUser(c, g, auth, s) : RunRole(c, g, auth, s);
  }
  if (std::optional<int> rc = RunCoordCommand(*coord, c, g, s)) return *rc;
  if (status_cmd->parsed()) return RunClusterStatus(c, g, s);
  if (decommission_cmd->parsed()) {
    auto st = ParseDuration(stall_after);
    if (!st.ok()) return Usage(s, "--stall-after: " + std::string(st.status().message()));
    decommission.stall_after = *st;
    return RunNodeDecommission(c, g, decommission, s);
  }
  if (member_list_cmd->parsed()) return RunMemberList(c, g, s);
  if (ep_status_cmd->parsed()) return RunEndpointStatus(c, g, endpoint_cluster, s);
  if (ep_health_cmd->parsed()) return RunEndpointHealth(c, g, endpoint_cluster, s);
  if (shard_list_cmd->parsed()) return RunShardList(c, g, std::nullopt, s);
  if (shard_status_cmd->parsed()) return RunShardList(c, g, shard_id, s);
  if (shard_transfer_cmd->parsed()) return RunShardTransferLeader(c, g, shard_id, shard_to, s);
  if (alarm_list_cmd->parsed()) return RunAlarmList(c, g, s);
  if (alarm_disarm_cmd->parsed()) return RunAlarmDisarm(c, g, s);
  if (backup_save_cmd->parsed()) return RunBackupSave(c, g, backup, s);
  if (backup_restore_cmd->parsed()) return RunBackupRestore(c, g, backup, s);
  if (compact_cmd->parsed()) {
    auto st = ParseDuration(storage_timeout);
    if (!st.ok() || st->count() == 0) {
      return Usage(s, "--storage-timeout: " +
                          (st.ok() ? std::string("must be positive") : std::string(st.status().message())));
    }
    compact.storage_timeout = *st;
    return RunCompact(c, g, compact, s);
  }
  if (node_status_cmd->parsed()) {
    return RunNodeStatus(c, g,
                         node_status_id_opt->count() > 0 ? std::optional<uint64_t>(node_status_id)
                                                         : std::nullopt,
                         s);
  }
  if (version_cmd->parsed()) {
    // Try every endpoint until one answers: the server version of a down first endpoint is
    // not "empty".
    std::string server, error;
    for (const auto& ep : g.endpoints) {
      auto st = client::NodeStatus(c, ep, g.command_timeout);
      if (st.ok()) {
        server = st->version().empty() ? "unknown (the server did not say)" : st->version();
        break;
      }
      error = std::string(st.status().message());
    }
    if (g.format == OutputFormat::kJson) {
      nlohmann::json j = {{"client_version", kVersion},
                          {"api_version", net::kProtocolVersion},
                          {"server_version", server.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(server)}};
      if (server.empty()) j["error"] = error;
      s.out << j.dump(2) << "\n";
    } else {
      s.out << "kvctl version: " << kVersion << "\nAPI version: " << net::kProtocolVersion
            << "\nServer version: " << (server.empty() ? "unknown (" + error + ")" : server)
            << "\n";
    }
    return kExitOk;
  }
  return Usage(s, "no command given");
}

}  // namespace ringkv::kvctl
