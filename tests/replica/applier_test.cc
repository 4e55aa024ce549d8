// The applier must give the same result whether committed entries arrive in one batch or many:
// all replicas apply the same log, but a replica catching up sees longer batches.
#include "replica/applier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/random.h"
#include "storage/engine.h"
#include "storage/snapshot.h"
#include "testutil/status_matchers.h"

namespace ringkv::replica {
namespace {

// "1,2,3," -> {"1", "2", "3"}.
std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ringkv_applier_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    engine_ = OpenEngine(dir_ / "a");
    ASSERT_NE(engine_, nullptr);
    kv_ = std::make_unique<storage::KvState>(engine_.get(), GroupId(1));
    ASSERT_OK(kv_->Load());
  }
  void TearDown() override {
    kv_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  static std::unique_ptr<storage::Engine> OpenEngine(const std::filesystem::path& path) {
    storage::EngineOptions o;
    o.path = path.string();
    auto e = storage::Engine::Open(o);
    EXPECT_OK(e);
    return e.ok() ? std::move(e).value() : nullptr;
  }

  static kvpb::Command Append(uint64_t client, uint64_t seq, const std::string& key,
                              const std::string& suffix, uint64_t first_incomplete = 0) {
    kvpb::Command c;
    c.set_client_id(client);
    c.set_sequence(seq);
    c.set_first_incomplete(first_incomplete);
    c.set_session_started_ms(1000);
    c.mutable_append()->set_key(key);
    c.mutable_append()->set_suffix(suffix);
    return c;
  }

  // Applies `cmds` at indexes next_index_, ... in batches of `batch_size` to `kv` (with its
  // apply state); returns each command's response.
  std::vector<kvpb::Response> ApplyAll(storage::Engine* engine, storage::KvState* kv,
                                       const std::vector<kvpb::Command>& cmds,
                                       size_t batch_size) {
    std::vector<kvpb::Response> out;
    size_t i = 0;
    while (i < cmds.size()) {
      storage::WriteBatch batch;
      Applier a(kv, &batch);
      for (size_t k = 0; k < batch_size && i < cmds.size(); ++k, ++i) {
        auto r = a.Apply(cmds[i], Index(next_index_));
        EXPECT_OK(r);
        out.push_back(r.ok() ? *r : kvpb::Response());
        kv->SetApplyState(&batch, storage::ApplyState{Index(next_index_), Term(1)});
        ++next_index_;
      }
      EXPECT_OK(engine->Write(batch, false));
    }
    return out;
  }

  std::string Value(const storage::KvState& kv, const std::string& key) {
    auto v = kv.Get(key);
    EXPECT_OK(v);
    return v.ok() && v->has_value() ? (*v)->value : "";
  }

  // Applies `cmds` at indexes 10, 11, ... in batches of `batch_size`; returns the final value.
  std::string ApplyInBatches(const std::vector<kvpb::Command>& cmds, size_t batch_size) {
    size_t i = 0;
    while (i < cmds.size()) {
      storage::WriteBatch batch;
      Applier a(kv_.get(), &batch);
      for (size_t k = 0; k < batch_size && i < cmds.size(); ++k, ++i) {
        EXPECT_OK(a.Apply(cmds[i], Index(10 + i)));
      }
      EXPECT_OK(engine_->Write(batch, false));
    }
    auto v = kv_->Get("list");
    EXPECT_OK(v);
    return v->has_value() ? (*v)->value : "";
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<storage::KvState> kv_;
  uint64_t next_index_ = 100;
};

TEST_F(ApplierTest, RetryInSameBatchAppliesOnce) {
  // The original write and its retry (same session and sequence) land in one batch.
  std::vector<kvpb::Command> cmds = {Append(7, 1, "list", "a,"), Append(9, 1, "list", "b,"),
                                     Append(7, 1, "list", "a,")};
  EXPECT_EQ(ApplyInBatches(cmds, 3), "a,b,");
}

TEST_F(ApplierTest, SameResultWhateverTheBatching) {
  std::vector<kvpb::Command> cmds = {Append(7, 1, "list", "a,"), Append(7, 1, "list", "a,"),
                                     Append(7, 2, "list", "c,"), Append(8, 1, "list", "d,"),
                                     Append(7, 2, "list", "c,"), Append(7, 1, "list", "a,")};
  EXPECT_EQ(ApplyInBatches(cmds, 1), "a,c,d,");
}

TEST_F(ApplierTest, SameResultInOneBatch) {
  std::vector<kvpb::Command> cmds = {Append(7, 1, "list", "a,"), Append(7, 1, "list", "a,"),
                                     Append(7, 2, "list", "c,"), Append(8, 1, "list", "d,"),
                                     Append(7, 2, "list", "c,"), Append(7, 1, "list", "a,")};
  EXPECT_EQ(ApplyInBatches(cmds, 6), "a,c,d,");
}

TEST_F(ApplierTest, CasSeesEarlierWriteOfTheBatch) {
  kvpb::Command put;
  put.mutable_put()->set_key("k");
  put.mutable_put()->set_value("1");
  kvpb::Command cas;
  cas.mutable_cas()->set_key("k");
  cas.mutable_cas()->set_expected_value("1");
  cas.mutable_cas()->set_new_value("2");
  storage::WriteBatch batch;
  Applier a(kv_.get(), &batch);
  ASSERT_OK(a.Apply(put, Index(10)));
  auto r = a.Apply(cas, Index(11));
  ASSERT_OK(r);
  EXPECT_TRUE(r->cas().succeeded());
}

TEST_F(ApplierTest, RetryOfAnAppliedWriteAfterLaterSequencesGetsItsOriginalAnswer) {
  // Issue 10: one session, writes 1..3 in flight; 1's first attempt applied, its answer was lost,
  // 2 and 3 applied, then 1's retry arrives. It took effect, so it must be answered as such: the
  // one-response table answered "stale session sequence" (a definite failure).
  auto first = ApplyAll(engine_.get(), kv_.get(),
                        {Append(7, 1, "list", "a,", 1), Append(7, 2, "list", "b,", 1),
                         Append(7, 3, "list", "c,", 1)},
                        1);
  auto retry = ApplyAll(engine_.get(), kv_.get(), {Append(7, 1, "list", "a,", 1)}, 1);
  ASSERT_FALSE(retry[0].has_error()) << retry[0].ShortDebugString();
  EXPECT_EQ(retry[0].SerializeAsString(), first[0].SerializeAsString());
  EXPECT_EQ(retry[0].append().value(), "a,");
  EXPECT_EQ(Value(*kv_, "list"), "a,b,c,");
}

TEST_F(ApplierTest, WriteTheSessionCannotVouchForIsRefusedIndefinitely) {
  ApplyAll(engine_.get(), kv_.get(),
           {Append(7, 1, "list", "a,", 1), Append(7, 2, "list", "b,", 1),
            Append(7, 3, "list", "c,", 3)},
           1);
  // 3 said the client's first incomplete is 3: it is done with 1 and 2, their answers go. A late
  // duplicate of 2 (an attempt still in the network) gets SESSION_EXPIRED: not definite (2 did
  // apply), and no second effect.
  auto late = ApplyAll(engine_.get(), kv_.get(), {Append(7, 2, "list", "b,", 1)}, 1);
  ASSERT_TRUE(late[0].has_error());
  EXPECT_EQ(late[0].error().code(), kvpb::SESSION_EXPIRED);
  EXPECT_FALSE(late[0].error().definite());
  EXPECT_NE(late[0].error().message().find("first incomplete"), std::string::npos)
      << late[0].error().message();
  EXPECT_EQ(Value(*kv_, "list"), "a,b,c,");
}

// Many sequences of one session in flight, applied out of order with retries, in every batching:
// each write applies once, every retry of an applied write gets the answer of its first
// application, and all batchings agree (replicas catching up see longer batches).
TEST_F(ApplierTest, ManyInFlightOutOfOrderRetriesAgreeWhateverTheBatching) {
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  Random rnd(seed);
  std::vector<kvpb::Command> cmds;
  uint64_t next_seq = 1;
  std::vector<uint64_t> in_flight;
  for (int step = 0; step < 300; ++step) {
    if (in_flight.size() < 20 && (in_flight.empty() || rnd.Bernoulli(0.5))) {
      in_flight.push_back(next_seq++);
    }
    const size_t pick = rnd.Uniform(in_flight.size());
    const uint64_t seq = in_flight[pick];
    const uint64_t first_incomplete = *std::min_element(in_flight.begin(), in_flight.end());
    cmds.push_back(Append(7, seq, "list", std::to_string(seq) + ",", first_incomplete));
    if (rnd.Bernoulli(0.3)) in_flight.erase(in_flight.begin() + static_cast<long>(pick));
  }
  std::vector<std::vector<kvpb::Response>> runs;
  std::vector<std::string> finals;
  for (size_t batch : {size_t{1}, size_t{7}, cmds.size()}) {
    const auto dir = dir_ / ("batch" + std::to_string(batch));
    auto engine = OpenEngine(dir);
    ASSERT_NE(engine, nullptr);
    storage::KvState kv(engine.get(), GroupId(1));
    ASSERT_OK(kv.Load());
    next_index_ = 100;
    runs.push_back(ApplyAll(engine.get(), &kv, cmds, batch));
    finals.push_back(Value(kv, "list"));
  }
  EXPECT_EQ(finals[1], finals[0]) << "seed " << seed;
  EXPECT_EQ(finals[2], finals[0]) << "seed " << seed;
  // Each sequence appears once in the list, and every answer of a sequence is the first one.
  std::map<uint64_t, std::string> first_answer;
  for (size_t i = 0; i < cmds.size(); ++i) {
    for (const auto& run : runs) {
      EXPECT_EQ(run[i].SerializeAsString(), runs[0][i].SerializeAsString()) << "command " << i;
    }
    const kvpb::Response& r = runs[0][i];
    // Every command is for a sequence the client still awaits: none may be refused.
    ASSERT_FALSE(r.has_error()) << r.ShortDebugString() << " seed " << seed;
    auto [it, inserted] = first_answer.emplace(cmds[i].sequence(), r.SerializeAsString());
    if (!inserted) {
      EXPECT_EQ(it->second, r.SerializeAsString()) << "seq " << cmds[i].sequence();
    }
  }
  std::map<std::string, int> seen;
  for (const auto& e : SplitList(finals[0])) ++seen[e];
  for (const auto& [e, n] : seen) EXPECT_EQ(n, 1) << "element " << e << " seed " << seed;
  EXPECT_EQ(seen.size(), first_answer.size());
}

TEST_F(ApplierTest, SessionsSurviveASnapshotRoundTrip) {
  ApplyAll(engine_.get(), kv_.get(),
           {Append(7, 1, "list", "a,", 1), Append(7, 2, "list", "b,", 1),
            Append(8, 1, "list", "c,", 1), Append(7, 3, "list", "d,", 2)},
           2);
  // Ship the group to a second engine as a follower behind the compaction point would get it.
  auto dst = OpenEngine(dir_ / "b");
  ASSERT_NE(dst, nullptr);
  auto sender = storage::SnapshotSender::Create(engine_.get(), GroupId(1));
  ASSERT_OK(sender);
  auto receiver = storage::SnapshotReceiver::Create(dst.get(), GroupId(1), (*sender)->metadata());
  ASSERT_OK(receiver);
  while (!(*sender)->done()) {
    auto chunk = (*sender)->NextChunk();
    ASSERT_OK(chunk);
    ASSERT_OK((*receiver)->AddChunk(*chunk));
  }
  // The hard state Raft holds after restoring the snapshot (commit at its index).
  raftpb::HardState hs;
  hs.set_term((*receiver)->metadata().term());
  hs.set_commit((*receiver)->metadata().index());
  ASSERT_OK((*receiver)->Install(hs));
  storage::KvState copy(dst.get(), GroupId(1));
  ASSERT_OK(copy.Load());
  EXPECT_EQ(*copy.Digest(), *kv_->Digest());
  // Both replicas answer the same retries the same way: 2 and 3 cached, 1 refused (below 2).
  const std::vector<kvpb::Command> retries = {Append(7, 2, "list", "b,", 2),
                                              Append(7, 3, "list", "d,", 2),
                                              Append(7, 1, "list", "a,", 1),
                                              Append(7, 4, "list", "e,", 2)};
  const uint64_t index = next_index_;
  auto here = ApplyAll(engine_.get(), kv_.get(), retries, 1);
  next_index_ = index;
  auto there = ApplyAll(dst.get(), &copy, retries, 1);
  for (size_t i = 0; i < retries.size(); ++i) {
    EXPECT_EQ(here[i].SerializeAsString(), there[i].SerializeAsString()) << i;
  }
  EXPECT_EQ(here[0].append().value(), "a,b,");
  EXPECT_EQ(here[1].append().value(), "a,b,c,d,");
  EXPECT_EQ(here[2].error().code(), kvpb::SESSION_EXPIRED);
  EXPECT_EQ(Value(copy, "list"), "a,b,c,d,e,");
  EXPECT_EQ(*copy.Digest(), *kv_->Digest());
}

}  // namespace
}  // namespace ringkv::replica
