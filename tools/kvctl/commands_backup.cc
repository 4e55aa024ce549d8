// kvctl backup save|restore|verify: logical backups (docs/operations.md, "Backups").
//
// save: for each shard in turn, a cursor on its leader (kvpb.BackupReadRequest: a linearizable
// read barrier, then a RocksDB snapshot of that node's storage) is read page by page into the
// file (backup_file.h); a shard whose read fails half way is read again from a new cursor.
// restore: checks the whole file first (verify), refuses a cluster that holds keys unless
// --force, then writes every key with a put through the client (routed by the target's own ring,
// so the shard counts may differ). verify: the file alone, no cluster.
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "backup_file.h"
#include "client/admin.h"
#include "common/status_macros.h"
#include "commands.h"
#include "errors.h"
#include "format.h"
#include "proto/reserved_keys.h"
#include "ring/ring_config.h"

namespace ringkv::kvctl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kToolVersion[] = "0.1.0";
// Page size asked of the server (it caps it at 2 MiB; a client frame holds 4 MiB).
constexpr uint32_t kPageBytes = 1 << 20;
// Reads of one shard before the save gives up (a leader change or a restart ends a cursor).
constexpr int kShardAttempts = 3;

uint64_t NowUnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string IsoTime(uint64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

json HeaderJson(const backuppb::Header& h) {
  json shards = json::array();
  for (const auto& s : h.shards()) {
    shards.push_back({{"shard", s.shard()},
                      {"applied_index", s.applied_index()},
                      {"applied_term", s.applied_term()},
                      {"served_by", s.served_by()},
                      {"read_at", IsoTime(s.read_at_ms())},
                      {"keys", s.keys()},
                      {"bytes", s.bytes()},
                      {"chunks", s.chunks()}});
  }
  auto ring = ring::RingConfig::Decode(h.ring_config());
  return {{"format_version", backup::kFormatVersion},
          {"cluster_id", h.cluster_id()},
          {"shard_count", h.shard_count()},
          {"ring", ring.ok() ? ring->ToString() : "undecodable"},
          {"created_at", IsoTime(h.created_at_ms())},
          {"tool_version", h.tool_version()},
          {"server_version", h.server_version()},
          {"total_keys", h.total_keys()},
          {"total_bytes", h.total_bytes()},
          {"shards", shards}};
}

std::string ShardRows(const backuppb::Header& h) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : h.shards()) {
    rows.push_back({std::to_string(s.shard()), std::to_string(s.applied_index()),
                    std::to_string(s.applied_term()), std::to_string(s.served_by()),
                    std::to_string(s.keys()), HumanBytes(s.bytes())});
  }
  return RenderTable({"SHARD", "APPLIED", "TERM", "READ FROM NODE", "KEYS", "BYTES"}, rows);
}

// The summary every subcommand prints for a file.
void PrintFile(const GlobalOptions& g, const std::string& verb, const std::string& file,
               const backuppb::Header& h, const std::string& sha256, uint64_t file_bytes,
               json extra, Streams& s) {
  if (g.format == OutputFormat::kJson) {
    json j = HeaderJson(h);
    j["file"] = file;
    j["sha256"] = sha256;
    j["file_bytes"] = file_bytes;
    for (auto& [k, v] : extra.items()) j[k] = v;
    s.out << j.dump(2) << "\n";
    return;
  }
  s.out << verb << " " << file << ": cluster " << h.cluster_id() << ", " << h.shard_count()
        << " shards, " << h.total_keys() << " keys, " << HumanBytes(h.total_bytes())
        << " of keys and values, created " << IsoTime(h.created_at_ms()) << "\n"
        << "sha256 " << sha256 << " (" << file_bytes << " bytes)\n";
  if (g.format == OutputFormat::kTable) s.out << ShardRows(h);
}

// The status of the first endpoint that answers (ring, cluster id, members' addresses).
Result<kvpb::NodeStatus> FirstStatus(client::Client& c, const GlobalOptions& g) {
  std::string errors;
  for (const auto& ep : g.endpoints) {
    auto st = client::NodeStatus(c, ep, g.command_timeout);
    if (st.ok()) return st;
    errors += (errors.empty() ? "" : "; ") + ep + ": " + std::string(st.status().message());
  }
  return Status::Unavailable("no endpoint answered (" + errors + ")");
}

