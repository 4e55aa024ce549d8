// LogKvIndex: LogKv's in-memory ordered map (key -> Slot; log_kv.h), shaped for the Raft logs
// of many groups, as TiKV's raft-engine keeps a per-region deque of entry indexes
// (src/memtable.rs). A log entry key of keys.h ([group u64][0x04][index u64], big-endian) is
// kept in its group's ring of slots, indexed densely by Raft index from the ring's first
// index: appending at the end of a group's log, and deleting a prefix (compaction) or a
// suffix (truncation by a new leader) cost O(1) amortized per entry, with no tree search over
// other groups' entries and no allocation per entry beyond its value. Every other key (hard
// states, truncated states, replica ids, any key at all) lives in one ordered map; so does a
// log entry that would leave a gap of more than max(64, ring size) empty slots in its group's
// ring, and then every later entry of that group outside the ring, until the group has no
// entry in the ordered map again (so an entry is never in both places).
//
// The two parts are disjoint sets of keys; every ordered operation (lower bound, erase of a
// range, iteration) is done on both and merged, so the index behaves exactly as one
// std::map<std::string, Slot> would, for any keys: a range may span groups, cut a group or
// hold keys of no group. A gap in a group's indexes is an empty slot (a delete in the middle
// of the log leaves one too); the first and last slots of a ring are never empty.
//
// Cost: per group one node of a std::map keyed by group id (found in log2(groups) integer
// compares) and a ring buffer whose capacity doubles when full and halves when a quarter
// full. A walk past a gap visits its empty slots.
//
// Thread-safety: none; a value. LogKv calls const members from readers under its shared map
// lock and changes the index only under the exclusive one. Const members never write.
#ifndef RINGKV_STORAGE_LOG_KV_INDEX_H_
#define RINGKV_STORAGE_LOG_KV_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringkv::storage {

class LogKvIndex {
 public:
  // A value of the map: the stored value, and the seq of the segment holding its latest write
  // (LogKv's live-record accounting; the index only stores it).
  struct Slot {
    std::string value;
    uint64_t seq = 0;
  };
  // Called with each key's size and slot just before the key is erased.
  using EraseFn = std::function<void(size_t key_bytes, const Slot& slot)>;

 private:
  // Slots of one group's log entries, by offset from the group's first index. A ring buffer
  // of std::optional<Slot> (empty = no entry at that index) whose capacity is 0 or a power
  // of two; popped slots free their value.
  class SlotRing {
   public:
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::optional<Slot>& operator[](size_t i) { return buf_[(head_ + i) & (buf_.size() - 1)]; }
    const std::optional<Slot>& operator[](size_t i) const {
      return buf_[(head_ + i) & (buf_.size() - 1)];
    }
    void PushBack();   // appends an empty slot
    void PushFront();  // prepends an empty slot
    void PopFront();   // REQUIRES: !empty()
    void PopBack();    // REQUIRES: !empty()

   private:
    void Resize(size_t capacity);
    void MaybeShrink();

    std::vector<std::optional<Slot>> buf_;
    size_t head_ = 0;  // buffer position of offset 0
    size_t size_ = 0;
  };
  // One group's log entries kept in a ring (see the header comment).
  struct GroupLog {
    uint64_t first = 0;  // index of ring[0]; meaningless when the ring is empty
    SlotRing ring;       // ring[0] and ring[size-1] are entries (never empty) when not empty
    // Log entries of this group in others_. While non-zero, the ring never grows (so no key
    // is ever in both). A GroupLog with an empty ring and none of these is erased.
    uint64_t others_entries = 0;
  };
  using Groups = std::map<uint64_t, GroupLog>;
  using Others = std::map<std::string, Slot, std::less<>>;

 public:
  // A position in key order, valid until the index changes (then only destruction is safe).
  class Iterator {
   public:
    bool Valid() const { return valid_; }
    // REQUIRES: Valid(). The view is valid until Next or destruction.
    std::string_view key() const;
    const Slot& slot() const;
    // REQUIRES: Valid(). Moves to the next key (possibly invalid: the end).
    void Next();

   private:
    friend class LogKvIndex;
    explicit Iterator(const LogKvIndex* index) : index_(index) {}
    // Positions at the smaller of the two parts' positions.
    void Settle();

    const LogKvIndex* index_;
    Others::const_iterator other_;  // first key of others_ not before the current key
    Groups::const_iterator group_;  // first ring entry not before the current key: group_
    size_t offset_ = 0;             // and offset_ (groups_.end() when none)
    bool on_log_ = false;           // the current key is group_/offset_ (else other_)
    bool valid_ = false;
    char log_key_[17];  // the encoded key of group_/offset_ when valid
  };

  // The slot at `key`, nullptr if absent. Valid until the index changes.
  const Slot* Find(std::string_view key) const;
  Slot* Find(std::string_view key);
  // The slot at `key`, inserted (default Slot) if absent; the bool says whether it was.
  // Valid until the index changes.
  std::pair<Slot*, bool> Emplace(std::string_view key);
  // Erases `key` if present (on_erase is called first).
  void Erase(std::string_view key, const EraseFn& on_erase);
  // Erases every key in [begin, end) (nothing when begin >= end), calling on_erase for each.
  void EraseRange(std::string_view begin, std::string_view end, const EraseFn& on_erase);

  // The first key >= `key`.
  Iterator LowerBound(std::string_view key) const;
  // The first key > `key`.
  Iterator UpperBound(std::string_view key) const;
  // The last key < `key` (not Valid() if there is none).
  Iterator Before(std::string_view key) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Test-only: how many keys are in the ordered map rather than in a group's ring.
  size_t OthersSizeForTesting() const { return others_.size(); }

 private:
  // A log entry's (group, index), ordered as its key.
  struct LogPos {
    uint64_t group;
    uint64_t index;
  };
  // The smallest log position whose key is >= `key`; nullopt when every log key is smaller.
  static std::optional<LogPos> LogLowerBound(std::string_view key);
  // The first log entry at or after `pos` (groups_.end() if none).
  std::pair<Groups::const_iterator, size_t> FirstLogAtOrAfter(LogPos pos) const;
  // The last log entry before `pos` (before everything when nullopt: the last entry).
  std::optional<std::pair<Groups::const_iterator, size_t>> LastLogBefore(
      std::optional<LogPos> pos) const;
  // The ring slot of (group, index) if the ring covers it.
  const std::optional<Slot>* RingSlot(uint64_t group, uint64_t index) const;
  // Inserts or finds (group, index) in the group's ring; nullptr when it belongs in others_.
  std::pair<Slot*, bool> EmplaceInRing(uint64_t group, uint64_t index);
  // Erases the group's ring entries with index in [lo, hi) (hi = nullopt: no upper bound).
  // Returns the next group (the group itself may be erased).
  Groups::iterator EraseInRing(Groups::iterator git, uint64_t lo, std::optional<uint64_t> hi,
                               const EraseFn& on_erase);
  // Drops empty slots at both ends of the ring; erases the group when nothing is left of it.
  Groups::iterator Trim(Groups::iterator git);
  // Erases others_ entry `it` (calling on_erase), with the group count of a log key.
  Others::iterator EraseOther(Others::iterator it, const EraseFn& on_erase);

  Groups groups_;
  Others others_;
  size_t size_ = 0;  // keys in both parts
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_LOG_KV_INDEX_H_
