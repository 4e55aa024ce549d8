// Crash tests: the engine runs on FaultInjectionFs, which loses every unsynced write at a
// simulated crash. After reopening, every batch written with sync=true must be present, and the
// surviving state must be exactly a prefix of the batch sequence across all column families and
// groups (a batch is all or nothing; no later batch survives an earlier lost one).
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <map>

#include "common/coding.h"
#include "common/random.h"
#include "storage/engine.h"
#include "storage/fault_injection_fs.h"
#include "storage/kv_state.h"
#include "storage/raft_log_store.h"
#include "storage/rocks_engine.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

constexpr int kGroups = 3;
const std::string kCounterKey = "test-batch-counter";

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = std::make_shared<testing::FaultInjectionFs>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
    Open();
  }

  void Open() {
    // Small memtables so flushes (and WAL switches) happen during the run.
    // RocksDB alone: the fault-injecting file system is RocksDB's (the node's engine keeps the
    // raft CF in its own files; split_engine_test.cc checks the two together).
    auto e = RocksEngine::Open(EngineOptions{.path = dir_.path(),
                                        .env = env_.get(),
                                        .raft_write_buffer_size = 64 << 10,
                                        .data_write_buffer_size = 64 << 10});
    ASSERT_OK(e);
    engine_ = std::move(e).value();
  }

  void Crash() {
    fs_->SetActive(false);
    engine_.reset();
    ASSERT_OK(fs_->DropUnsyncedData());
    fs_->SetActive(true);
    Open();
  }

  uint64_t Counter() {
    auto v = engine_->Get(Cf::kMeta, kCounterKey);
    EXPECT_OK(v);
    if (!v.ok() || !v->has_value()) return 0;
    return DecodeFixed64BE((*v)->data());
  }

  // Batch number n (1-based) touches group groups_[n-1]: one log entry, hard state, one user
  // key, the apply state, and the global counter in the meta CF.
  void WriteBatchNumber(uint64_t n, GroupId g, bool sync) {
    RaftLogStore log(engine_.get(), g);
    KvState kv(engine_.get(), g);
    ASSERT_OK(log.Load());
    ASSERT_OK(kv.Load());
    const Index index = log.LastIndex() + 1;
    WriteBatch b;
    raftpb::Entry e;
    e.set_index(index.value());
    e.set_term(1);
    e.set_data("batch" + std::to_string(n) + std::string(200, 'p'));
    ASSERT_OK(log.Append(&b, {e}));
    raftpb::HardState hs;
    hs.set_term(1);
    hs.set_commit(index.value());
    log.SetHardState(&b, hs);
    kv.Put(&b, "k" + std::to_string(n), std::string(300, 'v'), index);
    kv.SetApplyState(&b, ApplyState{index, Term(1)});
    std::string counter;
    PutFixed64BE(&counter, n);
    b.Put(Cf::kMeta, kCounterKey, counter);
    ASSERT_OK(engine_->Write(b, sync));
  }

  // Checks the engine holds exactly batches 1..Counter() and returns Counter().
  uint64_t VerifyPrefix() {
    const uint64_t k = Counter();
    std::map<uint64_t, uint64_t> per_group;  // group -> batches <= k that touched it
    for (uint64_t n = 1; n <= groups_.size(); ++n) {
      const GroupId g = groups_[n - 1];
      KvState kv(engine_.get(), g);
      auto v = kv.Get("k" + std::to_string(n));
      EXPECT_OK(v);
      if (n <= k) {
        ++per_group[g.value()];
        EXPECT_TRUE(v.ok() && v->has_value()) << "batch " << n << " of prefix " << k << " lost";
      } else {
        EXPECT_TRUE(v.ok() && !v->has_value()) << "batch " << n << " beyond prefix " << k;
      }
    }
    for (int gi = 1; gi <= kGroups; ++gi) {
      const GroupId g(gi);
      RaftLogStore log(engine_.get(), g);
      KvState kv(engine_.get(), g);
      EXPECT_OK(log.Load());
      EXPECT_OK(kv.Load());
      const uint64_t expected = per_group[gi];
      EXPECT_EQ(log.LastIndex(), Index(expected)) << "group " << gi;
      EXPECT_EQ(kv.applied().applied_index, Index(expected)) << "group " << gi;
      EXPECT_EQ(log.hard_state().commit(), expected) << "group " << gi;
      if (expected > 0) {
        auto entries = log.Entries(Index(1), Index(expected + 1), ~0ull);
        EXPECT_OK(entries);
        if (entries.ok()) {
          EXPECT_EQ(entries->size(), expected);
        }
      }
    }
    return k;
  }

  testing::TempDir dir_;
  std::shared_ptr<testing::FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<Engine> engine_;
  std::vector<GroupId> groups_;  // group of batch n at [n-1]
};

