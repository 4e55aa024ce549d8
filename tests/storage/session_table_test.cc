// The client-session table: many sequences of one session in flight, answers kept until the
// client's first incomplete passes them, the bounds and what each eviction refuses, and a reload
// that rebuilds exactly the same table.
#include "storage/session_table.h"

#include <gtest/gtest.h>

#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

using V = SessionVerdict;
constexpr GroupId kGroup(4);

class SessionTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = Engine::Open(EngineOptions{.path = dir_.path()});
    ASSERT_OK(e);
    engine_ = std::move(e).value();
    Reload();
  }
  // A fresh table over what is on disk (a restart), with `limits`.
  void Reload(SessionLimits limits = {}) {
    limits_ = limits;
    table_ = std::make_unique<SessionTable>(engine_.get(), kGroup, limits);
    ASSERT_OK(table_->Load());
  }
  // Applies one write at the next index, in its own batch; returns the verdict. Executed writes
  // record "r<client>.<seq>" as their response.
  V Apply(uint64_t client, uint64_t seq, uint64_t first_incomplete, uint64_t started_ms = 1000,
          size_t response_bytes = 0) {
    WriteBatch b;
    const SessionWrite w{client, seq, first_incomplete, started_ms};
    ++index_;
    const V v = table_->Admit(&b, w, Index(index_));
    if (v == V::kExecute) {
      std::string resp = "r" + std::to_string(client) + "." + std::to_string(seq);
      if (response_bytes > resp.size()) resp.resize(response_bytes, '.');
      table_->Record(&b, w, Index(index_), resp);
    }
    EXPECT_OK(engine_->Write(b, false));
    return v;
  }
  std::string Response(uint64_t client, uint64_t seq) {
    auto r = table_->ReadResponse(client, seq);
    EXPECT_OK(r);
    return r.ok() && r->has_value() ? **r : "<none>";
  }
  std::vector<uint64_t> Kept(uint64_t client) {
    auto s = table_->Find(client);
    return s ? s->sequences : std::vector<uint64_t>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  SessionLimits limits_;
  std::unique_ptr<SessionTable> table_;
  uint64_t index_ = 10;
};

TEST_F(SessionTableTest, ManyInFlightRetriesGetTheirOwnAnswersInAnyOrder) {
  // Sequences 1..5 in flight at once; they apply out of order, each retried after later ones
  // applied. The old one-response-per-session table answered these retries with a definite
  // "stale session sequence" although they had taken effect (issue 10).
  EXPECT_EQ(Apply(7, 3, 1), V::kExecute);
  EXPECT_EQ(Apply(7, 1, 1), V::kExecute);
  EXPECT_EQ(Apply(7, 5, 1), V::kExecute);
  EXPECT_EQ(Apply(7, 2, 1), V::kExecute);
  EXPECT_EQ(Apply(7, 1, 1), V::kCached);
  EXPECT_EQ(Apply(7, 3, 1), V::kCached);
  EXPECT_EQ(Apply(7, 4, 1), V::kExecute);
  EXPECT_EQ(Apply(7, 2, 1), V::kCached);
  EXPECT_EQ(Response(7, 1), "r7.1");
  EXPECT_EQ(Response(7, 3), "r7.3");
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  // Another session is independent.
  EXPECT_EQ(Apply(8, 1, 1), V::kExecute);
  EXPECT_EQ(Apply(8, 1, 1), V::kCached);
  EXPECT_EQ(table_->session_count(), 2u);
  EXPECT_EQ(table_->response_count(), 6u);
}

