// SimInvariants: each invariant flags what breaks it and nothing that does not.
#include "store/sim_invariants.h"

#include <gtest/gtest.h>

namespace ringkv::store::sim {
namespace {

raftpb::Entry MakeEntry(uint64_t index, uint64_t term, const std::string& data) {
  raftpb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(data);
  return e;
}

SimInvariants Checker() {
  return SimInvariants([] { return std::string("t=0"); });
}

TEST(SimInvariants, OneLeaderPerGroupAndTerm) {
  SimInvariants inv = Checker();
  inv.OnLeader(GroupId(1), Term(3), NodeId(1));
  inv.OnLeader(GroupId(1), Term(3), NodeId(1));  // reported again (e.g. after a restart)
  inv.OnLeader(GroupId(1), Term(4), NodeId(2));  // a later term
  inv.OnLeader(GroupId(2), Term(3), NodeId(2));  // another group
  EXPECT_TRUE(inv.violations().empty());
  inv.OnLeader(GroupId(1), Term(4), NodeId(3));
  ASSERT_EQ(inv.violations().size(), 1u);
  EXPECT_NE(inv.violations()[0].find("two leaders of group 1 in term 4: replicas 2 and 3"),
            std::string::npos)
      << inv.violations()[0];
}

TEST(SimInvariants, OneEntryPerIndex) {
  SimInvariants inv = Checker();
  inv.OnApplied(GroupId(1), NodeId(1), MakeEntry(5, 2, "put a"));
  inv.OnApplied(GroupId(1), NodeId(2), MakeEntry(5, 2, "put a"));  // the same entry
  inv.OnApplied(GroupId(1), NodeId(1), MakeEntry(5, 2, "put a"));  // replayed after a crash
  inv.OnApplied(GroupId(2), NodeId(1), MakeEntry(5, 3, "put b"));  // another group
  EXPECT_TRUE(inv.violations().empty());
  EXPECT_EQ(inv.entries_applied(), 4u);

  inv.OnApplied(GroupId(1), NodeId(3), MakeEntry(5, 3, "put a"));  // other term
  inv.OnApplied(GroupId(1), NodeId(3), MakeEntry(5, 2, "put c"));  // other bytes
  ASSERT_EQ(inv.violations().size(), 2u);
  EXPECT_NE(inv.violations()[0].find("group 1 index 5: replica 3 applied an entry of term 3"),
            std::string::npos)
      << inv.violations()[0];
  EXPECT_NE(inv.violations()[1].find("with other bytes"), std::string::npos)
      << inv.violations()[1];
}

}  // namespace
}  // namespace ringkv::store::sim
