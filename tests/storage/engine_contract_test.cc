// The Engine interface's contract (engine.h), checked on both implementations: the node's engine
// (Engine::Open: SplitEngine, here "Rocks") and MemEngine must be interchangeable for everything
// above storage/. MemEngine's crash behaviour (what a power cut may lose) is checked at the end.
#include <gtest/gtest.h>

#include <map>
#include <cstring>
#include <memory>
#include <random>
#include <chrono>
#include <thread>
#include <string>
#include <vector>

#include "storage/engine.h"
#include "storage/mem_engine.h"
#include "storage/record.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

enum class Impl { kRocks, kMem };

class EngineContractTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (GetParam() == Impl::kMem) {
      engine_ = std::make_unique<MemEngine>();
      return;
    }
    auto e = Engine::Open(EngineOptions{.path = dir_.path()});
    ASSERT_OK(e);
    engine_ = std::move(e).value();
  }

  std::string MustGet(Cf cf, const std::string& key, const ReadSnapshot* snap = nullptr) {
    auto v = engine_->Get(cf, key, snap);
    EXPECT_OK(v);
    if (!v.ok() || !v->has_value()) return "<absent>";
    return **v;
  }

  std::vector<std::string> Keys(Cf cf, KeyRange range, const ReadSnapshot* snap = nullptr) {
    std::vector<std::string> keys;
    auto it = engine_->NewIterator(cf, std::move(range), snap);
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
    EXPECT_OK(it->status());
    return keys;
  }

  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(EngineContractTest, WritesAreAtomicAcrossColumnFamilies) {
  WriteBatch b;
  b.Put(Cf::kRaft, "k", "raft");
  b.Put(Cf::kData, "k", "data");
  b.Put(Cf::kMeta, "k", "meta");
  b.Put(Cf::kData, "k", "data2");  // later ops in one batch win
  ASSERT_OK(engine_->Write(b, /*sync=*/true));
  EXPECT_EQ(MustGet(Cf::kRaft, "k"), "raft");
  EXPECT_EQ(MustGet(Cf::kData, "k"), "data2");
  EXPECT_EQ(MustGet(Cf::kMeta, "k"), "meta");
  EXPECT_EQ(MustGet(Cf::kMeta, "absent"), "<absent>");
}

// A turn's apply writes: many groups' batches in one write, in order (a later batch's op on a
// key wins), as Write of their concatenation would do.
TEST_P(EngineContractTest, WriteAllAppliesBatchesInOrderAsOneWrite) {
  WriteBatch a, b, c;
  a.Put(Cf::kData, "g1", "a");
  a.Put(Cf::kData, "shared", "from a");
  b.Put(Cf::kRaft, "g2", "b");
  b.Put(Cf::kData, "shared", "from b");
  c.Delete(Cf::kData, "g1");
  ASSERT_OK(engine_->WriteAll({&a, &b, &c}, /*sync=*/true));
  EXPECT_EQ(MustGet(Cf::kData, "g1"), "<absent>");
  EXPECT_EQ(MustGet(Cf::kRaft, "g2"), "b");
  EXPECT_EQ(MustGet(Cf::kData, "shared"), "from b");
  ASSERT_OK(engine_->WriteAll({&a}, /*sync=*/false));
  EXPECT_EQ(MustGet(Cf::kData, "g1"), "a");
}

