#include "store/sim_gossip.h"

#include <algorithm>
#include <string>

namespace ringkv::store::sim {

void SimGossip::Start(NodeId id, TimePoint now) {
  flags_.try_emplace(id);
  auto& view = views_[id];
  view.clear();
  view[id] = Seen{now, flags_[id].decommissioning};
}

void SimGossip::Leave(NodeId id) { flags_[id].left = true; }

void SimGossip::Round(TimePoint now, const std::vector<NodeId>& up,
                      const std::function<bool(NodeId, NodeId)>& reaches) {
  auto both_ways = [&](NodeId a, NodeId b) { return reaches(a, b) && reaches(b, a); };
  for (NodeId a : up) {
    auto& view = views_[a];
    for (NodeId b : up) {
      bool heard = a == b || both_ways(a, b);
      // SWIM's indirect probe: another live member relays the ping and the ack.
      for (size_t k = 0; !heard && k < up.size(); ++k) {
        const NodeId via = up[k];
        heard = via != a && via != b && both_ways(a, via) && both_ways(via, b);
      }
      if (!heard) continue;
      view[b] = Seen{now, flags_[b].decommissioning};
      if (a == b) continue;
      // Push-pull: `a` learns the members `b` knows that it does not (after its restart: the
      // dead ones too). A member `b` has not heard from lately arrives suspect (memberlist
      // turns a pulled "dead" into "suspect"), to turn dead on a's own timer.
      for (const auto& [m, seen] : views_[b]) {
        if (view.contains(m)) continue;
        view[m] = Seen{std::max(seen.heard, now - timing_.suspect_after), seen.decommissioning};
      }
    }
  }
}

std::vector<MemberView> SimGossip::ViewOf(NodeId observer, TimePoint now) const {
  std::vector<MemberView> out;
  auto it = views_.find(observer);
  if (it == views_.end()) return out;
  for (const auto& [id, seen] : it->second) {
    MemberView m;
    m.id = id;
    m.peer_addr = "sim-peer:" + std::to_string(id.value());
    m.client_addr = "sim-client:" + std::to_string(id.value());
    m.decommissioning = seen.decommissioning;
    const auto silent = now - seen.heard;
    auto f = flags_.find(id);
    if (f != flags_.end() && f->second.left) {
      m.state = MemberView::State::kLeft;
    } else if (silent >= timing_.dead_after) {
      m.state = MemberView::State::kDead;
    } else if (silent >= timing_.suspect_after) {
      m.state = MemberView::State::kSuspect;
    } else {
      m.state = MemberView::State::kAlive;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace ringkv::store::sim