TEST_F(SessionTableTest, FirstIncompleteDiscardsAnswersBelowIt) {
  for (uint64_t seq = 1; seq <= 4; ++seq) EXPECT_EQ(Apply(7, seq, 1), V::kExecute);
  // The client finished 1 and 2 (it says so with sequence 5): their answers go.
  EXPECT_EQ(Apply(7, 5, 3), V::kExecute);
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(Response(7, 2), "<none>");
  // A late duplicate of 2 (an attempt still in the network) is refused, never executed.
  EXPECT_EQ(Apply(7, 2, 1), V::kBelowFirstIncomplete);
  EXPECT_EQ(Apply(7, 4, 3), V::kCached);
  // A first incomplete beyond the sequence is clamped to it: 6 stays answerable.
  EXPECT_EQ(Apply(7, 6, 9), V::kExecute);
  EXPECT_EQ(table_->Find(7)->first_incomplete, 6u);
  EXPECT_EQ(Apply(7, 6, 6), V::kCached);
  // The first incomplete never moves back.
  EXPECT_EQ(Apply(7, 7, 1), V::kExecute);
  EXPECT_EQ(table_->Find(7)->first_incomplete, 6u);
  EXPECT_EQ(Apply(7, 5, 1), V::kBelowFirstIncomplete);
}

TEST_F(SessionTableTest, PerSessionBoundEvictsLowestAndRefusesItsRetries) {
  Reload(SessionLimits{.max_responses_per_session = 3});
  for (uint64_t seq = 1; seq <= 5; ++seq) EXPECT_EQ(Apply(7, seq, 1), V::kExecute);
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(table_->Find(7)->evicted_through, 2u);
  // 1 and 2 applied and their answers are gone: refused (the caller answers "outcome unknown"),
  // never executed a second time.
  EXPECT_EQ(Apply(7, 1, 1), V::kResponseEvicted);
  EXPECT_EQ(Apply(7, 2, 1), V::kResponseEvicted);
  EXPECT_EQ(Apply(7, 4, 1), V::kCached);
  EXPECT_EQ(Apply(7, 6, 1), V::kExecute);
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{4, 5, 6}));
  // The write just recorded is never the one evicted, even when it is the lowest.
  EXPECT_EQ(Apply(8, 9, 1), V::kExecute);
  EXPECT_EQ(Apply(8, 8, 1), V::kExecute);
  EXPECT_EQ(Apply(8, 7, 1), V::kExecute);
  EXPECT_EQ(Apply(8, 6, 1), V::kExecute);
  EXPECT_EQ(Kept(8), (std::vector<uint64_t>{6, 8, 9}));
  EXPECT_EQ(table_->Find(8)->evicted_through, 7u);
}

TEST_F(SessionTableTest, PerSessionByteBoundKeepsTheNewestAnswer) {
  Reload(SessionLimits{.max_response_bytes_per_session = 2500});
  EXPECT_EQ(Apply(7, 1, 1, 1000, 1000), V::kExecute);
  EXPECT_EQ(Apply(7, 2, 1, 1000, 1000), V::kExecute);
  EXPECT_EQ(Apply(7, 3, 1, 1000, 1000), V::kExecute);  // 3000 bytes: 1 goes
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(Apply(7, 4, 1, 1000, 9000), V::kExecute);  // larger than the bound alone: kept
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{4}));
  EXPECT_EQ(table_->response_bytes(), 9000u);
  EXPECT_EQ(Apply(7, 3, 1), V::kResponseEvicted);
}

TEST_F(SessionTableTest, GroupBoundEvictsLeastRecentlyWrittenSessionWhole) {
  Reload(SessionLimits{.max_sessions = 2});
  EXPECT_EQ(Apply(1, 1, 1, /*started_ms=*/100), V::kExecute);
  EXPECT_EQ(Apply(2, 1, 1, 300), V::kExecute);
  EXPECT_EQ(Apply(1, 2, 1, 100), V::kExecute);  // session 1 written last now
  EXPECT_EQ(Apply(3, 1, 1, 400), V::kExecute);  // evicts session 2 (written longest ago)
  EXPECT_FALSE(table_->Find(2).has_value());
  EXPECT_EQ(table_->expired_through_ms(), 300u);
  EXPECT_EQ(table_->response_count(), 3u);
  // Session 2's retry cannot be told apart from a new session's write unless by its start: it
  // is refused, and so is any unknown session that started no later than it.
  EXPECT_EQ(Apply(2, 1, 1, 300), V::kSessionExpired);
  EXPECT_EQ(Apply(4, 1, 1, 250), V::kSessionExpired);
  EXPECT_FALSE(table_->Find(4).has_value());
  // A session that started later is new.
  EXPECT_EQ(Apply(5, 1, 1, 301), V::kExecute);
  EXPECT_FALSE(table_->Find(1).has_value());  // evicted for 5 (1 was written before 3)
  EXPECT_EQ(table_->expired_through_ms(), 300u);  // max(300, 100)
}