// Ops a later put or delete of the same key overwrites (which RocksEngine skips) never change
// what a write leaves behind, whatever delete ranges sit between them: random writes over a few
// keys, checked against applying every op in order to a map.
TEST_P(EngineContractTest, OverwrittenOpsLeaveTheSameStateAsEveryOpInOrder) {
  std::mt19937 rng(12345);
  std::map<std::string, std::string> model;
  const std::vector<std::string> keys = {"a", "b", "c", "d", "e"};
  for (int write = 0; write < 300; ++write) {
    std::vector<WriteBatch> batches(1 + rng() % 3);
    for (WriteBatch& b : batches) {
      for (int n = rng() % 6; n > 0; --n) {
        const std::string& k = keys[rng() % keys.size()];
        switch (rng() % 5) {
          case 0:
            b.Delete(Cf::kData, k);
            model.erase(k);
            break;
          case 1: {
            std::string end = keys[rng() % keys.size()];
            const std::string& begin = std::min(k, end);
            end = std::max(k, end);
            b.DeleteRange(Cf::kData, KeyRange{begin, end});
            model.erase(model.lower_bound(begin), model.lower_bound(end));
            break;
          }
          default: {
            const std::string v = std::to_string(write) + "." + std::to_string(n);
            b.Put(Cf::kData, k, v);
            model[k] = v;
          }
        }
      }
    }
    std::vector<const WriteBatch*> all;
    for (const WriteBatch& b : batches) all.push_back(&b);
    ASSERT_OK(engine_->WriteAll(all, /*sync=*/false));
    for (const std::string& k : keys) {
      auto found = model.find(k);
      ASSERT_EQ(MustGet(Cf::kData, k), found == model.end() ? "<absent>" : found->second)
          << "key " << k << " after write " << write;
    }
  }
}

TEST(WriteBatchTest, OverwrittenOpsAreEarlierPointOpsOfAKeyInTheSameCf) {
  WriteBatch a, b;
  a.Put(Cf::kData, "k", "1");                   // 0: overwritten by 4
  a.Put(Cf::kMeta, "k", "1");                   // 1: another CF, last of its key there
  a.Delete(Cf::kData, "j");                     // 2: overwritten by 5
  a.DeleteRange(Cf::kData, KeyRange{"a", "z"});  // 3: never overwritten
  b.Put(Cf::kData, "k", "2");                   // 4
  b.Put(Cf::kData, "j", "2");                   // 5
  b.DeleteRange(Cf::kData, KeyRange{"a", "z"});  // 6: overwrites nothing
  EXPECT_EQ(OverwrittenOps({&a, &b}),
            (std::vector<bool>{true, false, true, false, false, false, false}));
  EXPECT_EQ(OverwrittenOps({&a}), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(OverwrittenOps({}).empty());
}

TEST(WriteBatchTest, RecordBuiltInPlaceEqualsPut) {
  WriteBatch b;
  b.Put(Cf::kData, "k", "payload");
  b.PutBuilt(Cf::kData, "k", 7, [](char* dst) { std::memcpy(dst, "payload", 7); });
  ASSERT_EQ(b.Count(), 2u);
  EXPECT_EQ(b.ops()[0].value, b.ops()[1].value);
  auto payload = DecodeRecord("k", b.ops()[1].value);
  ASSERT_OK(payload);
  EXPECT_EQ(*payload, "payload");
}

TEST(WriteBatchTest, OpsStayValidAcrossGrowthMovesAndSelfAppend) {
  // Keys and values live in the batch's blocks: hundreds of ops, a value larger than any
  // block, a move and an append of the batch to itself must leave every view intact.
  WriteBatch b;
  std::vector<std::pair<std::string, std::string>> want;
  for (int i = 0; i < 500; ++i) {
    std::string key = "key-" + std::to_string(i);
    const size_t size = i % 7 == 0 ? 300000 : static_cast<size_t>(i % 97);
    std::string payload(size, static_cast<char>('a' + i % 26));
    b.Put(Cf::kData, key, payload);
    want.emplace_back(key, payload);
  }
  b.Delete(Cf::kMeta, "gone");
  b.DeleteRange(Cf::kRaft, KeyRange{"a", "z"});
  WriteBatch moved = std::move(b);
  moved.Append(moved);  // each op once more, copied from the batch's own blocks
  ASSERT_EQ(moved.Count(), 2 * (want.size() + 2));
  for (size_t round = 0; round < 2; ++round) {
    const size_t base = round * (want.size() + 2);
    for (size_t i = 0; i < want.size(); ++i) {
      const WriteBatch::Op& op = moved.ops()[base + i];
      EXPECT_EQ(op.type, WriteBatch::OpType::kPut);
      EXPECT_EQ(op.key, want[i].first);
      auto payload = DecodeRecord(op.key, op.value);
      ASSERT_OK(payload);
      EXPECT_EQ(*payload, want[i].second) << "op " << base + i;
    }
    EXPECT_EQ(moved.ops()[base + want.size()].key, "gone");
    EXPECT_EQ(moved.ops()[base + want.size()].value, "");
    EXPECT_EQ(moved.ops()[base + want.size() + 1].key, "a");
    EXPECT_EQ(moved.ops()[base + want.size() + 1].value, "z");
  }
  // The moved-from batch is empty and owns nothing: refilled, it allocates blocks of its own
  // and leaves the other's ops alone (the replica takes its apply batch, then refills it).
  EXPECT_TRUE(b.Empty());
  EXPECT_EQ(b.ByteSize(), 0u);
  const std::string before(moved.ops()[1].value);
  for (int i = 0; i < 50; ++i) {
    b.Put(Cf::kData, "refill-" + std::to_string(i), std::string(100, 'r'));
  }
  EXPECT_EQ(b.Count(), 50u);
  EXPECT_EQ(moved.ops()[1].value, before);
  b = WriteBatch();
  const size_t bytes = moved.ByteSize();
  EXPECT_GT(bytes, 2 * 72 * size_t{300000});
  moved.Clear();
  EXPECT_TRUE(moved.Empty());
  EXPECT_EQ(moved.ByteSize(), 0u);
  moved.Put(Cf::kData, "again", "v");
  ASSERT_EQ(moved.Count(), 1u);
  EXPECT_EQ(*DecodeRecord("again", moved.ops()[0].value), "v");
}

TEST_P(EngineContractTest, DeleteAndDeleteRange) {
  WriteBatch b;
  for (const char* k : {"a", "b", "c", "d", "e"}) b.Put(Cf::kData, k, k);
  ASSERT_OK(engine_->Write(b, false));
  WriteBatch d;
  d.Delete(Cf::kData, "a");
  d.DeleteRange(Cf::kData, {"b", "d"});
  ASSERT_OK(engine_->Write(d, false));
  EXPECT_EQ(Keys(Cf::kData, {"", "\xff"}), (std::vector<std::string>{"d", "e"}));
}

TEST_P(EngineContractTest, IteratorStaysInsideItsRange) {
  WriteBatch b;
  for (const char* k : {"a", "b1", "b2", "b3", "c"}) b.Put(Cf::kData, k, std::string("v") + k);
  ASSERT_OK(engine_->Write(b, false));
  auto it = engine_->NewIterator(Cf::kData, {"b", "c"});
  std::vector<std::string> seen;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    seen.push_back(std::string(it->key()) + "=" + std::string(it->value()));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"b1=vb1", "b2=vb2", "b3=vb3"}));
  it->SeekToLast();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b3");
  it->Prev();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b2");
  it->Prev();
  it->Prev();
  EXPECT_FALSE(it->Valid());  // before the first key of the range
  it->Seek("a");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b1");  // a seek before the range lands on its first key
  it->Seek("b25");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b3");
  it->Seek("c");
  EXPECT_FALSE(it->Valid());
  EXPECT_OK(it->status());
  EXPECT_TRUE(Keys(Cf::kData, {"x", "z"}).empty());
}

