// Unit tests of the pure SWIM core: message handling poked directly, and small scenarios on a
// loss-free simulated network (one rule of the protocol per test).
#include "gossip/swim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sim_network.h"

namespace ringkv::gossip {
namespace {

using testing::SimAddr;
using testing::SimNetwork;
using testing::SimNodeOptions;
using testing::SimOptions;

gossippb::Envelope From(uint64_t sender, const std::string& cluster = "sim") {
  gossippb::Envelope env;
  env.set_cluster_id(cluster);
  env.set_sender_id(sender);
  env.set_sender_addr(SimAddr(sender));
  return env;
}

gossippb::MemberInfo AliveInfo(uint64_t id, uint64_t inc = 0) {
  gossippb::MemberInfo info;
  info.set_id(id);
  info.set_name("n" + std::to_string(id));
  info.set_gossip_addr(SimAddr(id));
  info.set_incarnation(inc);
  return info;
}

bool HasEvent(SimNetwork& net, uint64_t observer, uint64_t subject, MemberEvent::Type type) {
  for (const auto& e : net.events(observer)) {
    if (e.event.member.id == NodeId(subject) && e.event.type == type) return true;
  }
  return false;
}

// Starts node 1 and joins nodes 2..n through it; waits for convergence.
void StartCluster(SimNetwork& net, int n, uint64_t seed = 1) {
  net.AddNode(SimNodeOptions(1, seed));
  for (int i = 2; i <= n; ++i) {
    net.AddNode(SimNodeOptions(i, seed))->Join({SimAddr(1)});
    net.Drain(i);
  }
  ASSERT_TRUE(net.RunUntil(
      [&] {
        for (int a = 1; a <= n; ++a) {
          for (int b = 1; b <= n; ++b) {
            if (net.StateAt(a, b) != MemberState::kAlive) return false;
          }
        }
        return true;
      },
      30000));
}

TEST(SwimTest, StartsAloneAndAlive) {
  Swim s(SimNodeOptions(1, 1));
  EXPECT_EQ(s.members().size(), 1u);
  EXPECT_EQ(s.self().state, MemberState::kAlive);
  s.Tick(5000);
  EXPECT_TRUE(s.TakeOutbox().empty());  // nobody to probe
  EXPECT_EQ(s.stats().probes, 0u);
}

TEST(SwimTest, PingIsAckedToSender) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope ping = From(2);
  ping.mutable_ping()->set_seq_no(77);
  ping.mutable_ping()->set_target_id(1);
  ASSERT_TRUE(s.Receive("10.1.1.1:5", ping).ok());
  auto out = s.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, "10.1.1.1:5");
  EXPECT_EQ(out[0].envelope.ack().seq_no(), 77u);
  EXPECT_EQ(out[0].envelope.sender_id(), 1u);
}

TEST(SwimTest, PingForAnotherNodeIdIsNotAcked) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope ping = From(2);
  ping.mutable_ping()->set_seq_no(77);
  ping.mutable_ping()->set_target_id(5);
  ASSERT_TRUE(s.Receive(SimAddr(2), ping).ok());
  EXPECT_TRUE(s.TakeOutbox().empty());
  EXPECT_EQ(s.stats().dropped_wrong_target, 1u);
}

TEST(SwimTest, OtherClusterIsDroppedAndCounted) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope env = From(2, "other");
  *env.add_updates() = AliveInfo(2);
  env.mutable_ping()->set_seq_no(1);
  EXPECT_TRUE(s.Receive(SimAddr(2), env).IsInvalidArgument());
  EXPECT_EQ(s.stats().dropped_cluster_mismatch, 1u);
  EXPECT_EQ(s.members().size(), 1u);
  EXPECT_TRUE(s.TakeOutbox().empty());
}

