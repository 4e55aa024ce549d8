// LogKv (storage/log_kv.h): round trips, recovery (torn tails, corruption, version 1
// directories), rotation, purge and segment deletion (bounds, crash points), buffered unsynced
// writes, write failures, and cursors under a concurrent writer.
#include "storage/log_kv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage/keys.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

namespace fs = std::filesystem;

const KeyRange kAll{"", std::string(8, '\xff')};

// Keys that sort by number: log entries of one group (keys.h), so they live in the group's
// ring of LogKvIndex; the literal keys of the tests ("a", "keep", ...) live in its ordered map.
std::string Key(int i) { return RaftLogKey(GroupId(7), Index(static_cast<uint64_t>(i))); }

// For the random tests, 40 keys of every kind LogKvIndex tells apart: plain keys, dense log
// entries of group 1, log entries with gaps of group 2, entries of group 3 too far apart for
// a ring (1000 apart, the last at the largest index), and hard states.
std::string MixedKey(int i) {
  char buf[16];
  if (i < 8) {
    std::snprintf(buf, sizeof(buf), "k%06d", i);
    return buf;
  }
  if (i < 20) return RaftLogKey(GroupId(1), Index(static_cast<uint64_t>(i - 8)));
  if (i < 30) return RaftLogKey(GroupId(2), Index(static_cast<uint64_t>(i - 20) * 3));
  if (i < 37) {
    const uint64_t index = i == 36 ? ~uint64_t{0} : static_cast<uint64_t>(i - 30) * 1000;
    return RaftLogKey(GroupId(3), Index(index));
  }
  return HardStateKey(GroupId(static_cast<uint64_t>(i - 36)));
}

class LogKvTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    kv_.reset();
    auto kv = LogKv::Open(options_);
    ASSERT_OK(kv);
    kv_ = std::move(kv).value();
  }

  Status OpenStatus() {
    kv_.reset();
    auto kv = LogKv::Open(options_);
    if (kv.ok()) kv_ = std::move(kv).value();
    return kv.status();
  }

  Status Put(const std::string& key, const std::string& value, bool sync = true) {
    WriteBatch b;
    b.PutRawForTesting(Cf::kRaft, key, value);
    return kv_->Write({&b}, sync);
  }

  std::string Get(const std::string& key) {
    auto v = kv_->Get(key);
    EXPECT_OK(v);
    if (!v.ok() || !v->has_value()) return "<absent>";
    return **v;
  }

  std::map<std::string, std::string> Dump() {
    std::map<std::string, std::string> out;
    auto c = kv_->NewCursor(kAll);
    for (c->SeekToFirst(); c->Valid(); c->Next()) out.emplace(c->key(), c->value());
    EXPECT_OK(c->status());
    return out;
  }

  std::vector<std::string> SegmentFiles() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(options_.dir)) {
      if (e.path().extension() == ".log") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  uint64_t DiskBytes() {
    uint64_t n = 0;
    for (const std::string& f : SegmentFiles()) n += fs::file_size(f);
    return n;
  }

  testing::TempDir dir_;
  LogKvOptions options_{.dir = dir_.path() + "/raft"};
  std::unique_ptr<LogKv> kv_;
};

TEST_F(LogKvTest, PutGetDeleteDeleteRangeAndReopen) {
  EXPECT_TRUE(kv_->Empty());
  ASSERT_OK(Put("a", "1"));
  ASSERT_OK(Put("b", "2"));
  ASSERT_OK(Put("c", "3"));
  ASSERT_OK(Put("d", "4"));
  ASSERT_OK(Put("b", "22"));
  EXPECT_FALSE(kv_->Empty());
  EXPECT_EQ(Get("b"), "22");
  WriteBatch del;
  del.Delete(Cf::kRaft, "a");
  del.DeleteRange(Cf::kRaft, KeyRange{"b", "d"});
  del.Delete(Cf::kRaft, "missing");
  ASSERT_OK(kv_->Write({&del}, true));
  const std::map<std::string, std::string> want{{"d", "4"}};
  EXPECT_EQ(Dump(), want);
  EXPECT_EQ(Get("a"), "<absent>");
  EXPECT_EQ(Get("c"), "<absent>");
  Open();
  EXPECT_EQ(Dump(), want);
}

TEST_F(LogKvTest, StoresEnvelopedValuesVerbatim) {
  WriteBatch b;
  b.Put(Cf::kRaft, "k", "payload");
  ASSERT_OK(kv_->Write({&b}, true));
  EXPECT_EQ(Get("k"), b.ops()[0].value);
}

