// kvctl backup against real clusters: a backup saved from a 4-shard cluster while a writer keeps
// adding keys holds, for every shard, exactly the keys that shard had at the applied index the
// backup names (point-in-time per shard); it verifies without a cluster and a damaged copy does
// not; it restores into a fresh cluster with a different shard count (2), which then holds
// exactly the backup's keys and values; a second restore is refused (the cluster is not empty)
// unless --force. Keys and values are random binary bytes. The permission rules (a reserved key,
// kvctl user|role) are saved and restored too, but never over a target's own rules.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "backup_file.h"
#include "integration/kvctl_run.h"
#include "integration/test_cluster.h"
#include "proto/reserved_keys.h"
#include "ring/hash_ring.h"
#include "ring/ring_config.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

namespace fs = std::filesystem;

struct Versioned {
  std::string value;
  uint64_t version = 0;
  bool operator==(const Versioned& o) const { return value == o.value; }  // versions differ
};
using Data = std::map<std::string, Versioned>;

// Every key of the cluster with its value and version, by a linearizable scan page by page.
Data ScanAll(client::Client& c) {
  Data out;
  std::string start;
  for (;;) {
    client::ScanOptions o;
    o.limit = 500;
    auto page = c.Scan(start, "", o);
    EXPECT_OK(page);
    if (!page.ok()) return out;
    for (auto& kv : page->kvs) out[kv.key] = Versioned{kv.value, kv.version};
    if (!page->more || page->kvs.empty()) return out;
    start = page->kvs.back().key + std::string(1, '\0');
  }
}

std::string RandomBytes(std::mt19937_64& rng, size_t len) {
  std::string b(len, '\0');
  for (char& ch : b) ch = static_cast<char>(rng() & 0xff);
  return b;
}

// The backup's keys by shard, and the applied index each shard was read at.
struct FileContents {
  std::map<uint64_t, Data> by_shard;  // user keys (scans never show reserved ones)
  std::map<uint64_t, uint64_t> applied;
  Data reserved;  // the permission rules
};

FileContents ReadBackup(const std::string& path) {
  FileContents f;
  auto r = kvctl::backup::BackupReader::Open(path);
  EXPECT_OK(r);
  if (!r.ok()) return f;
  for (const auto& s : (*r)->header().shards()) {
    f.applied[s.shard()] = s.applied_index();
    f.by_shard[s.shard()];
  }
  for (;;) {
    auto chunk = (*r)->Next();
    EXPECT_OK(chunk);
    if (!chunk.ok() || !chunk->has_value()) break;
    for (const auto& e : (**chunk).entries()) {
      Data& to = authpb::IsReservedKey(e.key()) ? f.reserved : f.by_shard[(**chunk).shard()];
      to[e.key()] = Versioned{e.value(), e.version()};
    }
  }
  return f;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (KvctlBinary().empty() || !fs::exists(KvctlBinary())) GTEST_SKIP() << "kvctl was not built";
    scratch_ = fs::temp_directory_path() / ("ringkv-backup-" + std::to_string(::getpid()));
    fs::create_directories(scratch_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(scratch_);
  }
  std::string File(const std::string& name) const { return (scratch_ / name).string(); }

  fs::path scratch_;
};

