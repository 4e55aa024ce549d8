#include "storage/log_kv_index.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>

#include "common/coding.h"
#include "storage/keys.h"

namespace ringkv::storage {
namespace {

// keys.h's log entry key: [group u64][kLogIndexTag][index u64]; DecodeRaftLogKey accepts
// exactly these (tests/storage/log_kv_index_test.cc checks the two agree).
constexpr unsigned char kLogIndexTag = 0x04;
constexpr size_t kLogIndexKeySize = 17;
constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();
// A ring grows over a gap of at most max(this, its size) empty slots (so empty slots never
// cost more than the entries beside them); a farther entry goes to the ordered map.
constexpr uint64_t kMinRingGap = 64;

void EncodeLogIndexKey(uint64_t group, uint64_t index, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(group >> (56 - 8 * i));
  out[8] = static_cast<char>(kLogIndexTag);
  for (int i = 0; i < 8; ++i) out[9 + i] = static_cast<char>(index >> (56 - 8 * i));
}

// `bytes` (at most 8) as the high bytes of a big-endian u64, the rest zero.
uint64_t PaddedFixed64BE(std::string_view bytes) {
  char buf[8] = {};
  std::memcpy(buf, bytes.data(), std::min<size_t>(bytes.size(), 8));
  return DecodeFixed64BE(buf);
}

}  // namespace

// ---- SlotRing ----

void LogKvIndex::SlotRing::Resize(size_t capacity) {
  std::vector<std::optional<Slot>> buf(capacity);
  for (size_t i = 0; i < size_; ++i) buf[i] = std::move((*this)[i]);
  buf_ = std::move(buf);
  head_ = 0;
}

void LogKvIndex::SlotRing::PushBack() {
  if (size_ == buf_.size()) Resize(std::max<size_t>(8, 2 * buf_.size()));
  ++size_;
}

void LogKvIndex::SlotRing::PushFront() {
  if (size_ == buf_.size()) Resize(std::max<size_t>(8, 2 * buf_.size()));
  head_ = (head_ + buf_.size() - 1) & (buf_.size() - 1);
  ++size_;
}

void LogKvIndex::SlotRing::PopFront() {
  (*this)[0].reset();
  head_ = (head_ + 1) & (buf_.size() - 1);
  --size_;
  MaybeShrink();
}

void LogKvIndex::SlotRing::PopBack() {
  (*this)[size_ - 1].reset();
  --size_;
  MaybeShrink();
}

void LogKvIndex::SlotRing::MaybeShrink() {
  // Halving at a quarter keeps both directions amortized O(1).
  if (size_ == 0) {
    buf_ = {};
    head_ = 0;
  } else if (buf_.size() > 8 && size_ * 4 <= buf_.size()) {
    Resize(buf_.size() / 2);
  }
}

// ---- Positions ----

// The smallest log position (group, index) whose key is >= `key`; nullopt when every log key
// is smaller. Keys compare bytewise; a log key is 8 group bytes, the tag, 8 index bytes.
std::optional<LogKvIndex::LogPos> LogKvIndex::LogLowerBound(std::string_view key) {
  // A key shorter than the group prefix sorts before every key of the group its bytes padded
  // with zeros make, and after every key of smaller groups.
  if (key.size() < 8) return LogPos{PaddedFixed64BE(key), 0};
  const uint64_t group = DecodeFixed64BE(key.data());
  const std::string_view rest = key.substr(8);
  const auto next_group = [&]() -> std::optional<LogPos> {
    if (group == kMaxU64) return std::nullopt;
    return LogPos{group + 1, 0};
  };
  if (rest.empty() || static_cast<unsigned char>(rest[0]) < kLogIndexTag) {
    return LogPos{group, 0};
  }
  if (static_cast<unsigned char>(rest[0]) > kLogIndexTag) return next_group();
  const std::string_view index_bytes = rest.substr(1);
  // Fewer than 8 index bytes: the index they make padded with zeros has a longer key with the
  // same prefix (greater), the one before it a smaller one.
  if (index_bytes.size() < 8) return LogPos{group, PaddedFixed64BE(index_bytes)};
  const uint64_t index = DecodeFixed64BE(index_bytes.data());
  if (index_bytes.size() == 8) return LogPos{group, index};
  // Longer than a log key: its (group, index) sorts before it.
  if (index == kMaxU64) return next_group();
  return LogPos{group, index + 1};
}

std::pair<LogKvIndex::Groups::const_iterator, size_t> LogKvIndex::FirstLogAtOrAfter(
    LogPos pos) const {
  auto git = groups_.lower_bound(pos.group);
  if (git != groups_.end() && git->first == pos.group && !git->second.ring.empty()) {
    const GroupLog& log = git->second;
    for (uint64_t d = pos.index <= log.first ? 0 : pos.index - log.first; d < log.ring.size();
         ++d) {
      if (log.ring[d]) return {git, d};
    }
    ++git;
  }
  while (git != groups_.end() && git->second.ring.empty()) ++git;
  return {git, 0};
}

std::optional<std::pair<LogKvIndex::Groups::const_iterator, size_t>> LogKvIndex::LastLogBefore(
    std::optional<LogPos> pos) const {
  auto git = pos ? groups_.lower_bound(pos->group) : groups_.end();
  if (git != groups_.end() && git->first == pos->group && !git->second.ring.empty()) {
    const GroupLog& log = git->second;
    if (pos->index > log.first) {
      for (uint64_t d = std::min<uint64_t>(pos->index - log.first, log.ring.size()); d-- > 0;) {
        if (log.ring[d]) return std::make_pair(git, static_cast<size_t>(d));
      }
    }
  }
  while (git != groups_.begin()) {
    --git;
    if (!git->second.ring.empty()) return std::make_pair(git, git->second.ring.size() - 1);
  }
  return std::nullopt;
}

// ---- Iterator ----

std::string_view LogKvIndex::Iterator::key() const {
  return on_log_ ? std::string_view(log_key_, kLogIndexKeySize) : std::string_view(other_->first);
}

const LogKvIndex::Slot& LogKvIndex::Iterator::slot() const {
  return on_log_ ? *group_->second.ring[offset_] : other_->second;
}

void LogKvIndex::Iterator::Settle() {
  const bool has_log = group_ != index_->groups_.end();
  const bool has_other = other_ != index_->others_.end();
  if (has_log) EncodeLogIndexKey(group_->first, group_->second.first + offset_, log_key_);
  on_log_ = has_log &&
            (!has_other || std::string_view(log_key_, kLogIndexKeySize) < other_->first);
  valid_ = has_log || has_other;
}

void LogKvIndex::Iterator::Next() {
  if (on_log_) {
    // The next entry of this ring, else the first of the next group with one.
    const SlotRing& ring = group_->second.ring;
    do {
      ++offset_;
    } while (offset_ < ring.size() && !ring[offset_]);
    if (offset_ == ring.size()) {
      offset_ = 0;
      do {
        ++group_;
      } while (group_ != index_->groups_.end() && group_->second.ring.empty());
    }
  } else {
    ++other_;
  }
  Settle();
}

LogKvIndex::Iterator LogKvIndex::LowerBound(std::string_view key) const {
  Iterator it(this);
  it.other_ = others_.lower_bound(key);
  it.group_ = groups_.end();
  if (std::optional<LogPos> pos = LogLowerBound(key)) {
    std::tie(it.group_, it.offset_) = FirstLogAtOrAfter(*pos);
  }
  it.Settle();
  return it;
}

LogKvIndex::Iterator LogKvIndex::UpperBound(std::string_view key) const {
  Iterator it = LowerBound(key);
  if (it.Valid() && it.key() == key) it.Next();
  return it;
}

LogKvIndex::Iterator LogKvIndex::Before(std::string_view key) const {
  const auto log = LastLogBefore(LogLowerBound(key));
  auto other = others_.lower_bound(key);
  const bool has_other = other != others_.begin();
  if (has_other) --other;
  char log_key[kLogIndexKeySize];
  if (log) EncodeLogIndexKey(log->first->first, log->first->second.first + log->second, log_key);
  if (!log && !has_other) return Iterator(this);  // not valid
  if (log && (!has_other || std::string_view(log_key, kLogIndexKeySize) > other->first)) {
    return LowerBound(std::string_view(log_key, kLogIndexKeySize));
  }
  return LowerBound(other->first);
}

// ---- Point lookups and changes ----

const std::optional<LogKvIndex::Slot>* LogKvIndex::RingSlot(uint64_t group,
                                                            uint64_t index) const {
  auto git = groups_.find(group);
  if (git == groups_.end()) return nullptr;
  const GroupLog& log = git->second;
  if (index < log.first || index - log.first >= log.ring.size()) return nullptr;
  return &log.ring[index - log.first];
}

const LogKvIndex::Slot* LogKvIndex::Find(std::string_view key) const {
  if (std::optional<RaftLogKeyParts> parts = DecodeRaftLogKey(key)) {
    const std::optional<Slot>* slot = RingSlot(parts->group.value(), parts->index.value());
    if (slot != nullptr) return *slot ? &**slot : nullptr;  // never also in others_
  }
  auto it = others_.find(key);
  return it == others_.end() ? nullptr : &it->second;
}

LogKvIndex::Slot* LogKvIndex::Find(std::string_view key) {
  return const_cast<Slot*>(std::as_const(*this).Find(key));
}

std::pair<LogKvIndex::Slot*, bool> LogKvIndex::EmplaceInRing(uint64_t group, uint64_t index) {
  GroupLog& log = groups_[group];
  SlotRing& ring = log.ring;
  if (!ring.empty() && index >= log.first && index - log.first < ring.size()) {
    std::optional<Slot>& slot = ring[index - log.first];
    const bool inserted = !slot.has_value();
    if (inserted) slot.emplace();
    return {&*slot, inserted};
  }
  if (log.others_entries != 0) return {nullptr, false};
  if (ring.empty()) {
    log.first = index;
    ring.PushBack();
  } else if (index > log.first + (ring.size() - 1)) {
    const uint64_t gap = index - (log.first + ring.size());
    if (gap > std::max<uint64_t>(kMinRingGap, ring.size())) return {nullptr, false};
    for (uint64_t i = 0; i <= gap; ++i) ring.PushBack();
  } else {
    const uint64_t gap = log.first - index - 1;
    if (gap > std::max<uint64_t>(kMinRingGap, ring.size())) return {nullptr, false};
    for (uint64_t i = 0; i <= gap; ++i) ring.PushFront();
    log.first = index;
  }
  std::optional<Slot>& slot = ring[index - log.first];
  slot.emplace();
  return {&*slot, true};
}

std::pair<LogKvIndex::Slot*, bool> LogKvIndex::Emplace(std::string_view key) {
  const std::optional<RaftLogKeyParts> parts = DecodeRaftLogKey(key);
  if (parts) {
    auto [slot, inserted] = EmplaceInRing(parts->group.value(), parts->index.value());
    if (slot != nullptr) {
      size_ += inserted;
      return {slot, inserted};
    }
  }
  auto it = others_.lower_bound(key);
  if (it != others_.end() && it->first == key) return {&it->second, false};
  it = others_.emplace_hint(it, std::string(key), Slot());
  ++size_;
  // EmplaceInRing made the group's GroupLog.
  if (parts) ++groups_.find(parts->group.value())->second.others_entries;
  return {&it->second, true};
}

LogKvIndex::Others::iterator LogKvIndex::EraseOther(Others::iterator it,
                                                    const EraseFn& on_erase) {
  on_erase(it->first.size(), it->second);
  if (std::optional<RaftLogKeyParts> parts = DecodeRaftLogKey(it->first)) {
    auto git = groups_.find(parts->group.value());
    CHECK(git != groups_.end() && git->second.others_entries > 0) << "log kv index: counts";
    --git->second.others_entries;
    Trim(git);
  }
  --size_;
  return others_.erase(it);
}

void LogKvIndex::Erase(std::string_view key, const EraseFn& on_erase) {
  if (std::optional<RaftLogKeyParts> parts = DecodeRaftLogKey(key)) {
    auto git = groups_.find(parts->group.value());
    if (git != groups_.end()) {
      const uint64_t index = parts->index.value();
      const uint64_t first = git->second.first;
      if (index >= first && index - first < git->second.ring.size()) {
        // No bound after the last possible index (the ring ends there).
        EraseInRing(git, index, index == kMaxU64 ? std::nullopt : std::optional(index + 1),
                    on_erase);
        return;
      }
    }
  }
  auto it = others_.find(key);
  if (it != others_.end()) EraseOther(it, on_erase);
}

LogKvIndex::Groups::iterator LogKvIndex::Trim(Groups::iterator git) {
  GroupLog& log = git->second;
  while (!log.ring.empty() && !log.ring[0]) {
    log.ring.PopFront();
    ++log.first;
  }
  while (!log.ring.empty() && !log.ring[log.ring.size() - 1]) log.ring.PopBack();
  if (log.ring.empty() && log.others_entries == 0) return groups_.erase(git);
  return std::next(git);
}

LogKvIndex::Groups::iterator LogKvIndex::EraseInRing(Groups::iterator git, uint64_t lo,
                                                     std::optional<uint64_t> hi,
                                                     const EraseFn& on_erase) {
  GroupLog& log = git->second;
  SlotRing& ring = log.ring;
  // The offsets [dlo, dhi) of the ring in [lo, hi).
  const uint64_t dlo = lo <= log.first ? 0 : lo - log.first;
  uint64_t dhi = ring.size();
  if (hi) dhi = *hi <= log.first ? 0 : std::min<uint64_t>(*hi - log.first, ring.size());
  if (dlo >= dhi) return std::next(git);
  for (uint64_t d = dlo; d < dhi; ++d) {
    if (ring[d]) {
      on_erase(kLogIndexKeySize, *ring[d]);
      ring[d].reset();
      --size_;
    }
  }
  // A prefix or suffix leaves empty slots at an end, which Trim pops: O(1) each.
  return Trim(git);
}

void LogKvIndex::EraseRange(std::string_view begin, std::string_view end,
                            const EraseFn& on_erase) {
  if (!(begin < end)) return;
  for (auto it = others_.lower_bound(begin); it != others_.end() && it->first < end;) {
    it = EraseOther(it, on_erase);
  }
  const std::optional<LogPos> from = LogLowerBound(begin);
  if (!from) return;
  const std::optional<LogPos> to = LogLowerBound(end);  // nullopt: past every log key
  for (auto git = groups_.lower_bound(from->group); git != groups_.end();) {
    const uint64_t group = git->first;
    if (to && group > to->group) break;
    const uint64_t lo = group == from->group ? from->index : 0;
    std::optional<uint64_t> hi;
    if (to && group == to->group) hi = to->index;
    git = EraseInRing(git, lo, hi, on_erase);
  }
}

}  // namespace ringkv::storage