TEST_F(LogKvTest, BatchesApplyInOrderAsOneWriteAndOtherCfsAreIgnored) {
  WriteBatch b1;
  b1.PutRawForTesting(Cf::kRaft, "x", "1");
  b1.PutRawForTesting(Cf::kData, "data", "ignored");
  WriteBatch b2;
  b2.Delete(Cf::kRaft, "x");
  b2.PutRawForTesting(Cf::kRaft, "y", "2");
  b2.PutRawForTesting(Cf::kMeta, "meta", "ignored");
  ASSERT_OK(kv_->Write({&b1, &b2}, false));
  const std::map<std::string, std::string> want{{"y", "2"}};
  EXPECT_EQ(Dump(), want);

  // A write with no raft op writes nothing.
  ASSERT_OK(kv_->Sync());
  const uint64_t bytes = kv_->FileBytes();
  WriteBatch other;
  other.PutRawForTesting(Cf::kData, "data", "v");
  ASSERT_OK(kv_->Write({&other}, false));
  ASSERT_OK(kv_->Write({}, true));
  EXPECT_FALSE(kv_->HasUnsynced());
  EXPECT_EQ(kv_->FileBytes(), bytes);
  Open();
  EXPECT_EQ(Dump(), want);
}

TEST_F(LogKvTest, HasUnsyncedTracksSyncs) {
  EXPECT_FALSE(kv_->HasUnsynced());
  ASSERT_OK(Put("a", "1", false));
  EXPECT_TRUE(kv_->HasUnsynced());
  ASSERT_OK(kv_->Sync());
  EXPECT_FALSE(kv_->HasUnsynced());
  ASSERT_OK(Put("b", "2", false));
  ASSERT_OK(Put("c", "3", true));
  EXPECT_FALSE(kv_->HasUnsynced());
}

TEST_F(LogKvTest, PurgeBoundsDiskUseAndReopenGivesTheSameMap) {
  options_.segment_bytes = 4096;
  Open();
  const std::string value(100, 'v');
  for (int i = 0; i < 3000; ++i) {
    WriteBatch b;
    b.PutRawForTesting(Cf::kRaft, Key(i), value + std::to_string(i));
    b.PutRawForTesting(Cf::kRaft, "hard" + std::to_string(i % 7), std::to_string(i));
    // Log truncation: keep the last 10 entries.
    if (i >= 10) b.DeleteRange(Cf::kRaft, KeyRange{Key(0), Key(i - 9)});
    ASSERT_OK(kv_->Write({&b}, i % 50 == 0));
    // Live: ~1.2 KiB; bound 2 x 4096 + 2 x live, plus the active segment's overshoot.
    ASSERT_LE(kv_->FileBytes(), 5 * 4096u) << i;
    ASSERT_LE(kv_->SegmentStatsForTesting().segments, 5u) << i;
  }
  EXPECT_GT(kv_->SegmentStatsForTesting().deleted, 50u);
  // Many segments came and went: the newest seq is well beyond 1.
  EXPECT_GT(std::stoull(fs::path(SegmentFiles().back()).stem().string(), nullptr, 16), 50u);
  const auto before = Dump();
  ASSERT_EQ(before.size(), 17u);
  EXPECT_EQ(before.at("hard0"), "2996");
  EXPECT_EQ(before.find(Key(2990))->second, value + "2990");
  Open();  // (the old LogKv's deletions are done: the counts below are exact)
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(kv_->FileBytes(), DiskBytes());
  EXPECT_EQ(kv_->SegmentStatsForTesting().segments, SegmentFiles().size());
}

TEST_F(LogKvTest, LongLivedKeySurvivesManyPurgesAndReopens) {
  options_.segment_bytes = 2048;
  Open();
  ASSERT_OK(Put("idle-group-hard-state", "term 7 vote 3"));
  ASSERT_OK(Put("busy-group-hard-state", "0"));
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 400; ++i) {
      WriteBatch b;
      b.PutRawForTesting(Cf::kRaft, Key(i), std::string(200, 'e'));
      b.PutRawForTesting(Cf::kRaft, "busy-group-hard-state", std::to_string(i));
      if (i >= 3) b.DeleteRange(Cf::kRaft, KeyRange{Key(0), Key(i - 2)});
      ASSERT_OK(kv_->Write({&b}, false));
    }
    ASSERT_OK(kv_->Write({}, true));
    kv_->AbandonForTesting();
    Open();
    EXPECT_EQ(Get("idle-group-hard-state"), "term 7 vote 3");
    EXPECT_EQ(Get("busy-group-hard-state"), "399");
    EXPECT_EQ(Dump().size(), 5u);
  }
  // The idle key's first segment is long gone: it was rewritten, not kept.
  EXPECT_FALSE(fs::exists(options_.dir + "/0000000000000001.log"));
  EXPECT_LE(SegmentFiles().size(), 5u);
}

