// LogKvIndex (storage/log_kv_index.h): log entries in per-group rings, everything else in an
// ordered map, and the two merged so the whole behaves as one std::map.
#include "storage/log_kv_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "storage/keys.h"

namespace ringkv::storage {
namespace {

constexpr uint64_t kMax = ~uint64_t{0};

std::string LogKey(uint64_t group, uint64_t index) {
  return RaftLogKey(GroupId(group), Index(index));
}

void Put(LogKvIndex* index, const std::string& key, const std::string& value, uint64_t seq = 1) {
  auto [slot, inserted] = index->Emplace(key);
  slot->value = value;
  slot->seq = seq;
}

const LogKvIndex::EraseFn kIgnore = [](size_t, const LogKvIndex::Slot&) {};

// Every key in order, as "key bytes escaped=value" lines.
std::vector<std::string> Walk(const LogKvIndex& index, const std::string& from = "") {
  std::vector<std::string> out;
  for (auto it = index.LowerBound(from); it.Valid(); it.Next()) {
    out.push_back(EscapeKey(it.key()) + "=" + it.slot().value);
  }
  return out;
}

std::vector<std::string> Lines(const std::map<std::string, std::string>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(EscapeKey(k) + "=" + v);
  return out;
}

TEST(LogKvIndexTest, LogKeysOfKeysHAreKeptInRings) {
  LogKvIndex index;
  Put(&index, LogKey(9, 1), "e1");
  Put(&index, HardStateKey(GroupId(9)), "hs");
  Put(&index, TruncatedStateKey(GroupId(9)), "ts");
  Put(&index, ReplicaIdKey(GroupId(9)), "id");
  Put(&index, LogKey(9, 2), "e2");
  EXPECT_EQ(index.OthersSizeForTesting(), 3u);
  EXPECT_EQ(index.size(), 5u);
  std::map<std::string, std::string> want{{LogKey(9, 1), "e1"},
                                          {LogKey(9, 2), "e2"},
                                          {HardStateKey(GroupId(9)), "hs"},
                                          {TruncatedStateKey(GroupId(9)), "ts"},
                                          {ReplicaIdKey(GroupId(9)), "id"}};
  EXPECT_EQ(Walk(index), Lines(want));  // hard, truncated, entries, replica id
  ASSERT_NE(index.Find(LogKey(9, 2)), nullptr);
  EXPECT_EQ(index.Find(LogKey(9, 2))->value, "e2");
  EXPECT_EQ(index.Find(LogKey(9, 3)), nullptr);
  EXPECT_EQ(index.Find(LogKey(8, 2)), nullptr);
}

TEST(LogKvIndexTest, RoundRobinAppendsCompactionAndTruncationStayInRings) {
  LogKvIndex index;
  for (uint64_t i = 1; i <= 100; ++i) {
    for (uint64_t g = 1; g <= 256; ++g) Put(&index, LogKey(g, i), std::to_string(i));
  }
  EXPECT_EQ(index.size(), 25600u);
  EXPECT_EQ(index.OthersSizeForTesting(), 0u);
  uint64_t erased = 0;
  uint64_t erased_bytes = 0;
  const LogKvIndex::EraseFn count = [&](size_t key_bytes, const LogKvIndex::Slot& slot) {
    ++erased;
    erased_bytes += key_bytes + slot.value.size();
  };
  for (uint64_t g = 1; g <= 256; ++g) {
    index.EraseRange(LogKey(g, 0), LogKey(g, 41), count);        // compaction: 1..40
    index.EraseRange(LogKey(g, 91), RaftLogRange(GroupId(g)).end, count);  // truncation: 91..100
  }
  EXPECT_EQ(erased, 256u * 50);
  EXPECT_EQ(erased_bytes, 256u * (50 * 17 + 9 * 1 + 31 * 2 + 9 * 2 + 3));  // "1".."40", "91".."100"
  EXPECT_EQ(index.size(), 256u * 50);
  EXPECT_EQ(index.Find(LogKey(5, 40)), nullptr);
  EXPECT_EQ(index.Find(LogKey(5, 41))->value, "41");
  EXPECT_EQ(index.Find(LogKey(5, 90))->value, "90");
  EXPECT_EQ(index.Find(LogKey(5, 91)), nullptr);
  // A new leader's entries after the truncation, and a whole group's log deleted.
  Put(&index, LogKey(5, 91), "new");
  index.EraseRange(RaftLogRange(GroupId(6)).begin, RaftLogRange(GroupId(6)).end, kIgnore);
  EXPECT_EQ(index.Find(LogKey(5, 91))->value, "new");
  EXPECT_EQ(index.size(), 256u * 50 + 1 - 50);
  EXPECT_EQ(index.OthersSizeForTesting(), 0u);
  auto it = index.LowerBound(LogKey(6, 0));
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), LogKey(7, 41));
  it = index.Before(LogKey(7, 0));
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), LogKey(5, 91));
}

