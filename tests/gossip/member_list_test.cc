// Unit tests of the SWIM merge rule and the MemberInfo bounds check.
#include "gossip/member_list.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkv::gossip {
namespace {

Member M(uint64_t id, MemberState state, uint64_t inc, std::string meta = "") {
  Member m;
  m.id = NodeId(id);
  m.name = "n" + std::to_string(id);
  m.gossip_addr = "127.0.0.1:" + std::to_string(7000 + id);
  m.state = state;
  m.incarnation = inc;
  m.meta = std::move(meta);
  return m;
}

TEST(MemberListTest, UnknownAliveJoins) {
  MemberList list(10);
  auto out = list.Merge(M(2, MemberState::kAlive, 0), 100);
  EXPECT_TRUE(out.applied);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->type, MemberEvent::Type::kJoined);
  ASSERT_NE(list.Find(NodeId(2)), nullptr);
  EXPECT_EQ(list.Find(NodeId(2))->state_change_ms, 100);
}

TEST(MemberListTest, UnknownDeadOrLeftIsIgnored) {
  MemberList list(10);
  EXPECT_FALSE(list.Merge(M(2, MemberState::kDead, 3), 0).applied);
  EXPECT_FALSE(list.Merge(M(3, MemberState::kLeft, 3), 0).applied);
  EXPECT_EQ(list.size(), 0u);
}

TEST(MemberListTest, FullViewIgnoresNewcomers) {
  MemberList list(1);
  EXPECT_TRUE(list.Merge(M(2, MemberState::kAlive, 0), 0).applied);
  EXPECT_FALSE(list.Merge(M(3, MemberState::kAlive, 0), 0).applied);
  EXPECT_EQ(list.Find(NodeId(3)), nullptr);
}

TEST(MemberListTest, SuspectOverridesAliveAtSameIncarnation) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 5), 0);
  auto out = list.Merge(M(2, MemberState::kSuspect, 5), 10);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->type, MemberEvent::Type::kSuspect);
  EXPECT_EQ(out.event->previous_state, MemberState::kAlive);
  EXPECT_EQ(list.Find(NodeId(2))->state, MemberState::kSuspect);
}

TEST(MemberListTest, AliveAtSameIncarnationDoesNotClearSuspicion) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 5), 0);
  (void)list.Merge(M(2, MemberState::kSuspect, 5), 0);
  EXPECT_FALSE(list.Merge(M(2, MemberState::kAlive, 5), 0).applied);
  EXPECT_EQ(list.Find(NodeId(2))->state, MemberState::kSuspect);
}

TEST(MemberListTest, RefutationWithHigherIncarnationClearsSuspicion) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 5), 0);
  (void)list.Merge(M(2, MemberState::kSuspect, 5), 0);
  auto out = list.Merge(M(2, MemberState::kAlive, 6), 0);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->type, MemberEvent::Type::kAlive);
  EXPECT_EQ(list.Find(NodeId(2))->incarnation, 6u);
}

TEST(MemberListTest, OlderIncarnationIsIgnored) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 5), 0);
  EXPECT_FALSE(list.Merge(M(2, MemberState::kDead, 4), 0).applied);
  EXPECT_EQ(list.Find(NodeId(2))->state, MemberState::kAlive);
}

TEST(MemberListTest, LeftBeatsDeadAtSameIncarnation) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 1), 0);
  (void)list.Merge(M(2, MemberState::kDead, 1), 0);
  auto out = list.Merge(M(2, MemberState::kLeft, 1), 0);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->type, MemberEvent::Type::kLeft);
  EXPECT_FALSE(list.Merge(M(2, MemberState::kDead, 1), 0).applied);
}

TEST(MemberListTest, DeadMemberRejoinsWithHigherIncarnation) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 1), 0);
  (void)list.Merge(M(2, MemberState::kDead, 1), 0);
  auto out = list.Merge(M(2, MemberState::kAlive, 2), 0);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->type, MemberEvent::Type::kJoined);
  EXPECT_EQ(out.event->previous_state, MemberState::kDead);
}

TEST(MemberListTest, MetaChangeIsAnUpdateAndOnlyAliveCarriesIt) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 1, "a"), 0);
  auto out = list.Merge(M(2, MemberState::kAlive, 2, "b"), 0);
  ASSERT_TRUE(out.event.has_value());
  EXPECT_EQ(out.event->type, MemberEvent::Type::kUpdated);
  EXPECT_EQ(out.event->member.meta, "b");
  // A suspicion does not rewrite the member's own announcement.
  (void)list.Merge(M(2, MemberState::kSuspect, 2, "forged"), 0);
  EXPECT_EQ(list.Find(NodeId(2))->meta, "b");
  // A newer alive without a visible change applies (to re-gossip) but emits no event.
  auto same = list.Merge(M(2, MemberState::kAlive, 3, "b"), 0);
  EXPECT_TRUE(same.applied);
  EXPECT_FALSE(same.event.has_value() && same.event->type == MemberEvent::Type::kUpdated);
}

TEST(MemberListTest, ReapForgetsLongDeadMembers) {
  MemberList list(10);
  (void)list.Merge(M(2, MemberState::kAlive, 1), 0);
  (void)list.Merge(M(3, MemberState::kAlive, 1), 0);
  (void)list.Merge(M(2, MemberState::kDead, 1), 1000);
  EXPECT_TRUE(list.Reap(1500, 1000).empty());
  auto reaped = list.Reap(2000, 1000);
  ASSERT_EQ(reaped.size(), 1u);
  EXPECT_EQ(reaped[0].id, NodeId(2));
  EXPECT_EQ(list.Find(NodeId(2)), nullptr);
  EXPECT_NE(list.Find(NodeId(3)), nullptr);
}

TEST(MemberListTest, ValidateMemberInfoBounds) {
  gossippb::MemberInfo info = InfoFromMember(M(2, MemberState::kAlive, 1));
  EXPECT_TRUE(ValidateMemberInfo(info).ok());
  gossippb::MemberInfo bad = info;
  bad.set_id(0);
  EXPECT_TRUE(ValidateMemberInfo(bad).IsInvalidArgument());
  bad = info;
  bad.set_meta(std::string(kMaxMetaBytes + 1, 'x'));
  EXPECT_TRUE(ValidateMemberInfo(bad).IsInvalidArgument());
  bad = info;
  bad.set_name(std::string(kMaxNameBytes + 1, 'x'));
  EXPECT_TRUE(ValidateMemberInfo(bad).IsInvalidArgument());
  bad = info;
  bad.set_peer_addr(std::string(kMaxAddrBytes + 1, 'x'));
  EXPECT_TRUE(ValidateMemberInfo(bad).IsInvalidArgument());
  bad = info;
  bad.set_state(static_cast<gossippb::MemberState>(17));
  EXPECT_TRUE(ValidateMemberInfo(bad).IsInvalidArgument());
}

TEST(MemberListTest, InfoRoundTrip) {
  Member m = M(9, MemberState::kSuspect, 42, "shards:1,2");
  m.peer_addr = "10.0.0.1:9000";
  m.client_addr = "10.0.0.1:9001";
  m.decommissioning = true;
  Member back = MemberFromInfo(InfoFromMember(m));
  EXPECT_EQ(back.id, m.id);
  EXPECT_EQ(back.state, m.state);
  EXPECT_EQ(back.incarnation, 42u);
  EXPECT_TRUE(back.decommissioning);
  EXPECT_TRUE(SameAnnouncement(back, m));
}

}  // namespace
}  // namespace ringkv::gossip