TEST_F(LogKvTest, PurgeWorkPerWriteIsBoundedWithALargeLiveSet) {
  // Segments larger than the 1 MiB step, so that rewriting one takes several Writes.
  constexpr uint64_t kSegment = 4 << 20;
  options_.segment_bytes = kSegment;
  Open();
  // 24 MiB of entries that are never deleted (a group whose follower is down), then churn.
  const std::string entry(16 << 10, 'e');
  constexpr int kLive = 24 * 64;
  for (int i = 0; i < kLive; ++i) ASSERT_OK(Put(Key(i), entry, false));
  uint64_t max_rewritten = 0;
  for (int i = 0; i < 6000; ++i) {
    WriteBatch b;
    b.PutRawForTesting(Cf::kRaft, "churn" + std::to_string(i % 3), entry);
    ASSERT_OK(kv_->Write({&b}, false));
    max_rewritten = std::max(max_rewritten, kv_->SegmentStatsForTesting().last_write_rewritten);
    // The purge bound, plus one segment being rewritten, plus the active one's overshoot.
    ASSERT_LE(kv_->FileBytes(), 4 * kSegment + 2 * (kLive + 3) * (entry.size() + 8) + (1 << 20))
        << i;
  }
  const LogKv::SegmentStats stats = kv_->SegmentStatsForTesting();
  // The whole live set was rewritten at least once, a step (1 MiB + one record) at a time.
  EXPECT_GT(stats.rewritten, uint64_t{kLive} * entry.size());
  EXPECT_GT(max_rewritten, 512u << 10);
  EXPECT_LE(max_rewritten, (1u << 20) + entry.size() + 64);
  ASSERT_OK(kv_->Sync());
  const auto before = Dump();
  ASSERT_EQ(before.size(), kLive + 3u);
  Open();
  EXPECT_EQ(Dump(), before);
}

// Fills segments with dead data around one live key, until a Write deletes a segment.
class LogKvCrashTest : public LogKvTest {
 protected:
  void SetUp() override {
    options_.segment_bytes = 1024;
    Open();
    ASSERT_OK(Put("long-lived", "v", false));
  }
  // Unsynced overwrites of one key until the next one would delete a segment.
  void WriteUntilADeletionIsDue(bool buffered) {
    options_.buffer_unsynced_writes = buffered;
    Open();
    for (int i = 0; i < 100; ++i) ASSERT_OK(Put("hot", std::string(100, 'a' + i % 26), false));
  }
};

TEST_F(LogKvCrashTest, CrashBetweenTheRewriteAndTheDeletion) {
  for (bool buffered : {false, true}) {
    int after_rewrite = 0;
    for (int attempt = 0; attempt < 20 && after_rewrite < 2; ++attempt) {
      WriteUntilADeletionIsDue(buffered);
      kv_->AbandonBeforeNextSegmentDeletionForTesting();
      std::map<std::string, std::string> before;
      Status s;
      for (int i = 0; s.ok(); ++i) {
        before = Dump();
        s = Put("hot", "x" + std::to_string(i), false);
      }
      EXPECT_EQ(s.code(), StatusCode::kIOError) << s;
      // A purge deletion (rather than of a segment that was dead anyway): the rewrite is synced.
      if (kv_->SegmentStatsForTesting().last_write_rewritten > 0) ++after_rewrite;
      // The failed Write synced everything before it; its own record was not written.
      Open();
      EXPECT_EQ(Dump(), before) << buffered;
      EXPECT_EQ(Get("long-lived"), "v");
    }
    EXPECT_EQ(after_rewrite, 2) << buffered;
  }
}

TEST_F(LogKvCrashTest, CrashRightAfterTheDeletion) {
  for (bool buffered : {false, true}) {
    int after_rewrite = 0;
    for (int attempt = 0; attempt < 20 && after_rewrite < 2; ++attempt) {
      WriteUntilADeletionIsDue(buffered);
      const uint64_t deleted = kv_->SegmentStatsForTesting().deleted;
      std::string hot_before;
      for (int i = 0; kv_->SegmentStatsForTesting().deleted == deleted; ++i) {
        hot_before = Get("hot");
        ASSERT_OK(Put("hot", "y" + std::to_string(i), false));
      }
      if (kv_->SegmentStatsForTesting().last_write_rewritten > 0) ++after_rewrite;
      // The deletion synced every write before the Write that did it; that Write's own record
      // is lost with the process buffer in buffered mode.
      auto want = Dump();
      if (buffered) want["hot"] = hot_before;
      kv_->AbandonForTesting();
      Open();
      EXPECT_EQ(Dump(), want) << buffered;
      EXPECT_EQ(Get("long-lived"), "v");
    }
    EXPECT_EQ(after_rewrite, 2) << buffered;
  }
}