TEST(LogKvIndexTest, AGapIsAnEmptySlot) {
  LogKvIndex index;
  Put(&index, LogKey(1, 5), "5");
  Put(&index, LogKey(1, 7), "7");
  EXPECT_EQ(index.OthersSizeForTesting(), 0u);
  EXPECT_EQ(index.Find(LogKey(1, 6)), nullptr);
  EXPECT_EQ(Walk(index), (std::vector<std::string>{EscapeKey(LogKey(1, 5)) + "=5",
                                                   EscapeKey(LogKey(1, 7)) + "=7"}));
  EXPECT_EQ(index.LowerBound(LogKey(1, 6)).key(), LogKey(1, 7));
  EXPECT_EQ(index.UpperBound(LogKey(1, 5)).key(), LogKey(1, 7));
  EXPECT_EQ(index.Before(LogKey(1, 7)).key(), LogKey(1, 5));
  index.Erase(LogKey(1, 6), kIgnore);  // absent: nothing
  EXPECT_EQ(index.size(), 2u);
  Put(&index, LogKey(1, 3), "3");  // a gap before the first
  index.Erase(LogKey(1, 5), kIgnore);
  EXPECT_EQ(Walk(index), (std::vector<std::string>{EscapeKey(LogKey(1, 3)) + "=3",
                                                   EscapeKey(LogKey(1, 7)) + "=7"}));
  index.Erase(LogKey(1, 3), kIgnore);
  index.Erase(LogKey(1, 7), kIgnore);
  EXPECT_TRUE(index.empty());
  EXPECT_FALSE(index.LowerBound("").Valid());
  EXPECT_FALSE(index.Before(std::string(20, '\xff')).Valid());
}

TEST(LogKvIndexTest, AFarEntryGoesToTheOrderedMapAndTheGroupComesBack) {
  LogKvIndex index;
  Put(&index, LogKey(1, 1), "1");
  Put(&index, LogKey(1, 100000), "far");
  EXPECT_EQ(index.OthersSizeForTesting(), 1u);
  Put(&index, LogKey(1, 2), "2");  // while the group has an entry there, it all goes there
  EXPECT_EQ(index.OthersSizeForTesting(), 2u);
  EXPECT_EQ(Walk(index), (std::vector<std::string>{EscapeKey(LogKey(1, 1)) + "=1",
                                                   EscapeKey(LogKey(1, 2)) + "=2",
                                                   EscapeKey(LogKey(1, 100000)) + "=far"}));
  index.EraseRange(LogKey(1, 2), LogKey(1, 200000), kIgnore);
  EXPECT_EQ(index.OthersSizeForTesting(), 0u);
  Put(&index, LogKey(1, 2), "2");
  EXPECT_EQ(index.OthersSizeForTesting(), 0u);
  EXPECT_EQ(index.size(), 2u);
}