int Fail(Streams& s, const Status& st, const std::string& what, const std::string& next) {
  s.err << "Error: " << what << ": " << st.message() << ". Try: " << next << "\n";
  return ExitCodeFor(st);
}

// Reads shard `shard` into `w` through one cursor. `addresses`: client address by node id.
Status ReadShard(client::Client& c, const GlobalOptions& g, uint64_t shard,
                 const std::map<uint64_t, std::string>& addresses, backup::BackupWriter& w) {
  RETURN_IF_ERROR(w.BeginShard(shard));
  backuppb::ShardInfo info;
  info.set_shard(shard);
  info.set_read_at_ms(NowUnixMs());
  kvpb::BackupReadRequest req;
  req.set_max_bytes(kPageBytes);
  std::string endpoint;
  for (;;) {
    auto resp = client::BackupRead(c, GroupId(shard), req, endpoint, g.command_timeout);
    if (!resp.ok()) return resp.status();
    const kvpb::BackupReadResponse& page = resp->backup_read();
    if (req.cursor() == 0) {
      info.set_applied_index(page.applied_index());
      info.set_applied_term(page.applied_term());
      info.set_served_by(resp->served_by());
      auto it = addresses.find(resp->served_by());
      if (it == addresses.end() && !page.done()) {
        return Status::Unavailable("shard " + std::to_string(shard) + " was read on node " +
                                   std::to_string(resp->served_by()) +
                                   ", whose client address no endpoint knows");
      }
      if (it != addresses.end()) endpoint = it->second;
      req.set_cursor(page.cursor());
    }
    backuppb::Chunk chunk;
    chunk.set_shard(shard);
    for (const auto& kv : page.kvs()) {
      backuppb::Entry* e = chunk.add_entries();
      e->set_key(kv.key());
      e->set_value(kv.value());
      e->set_version(kv.version());
    }
    RETURN_IF_ERROR(w.AddChunk(chunk));
    if (page.done()) break;
    if (page.kvs_size() == 0) {
      return Status::Unavailable("shard " + std::to_string(shard) +
                                 ": the server sent an empty page before the end");
    }
    req.set_start_after(page.kvs(page.kvs_size() - 1).key());
  }
  return w.EndShard(std::move(info));
}

}  // namespace