// Random puts, deletes and range deletes over few keys, small segments (rotations, purges,
// deletions all the time), random syncs, crashes and reopens, against a map. Without
// buffering a crash loses nothing; with it, what survives is the map as of some write between
// the last sync and the crash (a prefix: internal syncs may have made more durable).
TEST_F(LogKvTest, RandomOpsWithCrashesMatchAModel) {
  const unsigned seed = static_cast<unsigned>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937 rng(seed);
  auto uniform = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (bool buffered : {false, true}) {
    options_.segment_bytes = 2048;
    options_.buffer_unsynced_writes = buffered;
    Open();
    std::map<std::string, std::string> model = Dump();
    std::vector<std::map<std::string, std::string>> since_sync{model};
    int crashes = 0;
    for (int step = 0; step < 4000; ++step) {
      WriteBatch b;
      for (int n = 1 + uniform(3); n > 0; --n) {
        const std::string key = MixedKey(uniform(40));
        const int what = uniform(10);
        if (what < 7) {
          const std::string value(uniform(300), static_cast<char>('a' + uniform(26)));
          b.PutRawForTesting(Cf::kRaft, key, value);
          model[key] = value;
        } else if (what < 9) {
          b.Delete(Cf::kRaft, key);
          model.erase(key);
        } else {
          const std::string end = MixedKey(uniform(40));
          b.DeleteRange(Cf::kRaft, KeyRange{key, end});
          if (key < end) model.erase(model.lower_bound(key), model.lower_bound(end));
        }
      }
      const bool sync = uniform(10) == 0;
      ASSERT_OK(kv_->Write({&b}, sync)) << "seed " << seed << " step " << step;
      if (sync) since_sync.clear();
      since_sync.push_back(model);
      if (uniform(100) == 0) {
        ++crashes;
        kv_->AbandonForTesting();
        Open();
        const auto got = Dump();
        if (!buffered) {
          ASSERT_EQ(got, model) << "seed " << seed << " step " << step;
        } else {
          ASSERT_NE(std::find(since_sync.begin(), since_sync.end(), got), since_sync.end())
              << "seed " << seed << " step " << step;
          model = got;
        }
        since_sync.assign(1, model);
      } else if (uniform(200) == 0) {
        Open();  // graceful: writes the buffered tail out
        ASSERT_EQ(Dump(), model) << "seed " << seed << " step " << step;
      }
    }
    EXPECT_GT(crashes, 10);
    EXPECT_GT(kv_->SegmentStatsForTesting().segments, 0u);
  }
}

TEST_F(LogKvTest, TornTailIsTruncatedAndEarlierRecordsSurvive) {
  ASSERT_OK(Put("a", "1"));
  ASSERT_OK(Put("b", "2"));
  const uint64_t good = kv_->FileBytes();
  ASSERT_OK(Put("c", std::string(1000, '3')));
  const uint64_t end = kv_->FileBytes();  // the file goes on with preallocated zeros
  kv_.reset();
  const std::string seg = SegmentFiles().back();
  fs::resize_file(seg, end - 10);  // mid-record
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(fs::file_size(seg), good);
  EXPECT_EQ(kv_->FileBytes(), good);

  // Appends go on after the cut, and garbage after them is a torn tail too.
  ASSERT_OK(Put("d", "4"));
  const uint64_t good2 = kv_->FileBytes();
  kv_.reset();
  {
    std::ofstream out(seg, std::ios::binary | std::ios::app);
    out << std::string(5, '\0') << "garbage that is not a record at all";
  }
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}, {"d", "4"}}));
  EXPECT_EQ(fs::file_size(seg), good2);
}

