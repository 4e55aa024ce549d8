// log_kv_bench: the latency of LogKv::Write (storage/log_kv.h) with a large live Raft log, as
// the node's storage thread would see it: every turn, each of --groups groups appends
// --entries_per_turn entries of --entry_bytes, updates its hard state and compacts its log to
// the last (--live_mb / groups / entry_bytes) entries, except the first --stuck_groups groups
// (a follower down: their logs only grow); one synced Write per turn. The log is
// preloaded to --live_mb first. Prints the Write latency distribution (max included) and the
// CPU time per turn (getrusage, the whole process). Results: docs/benchmarks.md.
//
//   log_kv_bench --dir=/tmp/lkb --groups=32 --live_mb=150 --turns=4000
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <gflags/gflags.h>

#include "common/coding.h"
#include "storage/keys.h"
#include "storage/log_kv.h"
#include "storage/write_batch.h"

DEFINE_string(dir, "/tmp/log_kv_bench", "directory of the log (removed first)");
DEFINE_int32(groups, 32, "Raft groups sharing the log");
DEFINE_int32(live_mb, 150, "live log kept in all, MiB");
DEFINE_int32(entry_bytes, 1024, "bytes per entry");
DEFINE_int32(entries_per_turn, 4, "entries each group appends per turn");
DEFINE_int32(turns, 4000, "turns (one synced Write each)");
DEFINE_int32(segment_mb, 64, "segment file size, MiB");
DEFINE_int32(stuck_groups, 0, "groups that never compact (a follower down)");

namespace ringkv::storage {
namespace {

// The node's real raft CF keys (storage/keys.h), so LogKv's per-group log index is exercised.
std::string EntryKey(uint64_t group, uint64_t index) {
  return RaftLogKey(GroupId(group), Index(index));
}

std::string HardStateKey(uint64_t group) { return storage::HardStateKey(GroupId(group)); }

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int Run() {
  std::filesystem::remove_all(FLAGS_dir);
  LogKvOptions options;
  options.dir = FLAGS_dir;
  options.segment_bytes = uint64_t(FLAGS_segment_mb) << 20;
  auto opened = LogKv::Open(options);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<LogKv> kv = std::move(opened).value();
  const uint64_t retain = (uint64_t(FLAGS_live_mb) << 20) / FLAGS_groups / FLAGS_entry_bytes;
  const std::string entry(FLAGS_entry_bytes, 'e');
  std::vector<uint64_t> next(FLAGS_groups, 1);

  // Preload: every group holds `retain` entries.
  WriteBatch batch;
  for (int g = 0; g < FLAGS_groups; ++g) {
    for (; next[g] <= retain; ++next[g]) {
      batch.PutRawForTesting(Cf::kRaft, EntryKey(g, next[g]), entry);
      if (batch.ByteSize() < (4 << 20)) continue;
      if (!kv->Write({&batch}, false).ok()) return 1;
      batch.Clear();
    }
  }
  if (!kv->Write({&batch}, true).ok()) return 1;

  std::vector<double> lat_ms;
  lat_ms.reserve(FLAGS_turns);
  const double cpu0 = CpuSeconds();
  const auto wall0 = std::chrono::steady_clock::now();
  for (int t = 0; t < FLAGS_turns; ++t) {
    WriteBatch b;
    for (int g = 0; g < FLAGS_groups; ++g) {
      for (int e = 0; e < FLAGS_entries_per_turn; ++e) {
        b.PutRawForTesting(Cf::kRaft, EntryKey(g, next[g]++), entry);
      }
      b.PutRawForTesting(Cf::kRaft, HardStateKey(g), "term 5 vote 1 commit " + std::to_string(t));
      if (g < FLAGS_stuck_groups) continue;
      b.DeleteRange(Cf::kRaft, KeyRange{EntryKey(g, 0), EntryKey(g, next[g] - retain)});
    }
    const auto start = std::chrono::steady_clock::now();
    Status s = kv->Write({&b}, true);
    const auto end = std::chrono::steady_clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "write: %s\n", s.ToString().c_str());
      return 1;
    }
    lat_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = CpuSeconds() - cpu0;
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) {
    return lat_ms[std::min(lat_ms.size() - 1, size_t(p * lat_ms.size()))];
  };
  std::printf(
      "groups=%d stuck=%d live_mb=%d entry_bytes=%d entries_per_turn=%d turns=%d segment_mb=%d\n"
      "write ms: p50 %.2f p99 %.2f p99.9 %.2f max %.1f | cpu/turn %.0f us | wall %.1f s | "
      "file MB at end %.0f\n",
      FLAGS_groups, FLAGS_stuck_groups, FLAGS_live_mb, FLAGS_entry_bytes, FLAGS_entries_per_turn, FLAGS_turns, FLAGS_segment_mb,
      pct(0.5), pct(0.99), pct(0.999), lat_ms.back(), cpu / FLAGS_turns * 1e6, wall,
      static_cast<double>(kv->FileBytes()) / (1 << 20));
  kv.reset();
  std::filesystem::remove_all(FLAGS_dir);
  return 0;
}

}  // namespace
}  // namespace ringkv::storage

int main(int argc, char** argv) {
  gflags::SetUsageMessage("log_kv_bench: LogKv::Write latency with a large live Raft log");
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  return ringkv::storage::Run();
}
