// SplitEngine (split_engine.h): the raft CF in the log, the rest in RocksDB. Checks what the
// engine contract test cannot see: an old data dir's raft CF migrates into the log, a write of
// both domains interrupted by a crash is finished at open, and a log compaction makes earlier
// RocksDB writes durable first.
#include "storage/split_engine.h"

#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/failpoint.h"
#include "storage/fault_injection_fs.h"
#include "storage/keys.h"
#include "storage/record.h"
#include "storage/rocks_engine.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

const GroupId kGroup(7);

std::string MustGet(const Engine& e, Cf cf, const std::string& key) {
  auto v = e.Get(cf, key);
  EXPECT_OK(v);
  if (!v.ok() || !v->has_value()) return "<absent>";
  return **v;
}

std::unique_ptr<Engine> MustOpen(const EngineOptions& options) {
  auto e = Engine::Open(options);
  EXPECT_OK(e);
  return e.ok() ? std::move(e).value() : nullptr;
}

TEST(SplitEngineTest, AnOldDataDirsRaftColumnFamilyMovesIntoTheLog) {
  testing::TempDir dir;
  {
    // The layout before the log left RocksDB: everything in RocksDB, conf state in the raft CF.
    auto old = RocksEngine::Open(EngineOptions{.path = dir.path()});
    ASSERT_OK(old);
    WriteBatch b;
    b.Put(Cf::kRaft, HardStateKey(kGroup), "hard-state");
    b.Put(Cf::kRaft, LegacyRaftConfStateKey(kGroup), "conf-state");
    b.Put(Cf::kRaft, TruncatedStateKey(kGroup), "truncated");
    b.Put(Cf::kRaft, RaftLogKey(kGroup, Index(6)), "entry-6");
    b.Put(Cf::kRaft, RaftLogKey(kGroup, Index(7)), "entry-7");
    b.Put(Cf::kData, ApplyStateKey(kGroup), "applied");
    ASSERT_OK((*old)->Write(b, /*sync=*/true));
  }
  for (int open = 0; open < 2; ++open) {  // the second open finds the log in place
    std::unique_ptr<Engine> e = MustOpen(EngineOptions{.path = dir.path()});
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(MustGet(*e, Cf::kRaft, HardStateKey(kGroup)), "hard-state");
    EXPECT_EQ(MustGet(*e, Cf::kRaft, RaftLogKey(kGroup, Index(7))), "entry-7");
    EXPECT_EQ(MustGet(*e, Cf::kRaft, LegacyRaftConfStateKey(kGroup)), "<absent>");
    EXPECT_EQ(MustGet(*e, Cf::kData, ConfStateKey(kGroup)), "conf-state");
    EXPECT_EQ(MustGet(*e, Cf::kData, ApplyStateKey(kGroup)), "applied");
    std::vector<std::string> log_keys;
    auto it = e->NewIterator(Cf::kRaft, RaftLogRange(kGroup));
    for (it->SeekToFirst(); it->Valid(); it->Next()) log_keys.emplace_back(it->key());
    EXPECT_EQ(log_keys.size(), 2u);
  }
  // RocksDB's raft CF is empty now.
  auto rocks = RocksEngine::Open(EngineOptions{.path = dir.path()});
  ASSERT_OK(rocks);
  auto it = (*rocks)->NewIterator(Cf::kRaft, RaftGroupRange(kGroup));
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  EXPECT_OK(it->status());
}

// A write of both domains: a log entry and truncated state with the apply state.
WriteBatch TwoDomainBatch() {
  WriteBatch b;
  b.DeleteRange(Cf::kRaft, RaftLogRange(kGroup));
  b.Put(Cf::kRaft, TruncatedStateKey(kGroup), "truncated-at-9");
  b.Put(Cf::kData, ApplyStateKey(kGroup), "applied-9");
  return b;
}

class SplitEngineCrashTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  void TearDown() override { failpoint::DisarmAll(); }
};

TEST_P(SplitEngineCrashTest, AnInterruptedTwoDomainWriteIsFinishedAtOpen) {
  testing::TempDir dir;
  {
    std::unique_ptr<Engine> e = MustOpen(EngineOptions{.path = dir.path()});
    WriteBatch first;
    first.Put(Cf::kRaft, RaftLogKey(kGroup, Index(9)), "entry-9");
    ASSERT_OK(e->Write(first, /*sync=*/true));
    failpoint::Arm(GetParam(), failpoint::Action::kError);
    // The "crash": the write stops at the point, and the process goes (the engine is closed).
    EXPECT_FALSE(e->Write(TwoDomainBatch(), /*sync=*/false).ok());
    failpoint::DisarmAll();
  }
  std::unique_ptr<Engine> e = MustOpen(EngineOptions{.path = dir.path()});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(MustGet(*e, Cf::kData, ApplyStateKey(kGroup)), "applied-9");
  EXPECT_EQ(MustGet(*e, Cf::kRaft, TruncatedStateKey(kGroup)), "truncated-at-9");
  EXPECT_EQ(MustGet(*e, Cf::kRaft, RaftLogKey(kGroup, Index(9))), "<absent>");
  EXPECT_EQ(MustGet(*e, Cf::kMeta, PendingLogWriteKey()), "<absent>");
}