int RunBackupSave(client::Client& c, const GlobalOptions& g, const BackupArgs& a, Streams& s) {
  const auto start = Clock::now();
  auto status = FirstStatus(c, g);
  if (!status.ok()) {
    return Fail(s, status.status(), "backup save", "check that the nodes run (kvctl endpoint health)");
  }
  auto ring = ring::RingConfig::Decode(status->ring_config());
  if (!ring.ok()) {
    return Fail(s, Status::Unavailable("node " + std::to_string(status->node_id()) +
                                       " has no ring configuration yet"),
                "backup save", "wait until the cluster has started (kvctl endpoint health)");
  }
  std::map<uint64_t, std::string> addresses;
  for (int i = 0; i < status->member_ids_size() && i < status->member_client_addresses_size(); ++i) {
    addresses[status->member_ids(i)] = status->member_client_addresses(i);
  }
  auto writer = backup::BackupWriter::Create(a.file);
  if (!writer.ok()) {
    return Fail(s, writer.status(), "backup save", "write to a directory you may write to");
  }
  backuppb::Header header;
  header.set_cluster_id(status->cluster_id());
  header.set_ring_config(status->ring_config());
  header.set_shard_count(ring->num_shards);
  header.set_created_at_ms(NowUnixMs());
  header.set_tool_version(kToolVersion);
  header.set_server_version(status->version());
  for (uint64_t shard = 1; shard <= ring->num_shards; ++shard) {
    Status last;
    for (int attempt = 1; attempt <= kShardAttempts; ++attempt) {
      last = ReadShard(c, g, shard, addresses, **writer);
      if (last.ok()) break;
      if (Status abort = (*writer)->AbortShard(); !abort.ok()) {
        return Fail(s, abort, "backup save", "check the disk holding " + a.file);
      }
      if (g.debug) s.err << "note: shard " << shard << " read " << attempt << " failed: " << last << "\n";
      // Pacing between reads of a shard whose leader just changed; not synchronization.
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
    if (!last.ok()) {
      return Fail(s, last, "backup save: shard " + std::to_string(shard) + " could not be read (" +
                               std::to_string(kShardAttempts) + " attempts)",
                  "kvctl shard status " + std::to_string(shard) + ", then save again");
    }
  }
  auto done = (*writer)->Finish(header);
  if (!done.ok()) return Fail(s, done.status(), "backup save", "check the disk holding " + a.file);
  // Re-read what was written: the file on disk is what a restore will see.
  auto check = backup::VerifyFile(a.file);
  if (!check.ok()) {
    return Fail(s, check.status(), "backup save: the written file does not verify",
                "check the disk holding " + a.file);
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  PrintFile(g, "saved", a.file, check->header, check->sha256, check->file_bytes,
            {{"took_ms", took.count()}}, s);
  return kExitOk;
}

int RunBackupVerify(const GlobalOptions& g, const BackupArgs& a, Streams& s) {
  auto report = backup::VerifyFile(a.file);
  if (!report.ok()) {
    const Status& st = report.status();
    s.err << "Error: backup verify: " << st.message() << ". Try: "
          << (st.code() == StatusCode::kCorruption
                  ? "use another copy of the backup; this one is damaged"
                  : "name a file written by kvctl backup save")
          << "\n";
    return st.code() == StatusCode::kCorruption ? kExitError : kExitUsage;
  }
  PrintFile(g, "valid backup", a.file, report->header, report->sha256, report->file_bytes,
            json::object(), s);
  return kExitOk;
}

namespace {

// Puts every entry of the file through the client, at most `window` at once.
class Restorer {
 public:
  Restorer(client::Client& c, const GlobalOptions& g, size_t window) : c_(c), g_(g), window_(window) {}

  // Returns the first failure (with the key it was for); waits for every put in flight.
  Status Put(const backuppb::Entry& e) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return in_flight_ < window_ || !first_error_.ok(); });
    if (!first_error_.ok()) return first_error_;
    ++in_flight_;
    l.unlock();
    client::CallOptions o;
    o.timeout = g_.command_timeout;
    std::string key = e.key();
    c_.PutAsync(e.key(), e.value(), o, [this, key = std::move(key)](Result<uint64_t> r) {
      std::lock_guard<std::mutex> l(mu_);
      --in_flight_;
      if (r.ok()) {
        ++written_;
      } else if (first_error_.ok()) {
        first_error_ = Status(r.status().code(),
                              "key " + Escape(key) + ": " + std::string(r.status().message()));
      }
      cv_.notify_all();
    });
    return Status::OK();
  }

  // A reserved key, written only where the target has none (compare-and-swap against absent),
  // at once. The target's own rules stay: a warning says so.
  Status PutReserved(const backuppb::Entry& e, Streams& s) {
    client::CallOptions o;
    o.timeout = g_.command_timeout;
    auto r = c_.CompareAndSwap(e.key(), client::Expect::Absent(), e.value(), o);
    if (!r.ok()) {
      return Status(r.status().code(),
                    "key " + Escape(e.key()) + ": " + std::string(r.status().message()));
    }
    if (!r->succeeded) {
      s.err << "Warning: the target cluster has its own users and roles (key " << Escape(e.key())
            << "); the backup's were not restored (kvctl user list, kvctl role list)\n";
      return Status::OK();
    }
    std::lock_guard<std::mutex> l(mu_);
    ++written_;
    return Status::OK();
  }

  Status Drain() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return in_flight_ == 0; });
    return first_error_;
  }

  uint64_t written() {
    std::lock_guard<std::mutex> l(mu_);
    return written_;
  }

 private:
  client::Client& c_;
  const GlobalOptions& g_;
  const size_t window_;
  std::mutex mu_;
  std::condition_variable cv_;
  // State below is protected by mu_.
  size_t in_flight_ = 0;
  uint64_t written_ = 0;
  Status first_error_;
};

}  // namespace

