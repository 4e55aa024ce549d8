// The kvctl backup file format (tools/kvctl/backup_file.h): random binary keys and values round
// trip through the writer and reader; verify accepts exactly what the writer wrote and names
// every kind of damage (a flipped byte, truncation, trailing bytes, a foreign file, a newer
// format, keys out of order or in the wrong shard, counts that do not add up).
#include "backup_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "common/coding.h"
#include "ring/hash_ring.h"
#include "ring/ring_config.h"
#include "testutil/status_matchers.h"

namespace ringkv::kvctl::backup {
namespace {

namespace fs = std::filesystem;

class BackupFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("backup_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_.num_shards = 4;
    config_.replication_factor = 3;
    auto ring = ring::HashRing::Create(config_);
    ASSERT_OK(ring);
    ring_.emplace(std::move(ring).value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  // `n` random binary keys (1..64 bytes, any byte values) with random values (0..2000 bytes),
  // grouped by the shard the ring gives them, each shard's in key order.
  std::map<uint64_t, std::map<std::string, std::string>> RandomData(int n, uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::map<uint64_t, std::map<std::string, std::string>> out;
    for (uint64_t s = 1; s <= config_.num_shards; ++s) out[s];
    auto bytes = [&](size_t len) {
      std::string b(len, '\0');
      for (char& c : b) c = static_cast<char>(rng() & 0xff);
      return b;
    };
    for (int i = 0; i < n; ++i) {
      std::string key = bytes(1 + rng() % 64);
      out[ring_->ShardForKey(key).value()][key] = bytes(rng() % 2001);
    }
    return out;
  }

  backuppb::Header HeaderFor() {
    backuppb::Header h;
    h.set_cluster_id(42);
    h.set_ring_config(config_.Encode());
    h.set_shard_count(config_.num_shards);
    h.set_created_at_ms(1700000000000);
    h.set_tool_version("test");
    return h;
  }

  // Writes `data` to `path` in chunks of at most `per_chunk` keys.
  FinishedFile Write(const std::string& path,
                     const std::map<uint64_t, std::map<std::string, std::string>>& data,
                     int per_chunk = 7) {
    auto w = BackupWriter::Create(path);
    EXPECT_OK(w);
    for (const auto& [shard, kvs] : data) {
      EXPECT_OK((*w)->BeginShard(shard));
      backuppb::Chunk chunk;
      chunk.set_shard(shard);
      for (const auto& [k, v] : kvs) {
        backuppb::Entry* e = chunk.add_entries();
        e->set_key(k);
        e->set_value(v);
        e->set_version(7);
        if (chunk.entries_size() == per_chunk) {
          EXPECT_OK((*w)->AddChunk(chunk));
          chunk.clear_entries();
        }
      }
      EXPECT_OK((*w)->AddChunk(chunk));
      backuppb::ShardInfo info;
      info.set_shard(shard);
      info.set_applied_index(100 + shard);
      EXPECT_OK((*w)->EndShard(info));
    }
    auto done = (*w)->Finish(HeaderFor());
    EXPECT_OK(done);
    return done.ok() ? *done : FinishedFile{};
  }

  std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteAll(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  fs::path dir_;
  ring::RingConfig config_;
  std::optional<ring::HashRing> ring_;
};

TEST_F(BackupFileTest, RandomBinaryKeysAndValuesRoundTrip) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    auto data = RandomData(500, seed);
    const std::string path = Path("b" + std::to_string(seed));
    FinishedFile f = Write(path, data);
    EXPECT_EQ(f.bytes, fs::file_size(path));
    EXPECT_EQ(f.sha256.size(), 64u);

    auto report = VerifyFile(path);
    ASSERT_OK(report);
    EXPECT_EQ(report->sha256, f.sha256);
    EXPECT_EQ(report->header.cluster_id(), 42u);
    EXPECT_EQ(report->header.shard_count(), 4u);
    ASSERT_EQ(report->header.shards_size(), 4);
    uint64_t keys = 0;
    for (const auto& [shard, kvs] : data) keys += kvs.size();
    EXPECT_EQ(report->header.total_keys(), keys);
    EXPECT_EQ(report->header.shards(2).applied_index(), 103u);

    // Everything read back is what was written, shard by shard and in order.
    auto r = BackupReader::Open(path);
    ASSERT_OK(r);
    std::map<uint64_t, std::map<std::string, std::string>> back;
    for (uint64_t s = 1; s <= 4; ++s) back[s];
    for (;;) {
      auto chunk = (*r)->Next();
      ASSERT_OK(chunk);
      if (!chunk->has_value()) break;
      for (const auto& e : (**chunk).entries()) back[(**chunk).shard()][e.key()] = e.value();
    }
    EXPECT_EQ(back, data) << "seed " << seed;
    EXPECT_EQ((*r)->sha256(), f.sha256);
  }
}

TEST_F(BackupFileTest, EmptyShardsAndAnEmptyBackupVerify) {
  std::map<uint64_t, std::map<std::string, std::string>> data = {{1, {}}, {2, {}}, {3, {}}, {4, {}}};
  Write(Path("empty"), data);
  auto report = VerifyFile(Path("empty"));
  ASSERT_OK(report);
  EXPECT_EQ(report->header.total_keys(), 0u);
  data = RandomData(20, 9);
  data[1].clear();
  data[4].clear();
  Write(Path("sparse"), data);
  EXPECT_OK(VerifyFile(Path("sparse")));
}

TEST_F(BackupFileTest, EveryFlippedByteIsCaught) {
  auto data = RandomData(30, 4);
  Write(Path("orig"), data);
  const std::string orig = ReadAll(Path("orig"));
  // Flip each byte in turn (a stride keeps the test fast): verify must never pass.
  for (size_t i = 0; i < orig.size(); i += 1 + orig.size() / 400) {
    std::string bad = orig;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    WriteAll(Path("bad"), bad);
    auto report = VerifyFile(Path("bad"));
    EXPECT_FALSE(report.ok()) << "flipped byte " << i << " of " << orig.size();
  }
}

TEST_F(BackupFileTest, DamageIsNamed) {
  auto data = RandomData(50, 5);
  Write(Path("orig"), data);
  const std::string orig = ReadAll(Path("orig"));

  WriteAll(Path("trunc"), orig.substr(0, orig.size() - 40));
  auto t = VerifyFile(Path("trunc"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsCorruption()) << t.status();
  EXPECT_NE(t.status().message().find("truncated"), std::string_view::npos) << t.status();

  WriteAll(Path("trailing"), orig + "x");
  auto tr = VerifyFile(Path("trailing"));
  EXPECT_TRUE(tr.status().IsCorruption()) << tr.status();

  std::string sum = orig;
  sum[sum.size() - 1] = static_cast<char>(sum.back() ^ 1);  // the stored checksum itself
  WriteAll(Path("sum"), sum);
  auto s = VerifyFile(Path("sum"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("SHA-256 mismatch"), std::string_view::npos) << s.status();

  WriteAll(Path("foreign"), "hello, this is not a backup at all");
  auto f = VerifyFile(Path("foreign"));
  EXPECT_TRUE(f.status().IsInvalidArgument()) << f.status();

  std::string newer = orig;
  newer[11] = 2;  // format version 2
  WriteAll(Path("newer"), newer);
  auto n = VerifyFile(Path("newer"));
  EXPECT_TRUE(n.status().IsInvalidArgument()) << n.status();
  EXPECT_NE(n.status().message().find("newer"), std::string_view::npos) << n.status();

  EXPECT_TRUE(VerifyFile(Path("missing")).status().IsNotFound());
}

// Files whose checksum is right but whose contents break the rules: the writer cannot produce
// them, so they are assembled here by hand.
class HandMadeFile {
 public:
  void Header(const backuppb::Header& h) {
    bytes_ = std::string(kMagic);
    PutFixed32BE(&bytes_, kFormatVersion);
    Record(h.SerializeAsString());
  }
  void Chunk(const backuppb::Chunk& c) { Record(c.SerializeAsString()); }
  std::string Finish() {
    PutFixed32BE(&bytes_, 0);
    Sha256 sha;
    sha.Update(bytes_);
    auto d = sha.Final();
    return bytes_ + std::string(reinterpret_cast<const char*>(d.data()), d.size());
  }

 private:
  void Record(const std::string& r) {
    PutFixed32BE(&bytes_, static_cast<uint32_t>(r.size()));
    bytes_ += r;
  }
  std::string bytes_;
};

TEST_F(BackupFileTest, StructureIsCheckedBeyondTheChecksum) {
  // Two keys of shard 1 by the ring.
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 2; ++i) {
    std::string k = "k" + std::to_string(i);
    if (ring_->ShardForKey(k).value() == 1) keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  std::string other;  // a key of another shard
  for (int i = 0; other.empty(); ++i) {
    std::string k = "o" + std::to_string(i);
    if (ring_->ShardForKey(k).value() != 1) other = k;
  }
  auto make = [&](std::vector<std::string> ks, uint64_t header_keys) {
    backuppb::Header h = HeaderFor();
    uint64_t bytes = 0;
    for (const auto& k : ks) bytes += k.size() + 1;
    for (uint64_t s = 1; s <= 4; ++s) {
      backuppb::ShardInfo* info = h.add_shards();
      info->set_shard(s);
      if (s == 1) {
        info->set_keys(header_keys);
        info->set_bytes(bytes);
        info->set_chunks(1);
      }
    }
    h.set_total_keys(header_keys);
    h.set_total_bytes(bytes);
    HandMadeFile f;
    f.Header(h);
    backuppb::Chunk c;
    c.set_shard(1);
    for (const auto& k : ks) {
      backuppb::Entry* e = c.add_entries();
      e->set_key(k);
      e->set_value("v");
    }
    f.Chunk(c);
    return f.Finish();
  };
  WriteAll(Path("good"), make(keys, 2));
  EXPECT_OK(VerifyFile(Path("good")));

  WriteAll(Path("order"), make({keys[1], keys[0]}, 2));
  auto o = VerifyFile(Path("order"));
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("out of order"), std::string_view::npos) << o.status();

  WriteAll(Path("shard"), make({keys[0], other}, 2));
  auto s = VerifyFile(Path("shard"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("belongs to shard"), std::string_view::npos) << s.status();

  WriteAll(Path("counts"), make(keys, 3));
  auto c = VerifyFile(Path("counts"));
  EXPECT_TRUE(c.status().IsCorruption()) << c.status();
}

TEST_F(BackupFileTest, AbortedShardLeavesNothingAndNoFileBeforeFinish) {
  const std::string path = Path("aborted");
  auto w = BackupWriter::Create(path);
  ASSERT_OK(w);
  auto data = RandomData(40, 6);
  for (const auto& [shard, kvs] : data) {
    ASSERT_OK((*w)->BeginShard(shard));
    backuppb::Chunk junk;
    junk.set_shard(shard);
    backuppb::Entry* e = junk.add_entries();
    e->set_key("half-read");
    e->set_value(std::string(1000, 'j'));
    ASSERT_OK((*w)->AddChunk(junk));
    ASSERT_OK((*w)->AbortShard());  // the read failed half way; read it again
    ASSERT_OK((*w)->BeginShard(shard));
    backuppb::Chunk chunk;
    chunk.set_shard(shard);
    for (const auto& [k, v] : kvs) {
      backuppb::Entry* x = chunk.add_entries();
      x->set_key(k);
      x->set_value(v);
    }
    ASSERT_OK((*w)->AddChunk(chunk));
    backuppb::ShardInfo info;
    info.set_shard(shard);
    ASSERT_OK((*w)->EndShard(info));
  }
  EXPECT_FALSE(fs::exists(path)) << "the target appears only when finished";
  ASSERT_OK((*w)->Finish(HeaderFor()));
  w->reset();
  auto report = VerifyFile(path);
  ASSERT_OK(report);
  uint64_t keys = 0;
  for (const auto& [shard, kvs] : data) keys += kvs.size();
  EXPECT_EQ(report->header.total_keys(), keys);
  // Only the backup remains in the directory: no staged files.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(Sha256Test, KnownVectors) {
  auto hex = [](std::string_view in) {
    Sha256 s;
    s.Update(in);
    return HexDigest(s.Final());
  };
  EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace ringkv::kvctl::backup