// A two-domain write that failed after RocksDB's part (a full disk for the log, say) keeps its
// intent while the node goes on; a later compaction's sync of RocksDB must not drop it.
TEST(SplitEngineTest, AFailedTwoDomainWritesIntentOutlivesLaterSyncs) {
  testing::TempDir dir;
  {
    std::unique_ptr<Engine> e = MustOpen(EngineOptions{.path = dir.path()});
    failpoint::Arm(kFpSplitAfterRocksPart, failpoint::Action::kError);
    EXPECT_FALSE(e->Write(TwoDomainBatch(), /*sync=*/false).ok());
    failpoint::DisarmAll();
    WriteBatch apply;
    apply.Put(Cf::kData, "other", "unsynced");
    ASSERT_OK(e->Write(apply, /*sync=*/false));
    WriteBatch compact;  // syncs RocksDB first
    compact.Delete(Cf::kRaft, RaftLogKey(GroupId(8), Index(1)));
    ASSERT_OK(e->Write(compact, /*sync=*/false));
    EXPECT_NE(MustGet(*e, Cf::kMeta, PendingLogWriteKey()), "<absent>");
  }
  std::unique_ptr<Engine> e = MustOpen(EngineOptions{.path = dir.path()});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(MustGet(*e, Cf::kRaft, TruncatedStateKey(kGroup)), "truncated-at-9");
  EXPECT_EQ(MustGet(*e, Cf::kMeta, PendingLogWriteKey()), "<absent>");
}

INSTANTIATE_TEST_SUITE_P(CrashPoints, SplitEngineCrashTest,
                         ::testing::Values(kFpSplitAfterRocksPart, kFpSplitAfterLogPart));

TEST(SplitEngineTest, ATwoDomainWriteIsAtomicWhenNotInterrupted) {
  testing::TempDir dir;
  std::unique_ptr<Engine> e = MustOpen(EngineOptions{.path = dir.path()});
  ASSERT_OK(e->Write(TwoDomainBatch(), /*sync=*/false));
  EXPECT_EQ(MustGet(*e, Cf::kData, ApplyStateKey(kGroup)), "applied-9");
  EXPECT_EQ(MustGet(*e, Cf::kRaft, TruncatedStateKey(kGroup)), "truncated-at-9");
  EXPECT_EQ(MustGet(*e, Cf::kMeta, PendingLogWriteKey()), "<absent>");
}

// RocksDB's unsynced writes are lost at a power cut (the fault-injecting file system drops
// them), unless a later log compaction made them durable first.
class SplitEngineDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = std::make_shared<testing::FaultInjectionFs>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
    engine_ = MustOpen(EngineOptions{.path = dir_.path(), .env = env_.get()});
  }
  void PowerCut() {
    fs_->SetActive(false);
    engine_.reset();
    ASSERT_OK(fs_->DropUnsyncedData());
    fs_->SetActive(true);
    engine_ = MustOpen(EngineOptions{.path = dir_.path(), .env = env_.get()});
  }
  void UnsyncedApply() {
    WriteBatch apply;
    apply.Put(Cf::kData, ApplyStateKey(kGroup), "applied-9");
    ASSERT_OK(engine_->Write(apply, /*sync=*/false));
  }

  testing::TempDir dir_;
  std::shared_ptr<testing::FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(SplitEngineDurabilityTest, AnAppendLeavesEarlierRocksWritesUnsynced) {
  UnsyncedApply();
  WriteBatch append;
  append.Put(Cf::kRaft, RaftLogKey(kGroup, Index(10)), "entry-10");
  ASSERT_OK(engine_->Write(append, /*sync=*/true));
  PowerCut();
  EXPECT_EQ(MustGet(*engine_, Cf::kData, ApplyStateKey(kGroup)), "<absent>");
  EXPECT_EQ(MustGet(*engine_, Cf::kRaft, RaftLogKey(kGroup, Index(10))), "entry-10");
}

TEST_F(SplitEngineDurabilityTest, ALogCompactionMakesEarlierRocksWritesDurableFirst) {
  UnsyncedApply();
  WriteBatch compact;
  compact.DeleteRange(Cf::kRaft, RaftLogRange(kGroup));
  compact.Put(Cf::kRaft, TruncatedStateKey(kGroup), "truncated-at-9");
  ASSERT_OK(engine_->Write(compact, /*sync=*/false));
  PowerCut();
  EXPECT_EQ(MustGet(*engine_, Cf::kData, ApplyStateKey(kGroup)), "applied-9");
}

}  // namespace
}  // namespace ringkv::storage