TEST(SwimTest, OutOfBoundsInputIsDroppedWhole) {
  SwimOptions o = SimNodeOptions(1, 1);
  o.max_updates_per_message = 4;
  Swim s(o);
  gossippb::Envelope env = From(2);
  *env.add_updates() = AliveInfo(3);
  gossippb::MemberInfo bad = AliveInfo(4);
  bad.set_meta(std::string(kMaxMetaBytes + 1, 'm'));
  *env.add_updates() = bad;
  EXPECT_TRUE(s.Receive(SimAddr(2), env).IsInvalidArgument());
  EXPECT_EQ(s.members().Find(NodeId(3)), nullptr);  // nothing of a bad message is applied

  gossippb::Envelope many = From(2);
  for (int i = 0; i < 5; ++i) *many.add_updates() = AliveInfo(10 + i);
  EXPECT_TRUE(s.Receive(SimAddr(2), many).IsInvalidArgument());
  EXPECT_EQ(s.stats().dropped_invalid, 2u);
  EXPECT_EQ(s.members().size(), 1u);
}

TEST(SwimTest, AnotherNodeClaimingOurIdIsDropped) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope env = From(1);
  env.set_sender_addr("impostor:1");
  env.mutable_ping()->set_seq_no(1);
  EXPECT_TRUE(s.Receive("impostor:1", env).IsInvalidArgument());
  EXPECT_EQ(s.stats().dropped_id_conflict, 1u);
}

TEST(SwimTest, PingReqIsRelayedAndAckForwarded) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope req = From(2);
  req.mutable_ping_req()->set_seq_no(5);
  req.mutable_ping_req()->set_target_id(3);
  req.mutable_ping_req()->set_target_addr(SimAddr(3));
  ASSERT_TRUE(s.Receive(SimAddr(2), req).ok());
  auto out = s.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, SimAddr(3));
  ASSERT_TRUE(out[0].envelope.has_ping());
  EXPECT_EQ(out[0].envelope.ping().target_id(), 3u);
  const uint64_t relay_seq = out[0].envelope.ping().seq_no();

  gossippb::Envelope ack = From(3);
  ack.mutable_ack()->set_seq_no(relay_seq);
  ASSERT_TRUE(s.Receive(SimAddr(3), ack).ok());
  out = s.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, SimAddr(2));
  EXPECT_EQ(out[0].envelope.ack().seq_no(), 5u);
  // A duplicate ack is not forwarded twice.
  ASSERT_TRUE(s.Receive(SimAddr(3), ack).ok());
  EXPECT_TRUE(s.TakeOutbox().empty());
}

TEST(SwimTest, PushPullRequestIsAnsweredWithFullState) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope pp = From(2);
  pp.mutable_push_pull()->set_reply_wanted(true);
  pp.mutable_push_pull()->set_join(true);
  *pp.mutable_push_pull()->add_members() = AliveInfo(2);
  *pp.mutable_push_pull()->add_members() = AliveInfo(3);
  ASSERT_TRUE(s.Receive(SimAddr(2), pp).ok());
  EXPECT_EQ(s.members().NumLive(), 3u);
  auto out = s.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, SimAddr(2));
  ASSERT_TRUE(out[0].envelope.has_push_pull());
  EXPECT_FALSE(out[0].envelope.push_pull().reply_wanted());
  EXPECT_EQ(out[0].envelope.push_pull().members_size(), 3);
  auto events = s.TakeEvents();
  EXPECT_EQ(events.size(), 2u);
  for (const auto& e : events) EXPECT_EQ(e.type, MemberEvent::Type::kJoined);
}

TEST(SwimTest, LargeStateIsSplitIntoBoundedPushPullChunks) {
  SwimOptions o = SimNodeOptions(1, 1);
  o.max_push_pull_bytes = 1000;
  Swim s(o);
  gossippb::Envelope pp = From(2);
  pp.mutable_push_pull()->set_reply_wanted(true);
  for (int i = 2; i < 100; ++i) *pp.mutable_push_pull()->add_members() = AliveInfo(i);
  ASSERT_TRUE(s.Receive(SimAddr(2), pp).ok());
  auto out = s.TakeOutbox();
  ASSERT_GT(out.size(), 1u);
  int total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].envelope.push_pull().reply_wanted(), false);
    EXPECT_LE(out[i].envelope.push_pull().ByteSizeLong(), 1100u);
    total += out[i].envelope.push_pull().members_size();
  }
  EXPECT_EQ(total, 99);
}