TEST_P(EngineContractTest, SnapshotsAndIteratorsSeeOnePointInTime) {
  WriteBatch b;
  b.Put(Cf::kData, "x", "1");
  ASSERT_OK(engine_->Write(b, false));
  auto snap = engine_->GetSnapshot();
  WriteBatch b2;
  b2.Put(Cf::kData, "x", "2");
  b2.Put(Cf::kData, "y", "new");
  ASSERT_OK(engine_->Write(b2, false));
  EXPECT_EQ(MustGet(Cf::kData, "x", snap.get()), "1");
  EXPECT_EQ(Keys(Cf::kData, {"a", "z"}, snap.get()), (std::vector<std::string>{"x"}));
  EXPECT_EQ(MustGet(Cf::kData, "x"), "2");
  EXPECT_EQ(Keys(Cf::kData, {"a", "z"}), (std::vector<std::string>{"x", "y"}));
}

TEST_P(EngineContractTest, BadRecordIsCorruptionNamingTheKey) {
  WriteBatch b;
  b.PutRawForTesting(Cf::kData, "bad", "not an envelope");
  ASSERT_OK(engine_->Write(b, false));
  auto v = engine_->Get(Cf::kData, "bad");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsCorruption()) << v.status();
  EXPECT_NE(v.status().ToString().find("bad"), std::string::npos) << v.status();
  auto it = engine_->NewIterator(Cf::kData, {"a", "z"});
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().IsCorruption()) << it->status();
}