TEST_F(CrashTest, UnsyncedWritesAreLostAtCrash) {
  groups_ = {GroupId(1), GroupId(2)};
  WriteBatchNumber(1, groups_[0], /*sync=*/true);
  WriteBatchNumber(2, groups_[1], /*sync=*/false);
  Crash();
  groups_.resize(VerifyPrefix());
  EXPECT_EQ(groups_.size(), 1u);  // the fault FS really dropped the unsynced batch
}

TEST_F(CrashTest, SyncedBatchesSurviveAndStateIsAPrefix) {
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  Random rnd(seed);
  for (int round = 0; round < 4; ++round) {
    uint64_t last_synced = groups_.size();
    const uint64_t start = groups_.size() + 1;
    const uint64_t end = start + 150;
    for (uint64_t n = start; n < end; ++n) {
      const GroupId g(1 + rnd.Uniform(kGroups));
      groups_.push_back(g);
      const bool final_batch = n + 1 == end;  // never synced nor flushed: must be lost
      const bool sync = !final_batch && rnd.Bernoulli(0.3);
      WriteBatchNumber(n, g, sync);
      if (sync) last_synced = n;
      if (!final_batch && rnd.Bernoulli(0.02)) {
        ASSERT_OK(engine_->FlushForTesting());
      }
    }
    Crash();
    const uint64_t survived = VerifyPrefix();
    EXPECT_GE(survived, last_synced) << "seed " << seed << " round " << round;
    EXPECT_LT(survived, end - 1) << "the unsynced final batch survived the crash";
    // Continue from the recovered state: forget the batches that were lost.
    groups_.resize(survived);
    if (HasFailure()) break;
  }
}

// Unlogged writes (the apply writes) on the real RocksDB: at a crash, every one whose ticket
// the engine called durable survives, and what survives is a prefix of them (a flush takes
// the oldest memtables first). Small memtables make RocksDB flush on its own as they fill;
// some rounds also ask for a flush without waiting.
TEST_F(CrashTest, UnloggedWritesSurviveExactlyAsTheirTicketsSay) {
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  Random rnd(seed);
  uint64_t next = 1;
  for (int round = 0; round < 6; ++round) {
    std::vector<std::pair<uint64_t, uint64_t>> written;  // (n, ticket)
    const uint64_t start = next;
    for (int i = 0; i < 400; ++i, ++next) {
      WriteBatch b;
      b.Put(Cf::kData, "u" + std::to_string(next), std::string(1000, 'v'));
      Result<uint64_t> t = engine_->WriteUnlogged({&b});
      ASSERT_OK(t.status());
      written.emplace_back(next, *t);
      if (rnd.Bernoulli(0.01)) {
        ASSERT_OK(engine_->FlushUnlogged(/*wait=*/false));
      }
    }
    const uint64_t durable = engine_->DurableTicket();
    Crash();
    uint64_t survived = start;  // the first lost one
    while (survived < next) {
      auto v = engine_->Get(Cf::kData, "u" + std::to_string(survived));
      ASSERT_OK(v);
      if (!v->has_value()) break;
      ++survived;
    }
    for (const auto& [n, ticket] : written) {
      auto v = engine_->Get(Cf::kData, "u" + std::to_string(n));
      ASSERT_OK(v);
      if (ticket <= durable) {
        EXPECT_TRUE(v->has_value()) << "write " << n << " was durable by its ticket, and lost";
      }
      if (n >= survived) {
        EXPECT_FALSE(v->has_value()) << "write " << n << " survived a lost earlier one";
      }
    }
    EXPECT_GT(survived, start) << "no flush in 400 KB of writes (64 KiB memtables)";
    if (HasFailure()) break;
    next = survived;  // continue from what survived
  }
}

TEST_F(CrashTest, RepeatedCrashWithoutWritesIsStable) {
  groups_ = {GroupId(1)};
  WriteBatchNumber(1, groups_[0], true);
  Crash();
  Crash();
  EXPECT_EQ(VerifyPrefix(), 1u);
}

}  // namespace
}  // namespace ringkv::storage
