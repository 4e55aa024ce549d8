#include "gossip/broadcast_queue.h"

#include <algorithm>
#include <vector>

namespace ringkv::gossip {

void BroadcastQueue::Enqueue(const gossippb::MemberInfo& info) {
  Entry& e = queue_[NodeId(info.id())];
  e.info = info;
  e.transmits = 0;
  e.seq = next_seq_++;
}

size_t BroadcastQueue::Fill(size_t budget_bytes, size_t max_updates, int limit,
                            google::protobuf::RepeatedPtrField<gossippb::MemberInfo>* out) {
  if (queue_.empty()) return 0;
  std::vector<std::map<NodeId, Entry>::iterator> order;
  order.reserve(queue_.size());
  for (auto it = queue_.begin(); it != queue_.end(); ++it) order.push_back(it);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a->second.transmits != b->second.transmits) {
      return a->second.transmits < b->second.transmits;
    }
    return a->second.seq > b->second.seq;
  });

  size_t used = 0;
  size_t added = 0;
  for (auto it : order) {
    if (static_cast<size_t>(out->size()) >= max_updates) break;
    // Field tag + length prefix cost at most 4 bytes for updates of this size.
    const size_t cost = it->second.info.ByteSizeLong() + 4;
    if (used + cost > budget_bytes) continue;
    used += cost;
    *out->Add() = it->second.info;
    ++added;
    if (++it->second.transmits >= limit) queue_.erase(it);
  }
  return added;
}

}  // namespace ringkv::gossip