TEST_P(EngineContractTest, StagedFileIngestsAtomicallyAndStaysUntilRemoved) {
  WriteBatch old;
  old.Put(Cf::kData, "g/a", "old");
  ASSERT_OK(engine_->Write(old, true));
  auto file = engine_->CreateStagedFile(Cf::kData, "snap-1.sst");
  ASSERT_OK(file);
  ASSERT_OK((*file)->Add("g/a", EncodeRecord("new-a")));
  ASSERT_OK((*file)->Add("g/b", EncodeRecord("new-b")));
  EXPECT_FALSE((*file)->Add("g/a", EncodeRecord("x")).ok());  // keys must increase
  ASSERT_OK((*file)->Finish());
  file->reset();
  ASSERT_OK(engine_->SyncStagingArea());
  EXPECT_EQ(*engine_->StagedFileExists("snap-1.sst"), true);
  EXPECT_EQ(*engine_->ListStagedFiles(), (std::vector<std::string>{"snap-1.sst"}));
  EXPECT_EQ(MustGet(Cf::kData, "g/b"), "<absent>");  // nothing visible before the ingest
  ASSERT_OK(engine_->IngestStagedFile(Cf::kData, "snap-1.sst"));
  EXPECT_EQ(MustGet(Cf::kData, "g/a"), "new-a");
  EXPECT_EQ(MustGet(Cf::kData, "g/b"), "new-b");
  EXPECT_EQ(*engine_->StagedFileExists("snap-1.sst"), true);
  ASSERT_OK(engine_->RemoveStagedFile("snap-1.sst"));
  ASSERT_OK(engine_->RemoveStagedFile("snap-1.sst"));  // absent is fine
  EXPECT_EQ(*engine_->StagedFileExists("snap-1.sst"), false);
  EXPECT_TRUE(engine_->ListStagedFiles()->empty());
}

TEST_P(EngineContractTest, SizesCountWhatWasWritten) {
  WriteBatch b;
  b.Put(Cf::kData, "k1", std::string(1000, 'v'));
  ASSERT_OK(engine_->Write(b, true));
  ASSERT_OK(engine_->FlushForTesting());
  EXPECT_GT(engine_->ApproximateBytes(Cf::kData, {"k", "l"}), 0u);
  EXPECT_GT(engine_->SstBytes(), 0u);
  ASSERT_OK(engine_->CompactAll());
  EXPECT_EQ(MustGet(Cf::kData, "k1"), std::string(1000, 'v'));
}

// Unlogged writes (the apply writes): visible at once, durable once a flush covered their
// ticket.
TEST_P(EngineContractTest, UnloggedWritesAreVisibleAndAFlushMakesThemDurable) {
  WriteBatch a;
  a.Put(Cf::kData, "a", "1");
  WriteBatch b;
  b.Put(Cf::kData, "b", "2");
  b.Delete(Cf::kData, "a");
  Result<uint64_t> first = engine_->WriteUnlogged({&a});
  ASSERT_OK(first.status());
  Result<uint64_t> second = engine_->WriteUnlogged({&a, &b});
  ASSERT_OK(second.status());
  EXPECT_GT(*second, *first);
  EXPECT_EQ(MustGet(Cf::kData, "a"), "<absent>");  // in order, as one write
  EXPECT_EQ(MustGet(Cf::kData, "b"), "2");
  EXPECT_LT(engine_->DurableTicket(), *first);  // in the memtable only
  ASSERT_OK(engine_->FlushUnlogged(/*wait=*/true));
  EXPECT_GE(engine_->DurableTicket(), *second);
}