TEST_F(LogKvTest, PreallocatedZerosAreNotATornTailAndOnlyTheLastSegmentHasThem) {
  options_.segment_bytes = 4096;
  options_.preallocate_bytes = 8192;
  Open();
  std::map<std::string, std::string> model;
  for (int i = 0; i < 40; ++i) {
    const std::string key = "k" + std::to_string(i);
    model[key] = std::string(100 + i, static_cast<char>('a' + i % 26));
    ASSERT_OK(Put(key, model[key]));
  }
  const std::vector<std::string> segs = SegmentFiles();
  ASSERT_GT(segs.size(), 1u);
  const uint64_t end = kv_->FileBytes();
  // The active segment runs past its records; older ones end at their last record.
  EXPECT_GT(DiskBytes(), end);
  uint64_t older = 0;
  for (size_t i = 0; i + 1 < segs.size(); ++i) older += fs::file_size(segs[i]);
  EXPECT_GT(fs::file_size(segs.back()), end - older);
  // kill -9: the zeros after the last record are free space, not damage.
  kv_->AbandonForTesting();
  Open();
  EXPECT_EQ(Dump(), model);
  EXPECT_EQ(kv_->FileBytes(), end);
  EXPECT_EQ(DiskBytes(), end);  // cut at open; the next append preallocates again
  ASSERT_OK(Put("k0", "after"));
  model["k0"] = "after";
  EXPECT_GT(DiskBytes(), kv_->FileBytes());

  // A record torn inside the preallocated space (its last bytes still zeros) is dropped.
  const uint64_t good = kv_->FileBytes();
  ASSERT_OK(Put("torn", std::string(50, 't')));
  const uint64_t torn_end = kv_->FileBytes();
  kv_->AbandonForTesting();
  {
    std::fstream f(segs.back(), std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(torn_end - older - 10));
    f << std::string(10, '\0');
  }
  Open();
  EXPECT_EQ(Dump(), model);
  EXPECT_EQ(kv_->FileBytes(), good);

  // Off: the file is exactly its records.
  kv_.reset();
  options_.preallocate_bytes = 0;
  Open();
  ASSERT_OK(Put("k1", "x"));
  EXPECT_EQ(DiskBytes(), kv_->FileBytes());
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
}

// A record as log_kv.h documents it.
std::string Record(uint8_t type, const std::string& payload) {
  std::string rest;
  PutFixed32BE(&rest, static_cast<uint32_t>(payload.size()));
  rest.push_back(static_cast<char>(type));
  rest += payload;
  std::string rec;
  PutFixed32BE(&rec, crc32c::Value(rest));
  return rec + rest;
}

std::string SegmentHeader(uint64_t seq, uint32_t version, bool checkpoint) {
  std::string payload = "RKVLOGKV";
  PutFixed32BE(&payload, version);
  PutFixed64BE(&payload, seq);
  payload.push_back(checkpoint ? 1 : 0);
  return Record(1, payload);
}

// A batch record of puts (keys and values shorter than 128 bytes: one-byte varints).
std::string PutsRecord(const std::map<std::string, std::string>& puts) {
  std::string payload;
  for (const auto& [k, v] : puts) {
    payload += '\0';
    payload += static_cast<char>(k.size());
    payload += k;
    payload += static_cast<char>(v.size());
    payload += v;
  }
  return Record(2, payload);
}

TEST_F(LogKvTest, BadRecordBeforeTheLastSegmentIsCorruption) {
  ASSERT_OK(Put("a", "1"));
  ASSERT_OK(Put("b", "2"));
  const uint64_t end = kv_->FileBytes();
  kv_.reset();
  ASSERT_EQ(SegmentFiles().size(), 1u);
  const std::string seg = SegmentFiles().back();
  FlipByte(seg, end - 1);  // in the last record
  // A later (non-checkpoint) segment makes seg's bad record synced data, not a torn tail.
  {
    std::ofstream out(options_.dir + "/0000000000000002.log", std::ios::binary);
    out << SegmentHeader(2, /*version=*/2, /*checkpoint=*/false);
  }
  Status s = OpenStatus();
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.ToString().find(seg), std::string::npos) << s;
  // Without it, the same damage is a torn tail.
  fs::remove(options_.dir + "/0000000000000002.log");
  ASSERT_OK(OpenStatus());
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}}));
}

TEST_F(LogKvTest, BadRecordInAnOlderSegmentOrBadHeaderIsCorruption) {
  options_.segment_bytes = 1024;
  Open();
  // A key that stays live keeps the first segment on disk (no purge below 2 x 1024 + 2 x live).
  ASSERT_OK(Put("keep", std::string(1000, 'k')));
  for (int i = 0; i < 5; ++i) ASSERT_OK(Put(Key(i), std::string(100, 'v')));
  kv_.reset();
  ASSERT_GE(SegmentFiles().size(), 2u);
  const std::string seg = SegmentFiles().front();
  FlipByte(seg, 60);  // inside the first batch
  Status s = OpenStatus();
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.ToString().find(seg), std::string::npos) << s;
  FlipByte(seg, 60);
  ASSERT_OK(OpenStatus());
  kv_.reset();
  FlipByte(seg, 12);  // the header
  s = OpenStatus();
  EXPECT_TRUE(s.IsCorruption()) << s;
}

