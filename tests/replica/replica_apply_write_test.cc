// The apply write of a replica. The store writes it off the loop thread
// (FinishReady(kLeaveToCaller), TakeApplyBatch, ApplyWritten): until it lands the replica
// answers nothing it applied, takes no Ready, compacts nothing, and a scan reports the revision
// its data is at. A full disk during apply does not stop a replica (RetryStalledApply): the Raft
// log write of a put succeeds, then the disk fills before the entry is applied. FinishReady must
// not fail; the replica holds the answer, takes no new Ready, keeps leading, and once space is
// back the same apply write goes through, the client gets its answer and the value is there,
// also after a restart. The full disk is a file system whose WAL and table-file appends fail
// with ENOSPC on demand (the apply write itself skips the WAL: a failed flush is what refuses
// it). And the log is compacted only up to what a flush made durable.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "replica/replica.h"
#include "storage/raft_log_store.h"
#include "testutil/status_matchers.h"

namespace ringkv::replica {
namespace {

// Appends to RocksDB's WAL and table files fail with ENOSPC while `full` is set; everything
// else passes through.
class FullDiskFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FullDiskFs(const std::shared_ptr<rocksdb::FileSystem>& base) : FileSystemWrapper(base) {}
  const char* Name() const override { return "FullDiskFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, result, dbg);
    if (s.ok() && (fname.ends_with(".log") || fname.ends_with(".sst"))) {
      *result = std::make_unique<File>(std::move(*result), &full);
    }
    return s;
  }

  std::atomic<bool> full{false};

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, std::atomic<bool>* full)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return target()->Append(data, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (*full_) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return target()->Append(data, o, info, dbg);
    }

   private:
    std::atomic<bool>* full_;
  };
};

class NullEnv : public ReplicaEnv {
 public:
  void SendRaft(raftpb::Message) override {}
  void SendSnapshot(GroupId, raftpb::Message) override {}
  raft::Logger* raft_logger() override { return nullptr; }
  Clock::time_point Now() const override { return Clock::now(); }
  bool TryReserveSnapshotInstall() override { return true; }
  void ReleaseSnapshotInstall() override {}
  // Counted, not done: the test makes the flush (as the store's storage worker would).
  void RequestApplyFlush(storage::Engine* /*engine*/) override { ++flush_requests; }
  int flush_requests = 0;
};

class ApplyWriteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("replica_nospace_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    fs_ = std::make_shared<FullDiskFs>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fs_);
    Open();
  }
  void TearDown() override {
    replica_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    storage::EngineOptions eo;
    eo.path = dir_.string();
    eo.env = env_.get();
    auto e = storage::Engine::Open(eo);
    ASSERT_OK(e);
    engine_ = std::move(e).value();
    ReplicaOptions ro;
    ro.group = GroupId(1);
    ro.self = NodeId(1);
    ro.apply_retry_interval = std::chrono::milliseconds(1);
    ro.compact_threshold = compact_threshold_;
    ro.compact_keep = 1;
    raftpb::ConfState cs;
    cs.add_voters(1);
    auto r = Replica::Open(engine_.get(), ro, &null_env_, &cs);
    ASSERT_OK(r);
    replica_ = std::move(r).value();
  }

  // One turn of the store's pipeline for this replica: collect, write the log batch, then
  // (after `before_apply`) finish. False when there was no Ready.
  bool Pump(const std::function<void()>& before_apply = [] {}) {
    if (!replica_->HasReady()) return false;
    storage::WriteBatch b;
    bool sync = false;
    auto got = replica_->CollectReady(&b, &sync);
    EXPECT_OK(got);
    if (!b.Empty()) {
      EXPECT_OK(engine_->Write(b, sync));
    }
    before_apply();
    EXPECT_OK(replica_->FinishReady());
    return true;
  }

  void BecomeLeader() {
    for (int i = 0; i < 200 && !replica_->is_leader(); ++i) {
      replica_->Tick();
      while (Pump()) {
      }
    }
    ASSERT_TRUE(replica_->is_leader());
    while (Pump()) {
    }
  }

  kvpb::Request Put(const std::string& key, const std::string& value) {
    kvpb::Request req;
    req.set_group_id(1);
    req.mutable_put()->set_key(key);
    req.mutable_put()->set_value(value);
    return req;
  }

  // Collects the next Ready, writes its log batch and finishes it, leaving the apply write to
  // the test as the store does. False when there was no Ready.
  bool PumpLeavingApplyWrite() {
    if (!replica_->HasReady()) return false;
    storage::WriteBatch b;
    bool sync = false;
    EXPECT_OK(replica_->CollectReady(&b, &sync));
    if (!b.Empty()) {
      EXPECT_OK(engine_->Write(b, sync));
    }
    EXPECT_OK(replica_->FinishReady(Replica::ApplyWrite::kLeaveToCaller));
    return true;
  }

  // Hands `req` to the replica with a 30 s deadline; its answer lands in `*answer`.
  void Send(const kvpb::Request& req, std::optional<kvpb::Response>* answer) {
    replica_->HandleRequest(req, [answer](kvpb::Response r) { *answer = std::move(r); },
                            Clock::now() + std::chrono::seconds(30));
  }

  // A serializable scan of the whole group: its revision and the keys it returned.
  std::pair<uint64_t, std::vector<std::string>> LocalScan() {
    kvpb::Request req;
    req.set_group_id(1);
    req.set_consistency(kvpb::SERIALIZABLE);
    req.mutable_scan();
    std::pair<uint64_t, std::vector<std::string>> out;
    replica_->HandleRequest(
        req,
        [&](kvpb::Response r) {
          EXPECT_TRUE(r.has_scan()) << r.ShortDebugString();
          out.first = r.scan().revision();
          for (const auto& kv : r.scan().kvs()) out.second.push_back(kv.key());
        },
        Clock::now() + std::chrono::seconds(5));
    return out;
  }

  std::optional<std::string> LocalGet(const std::string& key) {
    kvpb::Request req;
    req.set_group_id(1);
    req.set_consistency(kvpb::SERIALIZABLE);
    req.mutable_get()->set_key(key);
    std::optional<std::string> out;
    replica_->HandleRequest(
        req,
        [&](kvpb::Response r) {
          if (r.has_get() && r.get().found()) out = r.get().kv().value();
        },
        Clock::now() + std::chrono::seconds(5));
    return out;
  }

  // The log's truncated index as stored.
  Index TruncatedIndex() {
    storage::RaftLogStore log(engine_.get(), GroupId(1));
    EXPECT_OK(log.Load());
    return log.truncated_index();
  }

  uint64_t compact_threshold_ = 20000;
  std::filesystem::path dir_;
  std::shared_ptr<FullDiskFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  NullEnv null_env_;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<Replica> replica_;
};

