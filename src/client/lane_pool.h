// LanePool: the client's exactly-once write sessions ("lanes"). The server keeps one outstanding
// write per session (client_id, sequence) and applies a retried sequence at most once (Raft
// thesis §6.3). A thread-safe client has many writes in flight, so it keeps a pool of sessions:
// each write call takes a free lane, uses its next sequence for every attempt of that call, and
// gives the lane back when the call finishes (success or failure). Lanes are created on demand
// with a random non-zero 64-bit client id, so concurrent clients never share one.
//
// Thread-safety: not thread-safe; used only on the client's I/O thread.
#ifndef RINGKV_CLIENT_LANE_POOL_H_
#define RINGKV_CLIENT_LANE_POOL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/random.h"

namespace ringkv::client {

// One write's session: the lane's client id and the sequence this write uses.
struct Session {
  uint64_t client_id = 0;
  uint64_t sequence = 0;
};

class LanePool {
 public:
  explicit LanePool(uint64_t seed) : rng_(seed) {}

  // Takes a free lane (or creates one) and advances its sequence. The returned session is the
  // one every attempt of this write must carry. Must be matched by one Release().
  Session Acquire();
  // Returns the lane of `s` to the pool. REQUIRES: `s` came from Acquire() and was not released.
  void Release(const Session& s);

  // Lanes created so far / lanes currently taken.
  size_t lane_count() const { return free_.size() + in_use_; }
  size_t in_use() const { return in_use_; }

 private:
  struct Lane {
    uint64_t client_id;
    uint64_t last_sequence;  // sequence of the last write started on this lane
  };
  Random rng_;              // client ids
  std::vector<Lane> free_;  // lanes not in use (LIFO: a hot lane stays hot)
  size_t in_use_ = 0;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_LANE_POOL_H_
