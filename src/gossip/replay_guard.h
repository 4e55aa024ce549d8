// ReplayGuard: refuses a sealed gossip datagram seen before. Each sender numbers its datagrams
// with a sequence that only grows (its start time in microseconds plus a counter, so a
// restarted sender continues above where it was); the guard remembers, per sender, the highest
// sequence and which of the kWindow sequences below it arrived (the sliding window of IPsec and
// DTLS). A sequence in the window that arrived before is a replay; one below the window is too
// old to tell and is refused as well. UDP reorders a little, never by a thousand datagrams.
//
// Senders are authenticated (the keyring checks the sender id with the datagram), so only key
// holders add entries; still the table is bounded: beyond max_senders the least recently seen
// sender is forgotten.
//
// Pure. Thread-safety: not thread-safe; the gossip driver's strand owns it.
#ifndef RINGKV_GOSSIP_REPLAY_GUARD_H_
#define RINGKV_GOSSIP_REPLAY_GUARD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

namespace ringkv::gossip {

class ReplayGuard {
 public:
  static constexpr uint64_t kWindow = 1024;
  enum class Verdict { kFresh, kReplay, kTooOld };

  explicit ReplayGuard(size_t max_senders = 4096) : max_senders_(max_senders) {}

  // Records (sender, sequence) and returns kFresh, or refuses it (nothing recorded).
  Verdict Check(uint64_t sender, uint64_t sequence);
  size_t senders() const { return by_sender_.size(); }

 private:
  struct Window {
    uint64_t highest = 0;                        // highest sequence accepted
    std::array<uint64_t, kWindow / 64> seen{};   // bit i: sequence highest - i arrived
    std::list<uint64_t>::iterator lru;           // position in lru_
  };
  bool Test(const Window& w, uint64_t back) const;
  void Set(Window& w, uint64_t back);
  void Shift(Window& w, uint64_t by);

  const size_t max_senders_;
  std::unordered_map<uint64_t, Window> by_sender_;
  std::list<uint64_t> lru_;  // sender ids, most recently seen first
};

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_REPLAY_GUARD_H_
