#include "raft/read_only.h"

namespace ringkv::raft {

void ReadOnly::AddRequest(Index index, const raftpb::Message& m) {
  const std::string& ctx = m.context();
  if (pending_.count(ctx) > 0) return;
  pending_.emplace(ctx, ReadIndexStatus{m, index, {}});
  queue_.push_back(ctx);
}

const std::map<NodeId, bool>* ReadOnly::RecvAck(NodeId id, const std::string& ctx) {
  auto it = pending_.find(ctx);
  if (it == pending_.end()) return nullptr;
  it->second.acks[id] = true;
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::Advance(const std::string& ctx) {
  std::vector<ReadIndexStatus> out;
  size_t n = 0;
  bool found = false;
  for (const std::string& c : queue_) {
    ++n;
    if (c == ctx) {
      found = true;
      break;
    }
  }
  if (!found) return out;
  for (size_t k = 0; k < n; ++k) {
    auto it = pending_.find(queue_.front());
    out.push_back(std::move(it->second));
    pending_.erase(it);
    queue_.pop_front();
  }
  return out;
}

std::string ReadOnly::LastPendingRequestCtx() const {
  return queue_.empty() ? std::string() : queue_.back();
}

}  // namespace ringkv::raft