TEST_P(EngineContractTest, AFlushAskedForWithoutWaitingCoversTheWritesBeforeIt) {
  WriteBatch a;
  a.Put(Cf::kData, "a", std::string(1000, 'v'));
  Result<uint64_t> t = engine_->WriteUnlogged({&a});
  ASSERT_OK(t.status());
  ASSERT_OK(engine_->FlushUnlogged(/*wait=*/false));
  ASSERT_OK(engine_->FlushUnlogged(/*wait=*/false));  // one is running: nothing more
  // RocksDB flushes in the background; MemEngine before its next write.
  WriteBatch next;
  next.Put(Cf::kData, "b", "1");
  ASSERT_OK(engine_->WriteUnlogged({&next}).status());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (engine_->DurableTicket() < *t && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition
  }
  EXPECT_GE(engine_->DurableTicket(), *t);
}

TEST_P(EngineContractTest, AnUnloggedWriteOutsideTheDataCfIsRefused) {
  for (Cf cf : {Cf::kRaft, Cf::kMeta}) {
    WriteBatch b;
    b.Put(Cf::kData, "ok", "1");
    b.Put(cf, "k", "v");
    Result<uint64_t> t = engine_->WriteUnlogged({&b});
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << t.status();
    EXPECT_EQ(MustGet(Cf::kData, "ok"), "<absent>");
  }
}

// TryWriteUnlogged (the store's apply write on its loop): when nothing makes it wait, the same
// write as WriteUnlogged, with a ticket in the same sequence; refused the same way.
TEST_P(EngineContractTest, TryWriteUnloggedWritesLikeWriteUnloggedWhenNothingWaits) {
  WriteBatch a;
  a.Put(Cf::kData, "a", "1");
  Result<uint64_t> first = engine_->WriteUnlogged({&a});
  ASSERT_OK(first.status());
  WriteBatch b;
  b.Put(Cf::kData, "b", "2");
  b.Delete(Cf::kData, "a");
  Result<std::optional<uint64_t>> second = engine_->TryWriteUnlogged({&a, &b});
  ASSERT_OK(second.status());
  ASSERT_TRUE(second->has_value()) << "an idle engine had to wait";
  EXPECT_GT(**second, *first);
  EXPECT_EQ(MustGet(Cf::kData, "a"), "<absent>");
  EXPECT_EQ(MustGet(Cf::kData, "b"), "2");
  EXPECT_LT(engine_->DurableTicket(), **second);
  ASSERT_OK(engine_->FlushUnlogged(/*wait=*/true));
  EXPECT_GE(engine_->DurableTicket(), **second);

  WriteBatch bad;
  bad.Put(Cf::kData, "ok", "1");
  bad.Put(Cf::kMeta, "k", "v");
  Result<std::optional<uint64_t>> refused = engine_->TryWriteUnlogged({&bad});
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(MustGet(Cf::kData, "ok"), "<absent>");
}

INSTANTIATE_TEST_SUITE_P(BothEngines, EngineContractTest,
                         ::testing::Values(Impl::kRocks, Impl::kMem),
                         [](const ::testing::TestParamInfo<Impl>& p) {
                           return p.param == Impl::kRocks ? "Rocks" : "Mem";
                         });

// ---- MemEngine: what a crash loses ----

std::string Get(const MemEngine& e, const std::string& key, Cf cf = Cf::kData) {
  auto v = e.Get(cf, key);
  if (!v.ok()) return v.status().ToString();
  return v->has_value() ? **v : "<absent>";
}

void Put(MemEngine* e, const std::string& key, const std::string& value, bool sync,
         Cf cf = Cf::kData) {
  WriteBatch b;
  b.Put(cf, key, value);
  ASSERT_OK(e->Write(b, sync));
}

TEST(MemEngineCrash, LosesExactlyTheUnsyncedWrites) {
  MemEngine e;
  Put(&e, "a", "1", false);
  Put(&e, "b", "1", true);  // syncs "a" with it
  Put(&e, "a", "2", false);
  Put(&e, "c", "1", false);
  EXPECT_EQ(Get(e, "a"), "2");
  e.Crash();
  EXPECT_EQ(Get(e, "a"), "1");
  EXPECT_EQ(Get(e, "b"), "1");
  EXPECT_EQ(Get(e, "c"), "<absent>");
  EXPECT_EQ(e.writes(), 4u);
  EXPECT_EQ(e.synced_writes(), 1u);
}

