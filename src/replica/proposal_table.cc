#include "replica/proposal_table.h"

#include <utility>

#include "replica/replica_metrics.h"

namespace ringkv::replica {

void ProposalTable::Add(raft::EntryId id, Reply reply, Clock::time_point deadline) {
  auto [it, inserted] = proposals_.try_emplace(id.index, PendingWrite{id.term, reply, deadline});
  if (!inserted) {
    // An older proposal of ours at this index was overwritten by a newer leader: it can never
    // commit.
    CountProposalFailed(ProposalFailure::kSuperseded);
    it->second.reply(ErrorResponse(kvpb::NOT_LEADER, true, "proposal superseded by a new leader"));
    it->second = PendingWrite{id.term, std::move(reply), deadline};
  }
}

void ProposalTable::Decide(Index index, Term term, const kvpb::Response& resp,
                           std::vector<std::pair<Reply, kvpb::Response>>* replies) {
  // Every proposal at or below this index is now decided: ours if the term matches, else
  // another leader's entry won the slot.
  while (!proposals_.empty() && proposals_.begin()->first <= index) {
    auto node = proposals_.extract(proposals_.begin());
    PendingWrite& p = node.mapped();
    if (node.key() == index && p.term == term) {
      replies->emplace_back(std::move(p.reply), resp);
    } else {
      CountProposalFailed(ProposalFailure::kSuperseded);
      replies->emplace_back(std::move(p.reply),
                            ErrorResponse(kvpb::NOT_LEADER, true,
                                          "proposal superseded by a new leader's entry"));
    }
  }
}

void ProposalTable::FailCoveredBySnapshot(Index index) {
  // Writes we proposed that the snapshot covers: we cannot tell whether they won their slot.
  while (!proposals_.empty() && proposals_.begin()->first <= index) {
    auto node = proposals_.extract(proposals_.begin());
    CountProposalFailed(ProposalFailure::kUnknownOutcome);
    node.mapped().reply(ErrorResponse(kvpb::UNKNOWN_OUTCOME, false,
                                      "replica caught up by snapshot; write outcome unknown"));
  }
}

void ProposalTable::Expire(Clock::time_point now) {
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.deadline <= now) {
      CountProposalFailed(ProposalFailure::kTimeout);
      it->second.reply(ErrorResponse(kvpb::TIMEOUT, false,
                                     "write not applied before its deadline; it may still be"));
      it = proposals_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace ringkv::replica