TEST(LogKvIndexTest, LargestGroupAndIndexAndKeysOfNoGroup) {
  LogKvIndex index;
  Put(&index, LogKey(kMax, kMax), "last");
  Put(&index, LogKey(kMax, kMax - 1), "before");
  Put(&index, LogKey(kMax, 0), "zero");
  Put(&index, "", "empty key");
  Put(&index, "a", "a");
  Put(&index, std::string(20, '\xff'), "after all");
  Put(&index, LogKey(3, 4) + "x", "longer than a log key");
  Put(&index, LogKey(3, 4).substr(0, 12), "shorter");
  std::map<std::string, std::string> want;
  for (auto it = index.LowerBound(""); it.Valid(); it.Next()) {
    want.emplace(std::string(it.key()), it.slot().value);
  }
  EXPECT_EQ(want.size(), 8u);
  EXPECT_EQ(Walk(index), Lines(want));  // strictly increasing, as the map sorted them
  index.Erase(LogKey(kMax, kMax), kIgnore);
  EXPECT_EQ(index.Before(std::string(20, '\xff')).key(), LogKey(kMax, kMax - 1));
  index.EraseRange(LogKey(kMax, 1), std::string(21, '\xff'), kIgnore);
  EXPECT_EQ(index.Before(std::string(30, '\xff')).key(), LogKey(kMax, 0));
  EXPECT_EQ(index.size(), 5u);
}

// Random puts, erases, range erases, lookups and walks over several groups (dense appends,
// gaps, far entries, the largest index), their other keys and keys of no group, against
// std::map as the model.
class RandomKeys {
 public:
  explicit RandomKeys(std::mt19937_64* rng) : rng_(*rng) {}

  uint64_t Uniform(uint64_t n) { return rng_() % n; }

  std::string Key() {
    const uint64_t what = Uniform(20);
    const uint64_t group = Group();
    if (what < 12) return LogKey(group, LogIndex(group));
    if (what == 12) return HardStateKey(GroupId(group));
    if (what == 13) return TruncatedStateKey(GroupId(group));
    if (what == 14) return ReplicaIdKey(GroupId(group));
    if (what == 15) return LogKey(group, LogIndex(group)).substr(0, Uniform(18));
    if (what == 16) return LogKey(group, LogIndex(group)) + Byte();
    std::string k;  // a few bytes the log keys are made of
    for (uint64_t n = Uniform(10); n > 0; --n) k += Byte();
    return k;
  }

  // Appends one past the group's head (most of the time), or near it.
  std::string Append() {
    const uint64_t group = Group();
    return LogKey(group, ++head_[group]);
  }

  uint64_t Head(uint64_t group) { return head_[group]; }

  uint64_t Group() {
    static constexpr uint64_t kGroups[] = {0, 1, 2, 3, kMax};
    return kGroups[Uniform(5)];
  }

 private:
  uint64_t LogIndex(uint64_t group) {
    uint64_t& head = head_[group];
    switch (Uniform(40)) {
      case 0:
        return kMax - Uniform(3);
      case 1:
        return head + 50 + Uniform(300);  // a gap, maybe too far for the ring
      case 2:
      case 3:
      case 4:
        head += 1 + Uniform(3);  // moves on with a small gap
        return head;
      default:
        return head - std::min<uint64_t>(head, Uniform(30));
    }
  }
  char Byte() {
    static constexpr char kBytes[] = {0x00, 0x01, 0x04, 0x05, 'a', '\xff'};
    return kBytes[Uniform(6)];
  }

  std::mt19937_64& rng_;
  std::map<uint64_t, uint64_t> head_;
};