// The two durability domains of split_engine.h: the raft CF (the log) and the rest.
TEST(MemEngineCrash, ASyncedLogWriteLeavesEarlierRestWritesUnsynced) {
  MemEngine e;
  Put(&e, "applied", "9", false);
  Put(&e, "entry", "10", true, Cf::kRaft);
  e.Crash();
  EXPECT_EQ(Get(e, "applied"), "<absent>");
  EXPECT_EQ(Get(e, "entry", Cf::kRaft), "10");
}

TEST(MemEngineCrash, ASyncedRestWriteMakesEarlierLogWritesDurable) {
  MemEngine e;
  Put(&e, "hard-state", "commit-9", false, Cf::kRaft);
  Put(&e, "marker", "1", true);
  e.Crash();
  EXPECT_EQ(Get(e, "hard-state", Cf::kRaft), "commit-9");
}

TEST(MemEngineCrash, ALogCompactionMakesEarlierRestWritesDurable) {
  MemEngine e;
  Put(&e, "applied", "9", false);
  WriteBatch compact;
  compact.DeleteRange(Cf::kRaft, KeyRange{"entry", "entrz"});
  ASSERT_OK(e.Write(compact, /*sync=*/false));
  e.Crash();
  EXPECT_EQ(Get(e, "applied"), "9");
}

TEST(MemEngineCrash, ATwoDomainWriteIsSynced) {
  MemEngine e;
  WriteBatch both;
  both.Put(Cf::kRaft, "truncated", "9");
  both.Put(Cf::kData, "applied", "9");
  ASSERT_OK(e.Write(both, /*sync=*/false));
  e.Crash();
  EXPECT_EQ(Get(e, "truncated", Cf::kRaft), "9");
  EXPECT_EQ(Get(e, "applied"), "9");
}

TEST(MemEngineCrash, TheLogsUnsyncedTailMaySurviveWhileTheRestLosesItsOwn) {
  MemEngine e;
  Put(&e, "applied", "9", false);
  Put(&e, "hard-state", "commit-10", false, Cf::kRaft);
  e.Crash(/*keep_unsynced_log=*/true);
  EXPECT_EQ(Get(e, "applied"), "<absent>");
  EXPECT_EQ(Get(e, "hard-state", Cf::kRaft), "commit-10");
}

TEST(MemEngineCrash, SnapshotTakenBeforeACrashKeepsItsView) {
  MemEngine e;
  Put(&e, "a", "1", false);
  auto snap = e.GetSnapshot();
  e.Crash();
  EXPECT_EQ(Get(e, "a"), "<absent>");
  auto v = e.Get(Cf::kData, "a", snap.get());
  ASSERT_OK(v);
  EXPECT_EQ(**v, "1");
}

TEST(MemEngineCrash, StagedFileSurvivesOnlyAfterFinishAndSync) {
  MemEngine e;
  // A directory sync makes every file finished before it durable: "synced" is finished and
  // synced first, the others come after the sync.
  for (const char* name : {"synced", "finished-unsynced", "unfinished"}) {
    auto f = e.CreateStagedFile(Cf::kData, name);
    ASSERT_OK(f);
    ASSERT_OK((*f)->Add("k", EncodeRecord("v")));
    if (std::string(name) != "unfinished") {
      ASSERT_OK((*f)->Finish());
    }
    if (std::string(name) == "synced") {
      ASSERT_OK(e.SyncStagingArea());
    }
  }
  e.Crash();
  EXPECT_EQ(*e.ListStagedFiles(), (std::vector<std::string>{"synced"}));
}

TEST(MemEngineCrash, IngestIsDurableWithEverythingBeforeIt) {
  MemEngine e;
  Put(&e, "a", "unsynced-before", false);
  auto f = e.CreateStagedFile(Cf::kData, "s");
  ASSERT_OK(f);
  ASSERT_OK((*f)->Add("b", EncodeRecord("ingested")));
  ASSERT_OK((*f)->Finish());
  EXPECT_FALSE(e.IngestStagedFile(Cf::kRaft, "s").ok());  // staged for another cf
  ASSERT_OK(e.IngestStagedFile(Cf::kData, "s"));
  Put(&e, "c", "unsynced-after", false);
  e.Crash();
  EXPECT_EQ(Get(e, "a"), "unsynced-before");
  EXPECT_EQ(Get(e, "b"), "ingested");
  EXPECT_EQ(Get(e, "c"), "<absent>");
}