TEST(SwimTest, SuspicionAboutSelfIsRefutedWithHigherIncarnation) {
  Swim s(SimNodeOptions(1, 1));
  gossippb::Envelope env = From(2);
  gossippb::MemberInfo me = AliveInfo(1, 0);
  me.set_state(gossippb::MEMBER_SUSPECT);
  *env.add_updates() = me;
  ASSERT_TRUE(s.Receive(SimAddr(2), env).ok());
  EXPECT_EQ(s.self().incarnation, 1u);
  EXPECT_EQ(s.self().state, MemberState::kAlive);
  EXPECT_EQ(s.stats().refutations, 1u);
  // A stale suspicion (older incarnation) is not refuted again.
  ASSERT_TRUE(s.Receive(SimAddr(2), env).ok());
  EXPECT_EQ(s.self().incarnation, 1u);
}

TEST(SwimTest, SuspicionTimeoutGrowsWithClusterSize) {
  Swim s(SimNodeOptions(1, 1));
  const int64_t small = s.SuspicionTimeoutMs();
  EXPECT_EQ(small, 4 * 1000);
  gossippb::Envelope pp = From(2);
  for (int i = 2; i <= 100; ++i) *pp.mutable_push_pull()->add_members() = AliveInfo(i);
  ASSERT_TRUE(s.Receive(SimAddr(2), pp).ok());
  EXPECT_EQ(s.SuspicionTimeoutMs(), 8 * 1000);  // 4 * log10(100) * 1 s
  EXPECT_GT(s.RetransmitLimit(), 4);
}

// Builds a core that knows members 2..n as alive (through a push-pull).
Swim KnowingMembers(int n, SwimOptions o = SimNodeOptions(1, 1)) {
  Swim s(o);
  gossippb::Envelope pp = From(2);
  for (int i = 2; i <= n; ++i) *pp.mutable_push_pull()->add_members() = AliveInfo(i);
  EXPECT_TRUE(s.Receive(SimAddr(2), pp).ok());
  s.TakeOutbox();
  s.TakeEvents();
  return s;
}

gossippb::Envelope Accusation(uint64_t accuser, uint64_t suspect) {
  gossippb::Envelope env = From(accuser);
  gossippb::MemberInfo info = AliveInfo(suspect);
  info.set_state(gossippb::MEMBER_SUSPECT);
  info.set_accuser(accuser);
  *env.add_updates() = info;
  return env;
}

bool DeadAt(Swim& s, uint64_t id) {
  return s.members().Find(NodeId(id))->state == MemberState::kDead;
}

TEST(SwimTest, LoneAccusationWaitsTheMaximumSuspicionTimeout) {
  Swim s = KnowingMembers(10);
  s.Tick(0);
  const int64_t min = s.SuspicionTimeoutMs();
  ASSERT_TRUE(s.Receive(SimAddr(2), Accusation(2, 5)).ok());
  EXPECT_EQ(s.members().Find(NodeId(5))->state, MemberState::kSuspect);
  s.Tick(min + 1);
  EXPECT_FALSE(DeadAt(s, 5));
  // The same accuser again is not a confirmation.
  ASSERT_TRUE(s.Receive(SimAddr(2), Accusation(2, 5)).ok());
  s.Tick(6 * min - 1);
  EXPECT_FALSE(DeadAt(s, 5));
  s.Tick(6 * min);
  EXPECT_TRUE(DeadAt(s, 5));
}

TEST(SwimTest, IndependentConfirmationsShortenSuspicionToTheMinimum) {
  Swim s = KnowingMembers(10);
  s.Tick(0);
  const int64_t min = s.SuspicionTimeoutMs();
  ASSERT_TRUE(s.Receive(SimAddr(2), Accusation(2, 5)).ok());
  ASSERT_TRUE(s.Receive(SimAddr(3), Accusation(3, 5)).ok());
  // One of k = 2 confirmations: somewhere between min and max.
  s.Tick(min);
  EXPECT_FALSE(DeadAt(s, 5));
  s.TakeOutbox();
  ASSERT_TRUE(s.Receive(SimAddr(4), Accusation(4, 5)).ok());
  s.Tick(min);
  EXPECT_TRUE(DeadAt(s, 5));
  bool dead_event = false;
  for (const auto& e : s.TakeEvents()) {
    dead_event |= e.type == MemberEvent::Type::kDead && e.member.id == NodeId(5);
  }
  EXPECT_TRUE(dead_event);
}

