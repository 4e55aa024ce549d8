#include "storage/meta_store.h"

#include <gtest/gtest.h>

#include "storage/keys.h"
#include "storage/kv_state.h"
#include "storage/raft_log_store.h"
#include "storage/test_util.h"
#include "testutil/status_matchers.h"

namespace ringkv::storage {
namespace {

std::unique_ptr<Engine> OpenEngine(const std::string& path) {
  auto e = Engine::Open(EngineOptions{.path = path});
  EXPECT_OK(e);
  return e.ok() ? std::move(e).value() : nullptr;
}

TEST(MetaStoreTest, IncarnationIdIsCreatedOncePerDirectory) {
  testing::TempDir dir;
  uint64_t first = 0;
  {
    auto engine = OpenEngine(dir.path());
    MetaStore meta(engine.get());
    auto none = meta.IncarnationId();
    ASSERT_OK(none);
    EXPECT_FALSE(none->has_value());
    auto id = meta.InitIncarnationId();
    ASSERT_OK(id);
    EXPECT_NE(*id, 0u);
    first = *id;
    EXPECT_EQ(*meta.InitIncarnationId(), first);  // idempotent
  }
  {
    auto engine = OpenEngine(dir.path());
    MetaStore meta(engine.get());
    EXPECT_EQ(*meta.InitIncarnationId(), first);  // survives restart
  }
  testing::TempDir wiped;  // a wiped directory gets a new id
  auto engine = OpenEngine(wiped.path());
  MetaStore meta(engine.get());
  EXPECT_NE(*meta.InitIncarnationId(), first);
}

TEST(MetaStoreTest, NodeAndClusterIdAreSetOnce) {
  testing::TempDir dir;
  auto engine = OpenEngine(dir.path());
  MetaStore meta(engine.get());
  EXPECT_FALSE((*meta.GetNodeId()).has_value());
  ASSERT_OK(meta.SetNodeId(NodeId(4)));
  ASSERT_OK(meta.SetNodeId(NodeId(4)));
  Status s = meta.SetNodeId(NodeId(5));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(**meta.GetNodeId(), NodeId(4));
  ASSERT_OK(meta.SetClusterId(77));
  EXPECT_EQ(meta.SetClusterId(78).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(**meta.GetClusterId(), 77u);
}

TEST(MetaStoreTest, RingConfigIsReplaced) {
  testing::TempDir dir;
  auto engine = OpenEngine(dir.path());
  MetaStore meta(engine.get());
  EXPECT_FALSE((*meta.GetRingConfig()).has_value());
  ASSERT_OK(meta.SetRingConfig(std::string("v1\0bytes", 8)));
  ASSERT_OK(meta.SetRingConfig("v2"));
  EXPECT_EQ(**meta.GetRingConfig(), "v2");
}

TEST(MetaStoreTest, RemoveReplicaLeavesTombstoneAndDeletesGroupData) {
  testing::TempDir dir;
  auto engine = OpenEngine(dir.path());
  MetaStore meta(engine.get());
  for (GroupId g : {GroupId(1), GroupId(2)}) {
    RaftLogStore log(engine.get(), g);
    KvState kv(engine.get(), g);
    ASSERT_OK(log.Load());
    WriteBatch b;
    raftpb::Entry e;
    e.set_index(1);
    e.set_term(1);
    ASSERT_OK(log.Append(&b, {e}));
    kv.Put(&b, "key", "value", Index(1));
    kv.SetApplyState(&b, ApplyState{Index(1), Term(1)});
    PutReplicaId(&b, g, MakeReplicaId(NodeId(3), g.value() == 1 ? 7 : 4));
    ASSERT_OK(engine->Write(b, true));
  }
  WriteBatch b;
  meta.RemoveReplica(&b, GroupId(1), Index(9), MakeReplicaId(NodeId(3), 7));
  ASSERT_OK(engine->Write(b, true));
  auto tomb = meta.GetTombstone(GroupId(1));
  ASSERT_OK(tomb);
  ASSERT_TRUE(tomb->has_value());
  EXPECT_EQ((*tomb)->removed_at, Index(9));
  EXPECT_EQ((*tomb)->replica, MakeReplicaId(NodeId(3), 7));
  // The replica's own records went with it, its stored Raft id included.
  EXPECT_FALSE((*GetReplicaId(*engine, GroupId(1))).has_value());
  EXPECT_EQ(*GetReplicaId(*engine, GroupId(2)), std::optional<NodeId>(MakeReplicaId(NodeId(3), 4)));
  EXPECT_FALSE((*meta.GetTombstone(GroupId(2))).has_value());
  auto all = meta.ListTombstones();
  ASSERT_OK(all);
  EXPECT_EQ(*all, (std::map<GroupId, Index>{{GroupId(1), Index(9)}}));

  RaftLogStore removed(engine.get(), GroupId(1));
  ASSERT_OK(removed.Load());
  EXPECT_EQ(removed.LastIndex(), Index(0));
  KvState removed_kv(engine.get(), GroupId(1));
  ASSERT_OK(removed_kv.Load());
  EXPECT_FALSE((*removed_kv.Get("key")).has_value());
  EXPECT_EQ(removed_kv.applied().applied_index, Index(0));
  KvState kept(engine.get(), GroupId(2));
  EXPECT_TRUE((*kept.Get("key")).has_value());

  WriteBatch clear;
  meta.ClearTombstone(&clear, GroupId(1));
  ASSERT_OK(engine->Write(clear, true));
  EXPECT_FALSE((*meta.GetTombstone(GroupId(1))).has_value());
}

}  // namespace
}  // namespace ringkv::storage
