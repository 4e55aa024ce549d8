#include "storage/raft_log_store.h"

#include <gtest/gtest.h>

#include "storage/keys.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

raftpb::Entry E(uint64_t index, uint64_t term, std::string data = "") {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data.empty() ? "d" + std::to_string(index) + "t" + std::to_string(term) : data);
  return e;
}

class RaftLogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = Engine::Open(EngineOptions{.path = dir_.path()});
    ASSERT_OK(e);
    engine_ = std::move(e).value();
    store_ = std::make_unique<RaftLogStore>(engine_.get(), GroupId(1));
    ASSERT_OK(store_->Load());
  }
  // Appends and writes; fails the test on error.
  void Append(const std::vector<raftpb::Entry>& entries) {
    WriteBatch b;
    ASSERT_OK(store_->Append(&b, entries));
    ASSERT_OK(engine_->Write(b, true));
  }
  // A fresh store over the same engine, loaded from disk.
  std::unique_ptr<RaftLogStore> Reloaded(GroupId g = GroupId(1)) {
    auto s = std::make_unique<RaftLogStore>(engine_.get(), g);
    EXPECT_OK(s->Load());
    return s;
  }
  std::vector<uint64_t> Terms(const RaftLogStore& s, uint64_t lo, uint64_t hi) {
    auto r = s.Entries(Index(lo), Index(hi), ~0ull);
    EXPECT_OK(r);
    std::vector<uint64_t> out;
    if (r.ok()) {
      for (const auto& e : *r) out.push_back(e.term());
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RaftLogStore> store_;
};

TEST_F(RaftLogStoreTest, EmptyGroup) {
  EXPECT_EQ(store_->FirstIndex(), Index(1));
  EXPECT_EQ(store_->LastIndex(), Index(0));
  auto t = store_->TermAt(Index(0));
  ASSERT_OK(t);
  EXPECT_EQ(*t, Term(0));
  EXPECT_TRUE(store_->TermAt(Index(1)).status().IsUnavailable());
  auto none = store_->Entries(Index(1), Index(1), 100);
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(RaftLogStoreTest, AppendAndReadBack) {
  Append({E(1, 1), E(2, 1), E(3, 2), E(4, 2), E(5, 3)});
  EXPECT_EQ(store_->LastIndex(), Index(5));
  EXPECT_EQ(Terms(*store_, 1, 6), (std::vector<uint64_t>{1, 1, 2, 2, 3}));
  auto e = store_->Entries(Index(3), Index(4), 0);
  ASSERT_OK(e);
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].data(), "d3t2");
  auto reloaded = Reloaded();
  EXPECT_EQ(reloaded->FirstIndex(), Index(1));
  EXPECT_EQ(reloaded->LastIndex(), Index(5));
  auto t = reloaded->TermAt(Index(4));
  ASSERT_OK(t);
  EXPECT_EQ(*t, Term(2));
}

TEST_F(RaftLogStoreTest, EntriesRespectsMaxBytesButReturnsAtLeastOne) {
  Append({E(1, 1, std::string(100, 'a')), E(2, 1, std::string(100, 'b')),
          E(3, 1, std::string(100, 'c'))});
  const uint64_t one = E(1, 1, std::string(100, 'a')).ByteSizeLong();
  auto r = store_->Entries(Index(1), Index(4), 1);
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 1u);
  r = store_->Entries(Index(1), Index(4), 2 * one);
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 2u);
  r = store_->Entries(Index(1), Index(4), 3 * one);
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 3u);
}

TEST_F(RaftLogStoreTest, ConflictingAppendTruncatesSuffix) {
  Append({E(1, 1), E(2, 1), E(3, 1), E(4, 1), E(5, 1)});
  Append({E(3, 2), E(4, 2)});
  EXPECT_EQ(store_->LastIndex(), Index(4));
  EXPECT_EQ(Terms(*store_, 1, 5), (std::vector<uint64_t>{1, 1, 2, 2}));
  EXPECT_TRUE(store_->Entries(Index(1), Index(6), 100).status().IsUnavailable());
  auto reloaded = Reloaded();
  EXPECT_EQ(reloaded->LastIndex(), Index(4));  // entry 5 really deleted
  // Extending in the middle with a longer run replaces and extends.
  Append({E(2, 3), E(3, 3), E(4, 3), E(5, 3), E(6, 3)});
  EXPECT_EQ(Terms(*store_, 1, 7), (std::vector<uint64_t>{1, 3, 3, 3, 3, 3}));
}

