#include "replica/read_queue.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/coding.h"

namespace ringkv::replica {

std::vector<PendingRead> ReadQueue::TakeQueued() {
  std::vector<PendingRead> reads;
  reads.swap(queued_);
  return reads;
}

std::string ReadQueue::NextContext() {
  std::string ctx;
  PutFixed64BE(&ctx, next_ctx_++);
  return ctx;
}

void ReadQueue::AddBatch(const std::string& ctx, std::vector<PendingRead> reads) {
  batches_[ctx].reads = std::move(reads);
}

void ReadQueue::OnReadState(const raft::ReadState& rs) {
  auto it = batches_.find(rs.request_ctx);
  if (it != batches_.end()) it->second.read_index = rs.index;
}

void ReadQueue::ServeReady(Index applied, const std::function<void(const PendingRead&)>& serve) {
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (it->second.read_index && *it->second.read_index <= applied) {
      for (const PendingRead& r : it->second.reads) serve(r);
      it = batches_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReadQueue::FailAll(const kvpb::Response& resp) {
  for (auto& [ctx, batch] : batches_) {
    for (auto& r : batch.reads) r.reply(resp);
  }
  batches_.clear();
  for (auto& r : queued_) r.reply(resp);
  queued_.clear();
}

void ReadQueue::Expire(Clock::time_point now) {
  for (auto it = batches_.begin(); it != batches_.end();) {
    auto& reads = it->second.reads;
    reads.erase(std::remove_if(reads.begin(), reads.end(),
                               [&](const PendingRead& r) {
                                 if (r.deadline > now) return false;
                                 r.reply(ErrorResponse(kvpb::TIMEOUT, true, "read timed out"));
                                 return true;
                               }),
                reads.end());
    it = reads.empty() ? batches_.erase(it) : std::next(it);
  }
}

}  // namespace ringkv::replica
