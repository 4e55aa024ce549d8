#include "storage/kv_state.h"

#include <gtest/gtest.h>

#include "common/random.h"
#include "storage/keys.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

std::unique_ptr<Engine> OpenEngine(const std::string& path) {
  auto e = Engine::Open(EngineOptions{.path = path});
  EXPECT_OK(e);
  return e.ok() ? std::move(e).value() : nullptr;
}

class KvStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = OpenEngine(dir_.path());
    ASSERT_NE(engine_, nullptr);
    kv_ = std::make_unique<KvState>(engine_.get(), GroupId(1));
    ASSERT_OK(kv_->Load());
  }
  void Write(WriteBatch& b) { ASSERT_OK(engine_->Write(b, true)); }

  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<KvState> kv_;
};

TEST_F(KvStateTest, PutGetDeleteWithVersion) {
  WriteBatch b;
  kv_->Put(&b, "a", "1", Index(5));
  kv_->Put(&b, "b", "", Index(6));
  Write(b);
  auto a = kv_->Get("a");
  ASSERT_OK(a);
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(**a, (VersionedValue{"1", Index(5)}));
  auto empty = kv_->Get("b");
  ASSERT_OK(empty);
  EXPECT_EQ(**empty, (VersionedValue{"", Index(6)}));
  WriteBatch d;
  kv_->Delete(&d, "a");
  Write(d);
  auto gone = kv_->Get("a");
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  // Another group does not see group 1's keys.
  KvState other(engine_.get(), GroupId(2));
  ASSERT_OK(other.Load());
  auto none = other.Get("b");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(KvStateTest, ScanIsOrderedBoundedAndGroupLocal) {
  WriteBatch b;
  for (const char* k : {"d", "a", "c", "b", "e"}) kv_->Put(&b, k, std::string("v") + k, Index(1));
  KvState other(engine_.get(), GroupId(2));
  other.Put(&b, "a0", "other", Index(1));
  const SessionWrite w{7, 1, 1, 100};
  ASSERT_EQ(kv_->sessions().Admit(&b, w, Index(1)), SessionVerdict::kExecute);
  kv_->sessions().Record(&b, w, Index(1), "resp");  // session records are not user data
  Write(b);
  auto keys = [](const std::vector<KvPair>& v) {
    std::string s;
    for (const auto& p : v) s += p.key;
    return s;
  };
  auto all = kv_->Scan("", "", 0);
  ASSERT_OK(all);
  EXPECT_EQ(keys(*all), "abcde");
  EXPECT_EQ((*all)[0].value, (VersionedValue{"va", Index(1)}));
  auto mid = kv_->Scan("b", "d", 0);
  ASSERT_OK(mid);
  EXPECT_EQ(keys(*mid), "bc");
  auto limited = kv_->Scan("b", "", 2);
  ASSERT_OK(limited);
  EXPECT_EQ(keys(*limited), "bc");
  auto empty = kv_->Scan("d", "b", 0);
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_F(KvStateTest, ApplyStateCommitsWithDataAndSurvivesReload) {
  WriteBatch b;
  kv_->Put(&b, "k", "v", Index(12));
  kv_->SetApplyState(&b, ApplyState{Index(12), Term(3)});
  Write(b);
  KvState reloaded(engine_.get(), GroupId(1));
  ASSERT_OK(reloaded.Load());
  EXPECT_EQ(reloaded.applied(), (ApplyState{Index(12), Term(3)}));
  // An unwritten batch changes nothing on disk.
  WriteBatch dropped;
  kv_->Put(&dropped, "k", "v2", Index(13));
  kv_->SetApplyState(&dropped, ApplyState{Index(13), Term(3)});
  KvState again(engine_.get(), GroupId(1));
  ASSERT_OK(again.Load());
  EXPECT_EQ(again.applied().applied_index, Index(12));
  EXPECT_EQ((*again.Get("k"))->version, Index(12));
}

TEST_F(KvStateTest, CorruptValueIsCorruptionNamingKey) {
  WriteBatch b;
  b.PutRawForTesting(Cf::kData, DataKey(GroupId(1), "broken"), "\x00\x00\x00\x00xyz");
  Write(b);
  auto r = kv_->Get("broken");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("broken"), std::string_view::npos);
  EXPECT_TRUE(kv_->Scan("", "", 0).status().IsCorruption());
}

// Two replicas apply the same sequence (one of them restarting midway) and must agree on the
// session table and the digest.
TEST(KvStateDeterminismTest, ReplicasApplyingSameSequenceConverge) {
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  testing::TempDir da, db;
  auto ea = OpenEngine(da.path());
  auto eb = OpenEngine(db.path());
  ASSERT_NE(ea, nullptr);
  ASSERT_NE(eb, nullptr);
  KvStateOptions opts;
  opts.sessions.max_sessions = 16;
  opts.sessions.max_responses_per_session = 4;
  auto a = std::make_unique<KvState>(ea.get(), GroupId(3), opts);
  auto b = std::make_unique<KvState>(eb.get(), GroupId(3), opts);
  ASSERT_OK(a->Load());
  ASSERT_OK(b->Load());
  Random rnd(seed);
  for (uint64_t index = 1; index <= 400; ++index) {
    const uint64_t client = 1 + rnd.Uniform(40);
    const std::string key = "k" + std::to_string(rnd.Uniform(50));
    // Sequences out of order and retried, first incompletes trailing by a few: every path of
    // the session table (execute, cached, discarded, evicted, expired) is taken.
    const uint64_t seq = 1 + index / 40 + rnd.Uniform(8);
    const SessionWrite w{client, seq, seq - rnd.Uniform(std::min<uint64_t>(seq, 6)),
                         1000 + client * 10 + index / 100};
    for (auto [kv, engine] : {std::pair{a.get(), ea.get()}, std::pair{b.get(), eb.get()}}) {
      WriteBatch batch;
      if (kv->sessions().Admit(&batch, w, Index(index)) == SessionVerdict::kExecute) {
        kv->Put(&batch, key, "v" + std::to_string(index), Index(index));
        kv->sessions().Record(&batch, w, Index(index), "resp" + std::to_string(index));
      }
      kv->SetApplyState(&batch, ApplyState{Index(index), Term(1)});
      ASSERT_OK(engine->Write(batch, false));
    }
    if (index == 200) {  // replica b restarts
      b = std::make_unique<KvState>(eb.get(), GroupId(3), opts);
      ASSERT_OK(b->Load());
    }
  }
  EXPECT_EQ(a->sessions().session_count(), 16u);
  EXPECT_EQ(b->sessions().session_count(), 16u);
  EXPECT_GT(a->sessions().expired_through_ms(), 0u);
  EXPECT_EQ(a->sessions().expired_through_ms(), b->sessions().expired_through_ms());
  EXPECT_EQ(a->sessions().response_count(), b->sessions().response_count());
  auto diga = a->Digest();
  auto digb = b->Digest();
  ASSERT_OK(diga);
  ASSERT_OK(digb);
  EXPECT_EQ(*diga, *digb) << "seed " << seed;
  EXPECT_EQ(diga->applied.applied_index, Index(400));
  for (uint64_t client = 1; client <= 40; ++client) {
    auto sa = a->sessions().Find(client);
    auto sb = b->sessions().Find(client);
    ASSERT_EQ(sa.has_value(), sb.has_value()) << "client " << client;
    if (!sa) continue;
    EXPECT_EQ(sa->first_incomplete, sb->first_incomplete) << "client " << client;
    EXPECT_EQ(sa->evicted_through, sb->evicted_through) << "client " << client;
    EXPECT_EQ(sa->written_at, sb->written_at) << "client " << client;
    EXPECT_EQ(sa->sequences, sb->sequences) << "client " << client;
  }
  // Any difference in data changes the digest.
  WriteBatch change;
  b->Put(&change, "k0", "different", Index(401));
  ASSERT_OK(eb->Write(change, false));
  EXPECT_NE(a->Digest()->hash, b->Digest()->hash);
}

}  // namespace
}  // namespace ringkv::storage
