#include "cli_coord.h"

#include "errors.h"
#include "format.h"
#include "txn_parse.h"

namespace ringkv::kvctl {

struct CoordCommands {
  CLI::App* txn = nullptr;
  bool interactive = false;

  CLI::App* lease_grant = nullptr;
  std::string ttl = "10";
  std::string shard_key;
  CLI::App* lease_revoke = nullptr;
  CLI::App* lease_keep_alive = nullptr;
  bool once = false;
  CLI::App* lease_ttl = nullptr;
  bool keys = false;
  std::string lease_id;

  CLI::App* watch = nullptr;
  WatchArgs watch_args;
  std::string watch_end;
  CLI::Option* watch_end_opt = nullptr;

  CLI::App* lock = nullptr;
  LockArgs lock_args;
  std::string lock_ttl = "10";

  CLI::App* elect = nullptr;
  ElectArgs elect_args;
  std::string proposal;
  CLI::Option* proposal_opt = nullptr;
  std::string elect_ttl = "10";
};

namespace {

void Delete(CoordCommands* c) { delete c; }

int CoordUsage(Streams& s, const std::string& msg) {
  s.err << "Error: " << msg << ". Try: kvctl --help\n";
  return kExitUsage;
}

}  // namespace

std::unique_ptr<CoordCommands, void (*)(CoordCommands*)> AddCoordCommands(CLI::App& app) {
  std::unique_ptr<CoordCommands, void (*)(CoordCommands*)> c(new CoordCommands, &Delete);

  c->txn = app.add_subcommand(
      "txn", "Transaction from stdin: compares, blank line, success ops, blank line, failure ops");
  c->txn->add_flag("-i,--interactive", c->interactive, "Prompt for each part");

  auto* lease = app.add_subcommand("lease", "Lease commands");
  lease->require_subcommand(1);
  c->lease_grant = lease->add_subcommand("grant", "Grant a lease with a TTL (seconds, or 500ms, 1m)");
  c->lease_grant->add_option("ttl", c->ttl, "TTL")->required();
  c->lease_grant->add_option("--shard-key", c->shard_key,
                             "The lease lives on this key's shard (keys attached to it must too)");
  c->lease_revoke = lease->add_subcommand("revoke", "Revoke a lease and delete its keys");
  c->lease_revoke->add_option("id", c->lease_id, "Lease id (hex)")->required();
  c->lease_keep_alive = lease->add_subcommand("keep-alive", "Keep a lease alive until Ctrl-C");
  c->lease_keep_alive->add_option("id", c->lease_id, "Lease id (hex)")->required();
  c->lease_keep_alive->add_flag("--once", c->once, "Refresh once and exit");
  c->lease_ttl = lease->add_subcommand("timetolive", "A lease's TTL and remaining time");
  c->lease_ttl->add_option("id", c->lease_id, "Lease id (hex)")->required();
  c->lease_ttl->add_flag("--keys", c->keys, "Also list the attached keys");

  c->watch = app.add_subcommand(
      "watch", "Print every change of a key (or range) as it happens, until Ctrl-C");
  c->watch->add_option("key", c->watch_args.key, "Key (or range start)")->required();
  c->watch_end_opt = c->watch->add_option("range_end", c->watch_end, "Range end (exclusive)");
  auto* prefix = c->watch->add_flag("--prefix", c->watch_args.prefix, "Keys starting with key");
  auto* from_key = c->watch->add_flag("--from-key", c->watch_args.from_key, "Keys >= key");
  prefix->excludes(from_key)->excludes(c->watch_end_opt);
  from_key->excludes(c->watch_end_opt);
  c->watch->add_option("--from-version", c->watch_args.from_version,
                       "Start at this version (per shard; 0 = from now)");
  c->watch->add_flag("--progress", c->watch_args.progress,
                     "Also print CREATED and PROGRESS lines");

  c->lock = app.add_subcommand("lock", "Acquire a named lock (on a lease); run a command or hold "
                                       "until Ctrl-C");
  c->lock->add_option("name", c->lock_args.name, "Lock name")->required();
  c->lock->add_option("command", c->lock_args.command, "Command to run while holding it");
  c->lock->add_option("--ttl", c->lock_ttl, "Lease TTL (seconds, or 500ms, 1m)")
      ->capture_default_str();

  c->elect = app.add_subcommand("elect", "Campaign in a named election (hold the leadership until "
                                         "Ctrl-C), or --listen to its leaders");
  c->elect->add_option("name", c->elect_args.name, "Election name")->required();
  c->proposal_opt = c->elect->add_option("proposal", c->proposal, "This candidate's value");
  c->elect->add_flag("-l,--listen", c->elect_args.listen, "Print each new leader's proposal");
  c->elect->add_option("--ttl", c->elect_ttl, "Lease TTL (seconds, or 500ms, 1m)")
      ->capture_default_str();
  return c;
}

std::optional<int> RunCoordCommand(const CoordCommands& cmds, client::Client& c,
                                   const GlobalOptions& g, Streams& s) {
  if (cmds.txn->parsed()) return RunTxn(c, g, cmds.interactive, s);
  auto lease_id = [&]() { return ParseLeaseId(cmds.lease_id); };
  if (cmds.lease_grant->parsed()) {
    Result<std::chrono::milliseconds> ttl = ParseDuration(cmds.ttl);
    if (!ttl.ok()) return CoordUsage(s, "lease grant: " + std::string(ttl.status().message()));
    return RunLeaseGrant(c, g, *ttl, cmds.shard_key, s);
  }
  for (CLI::App* sub : {cmds.lease_revoke, cmds.lease_keep_alive, cmds.lease_ttl}) {
    if (!sub->parsed()) continue;
    Result<uint64_t> id = lease_id();
    if (!id.ok()) return CoordUsage(s, std::string(id.status().message()));
    if (sub == cmds.lease_revoke) return RunLeaseRevoke(c, g, *id, s);
    if (sub == cmds.lease_keep_alive) return RunLeaseKeepAlive(c, g, *id, cmds.once, s);
    return RunLeaseTimeToLive(c, g, *id, cmds.keys, s);
  }
  if (cmds.watch->parsed()) {
    WatchArgs a = cmds.watch_args;
    if (cmds.watch_end_opt->count() > 0) a.range_end = cmds.watch_end;
    return RunWatch(c, g, a, s);
  }
  if (cmds.lock->parsed()) {
    LockArgs a = cmds.lock_args;
    Result<std::chrono::milliseconds> ttl = ParseDuration(cmds.lock_ttl);
    if (!ttl.ok()) return CoordUsage(s, "lock --ttl: " + std::string(ttl.status().message()));
    a.ttl = *ttl;
    return RunLock(c, g, a, s);
  }
  if (cmds.elect->parsed()) {
    ElectArgs a = cmds.elect_args;
    if (cmds.proposal_opt->count() > 0) a.proposal = cmds.proposal;
    if (a.listen == a.proposal.has_value()) {
      return CoordUsage(s, "elect: give a proposal to campaign, or --listen to observe (not both)");
    }
    Result<std::chrono::milliseconds> ttl = ParseDuration(cmds.elect_ttl);
    if (!ttl.ok()) return CoordUsage(s, "elect --ttl: " + std::string(ttl.status().message()));
    a.ttl = *ttl;
    return RunElect(c, g, a, s);
  }
  return std::nullopt;
}

}  // namespace ringkv::kvctl
