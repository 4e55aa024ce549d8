// BroadcastQueue: the membership updates waiting to be piggybacked on outgoing messages
// (SWIM §4 "infection-style dissemination"; memberlist's TransmitLimitedQueue). Holds at most
// one update per member (a newer one replaces the older), hands out the least-transmitted
// updates first, and drops an update after it has been sent `limit` times, where the caller
// computes limit = retransmit_mult * ceil(log10(N + 1)).
//
// Pure. Thread-safety: not thread-safe; owned by one Swim.
#ifndef RINGKV_GOSSIP_BROADCAST_QUEUE_H_
#define RINGKV_GOSSIP_BROADCAST_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <map>

#include "common/ids.h"
#include "proto/gossip.pb.h"

namespace ringkv::gossip {

class BroadcastQueue {
 public:
  // Queues `info` for dissemination, replacing any queued update about the same member (its
  // transmit count restarts at 0).
  void Enqueue(const gossippb::MemberInfo& info);

  // Appends queued updates to `out` (least transmitted first, newest first among equals) while
  // the encoded size of the added updates stays within `budget_bytes` and `out` holds fewer
  // than `max_updates`. Each added update counts one transmission; updates that reach `limit`
  // transmissions leave the queue. Returns the number added.
  size_t Fill(size_t budget_bytes, size_t max_updates, int limit,
              google::protobuf::RepeatedPtrField<gossippb::MemberInfo>* out);

  // Drops every queued update (used when the view is reset).
  void Clear() { queue_.clear(); }

  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  // True when an update about `id` is still waiting to be sent `limit` times.
  bool Contains(NodeId id) const { return queue_.count(id) != 0; }

 private:
  struct Entry {
    gossippb::MemberInfo info;
    int transmits = 0;
    uint64_t seq = 0;  // insertion order, for "newest first"
  };
  std::map<NodeId, Entry> queue_;
  uint64_t next_seq_ = 0;
};

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_BROADCAST_QUEUE_H_
