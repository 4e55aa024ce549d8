#include "storage/kv_state.h"

#include <cstring>

#include <xxhash.h>

#include "common/coding.h"
#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"
#include "storage/record.h"

namespace ringkv::storage {

namespace {

constexpr uint64_t kLeaseFlag = uint64_t{1} << 63;

// The versioned value's header: the version (with kLeaseFlag when a lease follows) and the
// lease. Returns its size, 8 or 16; `dst` may be null to ask only that.
size_t EncodeVersionedHeader(char* dst, Index version, uint64_t lease) {
  if (dst != nullptr) {
    EncodeFixed64BE(dst, version.value() | (lease == 0 ? 0 : kLeaseFlag));
    if (lease != 0) EncodeFixed64BE(dst + 8, lease);
  }
  return lease == 0 ? 8 : 16;
}

void AppendVersionedValue(std::string* out, std::string_view value, Index version,
                          uint64_t lease) {
  char header[16];
  out->append(header, EncodeVersionedHeader(header, version, lease));
  out->append(value);
}

}  // namespace

std::string EncodeVersionedValue(std::string_view value, Index version, uint64_t lease) {
  std::string out;
  out.reserve(16 + value.size());
  AppendVersionedValue(&out, value, version, lease);
  return out;
}

Result<VersionedValue> DecodeVersionedValue(std::string_view key, std::string_view payload) {
  uint64_t version = 0;
  if (!GetFixed64BE(&payload, &version)) {
    return Status::Corruption("short user value at key " + EscapeKey(key));
  }
  uint64_t lease = 0;
  if ((version & kLeaseFlag) != 0) {
    version &= ~kLeaseFlag;
    if (!GetFixed64BE(&payload, &lease) || lease == 0) {
      return Status::Corruption("bad lease in user value at key " + EscapeKey(key));
    }
  }
  return VersionedValue{std::string(payload), Index(version), lease};
}

KvState::KvState(Engine* engine, GroupId group, KvStateOptions options)
    : engine_(engine),
      group_(group),
      sessions_(engine, group, options.sessions) {}

Status KvState::Load() {
  storagepb::ApplyState as;
  ASSIGN_OR_RETURN(bool found, ReadProto(*engine_, Cf::kData, ApplyStateKey(group_), &as));
  (void)found;  // absent = nothing applied
  applied_ = ApplyState{Index(as.applied_index()), Term(as.applied_term())};

  return sessions_.Load();
}

void KvState::SetApplyState(WriteBatch* batch, ApplyState state) {
  storagepb::ApplyState as;
  as.set_applied_index(state.applied_index.value());
  as.set_applied_term(state.applied_term.value());
  PutProto(batch, Cf::kData, ApplyStateKey(group_), as);
  applied_ = state;
}

Result<std::optional<VersionedValue>> KvState::Get(std::string_view key,
                                                   const ReadSnapshot* snapshot) const {
  const std::string dkey = DataKey(group_, key);
  ASSIGN_OR_RETURN(std::optional<std::string> payload, engine_->Get(Cf::kData, dkey, snapshot));
  if (!payload) return std::optional<VersionedValue>();
  ASSIGN_OR_RETURN(VersionedValue v, DecodeVersionedValue(dkey, *payload));
  return std::optional<VersionedValue>(std::move(v));
}

Result<std::vector<KvPair>> KvState::Scan(std::string_view start, std::string_view end,
                                          size_t limit, const ReadSnapshot* snapshot) const {
  KeyRange range{DataKey(group_, start),
                 end.empty() ? DataRange(group_).end : DataKey(group_, end)};
  std::vector<KvPair> out;
  if (range.begin >= range.end) return out;
  std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kData, std::move(range), snapshot);
  for (it->SeekToFirst(); it->Valid() && (limit == 0 || out.size() < limit); it->Next()) {
    std::optional<DataKeyParts> parts = DecodeDataKey(it->key());
    if (!parts) return Status::Corruption("malformed data key " + EscapeKey(it->key()));
    ASSIGN_OR_RETURN(VersionedValue v, DecodeVersionedValue(it->key(), it->value()));
    out.push_back(KvPair{std::string(parts->user_key), std::move(v)});
  }
  RETURN_IF_ERROR(it->status());
  return out;
}

void KvState::Put(WriteBatch* batch, std::string_view key, std::string_view value, Index version,
                  uint64_t lease) {
  // Built straight into the batch: one copy of the value, not two.
  const size_t header = EncodeVersionedHeader(nullptr, version, lease);
  batch->PutBuilt(Cf::kData, DataKey(group_, key), header + value.size(), [&](char* dst) {
    EncodeVersionedHeader(dst, version, lease);
    if (!value.empty()) std::memcpy(dst + header, value.data(), value.size());
  });
}

void KvState::Delete(WriteBatch* batch, std::string_view key) {
  batch->Delete(Cf::kData, DataKey(group_, key));
}

Result<StateDigest> KvState::Digest() const {
  std::unique_ptr<ReadSnapshot> snap = engine_->GetSnapshot();
  storagepb::ApplyState as;
  ASSIGN_OR_RETURN(bool found,
                   ReadProto(*engine_, Cf::kData, ApplyStateKey(group_), &as, snap.get()));
  (void)found;
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  auto feed = [state](std::string_view bytes) {
    std::string len;
    PutFixed32BE(&len, static_cast<uint32_t>(bytes.size()));
    XXH3_64bits_update(state, len.data(), len.size());
    XXH3_64bits_update(state, bytes.data(), bytes.size());
  };
  Status status;
  for (const KeyRange& range : {SessionRange(group_), DataRange(group_), LeaseRange(group_),
                                LeaseAttachRange(group_), HistoryRange(group_)}) {
    std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kData, range, snap.get());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      feed(it->key().substr(kGroupPrefixSize));  // group-relative, so equal content hashes equal
      feed(it->value());
    }
    if (!it->status().ok()) {
      status = it->status();
      break;
    }
  }
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  RETURN_IF_ERROR(status);
  return StateDigest{ApplyState{Index(as.applied_index()), Term(as.applied_term())}, hash};
}

}  // namespace ringkv::storage