TEST_F(BackupTest, SaveIsPointInTimePerShardAndRestoresIntoAnotherShardCount) {
  const std::string backup = File("cluster.rkvb");
  Data saved;  // the backup's contents, all shards
  {
    TestClusterOptions o;
    o.cluster_id = 42;
    o.extra_flags = {"--shards=4"};
    TestCluster src(o);
    ASSERT_OK(src.StartAll());
    ASSERT_OK(src.WaitForLeader().status());
    client::Client& c = src.client();

    // Random binary keys and values, some overwritten, some deleted.
    std::mt19937_64 rng(::testing::UnitTest::GetInstance()->random_seed());
    // Distinct keys: short random keys collide (about one run in ten had two equal keys of one
    // byte, one of them among the deleted, and then "missing" a key that was deleted).
    std::vector<std::string> keys;
    std::set<std::string> used;
    while (keys.size() < 300) {
      std::string key = RandomBytes(rng, 1 + rng() % 40);
      if (!used.insert(key).second) continue;
      ASSERT_OK(c.Put(key, RandomBytes(rng, rng() % 3000)).status());
      keys.push_back(key);
    }
    for (int i = 0; i < 30; ++i) ASSERT_OK(c.Put(keys[i], RandomBytes(rng, 10)).status());
    for (int i = 30; i < 60; ++i) ASSERT_OK(c.Delete(keys[i]).status());
    // Permission rules (client certificates are off, so anyone may set them up).
    auto user = RunKvctl(src.endpoints(), "user add alice");
    ASSERT_EQ(user.exit_code, 0) << user.out << user.err;

    // A writer adds new keys throughout the save (never overwrites), so each shard's backup
    // must be exactly its keys with a version at or below the applied index it names.
    std::atomic<bool> stop{false};
    std::atomic<int> live_written{0};
    std::thread writer([&] {
      for (int i = 0; !stop; ++i) {
        if (c.Put("live/" + std::to_string(i), std::string(i % 50, 'L')).ok()) ++live_written;
      }
    });
    auto save = RunKvctl(src.endpoints(), "backup save " + backup + " -w json");
    const int written_during_save = live_written.load();
    stop = true;
    writer.join();
    ASSERT_EQ(save.exit_code, 0) << save.out << save.err;
    auto j = nlohmann::json::parse(save.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << save.out;
    EXPECT_EQ(j["shard_count"], 4);
    EXPECT_EQ(j["cluster_id"], 42);
    EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
    EXPECT_GT(written_during_save, 0) << "the writer made no progress during the save";

    const Data final_state = ScanAll(c);
    auto ring_config = ring::RingConfig::Decode(src.NodeStatus(1)->ring_config());
    ASSERT_OK(ring_config);
    auto ring = ring::HashRing::Create(*ring_config);
    ASSERT_OK(ring);
    FileContents f = ReadBackup(backup);
    ASSERT_EQ(f.applied.size(), 4u);
    EXPECT_EQ(f.reserved.count(std::string(authpb::kAuthConfigKey)), 1u);
    for (const auto& [shard, applied] : f.applied) {
      Data expected;
      for (const auto& [k, v] : final_state) {
        if (ring->ShardForKey(k).value() == shard && v.version <= applied) expected[k] = v;
      }
      const Data& got = f.by_shard[shard];
      EXPECT_EQ(got.size(), expected.size()) << "shard " << shard << " at applied " << applied;
      EXPECT_TRUE(got == expected) << "shard " << shard << " is not its state at index " << applied;
      for (const auto& [k, v] : got) {
        EXPECT_LE(v.version, applied);
        auto it = final_state.find(k);
        ASSERT_NE(it, final_state.end());
        EXPECT_EQ(v.version, it->second.version);  // nothing overwrote it after the backup
      }
      for (const auto& [k, v] : got) saved[k] = v;
    }
    // Every key written before the save began is in it.
    for (int i = 0; i < 300; ++i) {
      if (i >= 30 && i < 60) {
        EXPECT_EQ(saved.count(keys[i]), 0u) << "a deleted key came back";
      } else {
        EXPECT_EQ(saved.count(keys[i]), 1u) << "key " << i << " is missing";
      }
    }

    // verify needs no cluster; a damaged copy fails it.
    auto verify = RunKvctl("127.0.0.1:1", "backup verify " + backup);
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_NE(verify.out.find("valid backup"), std::string::npos) << verify.out;
    std::string bytes;
    {
      std::ifstream in(backup, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
    {
      std::ofstream out(File("damaged.rkvb"), std::ios::binary);
      out << bytes;
    }
    auto damaged = RunKvctl("127.0.0.1:1", "backup verify " + File("damaged.rkvb"));
    EXPECT_EQ(damaged.exit_code, 1) << damaged.out << damaged.err;
    auto missing = RunKvctl("127.0.0.1:1", "backup verify " + File("nope"));
    EXPECT_EQ(missing.exit_code, 2) << missing.err;
  }

  // A fresh cluster with another shard count: the restore routes every key by its own ring.
  TestClusterOptions o;
  o.cluster_id = 43;
  o.extra_flags = {"--shards=2"};
  TestCluster dst(o);
  ASSERT_OK(dst.StartAll());
  ASSERT_OK(dst.WaitForLeader().status());
  // WaitForLeader proves a quorum with a put of its probe key: without it the cluster is empty.
  ASSERT_OK(dst.client().Delete("__integration_probe").status());
  auto restore = RunKvctl(dst.endpoints(), "backup restore " + backup);
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_NE(restore.out.find("2 shards; the backup had 4"), std::string::npos) << restore.out;
  const Data restored = ScanAll(dst.client());
  EXPECT_EQ(restored.size(), saved.size());
  EXPECT_TRUE(restored == saved) << "the restored cluster differs from the backup";
  auto users = RunKvctl(dst.endpoints(), "user list");
  EXPECT_EQ(users.exit_code, 0) << users.err;
  EXPECT_NE(users.out.find("alice"), std::string::npos) << users.out;

  // Not into a cluster that holds keys, unless forced.
  auto again = RunKvctl(dst.endpoints(), "backup restore " + backup);
  EXPECT_EQ(again.exit_code, 4) << again.out << again.err;
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  ASSERT_OK(dst.client().Put("extra", "kept").status());
  auto forced = RunKvctl(dst.endpoints(), "backup restore " + backup + " --force -w json");
  EXPECT_EQ(forced.exit_code, 0) << forced.out << forced.err;
  // The rules the target has now (restored above) are kept, with a warning.
  EXPECT_NE(forced.err.find("the backup's were not restored"), std::string::npos) << forced.err;
  Data after = ScanAll(dst.client());
  EXPECT_EQ(after.size(), saved.size() + 1);
  EXPECT_EQ(after["extra"].value, "kept");
}

}  // namespace
}  // namespace ringkv::integration