// Unlogged writes: RocksDB keeps them in memtables only, so a crash loses every one no flush
// covered, whatever logged writes came after them; the logged writes replay over the last
// flush in order.
TEST(MemEngineCrash, AnUnloggedWriteIsLostUnlessAFlushFollowed) {
  MemEngine e;
  WriteBatch b;
  b.Put(Cf::kData, "applied", "9");
  ASSERT_OK(e.WriteUnlogged({&b}).status());
  Put(&e, "marker", "1", true);  // a synced write does not make it durable
  WriteBatch compact;
  compact.DeleteRange(Cf::kRaft, KeyRange{"entry", "entrz"});
  ASSERT_OK(e.Write(compact, /*sync=*/false));  // nor does a log compaction
  e.Crash();
  EXPECT_EQ(Get(e, "applied"), "<absent>");
  EXPECT_EQ(Get(e, "marker"), "1");

  ASSERT_OK(e.WriteUnlogged({&b}).status());
  ASSERT_OK(e.FlushUnlogged(/*wait=*/true));
  e.Crash();
  EXPECT_EQ(Get(e, "applied"), "9");
}

TEST(MemEngineCrash, LoggedWritesReplayOverTheLastFlushInOrder) {
  MemEngine e;
  WriteBatch u1;
  u1.Put(Cf::kData, "k", "unlogged-1");
  ASSERT_OK(e.WriteUnlogged({&u1}).status());
  ASSERT_OK(e.FlushUnlogged(/*wait=*/true));
  Put(&e, "k", "logged-2", false);
  WriteBatch u3;
  u3.Put(Cf::kData, "k", "unlogged-3");
  u3.Put(Cf::kData, "other", "unlogged-3");
  ASSERT_OK(e.WriteUnlogged({&u3}).status());
  Put(&e, "sync", "1", true);  // syncs "logged-2" with it
  EXPECT_EQ(Get(e, "k"), "unlogged-3");
  e.Crash();
  EXPECT_EQ(Get(e, "k"), "logged-2");
  EXPECT_EQ(Get(e, "other"), "<absent>");
  EXPECT_EQ(Get(e, "sync"), "1");
}

TEST(MemEngineCrash, AFullMemtableFlushesBeforeTheNextWrite) {
  MemEngine e;
  e.SetAutoFlushBytes(100);
  WriteBatch big;
  big.Put(Cf::kData, "big", std::string(200, 'v'));
  Result<uint64_t> t = e.WriteUnlogged({&big});
  ASSERT_OK(t.status());
  EXPECT_LT(e.DurableTicket(), *t);
  WriteBatch small;
  small.Put(Cf::kData, "small", "1");
  Result<uint64_t> t2 = e.WriteUnlogged({&small});
  ASSERT_OK(t2.status());
  EXPECT_GE(e.DurableTicket(), *t);
  EXPECT_LT(e.DurableTicket(), *t2);
  EXPECT_EQ(e.flushes(), 1u);
  e.Crash();
  EXPECT_EQ(Get(e, "big"), std::string(200, 'v'));
  EXPECT_EQ(Get(e, "small"), "<absent>");
}

TEST(MemEngineCrash, FullDiskFailsWritesUntilResumeWithSpace) {
  MemEngine e;
  e.SetDiskFull(true);
  WriteBatch b;
  b.Put(Cf::kData, "a", "1");
  Status s = e.Write(b, true);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(Get(e, "a"), "<absent>");
  e.SetDiskFull(false);
  EXPECT_EQ(e.Write(b, true).code(), StatusCode::kResourceExhausted);  // sticky, as RocksDB's background error
  e.SetDiskFull(true);
  EXPECT_EQ(e.Resume().code(), StatusCode::kResourceExhausted);
  e.SetDiskFull(false);
  ASSERT_OK(e.Resume());
  ASSERT_OK(e.Write(b, true));
  EXPECT_EQ(Get(e, "a"), "1");
}

}  // namespace
}  // namespace ringkv::storage