TEST_F(ApplyWriteTest, ReplicaSurvivesAFullDiskBetweenLogWriteAndApply) {
  BecomeLeader();
  std::optional<kvpb::Response> answer;
  Send(Put("k", "v1"), &answer);
  // The entry is appended and made durable; its commit comes with the next Ready (a single
  // voter acknowledges its own append once it is persisted).
  ASSERT_TRUE(Pump());
  ASSERT_TRUE(replica_->HasReady());
  // The log write of that Ready succeeds; the disk fills before the apply. The apply write
  // skips RocksDB's WAL, so the disk fails it only once a flush of the data CF failed for
  // space (RocksDB then refuses every write until Resume): here one right before it.
  ASSERT_TRUE(Pump([&] {
    fs_->full = true;
    EXPECT_FALSE(engine_->FlushUnlogged(/*wait=*/true).ok());
  }));
  EXPECT_TRUE(replica_->apply_stalled());
  EXPECT_FALSE(answer.has_value()) << "answered before the write was applied";
  EXPECT_FALSE(replica_->HasReady());

  // Still full: retries fail quietly, the replica keeps leading and serving what it applied.
  // Each retry at a later time than the last, so none is skipped as too early.
  Clock::time_point t = Clock::now();
  for (int i = 0; i < 50; ++i) {
    replica_->Tick();
    t += std::chrono::seconds(1);
    ASSERT_OK(replica_->RetryStalledApply(t));
  }
  EXPECT_TRUE(replica_->apply_stalled());
  EXPECT_TRUE(replica_->is_leader());
  EXPECT_FALSE(answer.has_value());
  EXPECT_EQ(LocalGet("k"), std::nullopt);

  // Space is back: the same write lands, the answer goes out, the pipeline resumes.
  fs_->full = false;
  // RocksDB's own recovery from a no-space error runs in the background (Resume answers Busy
  // until it is done), so the retry lands within a few seconds, not at once.
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (replica_->apply_stalled() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a condition
    t += std::chrono::seconds(1);
    ASSERT_OK(replica_->RetryStalledApply(t));
  }
  EXPECT_FALSE(replica_->apply_stalled());
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->has_error()) << answer->ShortDebugString();
  EXPECT_GT(answer->put().version(), 0u);
  EXPECT_EQ(LocalGet("k"), std::optional<std::string>("v1"));

  // Later writes go through as usual.
  std::optional<kvpb::Response> second;
  Send(Put("k", "v2"), &second);
  while (Pump()) {
  }
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->has_error()) << second->ShortDebugString();
  EXPECT_EQ(LocalGet("k"), std::optional<std::string>("v2"));

  // And nothing is lost at a restart: what the data CF did not hold yet (the apply writes
  // are unlogged), the log replays.
  replica_.reset();
  engine_.reset();
  Open();
  while (Pump()) {
  }
  EXPECT_EQ(LocalGet("k"), std::optional<std::string>("v2"));
}