int RunBackupRestore(client::Client& c, const GlobalOptions& g, const BackupArgs& a, Streams& s) {
  const auto start = Clock::now();
  // 1. The whole file, before anything is written.
  auto report = backup::VerifyFile(a.file);
  if (!report.ok()) {
    const Status& st = report.status();
    s.err << "Error: backup restore: " << st.message() << ". Nothing was written. Try: "
          << (st.code() == StatusCode::kCorruption ? "restore another copy of the backup"
                                                   : "name a file written by kvctl backup save")
          << "\n";
    return st.code() == StatusCode::kCorruption ? kExitError : kExitUsage;
  }
  // 2. The target cluster, empty unless forced.
  auto status = FirstStatus(c, g);
  if (!status.ok()) {
    return Fail(s, status.status(), "backup restore", "check that the nodes run (kvctl endpoint health)");
  }
  client::ScanOptions one;
  one.limit = 1;
  one.keys_only = true;
  auto probe = c.Scan("", "", one);
  if (!probe.ok()) {
    return Fail(s, probe.status(), "backup restore: checking that the cluster is empty",
                "check that every shard has a leader (kvctl endpoint health)");
  }
  if (!probe->kvs.empty() && !a.force) {
    s.err << "Error: backup restore: the cluster (cluster id " << status->cluster_id()
          << ") is not empty: it holds key " << Escape(probe->kvs.front().key)
          << " and maybe more; restoring would mix the backup's keys with its own. Nothing was "
             "written. Try: restore into a new, empty cluster, or pass --force to write the "
             "backup's keys over it (keys not in the backup stay)\n";
    return kExitPrecondition;
  }
  // 3. Every key, routed by the target's ring (any shard count).
  auto reader = backup::BackupReader::Open(a.file);
  if (!reader.ok()) return Fail(s, reader.status(), "backup restore", "check " + a.file);
  Restorer restorer(c, g, a.concurrency);
  Status failed;
  for (;;) {
    auto chunk = (*reader)->Next();
    if (!chunk.ok()) {
      failed = chunk.status();  // the file changed since it was verified
      break;
    }
    if (!chunk->has_value()) break;
    for (const auto& e : (**chunk).entries()) {
      if (authpb::IsReservedKey(e.key())) {
        // The permission rules (kvctl user|role): clients cannot put reserved keys, only
        // compare-and-swap them (the server validates the rules). Never over the target's own.
        failed = restorer.PutReserved(e, s);
      } else {
        failed = restorer.Put(e);
      }
      if (!failed.ok()) break;
    }
    if (!failed.ok()) break;
  }
  Status drained = restorer.Drain();
  if (failed.ok()) failed = drained;
  const uint64_t written = restorer.written();
  const backuppb::Header& h = report->header;
  if (!failed.ok()) {
    s.err << "Error: backup restore: wrote " << written << " of " << h.total_keys()
          << " keys, then " << failed.message()
          << ". Try: fix the cause, then restore again with --force (a put overwrites what "
             "was already written)\n";
    return ExitCodeFor(failed);
  }
  auto target_ring = ring::RingConfig::Decode(status->ring_config());
  const uint32_t target_shards = target_ring.ok() ? target_ring->num_shards : 0;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (g.format == OutputFormat::kJson) {
    PrintFile(g, "restored", a.file, h, report->sha256, report->file_bytes,
              {{"restored_keys", written},
               {"target_cluster_id", status->cluster_id()},
               {"target_shard_count", target_shards},
               {"took_ms", took.count()}},
              s);
    return kExitOk;
  }
  s.out << "restored " << written << " keys (" << HumanBytes(h.total_bytes()) << ") from "
        << a.file << " into cluster " << status->cluster_id() << " (" << target_shards
        << " shards; the backup had " << h.shard_count() << ") in " << took.count() << " ms\n";
  if (g.format == OutputFormat::kTable) s.out << ShardRows(h);
  return kExitOk;
}

}  // namespace ringkv::kvctl