TEST_F(LogKvTest, OpensAVersion1DirectoryFromItsNewestCheckpoint) {
  kv_.reset();
  fs::remove_all(options_.dir);
  fs::create_directories(options_.dir);
  auto write = [&](const char* name, const std::string& data) {
    std::ofstream(options_.dir + "/" + name, std::ios::binary) << data;
  };
  // Segment 1 is older than the checkpoint (its leftover; its data is in the checkpoint).
  write("0000000000000001.log", SegmentHeader(1, 1, false) + PutsRecord({{"gone", "1"}}));
  write("0000000000000002.log", SegmentHeader(2, 1, true) + PutsRecord({{"a", "1"}, {"b", "2"}}) +
                                    Record(3, "") + PutsRecord({{"c", "3"}}));
  write("0000000000000003.log", SegmentHeader(3, 1, false) + PutsRecord({{"a", "11"}}));
  Open();
  const std::map<std::string, std::string> want{{"a", "11"}, {"b", "2"}, {"c", "3"}};
  EXPECT_EQ(Dump(), want);
  EXPECT_FALSE(fs::exists(options_.dir + "/0000000000000001.log"));
  // New segments follow; purges eventually delete the version 1 ones.
  kv_.reset();
  options_.segment_bytes = 1024;
  Open();
  for (int i = 0; i < 200; ++i) ASSERT_OK(Put("hot", std::string(100, 'h'), false));
  Open();
  EXPECT_FALSE(fs::exists(options_.dir + "/0000000000000002.log"));
  auto want2 = want;
  want2["hot"] = std::string(100, 'h');
  EXPECT_EQ(Dump(), want2);
}

TEST_F(LogKvTest, LeftoverTempFileIsDeleted) {
  ASSERT_OK(Put("a", "1"));
  kv_.reset();
  { std::ofstream(options_.dir + "/0000000000000002.log.tmp") << "half a checkpoint"; }
  Open();
  EXPECT_FALSE(fs::exists(options_.dir + "/0000000000000002.log.tmp"));
  EXPECT_EQ(Get("a"), "1");
}

TEST_F(LogKvTest, SecondOpenOfTheSameDirFails) {
  auto second = LogKv::Open(options_);
  EXPECT_FALSE(second.ok());
}

TEST_F(LogKvTest, AbandonInBufferModeLosesExactlyTheUnsyncedWrites) {
  options_.buffer_unsynced_writes = true;
  Open();
  ASSERT_OK(Put("a", "1", false));
  ASSERT_OK(Put("b", "2", true));  // syncs a too
  ASSERT_OK(Put("c", "3", false));
  ASSERT_OK(Put("d", "4", false));
  EXPECT_TRUE(kv_->HasUnsynced());
  EXPECT_EQ(Get("d"), "4");
  kv_->AbandonForTesting();
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));

  // A graceful close writes the buffered tail out.
  ASSERT_OK(Put("e", "5", false));
  ASSERT_OK(kv_->Sync());
  ASSERT_OK(Put("f", "6", false));
  Open();
  EXPECT_EQ(Get("e"), "5");
  EXPECT_EQ(Get("f"), "6");
}

TEST_F(LogKvTest, AbandonInNormalModeLosesNothing) {
  ASSERT_OK(Put("a", "1", true));
  ASSERT_OK(Put("b", "2", false));
  kv_->AbandonForTesting();
  EXPECT_FALSE(Put("c", "3").ok());
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
}

TEST_F(LogKvTest, NoSpaceFailsTheWriteUntilResume) {
  ASSERT_OK(Put("a", "1"));
  const uint64_t bytes = kv_->FileBytes();
  kv_->FailNextWriteForTesting(ENOSPC);
  Status s = Put("b", "2");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.ToString().find("no space left on device"), std::string::npos) << s;
  EXPECT_EQ(Get("b"), "<absent>");
  EXPECT_EQ(kv_->FileBytes(), bytes);
  EXPECT_EQ(DiskBytes(), bytes);
  EXPECT_EQ(Put("c", "3").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(kv_->Sync().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Get("c"), "<absent>");
  ASSERT_OK(kv_->Resume());
  ASSERT_OK(Put("d", "4"));
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}, {"d", "4"}}));
}

TEST_F(LogKvTest, NoSpaceInBufferModeKeepsTheBufferedWrites) {
  options_.buffer_unsynced_writes = true;
  Open();
  ASSERT_OK(Put("a", "1", false));
  kv_->FailNextWriteForTesting(ENOSPC);
  EXPECT_EQ(Put("b", "2", true).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Get("a"), "1");
  ASSERT_OK(kv_->Resume());
  ASSERT_OK(kv_->Sync());
  kv_->AbandonForTesting();
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}}));
}

