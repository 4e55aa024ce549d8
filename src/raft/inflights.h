// Inflights: the AppendEntries messages sent to one follower and not yet acknowledged, as a
// bounded window by count and bytes (etcd raft's tracker.Inflights). The leader stops sending
// to a follower whose window is full.
//
// Thread-safety: not thread-safe; owned by a Progress.
#ifndef RINGKV_RAFT_INFLIGHTS_H_
#define RINGKV_RAFT_INFLIGHTS_H_

#include <cstdint>
#include <deque>

#include "common/ids.h"

namespace ringkv::raft {

class Inflights {
 public:
  // max_bytes 0 = no byte limit.
  Inflights(int max_count, uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records a message whose last entry is `index`. REQUIRES: !Full(), index increasing.
  void Add(Index index, uint64_t bytes) {
    window_.push_back({index, bytes});
    bytes_ += bytes;
  }
  // Frees every message whose last index is <= to.
  void FreeLE(Index to) {
    while (!window_.empty() && window_.front().index <= to) {
      bytes_ -= window_.front().bytes;
      window_.pop_front();
    }
  }
  bool Full() const {
    return static_cast<int>(window_.size()) >= max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
  }
  int Count() const { return static_cast<int>(window_.size()); }
  void Reset() {
    window_.clear();
    bytes_ = 0;
  }

 private:
  struct Inflight {
    Index index;
    uint64_t bytes;
  };
  int max_count_;
  uint64_t max_bytes_;
  std::deque<Inflight> window_;
  uint64_t bytes_ = 0;
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_INFLIGHTS_H_
