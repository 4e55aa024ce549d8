#include "gossip/replay_guard.h"

namespace ringkv::gossip {

bool ReplayGuard::Test(const Window& w, uint64_t back) const {
  return (w.seen[back / 64] >> (back % 64)) & 1;
}

void ReplayGuard::Set(Window& w, uint64_t back) { w.seen[back / 64] |= uint64_t{1} << (back % 64); }

// Moves the window up by `by` sequences: bit i becomes bit i + by.
void ReplayGuard::Shift(Window& w, uint64_t by) {
  if (by >= kWindow) {
    w.seen.fill(0);
    return;
  }
  const size_t words = by / 64, bits = by % 64;
  for (size_t i = w.seen.size(); i-- > 0;) {
    uint64_t v = 0;
    if (i >= words) {
      v = w.seen[i - words] << bits;
      if (bits != 0 && i >= words + 1) v |= w.seen[i - words - 1] >> (64 - bits);
    }
    w.seen[i] = v;
  }
}

ReplayGuard::Verdict ReplayGuard::Check(uint64_t sender, uint64_t sequence) {
  auto it = by_sender_.find(sender);
  if (it == by_sender_.end()) {
    if (by_sender_.size() >= max_senders_ && !lru_.empty()) {
      by_sender_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(sender);
    Window w;
    w.highest = sequence;
    w.lru = lru_.begin();
    Set(w, 0);
    by_sender_.emplace(sender, w);
    return Verdict::kFresh;
  }
  Window& w = it->second;
  if (sequence > w.highest) {
    Shift(w, sequence - w.highest);
    w.highest = sequence;
    Set(w, 0);
  } else {
    const uint64_t back = w.highest - sequence;
    if (back >= kWindow) return Verdict::kTooOld;
    if (Test(w, back)) return Verdict::kReplay;
    Set(w, back);
  }
  lru_.splice(lru_.begin(), lru_, w.lru);
  return Verdict::kFresh;
}

}  // namespace ringkv::gossip
