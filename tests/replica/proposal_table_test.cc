// ProposalTable: a write is answered with its result when its own entry applies, NOT_LEADER
// when another leader's entry took its index (or a newer proposal of ours overwrote it),
// UNKNOWN_OUTCOME when a snapshot jumps over it, and TIMEOUT (indefinite) past its deadline.
#include "replica/proposal_table.h"

#include <gtest/gtest.h>

#include <map>
#include <utility>
#include <vector>

namespace ringkv::replica {
namespace {

class ProposalTableTest : public ::testing::Test {
 protected:
  // A reply that records its answer under `name`.
  Reply Recorder(int name) {
    return [this, name](kvpb::Response r) { answers_[name].push_back(std::move(r)); };
  }
  void Add(uint64_t index, uint64_t term, int name,
           Clock::time_point deadline = Clock::time_point::max()) {
    table_.Add(raft::EntryId{Index(index), Term(term)}, Recorder(name), deadline);
  }
  // Sends the replies Decide collected, as the replica does once the apply is on disk.
  void Send(std::vector<std::pair<Reply, kvpb::Response>>* replies) {
    for (auto& [reply, resp] : *replies) reply(std::move(resp));
    replies->clear();
  }

  ProposalTable table_;
  std::map<int, std::vector<kvpb::Response>> answers_;
};

TEST_F(ProposalTableTest, OwnEntryGetsItsAnswerAndOthersAreSuperseded) {
  Add(10, 2, 1);
  Add(11, 2, 2);
  Add(12, 2, 3);
  kvpb::Response ok;
  ok.mutable_put()->set_version(11);
  std::vector<std::pair<Reply, kvpb::Response>> replies;
  // Index 10 was taken by a term-3 entry; 11 is ours.
  table_.Decide(Index(10), Term(3), kvpb::Response(), &replies);
  table_.Decide(Index(11), Term(2), ok, &replies);
  EXPECT_TRUE(answers_.empty()) << "answers wait for the caller";
  Send(&replies);
  ASSERT_EQ(answers_[1].size(), 1u);
  EXPECT_EQ(answers_[1][0].error().code(), kvpb::NOT_LEADER);
  EXPECT_TRUE(answers_[1][0].error().definite());
  ASSERT_EQ(answers_[2].size(), 1u);
  EXPECT_EQ(answers_[2][0].put().version(), 11u);
  EXPECT_TRUE(answers_[3].empty());
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(ProposalTableTest, OverwrittenProposalIsAnsweredAtOnce) {
  Add(10, 2, 1);
  Add(10, 3, 2);  // a newer leader term of ours reused the index
  ASSERT_EQ(answers_[1].size(), 1u);
  EXPECT_EQ(answers_[1][0].error().code(), kvpb::NOT_LEADER);
  EXPECT_EQ(table_.size(), 1u);
  std::vector<std::pair<Reply, kvpb::Response>> replies;
  table_.Decide(Index(10), Term(3), kvpb::Response(), &replies);
  Send(&replies);
  ASSERT_EQ(answers_[2].size(), 1u);
  EXPECT_FALSE(answers_[2][0].has_error());
}

TEST_F(ProposalTableTest, SnapshotMakesCoveredOutcomesUnknown) {
  Add(10, 2, 1);
  Add(20, 2, 2);
  table_.FailCoveredBySnapshot(Index(15));
  ASSERT_EQ(answers_[1].size(), 1u);
  EXPECT_EQ(answers_[1][0].error().code(), kvpb::UNKNOWN_OUTCOME);
  EXPECT_FALSE(answers_[1][0].error().definite());
  EXPECT_TRUE(answers_[2].empty());
  EXPECT_EQ(table_.size(), 1u);
}

TEST_F(ProposalTableTest, ExpireAnswersOnlyPastDeadlines) {
  const Clock::time_point now = Clock::now();
  Add(10, 2, 1, now);
  Add(11, 2, 2, now + std::chrono::seconds(1));
  table_.Expire(now);
  ASSERT_EQ(answers_[1].size(), 1u);
  EXPECT_EQ(answers_[1][0].error().code(), kvpb::TIMEOUT);
  EXPECT_FALSE(answers_[1][0].error().definite());
  EXPECT_TRUE(answers_[2].empty());
  EXPECT_EQ(table_.size(), 1u);
}

}  // namespace
}  // namespace ringkv::replica
