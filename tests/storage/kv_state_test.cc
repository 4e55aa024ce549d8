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
  kv_->PutSession(&b, 7, Session{1, "resp", Index(1)});
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

TEST_F(KvStateTest, SessionsRoundTrip) {
  WriteBatch b;
  kv_->PutSession(&b, 42, Session{3, "ok:3", Index(10)});
  Write(b);
  auto s = kv_->GetSession(42);
  ASSERT_OK(s);
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ(**s, (Session{3, "ok:3", Index(10)}));
  auto none = kv_->GetSession(43);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(KvStateTest, SessionTableIsBoundedAndEvictsLeastRecentlyWritten) {
  KvState kv(engine_.get(), GroupId(1), KvStateOptions{.max_sessions = 3});
  ASSERT_OK(kv.Load());
  auto put = [&](uint64_t client, uint64_t index) {
    WriteBatch b;
    kv.PutSession(&b, client, Session{index, "r", Index(index)});
    Write(b);
  };
  auto present = [&](uint64_t client) { return (*kv.GetSession(client)).has_value(); };
  put(1, 1);
  put(2, 2);
  put(3, 3);
  put(1, 4);  // refreshes client 1: no eviction
  EXPECT_EQ(kv.session_count(), 3u);
  EXPECT_TRUE(present(1) && present(2) && present(3));
  put(4, 5);  // evicts client 2 (written at 2, the oldest)
  EXPECT_FALSE(present(2));
  EXPECT_TRUE(present(1) && present(3) && present(4));
  // After a reload the order is rebuilt from disk: client 3 (written at 3) goes next.
  KvState reloaded(engine_.get(), GroupId(1), KvStateOptions{.max_sessions = 3});
  ASSERT_OK(reloaded.Load());
  EXPECT_EQ(reloaded.session_count(), 3u);
  WriteBatch b;
  reloaded.PutSession(&b, 5, Session{1, "r", Index(6)});
  Write(b);
  EXPECT_FALSE(present(3));
  EXPECT_TRUE(present(1) && present(4) && present(5));
}

TEST_F(KvStateTest, SessionTiesEvictSmallerClientId) {
  KvState kv(engine_.get(), GroupId(1), KvStateOptions{.max_sessions = 2});
  WriteBatch b;
  kv.PutSession(&b, 9, Session{1, "", Index(7)});
  kv.PutSession(&b, 4, Session{1, "", Index(7)});
  kv.PutSession(&b, 6, Session{1, "", Index(8)});
  Write(b);
  EXPECT_FALSE((*kv.GetSession(4)).has_value());
  EXPECT_TRUE((*kv.GetSession(9)).has_value());
  EXPECT_TRUE((*kv.GetSession(6)).has_value());
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
  const KvStateOptions opts{.max_sessions = 16};
  auto a = std::make_unique<KvState>(ea.get(), GroupId(3), opts);
  auto b = std::make_unique<KvState>(eb.get(), GroupId(3), opts);
  ASSERT_OK(a->Load());
  ASSERT_OK(b->Load());
  Random rnd(seed);
  for (uint64_t index = 1; index <= 400; ++index) {
    const uint64_t client = rnd.Uniform(40);
    const std::string key = "k" + std::to_string(rnd.Uniform(50));
    for (auto [kv, engine] : {std::pair{a.get(), ea.get()}, std::pair{b.get(), eb.get()}}) {
      WriteBatch batch;
      kv->Put(&batch, key, "v" + std::to_string(index), Index(index));
      kv->PutSession(&batch, client, Session{index, "resp" + std::to_string(index), Index(index)});
      kv->SetApplyState(&batch, ApplyState{Index(index), Term(1)});
      ASSERT_OK(engine->Write(batch, false));
    }
    if (index == 200) {  // replica b restarts
      b = std::make_unique<KvState>(eb.get(), GroupId(3), opts);
      ASSERT_OK(b->Load());
    }
  }
  EXPECT_EQ(a->session_count(), 16u);
  EXPECT_EQ(b->session_count(), 16u);
  auto diga = a->Digest();
  auto digb = b->Digest();
  ASSERT_OK(diga);
  ASSERT_OK(digb);
  EXPECT_EQ(*diga, *digb) << "seed " << seed;
  EXPECT_EQ(diga->applied.applied_index, Index(400));
  for (uint64_t client = 0; client < 40; ++client) {
    EXPECT_EQ(*a->GetSession(client), *b->GetSession(client)) << "client " << client;
  }
  // Any difference in data changes the digest.
  WriteBatch change;
  b->Put(&change, "k0", "different", Index(401));
  ASSERT_OK(eb->Write(change, false));
  EXPECT_NE(a->Digest()->hash, b->Digest()->hash);
}

}  // namespace
}  // namespace ringkv::storage
