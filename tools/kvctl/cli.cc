#include "cli.h"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "errors.h"
#include "format.h"
#include "net/handshake.h"
#include "client/admin.h"

namespace ringkv::kvctl {
namespace {

constexpr char kVersion[] = "0.1.0";

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

  uint64_t decommission_id = 0;
  auto* node_cmd = app.add_subcommand("node", "Node commands");
  node_cmd->require_subcommand(1);
  auto* decommission_cmd = node_cmd->add_subcommand(
      "decommission", "Drain a node: its replicas move to other nodes, then it leaves");
  decommission_cmd->add_option("id", decommission_id, "Node id")->required();

  auto* version_cmd = app.add_subcommand("version", "Client, API and server versions");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, s.out, s.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, s.out, s.err);
  } catch (const CLI::ParseError& e) {
    return Usage(s, e.what());
  }
  if (g.debug) NoteOverrides(app, s);

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

  client::ClientOptions co;
  co.endpoints = g.endpoints;
  co.dial_timeout = g.dial_timeout;
  co.request_timeout = g.command_timeout;
  co.attempt_timeout = std::min(co.attempt_timeout, g.command_timeout);
  // cluster status reports unreachable nodes itself; version reports what it can.
  co.lazy_connect = status_cmd->parsed() || version_cmd->parsed() || decommission_cmd->parsed();
  auto client = client::Client::Connect(co);
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
  if (status_cmd->parsed()) return RunClusterStatus(c, g, s);
  if (decommission_cmd->parsed()) return RunNodeDecommission(c, g, decommission_id, s);
  if (version_cmd->parsed()) {
    auto st = client::NodeStatus(c, g.endpoints.front(), g.command_timeout);
    const std::string server = st.ok() ? st->version() : "unknown (" +
                                                             std::string(st.status().message()) +
                                                             ")";
    s.out << "kvctl version: " << kVersion << "\nAPI version: " << net::kProtocolVersion
          << "\nServer version: " << server << "\n";
    return kExitOk;
  }
  return Usage(s, "no command given");
}

}  // namespace ringkv::kvctl