TEST(LogKvIndexTest, RandomOpsMatchStdMap) {
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  for (int run = 0; run < 20; ++run) {
    std::mt19937_64 rng(seed * 100 + run);
    RandomKeys keys(&rng);
    LogKvIndex index;
    std::map<std::string, std::string> model;
    size_t max_in_rings = 0;
    size_t max_others = 0;
    for (int step = 0; step < 5000; ++step) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " run " + std::to_string(run) + " step " +
                   std::to_string(step));
      const uint64_t what = keys.Uniform(100);
      const std::string value = std::to_string(step);
      std::map<std::string, std::string> erased;
      const LogKvIndex::EraseFn record = [&](size_t key_bytes, const LogKvIndex::Slot& slot) {
        erased.emplace(std::string(key_bytes, '?') + std::to_string(erased.size()), slot.value);
      };
      if (what < 40) {
        const std::string key = keys.Append();
        Put(&index, key, value, step);
        model[key] = value;
      } else if (what < 60) {
        const std::string key = keys.Key();
        auto [slot, inserted] = index.Emplace(key);
        ASSERT_EQ(inserted, model.count(key) == 0) << EscapeKey(key);
        slot->value = value;
        model[key] = value;
      } else if (what < 68) {
        const std::string key = keys.Key();
        const size_t had = model.erase(key);
        index.Erase(key, record);
        ASSERT_EQ(erased.size(), had) << EscapeKey(key);
      } else if (what < 78) {
        // A compaction (prefix), truncation (suffix) or any range at all.
        const uint64_t g = keys.Group();
        std::string begin = keys.Key();
        std::string end = keys.Key();
        const uint64_t head = keys.Head(g);
        if (what < 73) {
          begin = RaftLogRange(GroupId(g)).begin;
          end = LogKey(g, head - std::min<uint64_t>(head, 20 + keys.Uniform(40)));
        } else if (what < 76) {
          begin = LogKey(g, head - std::min<uint64_t>(head, keys.Uniform(10)));
          end = RaftLogRange(GroupId(g)).end;
        }
        size_t want = 0;
        uint64_t want_bytes = 0;
        if (begin < end) {
          for (auto it = model.lower_bound(begin); it != model.end() && it->first < end;) {
            ++want;
            want_bytes += it->first.size() + it->second.size();
            it = model.erase(it);
          }
        }
        uint64_t got_bytes = 0;
        index.EraseRange(begin, end, [&](size_t key_bytes, const LogKvIndex::Slot& slot) {
          got_bytes += key_bytes + slot.value.size();
          erased.emplace(std::to_string(erased.size()), slot.value);
        });
        ASSERT_EQ(erased.size(), want) << EscapeKey(begin) << " " << EscapeKey(end);
        ASSERT_EQ(got_bytes, want_bytes);
      } else {
        // Lookups: Find, LowerBound, UpperBound, Before, and a short walk.
        const std::string key = keys.Key();
        const LogKvIndex::Slot* slot = index.Find(key);
        auto m = model.find(key);
        ASSERT_EQ(slot != nullptr, m != model.end()) << EscapeKey(key);
        if (slot != nullptr) {
          ASSERT_EQ(slot->value, m->second);
        }
        auto lb = index.LowerBound(key);
        auto mlb = model.lower_bound(key);
        for (int n = 0; n < 5; ++n, ++mlb, lb.Next()) {
          ASSERT_EQ(lb.Valid(), mlb != model.end()) << EscapeKey(key) << " +" << n;
          if (!lb.Valid()) break;
          ASSERT_EQ(lb.key(), mlb->first) << EscapeKey(key) << " +" << n;
          ASSERT_EQ(lb.slot().value, mlb->second);
        }
        auto ub = index.UpperBound(key);
        auto mub = model.upper_bound(key);
        ASSERT_EQ(ub.Valid(), mub != model.end());
        if (ub.Valid()) {
          ASSERT_EQ(ub.key(), mub->first);
        }
        auto before = index.Before(key);
        auto mb = model.lower_bound(key);
        ASSERT_EQ(before.Valid(), mb != model.begin()) << EscapeKey(key);
        if (before.Valid()) {
          ASSERT_EQ(before.key(), std::prev(mb)->first) << EscapeKey(key);
        }
      }
      ASSERT_EQ(index.size(), model.size());
      max_in_rings = std::max(max_in_rings, index.size() - index.OthersSizeForTesting());
      max_others = std::max(max_others, index.OthersSizeForTesting());
      if (step % 500 == 0) {
        ASSERT_EQ(Walk(index), Lines(model));
      }
    }
    ASSERT_EQ(Walk(index), Lines(model));
    // Both parts were used (the test would prove little otherwise).
    EXPECT_GT(max_in_rings, 50u);
    EXPECT_GT(max_others, 20u);
  }
}

}  // namespace
}  // namespace ringkv::storage
