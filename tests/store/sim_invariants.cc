#include "store/sim_invariants.h"

#include <string_view>

namespace ringkv::store::sim {

void SimInvariants::OnLeader(GroupId group, Term term, NodeId replica) {
  auto [it, inserted] = leaders_.try_emplace({group, term.value()}, replica);
  if (!inserted && it->second != replica) {
    Violation("two leaders of group " + std::to_string(group.value()) + " in term " +
              std::to_string(term.value()) + ": replicas " + std::to_string(it->second.value()) +
              " and " + std::to_string(replica.value()));
  }
}

void SimInvariants::OnApplied(GroupId group, NodeId replica, const raftpb::Entry& entry) {
  ++applied_count_;
  const uint64_t hash = std::hash<std::string_view>()(entry.data()) ^ entry.type();
  auto [it, inserted] =
      applied_.try_emplace({group, entry.index()}, Applied{entry.term(), hash, replica});
  if (inserted) return;
  const Applied& first = it->second;
  if (first.term != entry.term() || first.hash != hash) {
    Violation("group " + std::to_string(group.value()) + " index " +
              std::to_string(entry.index()) + ": replica " + std::to_string(replica.value()) +
              " applied an entry of term " + std::to_string(entry.term()) + ", replica " +
              std::to_string(first.first_by.value()) + " one of term " +
              std::to_string(first.term) + (first.term == entry.term() ? " with other bytes" : ""));
  }
}

void SimInvariants::Violation(std::string what) {
  violations_.push_back(now_() + " " + std::move(what));
}

}  // namespace ringkv::store::sim