TEST_F(LogKvTest, NoSpaceDuringARotationFailsTheWriteUntilResume) {
  options_.segment_bytes = 2048;
  Open();
  int i = 0;
  while (kv_->FileBytes() <= 2048) ASSERT_OK(Put(Key(i++), std::string(100, 'v')));
  const auto before = Dump();
  const size_t segments = SegmentFiles().size();
  kv_->FailNextWriteForTesting(ENOSPC);  // the next Write rotates first
  EXPECT_EQ(Put("z", "1").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Dump(), before);
  for (const auto& e : fs::directory_iterator(options_.dir)) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  }
  EXPECT_EQ(SegmentFiles().size(), segments);
  EXPECT_EQ(Put("z", "1").code(), StatusCode::kResourceExhausted);
  ASSERT_OK(kv_->Resume());
  ASSERT_OK(Put("z", "2"));
  EXPECT_EQ(SegmentFiles().size(), segments + 1);
  Open();
  auto want = before;
  want["z"] = "2";
  EXPECT_EQ(Dump(), want);
}

TEST_F(LogKvTest, NoSpaceAnywhereInAWriteLeavesTheMapAsItWas) {
  options_.segment_bytes = 1024;
  Open();
  ASSERT_OK(Put("keep", "v"));
  // Every Write fails once, in its rotation, rewrite or own append, whichever writes first.
  for (int i = 0; i < 300; ++i) {
    const auto before = Dump();
    kv_->FailNextWriteForTesting(ENOSPC);
    const std::string value(100, static_cast<char>('a' + i % 26));
    Status s = Put("hot", value, false);
    ASSERT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
    ASSERT_EQ(Dump(), before);
    ASSERT_OK(kv_->Resume());
    ASSERT_OK(Put("hot", value, false));
  }
  EXPECT_GT(kv_->SegmentStatsForTesting().rewritten, 0u);
  EXPECT_GT(kv_->SegmentStatsForTesting().deleted, 0u);
  const auto want = Dump();
  EXPECT_EQ(want.at("keep"), "v");
  kv_->AbandonForTesting();
  Open();
  EXPECT_EQ(Dump(), want);
}

TEST_F(LogKvTest, IoErrorsAreFinal) {
  ASSERT_OK(Put("a", "1"));
  kv_->FailNextWriteForTesting(EIO);
  EXPECT_EQ(Put("b", "2").code(), StatusCode::kIOError);
  EXPECT_EQ(kv_->Resume().code(), StatusCode::kIOError);
  EXPECT_EQ(Put("c", "3").code(), StatusCode::kIOError);
  Open();
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}}));

  kv_->FailNextSyncForTesting(EIO);
  EXPECT_EQ(Put("d", "4").code(), StatusCode::kIOError);
  EXPECT_EQ(Get("d"), "<absent>");
  EXPECT_EQ(kv_->Sync().code(), StatusCode::kIOError);
}

TEST_F(LogKvTest, CursorStaysInItsRange) {
  for (const char* k : {"a", "b", "c", "d", "e"}) ASSERT_OK(Put(k, std::string("v") + k, false));
  auto c = kv_->NewCursor(KeyRange{"b", "e"});
  std::string keys;
  for (c->SeekToFirst(); c->Valid(); c->Next()) keys += c->key();
  EXPECT_EQ(keys, "bcd");
  keys.clear();
  for (c->SeekToLast(); c->Valid(); c->Prev()) keys += c->key();
  EXPECT_EQ(keys, "dcb");
  c->Seek("a");
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "b");
  EXPECT_EQ(c->value(), "vb");
  c->Seek("bb");
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "c");
  c->Seek("e");
  EXPECT_FALSE(c->Valid());
  EXPECT_OK(c->status());

  auto empty = kv_->NewCursor(KeyRange{"bb", "bc"});
  empty->SeekToFirst();
  EXPECT_FALSE(empty->Valid());
  empty->SeekToLast();
  EXPECT_FALSE(empty->Valid());

  // Views stay valid across writes; the next step sees them.
  c->Seek("c");
  const std::string_view v = c->value();
  ASSERT_OK(Put("c", "changed", false));
  ASSERT_OK(Put("cc", "new", false));
  EXPECT_EQ(v, "vc");
  c->Next();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), "cc");
}