// Apply writes skip RocksDB's WAL: until a flush of the data CF covers one, a crash would lose
// it and the log must replay its entries. So the log is compacted only up to the durable
// applied index, however far past the compaction threshold the applied index is.
TEST_F(ApplyWriteTest, TheLogIsCompactedOnlyUpToWhatAFlushMadeDurable) {
  replica_.reset();
  engine_.reset();
  compact_threshold_ = 3;
  Open();
  BecomeLeader();
  ASSERT_OK(engine_->FlushUnlogged(/*wait=*/true));  // the election's applies
  const Index durable = replica_->DurableApplied();
  for (int i = 0; i < 10; ++i) {
    std::optional<kvpb::Response> answer;
    Send(Put("k" + std::to_string(i), "v"), &answer);
    while (Pump()) {
    }
    ASSERT_TRUE(answer.has_value());
  }
  EXPECT_EQ(replica_->DurableApplied(), durable);  // no flush yet (64 MiB memtables)
  EXPECT_LE(TruncatedIndex(), durable);
  EXPECT_GT(null_env_.flush_requests, 0);  // the replica asked for one
  const Index applied = replica_->GetStatus().applied;
  EXPECT_GE(applied.value(), durable.value() + 10);

  ASSERT_OK(engine_->FlushUnlogged(/*wait=*/true));
  EXPECT_EQ(replica_->DurableApplied(), applied);
  std::optional<kvpb::Response> answer;
  Send(Put("after", "v"), &answer);
  while (Pump()) {
  }
  ASSERT_TRUE(answer.has_value());
  EXPECT_GT(TruncatedIndex(), durable);  // compacted, keeping compact_keep entries
  EXPECT_LE(TruncatedIndex(), applied);
}

TEST_F(ApplyWriteTest, AnswersAndReadsWaitForTheApplyWriteTheStoreMakes) {
  BecomeLeader();
  const auto [rev0, keys0] = LocalScan();
  EXPECT_TRUE(keys0.empty());
  std::optional<kvpb::Response> answer;
  Send(Put("k", "v1"), &answer);
  ASSERT_TRUE(Pump());  // the entry is appended and durable; it commits with the next Ready
  ASSERT_TRUE(PumpLeavingApplyWrite());
  ASSERT_TRUE(replica_->apply_to_write());
  EXPECT_FALSE(replica_->apply_stalled());

  // Applied in memory only: no answer, no new Ready, no compaction, and a scan reports the
  // revision of the data it read, not the applied index in memory.
  EXPECT_FALSE(answer.has_value()) << "answered before the apply write landed";
  EXPECT_FALSE(replica_->HasReady());
  EXPECT_FALSE(replica_->CompactNow().ok());
  EXPECT_EQ(LocalScan(), std::make_pair(rev0, std::vector<std::string>{}));
  // A linearizable read that arrives meanwhile waits too (it is served from the data).
  std::optional<kvpb::Response> read;
  kvpb::Request get;
  get.set_group_id(1);
  get.mutable_get()->set_key("k");
  Send(get, &read);
  replica_->Tick();  // heartbeats may leave, nothing else happens
  EXPECT_FALSE(read.has_value());
  EXPECT_FALSE(replica_->HasReady());

  storage::WriteBatch batch = replica_->TakeApplyBatch();
  EXPECT_FALSE(batch.Empty());
  Result<uint64_t> written = engine_->WriteUnlogged({&batch});
  ASSERT_OK(written.status());
  ASSERT_OK(replica_->ApplyWritten(written, std::move(batch)));
  EXPECT_FALSE(replica_->apply_to_write());
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->has_error()) << answer->ShortDebugString();
  const auto [rev1, keys1] = LocalScan();
  EXPECT_GE(rev1, answer->put().version());
  EXPECT_EQ(keys1, std::vector<std::string>{"k"});
  while (Pump()) {
  }
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(read->has_get()) << read->ShortDebugString();
  EXPECT_EQ(read->get().kv().value(), "v1");
  EXPECT_OK(replica_->CompactNow());
}

TEST_F(ApplyWriteTest, AFullDiskOnTheStoresApplyWriteStallsTheReplicaUntilARetryLands) {
  BecomeLeader();
  std::optional<kvpb::Response> answer;
  Send(Put("k", "v1"), &answer);
  ASSERT_TRUE(Pump());
  ASSERT_TRUE(PumpLeavingApplyWrite());
  storage::WriteBatch batch = replica_->TakeApplyBatch();
  // The store's write failed for space: the replica keeps the batch and retries it itself.
  ASSERT_OK(replica_->ApplyWritten(ringkv::Status::ResourceExhausted("injected: disk full"),
                                   std::move(batch)));
  EXPECT_TRUE(replica_->apply_stalled());
  EXPECT_FALSE(replica_->apply_to_write());
  EXPECT_FALSE(answer.has_value());
  EXPECT_FALSE(replica_->HasReady());
  ASSERT_OK(replica_->RetryStalledApply(Clock::now() + std::chrono::seconds(1)));
  EXPECT_FALSE(replica_->apply_stalled());
  ASSERT_TRUE(answer.has_value());
  EXPECT_FALSE(answer->has_error()) << answer->ShortDebugString();
  EXPECT_EQ(LocalGet("k"), std::optional<std::string>("v1"));
}

}  // namespace
}  // namespace ringkv::replica