TEST_F(RaftLogStoreTest, AppendRejectsGapsAndNonConsecutive) {
  Append({E(1, 1), E(2, 1)});
  WriteBatch b;
  EXPECT_TRUE(store_->Append(&b, {E(4, 1)}).IsInvalidArgument());
  EXPECT_TRUE(store_->Append(&b, {E(3, 1), E(5, 1)}).IsInvalidArgument());
  EXPECT_TRUE(b.Empty());
  EXPECT_EQ(store_->LastIndex(), Index(2));
}

TEST_F(RaftLogStoreTest, CompactAndErrors) {
  Append({E(1, 1), E(2, 1), E(3, 2), E(4, 2), E(5, 2)});
  WriteBatch b;
  EXPECT_TRUE(store_->Compact(&b, Index(3), Term(1)).IsInvalidArgument());  // wrong term
  EXPECT_TRUE(store_->Compact(&b, Index(9), Term(2)).IsUnavailable());
  ASSERT_OK(store_->Compact(&b, Index(3), Term(2)));
  ASSERT_OK(engine_->Write(b, true));
  auto reloaded = Reloaded();
  for (const RaftLogStore* s : {store_.get(), reloaded.get()}) {
    EXPECT_EQ(s->FirstIndex(), Index(4));
    EXPECT_EQ(s->LastIndex(), Index(5));
    EXPECT_EQ(s->truncated_term(), Term(2));
    auto t = s->TermAt(Index(3));
    ASSERT_OK(t);
    EXPECT_EQ(*t, Term(2));
    EXPECT_TRUE(s->TermAt(Index(2)).status().IsNotFound());
    EXPECT_TRUE(s->Entries(Index(3), Index(5), 100).status().IsNotFound());
    EXPECT_EQ(Terms(*s, 4, 6), (std::vector<uint64_t>{2, 2}));
  }
  WriteBatch again;
  EXPECT_TRUE(store_->Compact(&again, Index(3), Term(2)).IsNotFound());
  // Entries at or below the truncated index are skipped on append.
  Append({E(2, 1), E(3, 2), E(4, 2), E(5, 2), E(6, 2)});
  EXPECT_EQ(store_->LastIndex(), Index(6));
  EXPECT_EQ(Reloaded()->FirstIndex(), Index(4));
}

TEST_F(RaftLogStoreTest, CompactWholeLog) {
  Append({E(1, 1), E(2, 1)});
  WriteBatch b;
  ASSERT_OK(store_->Compact(&b, Index(2), Term(1)));
  ASSERT_OK(engine_->Write(b, true));
  auto s = Reloaded();
  EXPECT_EQ(s->FirstIndex(), Index(3));
  EXPECT_EQ(s->LastIndex(), Index(2));
  Append({E(3, 4)});
  EXPECT_EQ(Terms(*Reloaded(), 3, 4), (std::vector<uint64_t>{4}));
}

TEST_F(RaftLogStoreTest, HardStateAndConfStatePersist) {
  raftpb::HardState hs;
  hs.set_term(7);
  hs.set_vote(3);
  hs.set_commit(42);
  raftpb::ConfState cs;
  cs.add_voters(1);
  cs.add_voters(2);
  cs.add_learners(5);
  WriteBatch b;
  store_->SetHardState(&b, hs);
  store_->SetConfState(&b, cs);
  ASSERT_OK(engine_->Write(b, true));
  auto s = Reloaded();
  EXPECT_EQ(s->hard_state().SerializeAsString(), hs.SerializeAsString());
  EXPECT_EQ(s->conf_state().SerializeAsString(), cs.SerializeAsString());
  EXPECT_EQ(Reloaded(GroupId(2))->hard_state().term(), 0u);  // groups are separate
}

