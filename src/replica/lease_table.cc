#include "replica/lease_table.h"

#include "common/coding.h"
#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"

namespace ringkv::replica {

LeaseTable::LeaseTable(storage::Engine* engine, GroupId group) : engine_(engine), group_(group) {}

Status LeaseTable::Load() {
  leases_.clear();
  leading_ = false;
  std::unique_ptr<storage::Iterator> it =
      engine_->NewIterator(storage::Cf::kData, storage::LeaseRange(group_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<uint64_t> id = storage::DecodeLeaseKey(group_, it->key());
    if (!id) return Status::Corruption("malformed lease key " + storage::EscapeKey(it->key()));
    storagepb::LeaseRecord rec;
    RETURN_IF_ERROR(storage::ParseRecordProto(it->key(), it->value(), &rec));
    leases_[*id].ttl_ms = rec.ttl_ms();
  }
  RETURN_IF_ERROR(it->status());
  it = engine_->NewIterator(storage::Cf::kData, storage::LeaseAttachRange(group_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view k = it->key();
    std::optional<std::string_view> user_key = storage::DecodeLeaseAttachKey(k);
    if (!user_key) return Status::Corruption("malformed lease key " + storage::EscapeKey(k));
    uint64_t id = DecodeFixed64BE(k.data() + storage::kGroupPrefixSize + 1);
    auto lease = leases_.find(id);
    if (lease == leases_.end()) {
      return Status::Corruption("key " + storage::EscapeKey(*user_key) +
                                " attached to unknown lease " + std::to_string(id));
    }
    lease->second.keys.emplace(*user_key);
  }
  return it->status();
}

std::optional<uint64_t> LeaseTable::TtlMs(uint64_t id) const {
  auto it = leases_.find(id);
  if (it == leases_.end()) return std::nullopt;
  return it->second.ttl_ms;
}

void LeaseTable::Grant(storage::WriteBatch* batch, uint64_t id, uint64_t ttl_ms, Index index,
                       Clock::time_point now) {
  storagepb::LeaseRecord rec;
  rec.set_ttl_ms(ttl_ms);
  rec.set_granted_index(index.value());
  storage::PutProto(batch, storage::Cf::kData, storage::LeaseKey(group_, id), rec);
  Lease& l = leases_[id];
  l.ttl_ms = ttl_ms;
  if (leading_) l.expiry = now + std::chrono::milliseconds(ttl_ms);
}

std::vector<std::string> LeaseTable::Revoke(storage::WriteBatch* batch, uint64_t id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return {};
  std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
  batch->Delete(storage::Cf::kData, storage::LeaseKey(group_, id));
  batch->DeleteRange(storage::Cf::kData, storage::LeaseAttachRange(group_, id));
  leases_.erase(it);
  return keys;
}

void LeaseTable::Attach(storage::WriteBatch* batch, uint64_t id, const std::string& key) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  if (it->second.keys.insert(key).second) {
    batch->Put(storage::Cf::kData, storage::LeaseAttachKey(group_, id, key), "");
  }
}

void LeaseTable::Detach(storage::WriteBatch* batch, uint64_t id, const std::string& key) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  if (it->second.keys.erase(key) > 0) {
    batch->Delete(storage::Cf::kData, storage::LeaseAttachKey(group_, id, key));
  }
}

std::vector<std::string> LeaseTable::Keys(uint64_t id) const {
  auto it = leases_.find(id);
  if (it == leases_.end()) return {};
  return std::vector<std::string>(it->second.keys.begin(), it->second.keys.end());
}

void LeaseTable::Promote(Clock::time_point now, std::chrono::milliseconds extension) {
  leading_ = true;
  for (auto& [id, l] : leases_) {
    l.expiry = now + std::chrono::milliseconds(l.ttl_ms) + extension;
    l.revoke_proposed_at.reset();
  }
}

void LeaseTable::Demote() {
  leading_ = false;
  for (auto& [id, l] : leases_) l.revoke_proposed_at.reset();
}

std::optional<uint64_t> LeaseTable::Refresh(uint64_t id, Clock::time_point now) {
  auto it = leases_.find(id);
  if (it == leases_.end() || !leading_) return std::nullopt;
  it->second.expiry = now + std::chrono::milliseconds(it->second.ttl_ms);
  it->second.revoke_proposed_at.reset();
  return it->second.ttl_ms;
}

std::optional<std::chrono::milliseconds> LeaseTable::Remaining(uint64_t id,
                                                               Clock::time_point now) const {
  auto it = leases_.find(id);
  if (it == leases_.end() || !leading_) return std::nullopt;
  if (it->second.expiry <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(it->second.expiry - now);
}

std::vector<uint64_t> LeaseTable::TakeExpired(Clock::time_point now,
                                              std::chrono::milliseconds retry) {
  std::vector<uint64_t> out;
  if (!leading_) return out;
  for (auto& [id, l] : leases_) {
    if (l.expiry > now) continue;
    if (l.revoke_proposed_at && now - *l.revoke_proposed_at < retry) continue;
    l.revoke_proposed_at = now;
    out.push_back(id);
  }
  return out;
}

}  // namespace ringkv::replica
