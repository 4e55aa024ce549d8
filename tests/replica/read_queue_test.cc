// ReadQueue: reads queued in one turn form one batch per ReadIndex round; a batch is served
// only once its ReadState arrived and apply reached the read index; losing leadership answers
// every waiting read; deadlines expire batched reads.
#include "replica/read_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ringkv::replica {
namespace {

class ReadQueueTest : public ::testing::Test {
 protected:
  PendingRead Read(const std::string& key,
                   Clock::time_point deadline = Clock::time_point::max()) {
    kvpb::Request req;
    req.mutable_get()->set_key(key);
    return PendingRead{req, [this, key](kvpb::Response r) { answered_[key] = r; }, deadline};
  }
  // Issues the queued reads as one round, returning its context.
  std::string Issue() {
    std::string ctx = queue_.NextContext();
    queue_.AddBatch(ctx, queue_.TakeQueued());
    return ctx;
  }
  std::vector<std::string> ServeReady(uint64_t applied) {
    std::vector<std::string> served;
    queue_.ServeReady(Index(applied),
                      [&](const PendingRead& r) { served.push_back(r.req.get().key()); });
    return served;
  }

  ReadQueue queue_;
  std::map<std::string, kvpb::Response> answered_;
};

TEST_F(ReadQueueTest, BatchIsServedOnceApplyReachesItsReadIndex) {
  queue_.Queue(Read("a"));
  queue_.Queue(Read("b"));
  EXPECT_TRUE(queue_.has_queued());
  const std::string first = Issue();
  EXPECT_FALSE(queue_.has_queued());
  queue_.Queue(Read("c"));
  const std::string second = Issue();
  EXPECT_NE(first, second);

  EXPECT_TRUE(ServeReady(100).empty()) << "no ReadState yet";
  queue_.OnReadState(raft::ReadState{Index(7), first});
  queue_.OnReadState(raft::ReadState{Index(9), second});
  queue_.OnReadState(raft::ReadState{Index(1), "unknown context"});
  EXPECT_TRUE(ServeReady(6).empty());
  EXPECT_EQ(ServeReady(8), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(ServeReady(8).empty()) << "served reads are forgotten";
  EXPECT_EQ(ServeReady(9), (std::vector<std::string>{"c"}));
}

TEST_F(ReadQueueTest, FailAllAnswersBatchedAndQueuedReads) {
  queue_.Queue(Read("a"));
  Issue();
  queue_.Queue(Read("b"));
  kvpb::Response not_leader = ErrorResponse(kvpb::NOT_LEADER, true, "lost leadership");
  queue_.FailAll(not_leader);
  ASSERT_EQ(answered_.size(), 2u);
  EXPECT_EQ(answered_["a"].error().code(), kvpb::NOT_LEADER);
  EXPECT_EQ(answered_["b"].error().code(), kvpb::NOT_LEADER);
  EXPECT_FALSE(queue_.has_queued());
  EXPECT_TRUE(ServeReady(1000).empty());
}

TEST_F(ReadQueueTest, ExpireAnswersBatchedReadsPastTheirDeadline) {
  const Clock::time_point now = Clock::now();
  queue_.Queue(Read("late", now));
  queue_.Queue(Read("fine", now + std::chrono::seconds(1)));
  const std::string ctx = Issue();
  queue_.Expire(now);
  ASSERT_EQ(answered_.size(), 1u);
  EXPECT_EQ(answered_["late"].error().code(), kvpb::TIMEOUT);
  queue_.OnReadState(raft::ReadState{Index(3), ctx});
  EXPECT_EQ(ServeReady(3), (std::vector<std::string>{"fine"}));
}

}  // namespace
}  // namespace ringkv::replica