TEST_F(RaftLogStoreTest, ApplySnapshotMetaResetsLog) {
  Append({E(1, 1), E(2, 1), E(3, 1)});
  raftpb::SnapshotMetadata meta;
  meta.set_index(10);
  meta.set_term(4);
  meta.mutable_conf_state()->add_voters(9);
  raftpb::HardState hs;  // older than the snapshot: term 2, commit 2
  hs.set_term(2);
  hs.set_vote(7);
  hs.set_commit(2);
  WriteBatch b;
  store_->ApplySnapshotMeta(&b, meta, hs);
  ASSERT_OK(engine_->Write(b, true));
  auto reloaded = Reloaded();
  for (const RaftLogStore* s : {store_.get(), reloaded.get()}) {
    EXPECT_EQ(s->FirstIndex(), Index(11));
    EXPECT_EQ(s->LastIndex(), Index(10));
    auto t = s->TermAt(Index(10));
    ASSERT_OK(t);
    EXPECT_EQ(*t, Term(4));
    EXPECT_EQ(s->conf_state().voters_size(), 1);
    // The hard state is written with the log it describes: commit at the snapshot index, the
    // term raised to the snapshot's with no vote.
    EXPECT_EQ(s->hard_state().commit(), 10u);
    EXPECT_EQ(s->hard_state().term(), 4u);
    EXPECT_EQ(s->hard_state().vote(), 0u);
  }
  Append({E(11, 4)});
  EXPECT_EQ(Terms(*Reloaded(), 11, 12), (std::vector<uint64_t>{4}));
}

TEST_F(RaftLogStoreTest, GroupsDoNotInterfere) {
  Append({E(1, 1), E(2, 1), E(3, 1)});
  RaftLogStore other(engine_.get(), GroupId(2));
  ASSERT_OK(other.Load());
  WriteBatch b;
  ASSERT_OK(other.Append(&b, {E(1, 5)}));
  ASSERT_OK(engine_->Write(b, true));
  EXPECT_EQ(Reloaded()->LastIndex(), Index(3));
  EXPECT_EQ(Reloaded(GroupId(2))->LastIndex(), Index(1));
  EXPECT_EQ(Reloaded(GroupId(0))->LastIndex(), Index(0));
}

