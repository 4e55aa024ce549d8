// Byte-bounded pages of a group's data at a snapshot (storage/data_pages.h): every key exactly
// once across pages, only the group's own keys, and writes after the snapshot are not seen.
#include "storage/data_pages.h"

#include <gtest/gtest.h>

#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

TEST(DataPagesTest, PagesCoverTheGroupAtTheSnapshot) {
  testing::TempDir dir;
  auto e = Engine::Open(EngineOptions{.path = dir.path()});
  ASSERT_OK(e);
  Engine& engine = **e;
  KvState g1(&engine, GroupId(1)), g2(&engine, GroupId(2));
  WriteBatch b;
  for (int i = 0; i < 100; ++i) {
    g1.Put(&b, "k" + std::to_string(1000 + i), std::string(100, 'a'), Index(10 + i));
    g2.Put(&b, "k" + std::to_string(1000 + i), "other group", Index(7));
  }
  g1.SetApplyState(&b, ApplyState{Index(109), Term(3)});
  ASSERT_OK(engine.Write(b, true));

  std::unique_ptr<ReadSnapshot> snap = engine.GetSnapshot();
  // Written after the snapshot: invisible to it.
  WriteBatch later;
  g1.Put(&later, "k0000", "new", Index(200));
  g1.Delete(&later, "k1050");
  g1.SetApplyState(&later, ApplyState{Index(200), Term(3)});
  ASSERT_OK(engine.Write(later, true));

  auto applied = ReadApplyStateAt(engine, GroupId(1), *snap);
  ASSERT_OK(applied);
  EXPECT_EQ(applied->applied_index, Index(109));

  std::vector<KvPair> all;
  std::string after;
  int pages = 0;
  for (;;) {
    auto page = ReadDataPage(engine, GroupId(1), *snap, after, /*max_bytes=*/1000);
    ASSERT_OK(page);
    ++pages;
    for (auto& p : page->kvs) all.push_back(p);
    if (page->done) break;
    ASSERT_FALSE(page->kvs.empty());
    EXPECT_LE(page->kvs.size(), 10u);  // about 104 bytes a pair, 1000 bytes a page
    after = page->kvs.back().key;
  }
  EXPECT_GT(pages, 5);
  ASSERT_EQ(all.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(all[i].key, "k" + std::to_string(1000 + i));
    EXPECT_EQ(all[i].value.version, Index(10 + i));
    EXPECT_EQ(all[i].value.value, std::string(100, 'a'));
  }
  // A page always holds at least one pair, even over the byte bound.
  auto one = ReadDataPage(engine, GroupId(1), *snap, "", 1);
  ASSERT_OK(one);
  EXPECT_EQ(one->kvs.size(), 1u);
  EXPECT_FALSE(one->done);
  // An empty group is one empty, final page.
  auto none = ReadDataPage(engine, GroupId(3), *snap, "", 1000);
  ASSERT_OK(none);
  EXPECT_TRUE(none->kvs.empty());
  EXPECT_TRUE(none->done);
  snap.reset();
}

}  // namespace
}  // namespace ringkv::storage
