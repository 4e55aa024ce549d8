// Crash points of snapshot catch-up on real processes (issue 10). Three kvd_buggy nodes, one
// shard. For every failpoint of the receive and install sequence (storage/snapshot.h), in
// turn: a follower is stopped, the others write and compact their logs past it, the follower
// restarts with that failpoint armed to crash (SIGKILL, like kill -9) and dies there while
// catching up by snapshot; restarted once more without it, it must start, converge (the same
// applied index and state digest as the others) and serve reads of everything written.
//
// Before issue 10's fix a crash after the install marker left a hard state whose commit was
// below the new truncated index, and the node never started again.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "integration/test_cluster.h"
#include "storage/snapshot.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

constexpr uint64_t kGroup = 1;

int CountLines(const std::string& log, std::string_view needle) {
  int n = 0;
  for (size_t pos = log.find(needle); pos != std::string::npos; pos = log.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class SnapshotCrashTest : public ::testing::Test {
 protected:
  SnapshotCrashTest()
      : cluster_(TestClusterOptions{
            .extra_flags =
                {"--shards=1",
                 // Small logs and many small chunks, so a snapshot has a chunk stream to crash
                 // in and the test stays short.
                 "--compact_threshold=200", "--compact_keep=50", "--snapshot_chunk_bytes=16384",
                 // Leadership stays put (no preferred-leader moves): the victim is a follower.
                 "--placement_interval_ms=0",
                 // kill -9 also loses what the process had not synced.
                 "--test_lose_unsynced_writes"},
            .binary = KvdBuggyBinary(),
            .client_tls = {}}) {}

  void Write(const std::string& key, const std::string& value) {
    auto r = cluster_.client().Put(key, value);
    ASSERT_TRUE(r.ok()) << key << ": " << r.status().ToString();
    expected_[key] = value;
  }

  // Empty when every node reports group 1 at the same applied index with the same state
  // digest taken at it; otherwise what differs.
  std::string Divergence() {
    std::string out;
    std::optional<std::pair<uint64_t, uint64_t>> first;  // (applied, digest)
    for (int id = 1; id <= cluster_.size(); ++id) {
      auto st = cluster_.NodeStatus(id, 2s, /*with_digests=*/true);
      if (!st.ok()) return "node " + std::to_string(id) + ": " + st.status().ToString();
      const kvpb::GroupStatus* g = nullptr;
      for (const auto& gs : st->groups()) {
        if (gs.group_id() == kGroup) g = &gs;
      }
      if (g == nullptr || !g->has_digest() || g->digest_applied() != g->applied()) {
        return "node " + std::to_string(id) + " has no digest at its applied index";
      }
      out += " node " + std::to_string(id) + " applied " + std::to_string(g->applied());
      const std::pair<uint64_t, uint64_t> mine{g->applied(), g->digest()};
      if (!first) first = mine;
      if (*first != mine) return "replicas differ:" + out;
    }
    return "";
  }

  // Every acknowledged write, read from node `id`'s own state.
  std::string MissingAt(int id) {
    for (const auto& [key, value] : expected_) {
      auto kv = cluster_.LocalGet(id, key);
      if (!kv.ok()) return key + ": " + kv.status().ToString();
      if (!kv->has_value() || (*kv)->value() != value) return key + ": wrong or absent";
    }
    return "";
  }

  int Follower() {
    const int leader = cluster_.LeaderOf(kGroup);
    return leader % cluster_.size() + 1;
  }

  TestCluster cluster_;
  std::map<std::string, std::string> expected_;
};

TEST_F(SnapshotCrashTest, FollowerCrashedAtEveryPointRestartsAndConverges) {
  ASSERT_OK(cluster_.StartAll());
  auto leader = cluster_.WaitForLeader();
  ASSERT_OK(leader);
  // ~480 KB of state: a snapshot is a stream of about 30 chunks.
  for (int i = 0; i < 120; ++i) {
    Write("base/" + std::to_string(i), std::string(4000, static_cast<char>('a' + i % 26)));
  }

  int round = 0;
  for (std::string_view point : storage::kSnapshotFailpoints) {
    SCOPED_TRACE("failpoint " + std::string(point));
    const int victim = Follower();
    ASSERT_NE(victim, cluster_.LeaderOf(kGroup));
    cluster_.Kill(victim);
    // New writes, then every live log compacted: the victim can only catch up by snapshot.
    for (int i = 0; i < 30; ++i) {
      Write("round" + std::to_string(round) + "/" + std::to_string(i), "v" + std::to_string(i));
    }
    for (int id = 1; id <= cluster_.size(); ++id) {
      if (id != victim) {
        ASSERT_OK(cluster_.CompactLogs(id));
      }
    }
    const std::string before = cluster_.process(victim).ReadLog();
    // The chunk point fires mid-stream, at the fifth chunk.
    const std::string spec =
        std::string(point) + "=crash" + (point == storage::kFpReceiveChunk ? "@5" : "");
    ASSERT_OK(cluster_.Start(victim, {"--test_failpoints=" + spec}));
    ASSERT_TRUE(WaitUntil([&] { return !cluster_.Running(victim); }, 60s))
        << "node " << victim << " never reached " << point;
    EXPECT_EQ(cluster_.process(victim).ExitCode(), std::optional<int>(128 + 9));
    const std::string crashed = cluster_.process(victim).ReadLog().substr(before.size());
    ASSERT_NE(crashed.find("failpoint " + std::string(point) + " fired"), std::string::npos)
        << "node " << victim << " died elsewhere:\n"
        << crashed.substr(crashed.size() > 3000 ? crashed.size() - 3000 : 0);

    ASSERT_OK(cluster_.Start(victim));
    std::string why;
    EXPECT_TRUE(WaitUntil(
        [&] {
          why = Divergence();
          return why.empty();
        },
        60s))
        << "no convergence after a crash at " << point << ": " << why;
    EXPECT_EQ(MissingAt(victim), "");
    // The restart took the path the crash point calls for: an install whose marker was
    // written is finished by recovery; one that was not starts over.
    const std::string restarted = cluster_.process(victim).ReadLog().substr(before.size());
    const bool interrupted = point == storage::kFpInstallAfterMarker ||
                             point == storage::kFpInstallAfterDataDelete ||
                             point == storage::kFpInstallAfterIngest;
    EXPECT_EQ(CountLines(restarted, "finishing interrupted install"), interrupted ? 1 : 0);
    ++round;
  }

  // And the cluster keeps serving: a write after the last round reaches every replica.
  Write("after/1", "x");
  std::string why;
  EXPECT_TRUE(WaitUntil(
      [&] {
        why = Divergence();
        return why.empty();
      },
      30s))
      << why;
  for (int id = 1; id <= cluster_.size(); ++id) EXPECT_EQ(MissingAt(id), "") << "node " << id;
}

}  // namespace
}  // namespace ringkv::integration