TEST_F(RaftLogStoreTest, CorruptEntryAndHoleAreCorruption) {
  Append({E(1, 1), E(2, 1), E(3, 1), E(4, 1)});
  WriteBatch b;
  b.PutRawForTesting(Cf::kRaft, RaftLogKey(GroupId(1), Index(2)), "\x01\x02\x03\x04garbage");
  b.Delete(Cf::kRaft, RaftLogKey(GroupId(1), Index(4)));
  ASSERT_OK(engine_->Write(b, true));
  auto r = store_->Entries(Index(1), Index(3), 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status();
  EXPECT_TRUE(store_->TermAt(Index(2)).status().IsCorruption());
  auto hole = store_->Entries(Index(3), Index(5), 1000);
  EXPECT_TRUE(hole.status().IsCorruption()) << hole.status();
}

TEST_F(RaftLogStoreTest, LoadDetectsLogNotStartingAfterTruncatedIndex) {
  Append({E(1, 1), E(2, 1), E(3, 1)});
  WriteBatch b;
  b.Delete(Cf::kRaft, RaftLogKey(GroupId(1), Index(1)));
  ASSERT_OK(engine_->Write(b, true));
  RaftLogStore s(engine_.get(), GroupId(1));
  EXPECT_TRUE(s.Load().IsCorruption());
}

// A hard state left behind the truncated index by an older version's interrupted snapshot
// install (issue 10: "hard state commit 8 is out of range [96579, 96579]" at every start) is
// repaired at load: everything up to the truncated index is committed.
TEST_F(RaftLogStoreTest, LoadRaisesACommitBelowTheTruncatedIndex) {
  raftpb::SnapshotMetadata meta;
  meta.set_index(50);
  meta.set_term(3);
  meta.mutable_conf_state()->add_voters(1);
  WriteBatch b;
  store_->ApplySnapshotMeta(&b, meta, raftpb::HardState());
  raftpb::HardState stale;
  stale.set_term(3);
  stale.set_vote(1);
  stale.set_commit(8);
  store_->SetHardState(&b, stale);  // the old install wrote no hard state
  ASSERT_OK(engine_->Write(b, true));
  auto s = Reloaded();
  EXPECT_EQ(s->hard_state().commit(), 50u);
  EXPECT_EQ(s->hard_state().term(), 3u);
  EXPECT_EQ(s->hard_state().vote(), 1u);
}

// Sum of the serialized sizes of entries [lo, hi] as given.
uint64_t SizeOf(const std::vector<raftpb::Entry>& es, uint64_t lo, uint64_t hi) {
  uint64_t n = 0;
  for (const auto& e : es) {
    if (e.index() >= lo && e.index() <= hi) n += e.ByteSizeLong();
  }
  return n;
}

TEST_F(RaftLogStoreTest, LogBytesFollowAppendsOverwritesAndCompaction) {
  std::vector<raftpb::Entry> es;
  for (uint64_t i = 1; i <= 6; ++i) es.push_back(E(i, 1, std::string(i * 10, 'x')));
  Append(es);
  EXPECT_EQ(store_->LogBytes(), SizeOf(es, 1, 6));
  EXPECT_EQ(store_->BytesThrough(Index(3)), SizeOf(es, 1, 3));
  EXPECT_EQ(store_->BytesThrough(Index(0)), 0u);
  EXPECT_EQ(store_->BytesThrough(Index(99)), store_->LogBytes());

  // A conflicting suffix from index 5 replaces 5 and 6 by one larger entry.
  std::vector<raftpb::Entry> tail = {E(5, 2, std::string(500, 'y'))};
  Append(tail);
  EXPECT_EQ(store_->LastIndex(), Index(5));
  EXPECT_EQ(store_->LogBytes(), SizeOf(es, 1, 4) + tail[0].ByteSizeLong());

  WriteBatch b;
  ASSERT_OK(store_->Compact(&b, Index(2), Term(1)));
  ASSERT_OK(engine_->Write(b, true));
  EXPECT_EQ(store_->LogBytes(), SizeOf(es, 3, 4) + tail[0].ByteSizeLong());
  EXPECT_EQ(store_->BytesThrough(Index(4)), SizeOf(es, 3, 4));
  EXPECT_EQ(store_->BytesThrough(Index(2)), 0u);
  // A reload counts the same from disk.
  auto reloaded = Reloaded();
  EXPECT_EQ(reloaded->LogBytes(), store_->LogBytes());
  EXPECT_EQ(reloaded->BytesThrough(Index(4)), store_->BytesThrough(Index(4)));
  // Appending after a reload continues the sums.
  std::vector<raftpb::Entry> more = {E(6, 2, "z")};
  WriteBatch b2;
  ASSERT_OK(reloaded->Append(&b2, more));
  ASSERT_OK(engine_->Write(b2, true));
  EXPECT_EQ(reloaded->LogBytes(), store_->LogBytes() + more[0].ByteSizeLong());

  raftpb::SnapshotMetadata meta;
  meta.set_index(10);
  meta.set_term(3);
  WriteBatch b3;
  reloaded->ApplySnapshotMeta(&b3, meta, raftpb::HardState());
  EXPECT_EQ(reloaded->LogBytes(), 0u);
}

TEST_F(RaftLogStoreTest, CompactionPointKeepsTheNewestEntriesThatFit) {
  std::vector<raftpb::Entry> es;
  for (uint64_t i = 1; i <= 10; ++i) es.push_back(E(i, 1, std::string(100, 'v')));
  Append(es);
  const uint64_t one = es[0].ByteSizeLong();
  // Keep what fits 3.5 entries of the applied prefix up to 8: entries 6, 7, 8.
  EXPECT_EQ(store_->CompactionPointKeeping(Index(8), one * 7 / 2), Index(5));
  EXPECT_EQ(store_->CompactionPointKeeping(Index(8), 0), Index(8));
  EXPECT_EQ(store_->CompactionPointKeeping(Index(8), one * 100), Index(0));
  WriteBatch b;
  ASSERT_OK(store_->Compact(&b, Index(4), Term(1)));
  ASSERT_OK(engine_->Write(b, true));
  EXPECT_EQ(store_->CompactionPointKeeping(Index(8), one * 100), Index(4));
  EXPECT_EQ(store_->CompactionPointKeeping(Index(8), one * 2), Index(6));
}

}  // namespace
}  // namespace ringkv::storage
