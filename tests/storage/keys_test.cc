#include "storage/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace ringkv::storage {
namespace {

using namespace std::string_literals;

TEST(KeysTest, RaftLogKeysSortByGroupThenIndex) {
  std::vector<std::string> keys;
  for (uint64_t g :
       {uint64_t{1}, uint64_t{2}, uint64_t{256}, std::numeric_limits<uint64_t>::max()}) {
    for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{65536},
                       uint64_t{1} << 40}) {
      keys.push_back(RaftLogKey(GroupId(g), Index(i)));
    }
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end());
}

TEST(KeysTest, RaftLogKeyRoundTrips) {
  auto parts = DecodeRaftLogKey(RaftLogKey(GroupId(7), Index(123456789)));
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->group, GroupId(7));
  EXPECT_EQ(parts->index, Index(123456789));
  EXPECT_FALSE(DecodeRaftLogKey(HardStateKey(GroupId(7))).has_value());
}

TEST(KeysTest, GroupRangesContainTheirKeysAndNoOthers) {
  const GroupId g(42);
  const KeyRange raft = RaftGroupRange(g);
  for (const std::string& k :
       {HardStateKey(g), TruncatedStateKey(g), LegacyRaftConfStateKey(g), RaftLogKey(g, Index(0)),
        RaftLogKey(g, Index(std::numeric_limits<uint64_t>::max()))}) {
    EXPECT_GE(k, raft.begin);
    EXPECT_LT(k, raft.end);
  }
  const KeyRange log = RaftLogRange(g);
  EXPECT_LT(LegacyRaftConfStateKey(g), log.begin);
  // The conf state lives beside the apply state, so a data CF snapshot holds both.
  const KeyRange group_data = DataGroupRange(g);
  EXPECT_GE(ConfStateKey(g), group_data.begin);
  EXPECT_LT(ConfStateKey(g), group_data.end);
  EXPECT_GE(RaftLogKey(g, Index(0)), log.begin);
  EXPECT_LT(RaftLogKey(g, Index(std::numeric_limits<uint64_t>::max())), log.end);
  for (GroupId other : {GroupId(41), GroupId(43)}) {
    const std::string k = RaftLogKey(other, Index(1));
    EXPECT_TRUE(k < raft.begin || k >= raft.end);
  }
  const KeyRange data = DataGroupRange(g);
  for (const std::string& k : {ApplyStateKey(g), SessionKey(g, 0), SessionKey(g, ~0ull),
                               DataKey(g, ""), DataKey(g, std::string(100, '\xff'))}) {
    EXPECT_GE(k, data.begin);
    EXPECT_LT(k, data.end);
  }
  EXPECT_LT(ApplyStateKey(g), SessionRange(g).begin);
  EXPECT_LE(SessionRange(g).end, DataRange(g).begin);
  EXPECT_GE(DataKey(g, ""), DataRange(g).begin);
  EXPECT_LT(DataKey(g, std::string(100, '\xff')), DataRange(g).end);
  EXPECT_GE(DataKey(GroupId(43), ""), data.end);
}

TEST(KeysTest, LargestGroupRangeDoesNotOverflow) {
  const GroupId g(std::numeric_limits<uint64_t>::max());
  EXPECT_LT(DataGroupRange(g).begin, DataGroupRange(g).end);
  EXPECT_LT(DataKey(g, "zzz"), DataGroupRange(g).end);
  EXPECT_GT(DataKey(g, ""), DataGroupRange(GroupId(0)).end);
}

TEST(KeysTest, DataKeysSortByGroupThenUserKey) {
  std::vector<std::string> user = {"", "a", "a\x00"s, "ab", "b", "\xff"};
  std::vector<std::string> keys;
  for (uint64_t g : {uint64_t{1}, uint64_t{2}, uint64_t{300}}) {
    for (const auto& u : user) keys.push_back(DataKey(GroupId(g), u));
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST(KeysTest, DataKeyRoundTrips) {
  const std::string user("k\x00\xff", 3);
  const std::string key = DataKey(GroupId(9), user);  // user_key views into it
  auto parts = DecodeDataKey(key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->group, GroupId(9));
  EXPECT_EQ(parts->user_key, user);
  EXPECT_FALSE(DecodeDataKey(SessionKey(GroupId(9), 1)).has_value());
  EXPECT_FALSE(DecodeDataKey("short").has_value());
  EXPECT_FALSE(DecodeSessionKey(GroupId(8), SessionKey(GroupId(9), 77)).has_value());
}

TEST(KeysTest, SessionKeysRoundTrip) {
  using Kind = SessionKeyParts::Kind;
  const GroupId g(9);
  auto table = DecodeSessionKey(g, SessionTableKey(g));
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->kind, Kind::kTable);
  auto session = DecodeSessionKey(g, SessionKey(g, 77));
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->kind, Kind::kSession);
  EXPECT_EQ(session->client_id, 77u);
  auto response = DecodeSessionKey(g, SessionResponseKey(g, 77, ~0ull - 1));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->kind, Kind::kResponse);
  EXPECT_EQ(response->client_id, 77u);
  EXPECT_EQ(response->sequence, ~0ull - 1);
  EXPECT_FALSE(DecodeSessionKey(g, SessionKey(g, 77) + "x").has_value());
  EXPECT_FALSE(DecodeSessionKey(g, DataKey(g, "12345678")).has_value());
}

TEST(KeysTest, SessionKeysSortByClientIdThenSequence) {
  // The table record first, then each session followed by its responses in sequence order: Load
  // meets a session before its responses.
  const GroupId g(1);
  std::vector<std::string> keys = {SessionTableKey(g),
                                   SessionKey(g, 255),
                                   SessionResponseKey(g, 255, 1),
                                   SessionResponseKey(g, 255, 256),
                                   SessionResponseKey(g, 255, ~0ull),
                                   SessionKey(g, 256),
                                   SessionResponseKey(g, 256, 0),
                                   SessionKey(g, ~0ull)};
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (const auto& k : keys) {
    EXPECT_GE(k, SessionRange(g).begin);
    EXPECT_LT(k, SessionRange(g).end);
  }
  EXPECT_LT(SessionKey(g, ~0ull), SessionKey(GroupId(2), 0));
}

TEST(KeysTest, MetaKeysAreDistinctAndRangesHoldTheirKeys) {
  std::vector<std::string> named = {NodeIdKey(), ClusterIdKey(), IncarnationIdKey(),
                                    RingConfigKey()};
  std::sort(named.begin(), named.end());
  EXPECT_EQ(std::adjacent_find(named.begin(), named.end()), named.end());
  const KeyRange t = TombstoneRange();
  EXPECT_GE(TombstoneKey(GroupId(5)), t.begin);
  EXPECT_LT(TombstoneKey(GroupId(~0ull)), t.end);
  EXPECT_LT(SnapshotInstallKey(GroupId(~0ull)), SnapshotInstallRange().end);
  EXPECT_GE(SnapshotInstallKey(GroupId(0)), t.end);
  EXPECT_EQ(DecodeMetaGroupKey(TombstoneKey(GroupId(5))), GroupId(5));
  for (const auto& k : named) EXPECT_TRUE(k < t.begin || k >= t.end);
}

TEST(KeysTest, EscapeKeyShowsNonPrintableBytes) {
  EXPECT_EQ(EscapeKey(std::string("ab\x00\xff", 4)), "ab\\x00\\xff");
}

}  // namespace
}  // namespace ringkv::storage
