// LogKv (storage/log_kv.h): round trips, recovery (torn tails, corruption), checkpoints,
// buffered unsynced writes, write failures, and cursors under a concurrent writer.
#include "storage/log_kv.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

namespace fs = std::filesystem;

const KeyRange kAll{"", std::string(8, '\xff')};

// Keys that sort by number.
std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%06d", i);
  return buf;
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

TEST_F(LogKvTest, CheckpointsBoundDiskUseAndReopenGivesTheSameMap) {
  options_.segment_bytes = 4096;
  Open();
  const std::string value(100, 'v');
  for (int i = 0; i < 2000; ++i) {
    WriteBatch b;
    b.PutRawForTesting(Cf::kRaft, Key(i), value + std::to_string(i));
    // Log truncation: keep the last 10 entries.
    if (i >= 10) b.DeleteRange(Cf::kRaft, KeyRange{Key(0), Key(i - 9)});
    ASSERT_OK(kv_->Write({&b}, i % 50 == 0));
    ASSERT_LE(kv_->FileBytes(), 2 * 4096u + 256) << i;
  }
  EXPECT_EQ(SegmentFiles().size(), 1u);
  EXPECT_EQ(kv_->FileBytes(), DiskBytes());
  // Many checkpoints happened: the file's seq went well beyond 1.
  EXPECT_GT(std::stoull(fs::path(SegmentFiles().back()).stem().string(), nullptr, 16), 20u);
  const auto before = Dump();
  ASSERT_EQ(before.size(), 10u);
  EXPECT_EQ(before.begin()->first, Key(1990));
  Open();
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(kv_->FileBytes(), DiskBytes());
}

TEST_F(LogKvTest, CheckpointThresholdGrowsWithTheLiveMap) {
  options_.segment_bytes = 4096;
  Open();
  // 64 KiB live: checkpoints only every ~128 KiB of appends, not every write.
  for (int i = 0; i < 64; ++i) ASSERT_OK(Put(Key(i), std::string(1024, 'x'), false));
  const std::string seg = SegmentFiles().back();
  for (int i = 0; i < 50; ++i) ASSERT_OK(Put(Key(1000), std::string(100, 'y'), false));
  EXPECT_EQ(SegmentFiles().back(), seg);
  Open();
  EXPECT_EQ(Dump().size(), 65u);
}

TEST_F(LogKvTest, TornTailIsTruncatedAndEarlierRecordsSurvive) {
  ASSERT_OK(Put("a", "1"));
  ASSERT_OK(Put("b", "2"));
  const uint64_t good = kv_->FileBytes();
  ASSERT_OK(Put("c", std::string(1000, '3')));
  kv_.reset();
  const std::string seg = SegmentFiles().back();
  fs::resize_file(seg, fs::file_size(seg) - 10);  // mid-record
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

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
}

// A segment header record as log_kv.h documents it.
std::string SegmentHeader(uint64_t seq, bool checkpoint) {
  std::string payload = "RKVLOGKV";
  PutFixed32BE(&payload, 1);
  PutFixed64BE(&payload, seq);
  payload.push_back(checkpoint ? 1 : 0);
  std::string rest;
  PutFixed32BE(&rest, static_cast<uint32_t>(payload.size()));
  rest.push_back(1);
  rest += payload;
  std::string rec;
  PutFixed32BE(&rec, crc32c::Value(rest));
  return rec + rest;
}

TEST_F(LogKvTest, BadRecordBeforeTheLastSegmentIsCorruption) {
  ASSERT_OK(Put("a", "1"));
  ASSERT_OK(Put("b", "2"));
  kv_.reset();
  ASSERT_EQ(SegmentFiles().size(), 1u);
  const std::string seg = SegmentFiles().back();
  FlipByte(seg, fs::file_size(seg) - 1);  // in the last record
  // A later (non-checkpoint) segment makes seg's bad record synced data, not a torn tail.
  {
    std::ofstream out(options_.dir + "/0000000000000002.log", std::ios::binary);
    out << SegmentHeader(2, /*checkpoint=*/false);
  }
  Status s = OpenStatus();
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_NE(s.ToString().find(seg), std::string::npos) << s;
  // Without it, the same damage is a torn tail.
  fs::remove(options_.dir + "/0000000000000002.log");
  ASSERT_OK(OpenStatus());
  EXPECT_EQ(Dump(), (std::map<std::string, std::string>{{"a", "1"}}));
}

TEST_F(LogKvTest, BadCheckpointOrHeaderIsCorruption) {
  options_.segment_bytes = 1024;
  Open();
  // Overwrites: the log outgrows twice the live map, so checkpoints happen.
  for (int i = 0; i < 40; ++i) ASSERT_OK(Put(Key(i % 5), std::string(100, 'v')));
  kv_.reset();
  const std::string seg = SegmentFiles().back();
  ASSERT_NE(fs::path(seg).filename(), "0000000000000001.log");
  FlipByte(seg, 60);  // inside the checkpoint's map records
  Status s = OpenStatus();
  EXPECT_TRUE(s.IsCorruption()) << s;
  FlipByte(seg, 60);
  ASSERT_OK(OpenStatus());
  kv_.reset();
  FlipByte(seg, 12);  // the header
  s = OpenStatus();
  EXPECT_TRUE(s.IsCorruption()) << s;
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

TEST_F(LogKvTest, NoSpaceDuringACheckpointFailsTheWriteUntilResume) {
  options_.segment_bytes = 2048;
  Open();
  int i = 0;
  while (kv_->FileBytes() <= 2048) ASSERT_OK(Put(Key(i++), std::string(100, 'v')));
  const auto before = Dump();
  kv_->FailNextWriteForTesting(ENOSPC);  // the next Write checkpoints first
  EXPECT_EQ(Put("z", "1").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Dump(), before);
  for (const std::string& f : SegmentFiles()) EXPECT_EQ(f.find(".tmp"), std::string::npos);
  EXPECT_EQ(Put("z", "1").code(), StatusCode::kResourceExhausted);
  ASSERT_OK(kv_->Resume());
  ASSERT_OK(Put("z", "2"));
  Open();
  auto want = before;
  want["z"] = "2";
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
  options_.segment_bytes = 64 << 10;  // checkpoints too
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
