#include "client/lane_pool.h"

namespace ringkv::client {

Session LanePool::Acquire() {
  Lane lane;
  if (!free_.empty()) {
    lane = free_.back();
    free_.pop_back();
  } else {
    uint64_t id = 0;
    while (id == 0) id = rng_.Next();  // 0 means "no session" on the wire
    lane = Lane{id, 0};
  }
  ++in_use_;
  return Session{lane.client_id, lane.last_sequence + 1};
}

void LanePool::Release(const Session& s) {
  --in_use_;
  free_.push_back(Lane{s.client_id, s.sequence});
}

}  // namespace ringkv::client