TEST(SwimTest, FixedSuspicionTimeoutWhenLifeguardIsOff) {
  SwimOptions o = SimNodeOptions(1, 1);
  o.suspicion_max_timeout_mult = 1;
  Swim s = KnowingMembers(10, o);
  s.Tick(0);
  const int64_t min = s.SuspicionTimeoutMs();
  ASSERT_TRUE(s.Receive(SimAddr(2), Accusation(2, 5)).ok());
  s.Tick(min - 1);
  EXPECT_FALSE(DeadAt(s, 5));
  s.Tick(min);
  EXPECT_TRUE(DeadAt(s, 5));
}

TEST(SwimTest, ThreeNodesJoinThroughOneSeed) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 3);
  EXPECT_TRUE(HasEvent(net, 2, 3, MemberEvent::Type::kJoined));
  EXPECT_TRUE(HasEvent(net, 3, 2, MemberEvent::Type::kJoined));
  const Member* m = net.node(2)->members().Find(NodeId(3));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->peer_addr, "node3:9000");
  EXPECT_EQ(m->client_addr, "node3:9001");
}

TEST(SwimTest, HealthyClusterRaisesNoSuspicion) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 4);
  net.RunFor(30000);
  for (uint64_t id = 1; id <= 4; ++id) {
    EXPECT_GE(net.node(id)->stats().probes, 25u);
    EXPECT_EQ(net.node(id)->stats().suspicions_raised, 0u);
    EXPECT_EQ(net.node(id)->members().NumLive(), 4u);
  }
}

TEST(SwimTest, CrashedNodeIsSuspectedThenDeclaredDead) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 4);
  net.Kill(4);
  const int64_t killed_at = net.now();
  ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(4, MemberState::kDead); }, 30000));
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_TRUE(HasEvent(net, id, 4, MemberEvent::Type::kDead));
  }
  // Somebody suspected before anybody declared death, and waited out the suspicion timeout.
  int64_t first_suspect = -1, first_dead = -1;
  for (uint64_t id = 1; id <= 3; ++id) {
    for (const auto& e : net.events(id)) {
      if (e.event.member.id != NodeId(4)) continue;
      if (e.event.type == MemberEvent::Type::kSuspect && first_suspect < 0) first_suspect = e.at;
      if (e.event.type == MemberEvent::Type::kDead && (first_dead < 0 || e.at < first_dead)) {
        first_dead = e.at;
      }
    }
  }
  ASSERT_GE(first_suspect, killed_at);
  EXPECT_GE(first_dead - first_suspect, net.node(1)->SuspicionTimeoutMs() - 1000);
}

TEST(SwimTest, IndirectProbeSavesNodeBehindOneBrokenLink) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 4);
  net.Cut(1, 2);
  net.RunFor(40000);
  EXPECT_GT(net.node(1)->stats().indirect_probes, 0u);
  EXPECT_EQ(net.StateAt(1, 2), MemberState::kAlive);
  EXPECT_EQ(net.StateAt(2, 1), MemberState::kAlive);
  EXPECT_FALSE(HasEvent(net, 1, 2, MemberEvent::Type::kDead));
}

