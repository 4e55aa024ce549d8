// log_kv_map_bench: the CPU cost of LogKv's in-memory index (storage/log_kv.h) per log
// operation, with many groups. The files are kept out of the way: buffer_unsynced_writes and
// unsynced Writes, so a Write is an encode into the process buffer plus the index update
// (one pwrite per --segment_mb of records). Phases, each timed on its own (getrusage CPU of
// the process, divided by the operations of the phase):
//   preload  every group gets --preload entries (not timed)
//   append   --rounds rounds; each round appends one entry to each of --groups groups in
//            turn (round-robin), one Write per entry, so consecutive appends hit different
//            groups' logs
//   compact  each group deletes the prefix of --compact entries of its log (one DeleteRange
//            per Write), --compact_rounds times in turn; CPU per deleted entry
//   steady   --rounds rounds of: append one entry to each group, and each group deletes its
//            oldest entry (DeleteRange of a one-entry prefix), one Write per group
//   get      Get of a random live entry, --gets times
// Results: docs/benchmarks.md §11.
//
//   log_kv_map_bench --dir=/dev/shm/lkmb --groups=256 --preload=1000 --rounds=2000 --segment_mb=4
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gflags/gflags.h>

#include "storage/keys.h"
#include "storage/log_kv.h"
#include "storage/write_batch.h"

DEFINE_string(dir, "/dev/shm/log_kv_map_bench", "directory of the log (removed first)");
DEFINE_int32(groups, 256, "Raft groups sharing the log");
DEFINE_int32(preload, 1000, "entries every group gets first (not timed)");
DEFINE_int32(rounds, 2000, "rounds of the append and steady phases");
DEFINE_int32(compact, 100, "entries each group's compaction deletes");
DEFINE_int32(compact_rounds, 5, "compaction rounds");
DEFINE_int32(gets, 500000, "Gets of random live entries");
DEFINE_int32(entry_bytes, 64, "bytes per entry");
// Small, so the process buffer of buffer_unsynced_writes keeps its capacity (LogKv frees one
// above 16 MiB): with 64 MiB, regrowing it (page faults, copies) was half the CPU.
DEFINE_int32(segment_mb, 4, "segment file size, MiB");

namespace ringkv::storage {
namespace {

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

void Check(const Status& s) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s\n", s.ToString().c_str());
  std::exit(1);
}

class Bench {
 public:
  Bench() : entry_(FLAGS_entry_bytes, 'e') {
    std::filesystem::remove_all(FLAGS_dir);
    LogKvOptions options;
    options.dir = FLAGS_dir;
    options.segment_bytes = uint64_t(FLAGS_segment_mb) << 20;
    options.buffer_unsynced_writes = true;
    auto opened = LogKv::Open(options);
    Check(opened.status());
    kv_ = std::move(opened).value();
    first_.assign(FLAGS_groups, 1);
    next_.assign(FLAGS_groups, 1);
  }
  ~Bench() {
    kv_.reset();
    std::filesystem::remove_all(FLAGS_dir);
  }

  void Run() {
    for (int i = 0; i < FLAGS_preload; ++i) {
      for (int g = 0; g < FLAGS_groups; ++g) Append(g);
    }
    Check(kv_->Sync());
    Phase("append", uint64_t(FLAGS_rounds) * FLAGS_groups, [&] {
      for (int r = 0; r < FLAGS_rounds; ++r) {
        for (int g = 0; g < FLAGS_groups; ++g) Append(g);
      }
    });
    Phase("compact", uint64_t(FLAGS_compact_rounds) * FLAGS_groups * FLAGS_compact, [&] {
      for (int r = 0; r < FLAGS_compact_rounds; ++r) {
        for (int g = 0; g < FLAGS_groups; ++g) CompactTo(g, first_[g] + FLAGS_compact);
      }
    });
    Phase("steady", uint64_t(FLAGS_rounds) * FLAGS_groups, [&] {
      for (int r = 0; r < FLAGS_rounds; ++r) {
        for (int g = 0; g < FLAGS_groups; ++g) {
          Append(g);
          CompactTo(g, first_[g] + 1);
        }
      }
    });
    std::mt19937_64 rng(1);
    uint64_t found = 0;
    Phase("get", uint64_t(FLAGS_gets), [&] {
      for (int i = 0; i < FLAGS_gets; ++i) {
        const int g = int(rng() % FLAGS_groups);
        const uint64_t index = first_[g] + rng() % (next_[g] - first_[g]);
        auto got = kv_->Get(RaftLogKey(GroupId(g + 1), Index(index)));
        found += got.ok() && got->has_value();
      }
    });
    if (found != uint64_t(FLAGS_gets)) std::fprintf(stderr, "get: only %lu found\n", found);
  }

 private:
  template <typename F>
  void Phase(const char* name, uint64_t ops, F&& body) {
    const double cpu0 = CpuSeconds();
    body();
    const double cpu = CpuSeconds() - cpu0;
    std::printf("%-8s %10lu ops  %8.0f ns CPU/op\n", name, ops, cpu / double(ops) * 1e9);
  }
  void Append(int g) {
    WriteBatch b;
    b.PutRawForTesting(Cf::kRaft, RaftLogKey(GroupId(g + 1), Index(next_[g]++)), entry_);
    Check(kv_->Write({&b}, false));
  }
  void CompactTo(int g, uint64_t index) {
    WriteBatch b;
    b.DeleteRange(Cf::kRaft, KeyRange{RaftLogKey(GroupId(g + 1), Index(0)),
                                      RaftLogKey(GroupId(g + 1), Index(index))});
    Check(kv_->Write({&b}, false));
    first_[g] = index;
  }

  const std::string entry_;
  std::unique_ptr<LogKv> kv_;
  std::vector<uint64_t> first_;  // per group: the first live index
  std::vector<uint64_t> next_;   // per group: the index of the next append
};

}  // namespace
}  // namespace ringkv::storage

int main(int argc, char** argv) {
  gflags::SetUsageMessage("log_kv_map_bench: LogKv\'s in-memory map, phase by phase");
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  std::printf("groups=%d preload=%d rounds=%d compact=%d x %d entry_bytes=%d\n", FLAGS_groups,
              FLAGS_preload, FLAGS_rounds, FLAGS_compact, FLAGS_compact_rounds, FLAGS_entry_bytes);
  ringkv::storage::Bench().Run();
  return 0;
}