TEST_F(LogKvTest, CursorWithAConcurrentWriter) {
  options_.segment_bytes = 16 << 10;  // rotations, purges and deletions too
  Open();
  constexpr int kEntries = 3000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < kEntries; ++i) {
      WriteBatch b;
      b.PutRawForTesting(Cf::kRaft, Key(i), std::string(50, 'a' + i % 26));
      if (i >= 100) b.DeleteRange(Cf::kRaft, KeyRange{Key(0), Key(i - 99)});
      EXPECT_OK(kv_->Write({&b}, false));
    }
    done.store(true);
  });
  int scans = 0;
  while (!done.load() || scans < 2) {
    auto c = kv_->NewCursor(KeyRange{Key(0), Key(kEntries)});
    std::string prev;
    for (c->SeekToFirst(); c->Valid(); c->Next()) {
      ASSERT_LT(prev, c->key());
      ASSERT_EQ(c->value().size(), 50u);
      prev = std::string(c->key());
    }
    prev = Key(kEntries);
    for (c->SeekToLast(); c->Valid(); c->Prev()) {
      ASSERT_GT(prev, c->key());
      prev = std::string(c->key());
    }
    ++scans;
  }
  writer.join();
  EXPECT_EQ(Dump().size(), 100u);
  Open();
  EXPECT_EQ(Dump().size(), 100u);
}

// Log entries with a gap (index 6 missing), a far entry, and a hard state, through Write,
// cursors, a range delete across groups and a reopen.
TEST_F(LogKvTest, LogEntriesWithGapsAcrossGroupsAndReopen) {
  const std::string e5 = RaftLogKey(GroupId(1), Index(5));
  const std::string e7 = RaftLogKey(GroupId(1), Index(7));
  const std::string far = RaftLogKey(GroupId(1), Index(1u << 20));
  const std::string hs = HardStateKey(GroupId(1));
  const std::string g2 = RaftLogKey(GroupId(2), Index(1));
  for (const std::string& k : {e5, e7, far, hs, g2}) ASSERT_OK(Put(k, "v" + EscapeKey(k)));
  EXPECT_EQ(Get(RaftLogKey(GroupId(1), Index(6))), "<absent>");
  auto c = kv_->NewCursor(RaftLogRange(GroupId(1)));
  std::vector<std::string> keys;
  for (c->SeekToFirst(); c->Valid(); c->Next()) keys.emplace_back(c->key());
  EXPECT_EQ(keys, (std::vector<std::string>{e5, e7, far}));
  c->SeekToLast();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), far);
  c->Prev();
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), e7);
  c->Seek(RaftLogKey(GroupId(1), Index(6)));
  ASSERT_TRUE(c->Valid());
  EXPECT_EQ(c->key(), e7);
  Open();
  EXPECT_EQ(Get(e7), "v" + EscapeKey(e7));
  uint64_t group1_bytes = 0;
  for (const std::string& k : {e5, e7, far, hs}) group1_bytes += k.size() + 1 + EscapeKey(k).size();
  EXPECT_EQ(kv_->ApproximateBytes(RaftGroupRange(GroupId(1))), group1_bytes);
  // From entry 7 of group 1 to entry 1 of group 2 (included): 7, far, and g2.
  WriteBatch b;
  b.DeleteRange(Cf::kRaft, KeyRange{e7, RaftLogKey(GroupId(2), Index(2))});
  ASSERT_OK(kv_->Write({&b}, true));
  Open();
  const auto left = Dump();
  EXPECT_EQ(left.size(), 2u);
  EXPECT_EQ(left.count(e5) + left.count(hs), 2u);
}

TEST_F(LogKvTest, ApproximateBytesSumsKeysAndValues) {
  ASSERT_OK(Put("a", "12345"));
  ASSERT_OK(Put("b", "123"));
  ASSERT_OK(Put("c", "1"));
  EXPECT_EQ(kv_->ApproximateBytes(KeyRange{"a", "c"}), 6u + 4u);
  EXPECT_EQ(kv_->ApproximateBytes(kAll), 6u + 4u + 2u);
  EXPECT_EQ(kv_->ApproximateBytes(KeyRange{"x", "y"}), 0u);
}

TEST_F(LogKvTest, TenThousandUnsyncedWritesThenOneSync) {
  for (int i = 0; i < 10000; ++i) {
    WriteBatch b;
    for (int j = 0; j < 3; ++j) b.PutRawForTesting(Cf::kRaft, Key(i * 3 + j), "entry");
    ASSERT_OK(kv_->Write({&b}, false));
  }
  ASSERT_OK(kv_->Sync());
  EXPECT_FALSE(kv_->HasUnsynced());
  kv_->AbandonForTesting();
  Open();
  EXPECT_EQ(Dump().size(), 30000u);
  EXPECT_EQ(Get(Key(29999)), "entry");
}

}  // namespace
}  // namespace ringkv::storage
