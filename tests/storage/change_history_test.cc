// The change history keeps every change of the newest indexes within its bounds, reads them
// back in order by whole indexes, and a reload (restart, snapshot install) sees the same.
#include "storage/change_history.h"

#include <gtest/gtest.h>

#include "storage/kv_state.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

kvpb::WatchEvent Put(const std::string& key, const std::string& value, uint64_t version,
                     uint64_t prev = 0) {
  kvpb::WatchEvent e;
  e.set_type(kvpb::WatchEvent::PUT);
  e.set_key(key);
  e.set_value(value);
  e.set_version(version);
  e.set_prev_version(prev);
  return e;
}

class ChangeHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.path = dir_.path();
    auto e = Engine::Open(o);
    ASSERT_OK(e);
    engine_ = std::move(e).value();
  }

  // Appends one change per index in [from, to] (key "k<i>") and writes the batch.
  void AppendRange(ChangeHistory& h, uint64_t from, uint64_t to, size_t value_size = 1) {
    WriteBatch b;
    for (uint64_t i = from; i <= to; ++i) {
      h.Append(&b, IndexedChanges{Index(i), {Put("k" + std::to_string(i),
                                                 std::string(value_size, 'v'), i)}});
    }
    ASSERT_OK(engine_->Write(b, false));
  }

  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ChangeHistoryTest, ReadsWholeIndexesInOrder) {
  ChangeHistory h(engine_.get(), GroupId(1));
  ASSERT_OK(h.Load(Index(0)));
  EXPECT_EQ(h.first_index(), Index(1));
  WriteBatch b;
  h.Append(&b, IndexedChanges{Index(10), {Put("a", "1", 10), Put("b", "2", 10)}});
  h.Append(&b, IndexedChanges{Index(12), {Put("a", "3", 12, 10)}});
  ASSERT_OK(engine_->Write(b, false));

  auto all = h.Read(Index(1), Index(12), 100);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].index, Index(10));
  ASSERT_EQ((*all)[0].events.size(), 2u);
  EXPECT_EQ((*all)[0].events[1].key(), "b");
  EXPECT_EQ((*all)[1].events[0].prev_version(), 10u);

  // A batch limit of one event still returns index 10 whole.
  auto one = h.Read(Index(1), Index(12), 1);
  ASSERT_OK(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].events.size(), 2u);

  auto tail = h.Read(Index(11), Index(12), 100);
  ASSERT_OK(tail);
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].index, Index(12));
  auto bounded = h.Read(Index(1), Index(11), 100);
  ASSERT_OK(bounded);
  EXPECT_EQ(bounded->size(), 1u);
}

TEST_F(ChangeHistoryTest, KeepsTheNewestEntriesWithinTheBound) {
  ChangeHistory h(engine_.get(), GroupId(1), ChangeHistoryOptions{5, size_t{1} << 20});
  ASSERT_OK(h.Load(Index(0)));
  AppendRange(h, 10, 20);
  EXPECT_EQ(h.entries(), 5u);
  EXPECT_EQ(h.first_index(), Index(16));
  auto r = h.Read(Index(1), Index(20), 100);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ(r->front().index, Index(16));

  // A restart sees the same history and where it starts.
  ChangeHistory again(engine_.get(), GroupId(1), ChangeHistoryOptions{5, size_t{1} << 20});
  ASSERT_OK(again.Load(Index(20)));
  EXPECT_EQ(again.first_index(), Index(16));
  EXPECT_EQ(again.entries(), 5u);
  EXPECT_EQ(again.bytes(), h.bytes());
}

TEST_F(ChangeHistoryTest, KeepsTheNewestBytesWithinTheBound) {
  ChangeHistory h(engine_.get(), GroupId(1), ChangeHistoryOptions{1000, 3000});
  ASSERT_OK(h.Load(Index(0)));
  AppendRange(h, 1, 10, 1000);
  EXPECT_LE(h.bytes(), 3000u);
  EXPECT_EQ(h.entries(), 2u);
  EXPECT_EQ(h.first_index(), Index(9));
  // The newest entry stays even when it alone exceeds the bound.
  AppendRange(h, 11, 11, 5000);
  EXPECT_EQ(h.entries(), 1u);
  EXPECT_EQ(h.first_index(), Index(11));
}

TEST_F(ChangeHistoryTest, AGroupWithoutHistoryStartsAfterItsAppliedIndex) {
  ChangeHistory h(engine_.get(), GroupId(2));
  ASSERT_OK(h.Load(Index(40)));
  EXPECT_EQ(h.first_index(), Index(41));
  EXPECT_FALSE(h.state_persisted());
  WriteBatch b;
  h.PersistState(&b);
  ASSERT_OK(engine_->Write(b, false));
  ChangeHistory again(engine_.get(), GroupId(2));
  ASSERT_OK(again.Load(Index(90)));
  EXPECT_TRUE(again.state_persisted());
  EXPECT_EQ(again.first_index(), Index(41));
}

TEST(VersionedValueTest, LeaseRoundTripsAndOldRecordsDecode) {
  std::string plain = EncodeVersionedValue("v", Index(7));
  auto a = DecodeVersionedValue("k", plain);
  ASSERT_OK(a);
  EXPECT_EQ(*a, (VersionedValue{"v", Index(7), 0}));
  std::string leased = EncodeVersionedValue("value", Index(9), 0x1234);
  auto b = DecodeVersionedValue("k", leased);
  ASSERT_OK(b);
  EXPECT_EQ(*b, (VersionedValue{"value", Index(9), 0x1234}));
  // A lease flag without the lease is corrupt.
  std::string cut = leased.substr(0, 10);
  EXPECT_TRUE(DecodeVersionedValue("k", cut).status().IsCorruption());
}

}  // namespace
}  // namespace ringkv::storage