TEST(SwimTest, FalseSuspicionIsRefutedClusterWide) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 4);
  // Node 3 wrongly hears that node 2 is suspect.
  gossippb::Envelope env = From(4);
  gossippb::MemberInfo rumor = InfoFromMember(*net.node(3)->members().Find(NodeId(2)));
  rumor.set_state(gossippb::MEMBER_SUSPECT);
  *env.add_updates() = rumor;
  ASSERT_TRUE(net.node(3)->Receive(SimAddr(4), env).ok());
  net.Drain(3);
  EXPECT_EQ(net.StateAt(3, 2), MemberState::kSuspect);
  ASSERT_TRUE(net.RunUntil([&] { return net.node(2)->self().incarnation > rumor.incarnation(); },
                           5000));
  ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(2, MemberState::kAlive); }, 5000));
  EXPECT_TRUE(HasEvent(net, 3, 2, MemberEvent::Type::kAlive));
  net.RunFor(10000);  // past any suspicion timeout
  EXPECT_TRUE(net.AllSee(2, MemberState::kAlive));
  EXPECT_GE(net.node(2)->stats().refutations, 1u);
}

TEST(SwimTest, GracefulLeaveIsSeenAsLeftNotDead) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 4);
  net.node(4)->Leave();
  net.Drain(4);
  ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(4, MemberState::kLeft); }, 5000));
  ASSERT_TRUE(net.RunUntil([&] { return net.node(4)->LeaveDisseminated(); }, 5000));
  const uint64_t probes = net.node(4)->stats().probes;
  net.Kill(4);
  net.RunFor(20000);
  EXPECT_TRUE(net.AllSee(4, MemberState::kLeft));
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_TRUE(HasEvent(net, id, 4, MemberEvent::Type::kLeft));
    EXPECT_FALSE(HasEvent(net, id, 4, MemberEvent::Type::kDead));
  }
  EXPECT_EQ(net.node(4)->stats().probes, probes);
}

TEST(SwimTest, MetaAndDecommissioningReachEveryone) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 4);
  net.node(2)->SetMeta("leads:7,9");
  net.node(2)->SetDecommissioning(true);
  net.Drain(2);
  ASSERT_TRUE(net.RunUntil(
      [&] {
        for (uint64_t id : {1, 3, 4}) {
          const Member* m = net.node(id)->members().Find(NodeId(2));
          if (m == nullptr || m->meta != "leads:7,9" || !m->decommissioning) return false;
        }
        return true;
      },
      5000));
  EXPECT_TRUE(HasEvent(net, 1, 2, MemberEvent::Type::kUpdated));
}

TEST(SwimTest, RestartedNodeRefutesItsObituaryAndRejoins) {
  SimNetwork net(SimOptions{});
  StartCluster(net, 3);
  net.Kill(3);
  ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(3, MemberState::kDead); }, 30000));
  // Same id, fresh process: incarnation 0, lower than its obituary's.
  net.AddNode(SimNodeOptions(3, 2))->Join({SimAddr(1)});
  net.Drain(3);
  ASSERT_TRUE(net.RunUntil([&] { return net.AllSee(3, MemberState::kAlive); }, 10000));
  EXPECT_GE(net.node(3)->self().incarnation, 1u);
  EXPECT_EQ(net.StateAt(3, 1), MemberState::kAlive);
}

TEST(SwimTest, DeadMembersAreReapedAfterRetention) {
  SimNetwork net(SimOptions{});
  net.AddNode(SimNodeOptions(1, 1));
  SwimOptions o2 = SimNodeOptions(2, 1);
  net.AddNode(o2)->Join({SimAddr(1)});
  net.Drain(2);
  ASSERT_TRUE(net.RunUntil([&] { return net.StateAt(1, 2) == MemberState::kAlive; }, 5000));
  // Rebuild node 1 with a short retention to observe reaping.
  SwimOptions o1 = SimNodeOptions(1, 1);
  o1.dead_retention_ms = 2000;
  net.AddNode(o1)->Join({SimAddr(2)});
  net.Drain(1);
  ASSERT_TRUE(net.RunUntil([&] { return net.StateAt(1, 2) == MemberState::kAlive; }, 5000));
  net.Kill(2);
  ASSERT_TRUE(net.RunUntil([&] { return !net.StateAt(1, 2).has_value(); }, 30000));
  EXPECT_TRUE(HasEvent(net, 1, 2, MemberEvent::Type::kDead));
  EXPECT_TRUE(HasEvent(net, 1, 2, MemberEvent::Type::kReaped));
}

}  // namespace
}  // namespace ringkv::gossip