TEST_F(SessionTableTest, GroupResponseBoundsEvictSessions) {
  Reload(SessionLimits{.max_responses = 4});
  for (uint64_t seq = 1; seq <= 3; ++seq) EXPECT_EQ(Apply(1, seq, 1, 100), V::kExecute);
  for (uint64_t seq = 1; seq <= 2; ++seq) EXPECT_EQ(Apply(2, seq, 1, 200), V::kExecute);
  EXPECT_FALSE(table_->Find(1).has_value());
  EXPECT_EQ(Kept(2), (std::vector<uint64_t>{1, 2}));
  // The session being written is never evicted for the group bound, even alone over it.
  for (uint64_t seq = 3; seq <= 6; ++seq) EXPECT_EQ(Apply(2, seq, 1, 200), V::kExecute);
  EXPECT_EQ(table_->response_count(), 6u);
  Reload(SessionLimits{.max_response_bytes = 100});
  EXPECT_EQ(Apply(3, 1, 1, 300, 150), V::kExecute);
  EXPECT_FALSE(table_->Find(2).has_value());
  EXPECT_EQ(table_->expired_through_ms(), 200u);
}

TEST_F(SessionTableTest, ReloadRebuildsTheSameTable) {
  Reload(SessionLimits{.max_responses_per_session = 3, .max_sessions = 3});
  Apply(8, 1, 1, 600);
  for (uint64_t seq = 1; seq <= 5; ++seq) Apply(7, seq, seq > 2 ? 2 : 1, 500);
  Apply(9, 1, 1, 700);
  Apply(10, 1, 1, 800);  // evicts 8, written longest ago
  const auto before7 = table_->Find(7);
  ASSERT_TRUE(before7.has_value());
  EXPECT_EQ(before7->sequences, (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(before7->evicted_through, 2u);
  const size_t responses = table_->response_count();
  const uint64_t bytes = table_->response_bytes();
  Reload(limits_);
  const auto after7 = table_->Find(7);
  ASSERT_TRUE(after7.has_value());
  EXPECT_EQ(after7->first_incomplete, before7->first_incomplete);
  EXPECT_EQ(after7->evicted_through, before7->evicted_through);
  EXPECT_EQ(after7->started_ms, before7->started_ms);
  EXPECT_EQ(after7->written_at, before7->written_at);
  EXPECT_EQ(after7->sequences, before7->sequences);
  EXPECT_FALSE(table_->Find(8).has_value());
  EXPECT_EQ(table_->expired_through_ms(), 600u);
  EXPECT_EQ(table_->response_count(), responses);
  EXPECT_EQ(table_->response_bytes(), bytes);
  EXPECT_EQ(Response(7, 5), "r7.5");
  // The eviction order survived: the next new session evicts 7 (written before 9 and 10).
  Apply(11, 1, 1, 900);
  EXPECT_FALSE(table_->Find(7).has_value());
  EXPECT_TRUE(table_->Find(9).has_value());
}

TEST_F(SessionTableTest, LegacyOneResponseRecordRefusesItsSequences) {
  // A session stored by the one-response format: its answer is not kept any more, so its
  // sequences up to the last one are refused (outcome unknown), later ones execute.
  storagepb::SessionRecord rec;
  rec.set_legacy_last_sequence(4);
  rec.set_written_at(3);
  WriteBatch b;
  PutProto(&b, Cf::kData, SessionKey(kGroup, 7), rec);
  ASSERT_OK(engine_->Write(b, true));
  Reload();
  EXPECT_EQ(Apply(7, 4, 1), V::kResponseEvicted);
  EXPECT_EQ(Apply(7, 5, 1), V::kExecute);
}

// How many records of the group's session range are stored (the session-table record, sessions
// and separate responses).
size_t StoredSessionRecords(Engine* engine) {
  size_t n = 0;
  std::unique_ptr<Iterator> it = engine->NewIterator(Cf::kData, SessionRange(kGroup));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  return n;
}

TEST_F(SessionTableTest, SmallResponsesLiveInTheSessionRecordUpToTheInlineCount) {
  constexpr size_t kInline = SessionTable::kMaxInlineResponses;
  // first_incomplete stays 1: every response is kept. The first kInline small ones are inlined,
  // the rest and every large one get records of their own.
  for (uint64_t seq = 1; seq <= kInline + 3; ++seq) EXPECT_EQ(Apply(7, seq, 1), V::kExecute);
  const size_t large = SessionTable::kMaxInlineResponseBytes + 1;
  EXPECT_EQ(Apply(7, kInline + 4, 1, 1000, large), V::kExecute);
  EXPECT_EQ(table_->Find(7)->inline_responses, kInline);
  EXPECT_EQ(StoredSessionRecords(engine_.get()), 1 + 4u);  // the session + 4 separate
  // Every one answers, and a restart rebuilds the same split and totals.
  const uint64_t bytes = table_->response_bytes();
  Reload();
  EXPECT_EQ(table_->Find(7)->inline_responses, kInline);
  EXPECT_EQ(table_->response_count(), kInline + 4);
  EXPECT_EQ(table_->response_bytes(), bytes);
  for (uint64_t seq = 1; seq <= kInline + 3; ++seq) {
    EXPECT_EQ(Response(7, seq), "r7." + std::to_string(seq));
    EXPECT_EQ(Apply(7, seq, 1), V::kCached);
  }
  EXPECT_EQ(Response(7, kInline + 4).size(), large);
  // The client moves its first incomplete past all but the last: the inlined answers leave the
  // record, the separate ones are deleted, and freed inline room is used again.
  EXPECT_EQ(Apply(7, kInline + 5, kInline + 4), V::kExecute);
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{kInline + 4, kInline + 5}));
  EXPECT_EQ(table_->Find(7)->inline_responses, 1u);
  EXPECT_EQ(StoredSessionRecords(engine_.get()), 1 + 1u);
  EXPECT_EQ(Apply(7, 3, kInline + 4), V::kBelowFirstIncomplete);
  Reload();
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{kInline + 4, kInline + 5}));
  EXPECT_EQ(Response(7, kInline + 5), "r7." + std::to_string(kInline + 5));
  EXPECT_EQ(table_->response_count(), 2u);
}

