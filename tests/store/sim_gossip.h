// SimGossip: what gossip (src/gossip, SWIM) would tell each simulated node about the members,
// as the store's MemberView list (Store::SetMembership, the way kvd's membership loop feeds
// it). A simple, deterministic model of SWIM's failure detector, not a simulation of its
// datagrams:
// - each round, an observer that reaches a member (a probe and its ack get through, directly
//   or through one other live member: SWIM's indirect probe) hears from it now, and learns its
//   gossiped flags (decommissioning);
// - a member not heard from for `suspect_after` is suspect to that observer, for `dead_after`
//   dead; heard again, it is alive. Views differ between observers under partitions;
// - a member that leaves (a drained decommission: gossip's Leave) is kLeft for everyone (the
//   leave message is disseminated), and a newcomer is known to an observer from the first
//   round that reaches it;
// - an observer that restarts forgets its view (memberlist state is not persisted) and pulls
//   the members it does not know from the first member it reaches (push-pull anti-entropy;
//   gossip keeps dead members for an hour, swim.h dead_retention_ms), a silent one as suspect.
//
// Thread-safety: none; the simulation's thread only.
#ifndef RINGKV_TESTS_STORE_SIM_GOSSIP_H_
#define RINGKV_TESTS_STORE_SIM_GOSSIP_H_

#include <chrono>
#include <functional>
#include <map>
#include <vector>

#include "common/ids.h"
#include "store/store_options.h"

namespace ringkv::store::sim {

class SimGossip {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Timing {
    std::chrono::milliseconds suspect_after{300};
    std::chrono::milliseconds dead_after{1000};
  };
  explicit SimGossip(Timing timing) : timing_(timing) {}

  // `id` runs gossip from `now` (a new member, or a restart: its own view starts empty).
  void Start(NodeId id, TimePoint now);
  // `id` gossips the decommissioning flag from now on.
  void SetDecommissioning(NodeId id) { flags_[id].decommissioning = true; }
  // `id` left the cluster gracefully: every observer sees kLeft.
  void Leave(NodeId id);
  // One gossip round at `now` for every observer in `up`: `reaches(a, b)` says whether a's
  // probe of b and b's ack both get through the network directly.
  void Round(TimePoint now, const std::vector<NodeId>& up,
             const std::function<bool(NodeId, NodeId)>& reaches);
  // What `observer` would hand its store now.
  std::vector<MemberView> ViewOf(NodeId observer, TimePoint now) const;

 private:
  struct Flags {
    bool decommissioning = false;
    bool left = false;
  };
  struct Seen {
    TimePoint heard;
    bool decommissioning = false;
  };
  const Timing timing_;
  std::map<NodeId, Flags> flags_;                     // what each member gossips about itself
  std::map<NodeId, std::map<NodeId, Seen>> views_;    // observer -> member -> last heard
};

}  // namespace ringkv::store::sim

#endif  // RINGKV_TESTS_STORE_SIM_GOSSIP_H_
