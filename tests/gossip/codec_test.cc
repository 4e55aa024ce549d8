// Unit tests of the gossip datagram framing and BroadcastQueue.
#include "gossip/codec.h"

#include <gtest/gtest.h>

#include <string>

#include "gossip/broadcast_queue.h"
#include "testutil/status_matchers.h"

namespace ringkv::gossip {
namespace {

gossippb::Envelope SampleEnvelope() {
  gossippb::Envelope env;
  env.set_cluster_id("c1");
  env.set_sender_id(7);
  env.set_sender_incarnation(3);
  env.set_sender_addr("127.0.0.1:7007");
  env.mutable_ping()->set_seq_no(99);
  env.mutable_ping()->set_target_id(8);
  auto* u = env.add_updates();
  u->set_id(5);
  u->set_state(gossippb::MEMBER_SUSPECT);
  u->set_incarnation(2);
  return env;
}

TEST(CodecTest, RoundTrip) {
  Result<std::string> bytes = EncodeDatagram(SampleEnvelope());
  ASSERT_OK(bytes);
  Result<gossippb::Envelope> env = DecodeDatagram(*bytes);
  ASSERT_OK(env);
  EXPECT_EQ(env->cluster_id(), "c1");
  EXPECT_EQ(env->ping().seq_no(), 99u);
  ASSERT_EQ(env->updates_size(), 1);
  EXPECT_EQ(env->updates(0).state(), gossippb::MEMBER_SUSPECT);
}

TEST(CodecTest, FlippedBitIsCorruption) {
  std::string bytes = *EncodeDatagram(SampleEnvelope());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    EXPECT_TRUE(DecodeDatagram(bad).status().IsCorruption()) << "byte " << i;
  }
}

TEST(CodecTest, ShortAndGarbageAreCorruption) {
  EXPECT_TRUE(DecodeDatagram("").status().IsCorruption());
  EXPECT_TRUE(DecodeDatagram("abc").status().IsCorruption());
  std::string bytes = *EncodeDatagram(SampleEnvelope());
  EXPECT_TRUE(DecodeDatagram(bytes.substr(0, bytes.size() - 1)).status().IsCorruption());
}

TEST(CodecTest, OversizeIsRejected) {
  gossippb::Envelope env = SampleEnvelope();
  env.set_sender_addr(std::string(kMaxDatagramBytes, 'x'));
  EXPECT_TRUE(EncodeDatagram(env).status().IsInvalidArgument());
  EXPECT_TRUE(DecodeDatagram(std::string(kMaxDatagramBytes + 1, 'x')).status().IsInvalidArgument());
}

gossippb::MemberInfo Info(uint64_t id, uint64_t inc) {
  gossippb::MemberInfo info;
  info.set_id(id);
  info.set_incarnation(inc);
  info.set_name("node-" + std::to_string(id));
  return info;
}

TEST(BroadcastQueueTest, NewerUpdateReplacesOlderAndLimitDrops) {
  BroadcastQueue q;
  q.Enqueue(Info(1, 1));
  q.Enqueue(Info(1, 2));
  EXPECT_EQ(q.size(), 1u);
  for (int i = 0; i < 3; ++i) {
    gossippb::Envelope env;
    ASSERT_EQ(q.Fill(1000, 100, /*limit=*/3, env.mutable_updates()), 1u);
    EXPECT_EQ(env.updates(0).incarnation(), 2u);
  }
  EXPECT_TRUE(q.empty());
}

TEST(BroadcastQueueTest, LeastTransmittedFirstAndBudgetRespected) {
  BroadcastQueue q;
  q.Enqueue(Info(1, 1));
  {
    gossippb::Envelope env;
    ASSERT_EQ(q.Fill(1000, 100, 10, env.mutable_updates()), 1u);
  }
  q.Enqueue(Info(2, 1));
  gossippb::Envelope env;
  // Room for one update only: the never-sent one goes first.
  const size_t one = Info(2, 1).ByteSizeLong() + 4;
  ASSERT_EQ(q.Fill(one, 100, 10, env.mutable_updates()), 1u);
  EXPECT_EQ(env.updates(0).id(), 2u);
  gossippb::Envelope env2;
  EXPECT_EQ(q.Fill(1000, /*max_updates=*/1, 10, env2.mutable_updates()), 1u);
  EXPECT_TRUE(q.Contains(NodeId(1)));
}

}  // namespace
}  // namespace ringkv::gossip