TEST_F(SessionTableTest, SeparateResponsesOfAnOlderFormatStillAnswer) {
  // A session stored before responses were inlined: its record has none, each answer is a
  // record of its own. Loaded, it answers, and it is forgotten the usual way.
  storagepb::SessionRecord rec;
  rec.set_written_at(3);
  rec.set_first_incomplete(1);
  rec.set_started_ms(1000);
  WriteBatch b;
  PutProto(&b, Cf::kData, SessionKey(kGroup, 7), rec);
  b.Put(Cf::kData, SessionResponseKey(kGroup, 7, 1), "r7.1");
  b.Put(Cf::kData, SessionResponseKey(kGroup, 7, 2), "r7.2");
  ASSERT_OK(engine_->Write(b, true));
  Reload();
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(table_->Find(7)->inline_responses, 0u);
  EXPECT_EQ(Apply(7, 2, 1), V::kCached);
  EXPECT_EQ(Response(7, 2), "r7.2");
  EXPECT_EQ(Apply(7, 3, 2), V::kExecute);  // drops 1 (a separate record), inlines 3
  EXPECT_EQ(Kept(7), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(StoredSessionRecords(engine_.get()), 1 + 1u);
  Reload();
  EXPECT_EQ(Response(7, 2), "r7.2");
  EXPECT_EQ(Response(7, 3), "r7.3");
}

TEST_F(SessionTableTest, ResponseWithoutSessionIsCorruption) {
  WriteBatch b;
  b.Put(Cf::kData, SessionResponseKey(kGroup, 7, 1), "r");
  ASSERT_OK(engine_->Write(b, true));
  SessionTable t(engine_.get(), kGroup, {});
  Status s = t.Load();
  EXPECT_TRUE(s.IsCorruption()) << s;
}

}  // namespace
}  // namespace ringkv::storage
