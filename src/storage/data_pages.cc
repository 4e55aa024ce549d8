#include "storage/data_pages.h"

#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"

namespace ringkv::storage {

Result<DataPage> ReadDataPage(const Engine& engine, GroupId group, const ReadSnapshot& snapshot,
                              std::string_view start_after, size_t max_bytes) {
  DataPage page;
  std::unique_ptr<Iterator> it = engine.NewIterator(Cf::kData, DataRange(group), &snapshot);
  if (start_after.empty()) {
    it->SeekToFirst();
  } else {
    const std::string after = DataKey(group, start_after);
    it->Seek(after);
    if (it->Valid() && it->key() == after) it->Next();
  }
  size_t bytes = 0;
  for (; it->Valid(); it->Next()) {
    if (!page.kvs.empty() && bytes >= max_bytes) return page;  // more may follow
    std::optional<DataKeyParts> parts = DecodeDataKey(it->key());
    if (!parts || parts->group != group) {
      return Status::Corruption("malformed data key in group " + std::to_string(group.value()));
    }
    ASSIGN_OR_RETURN(VersionedValue v, DecodeVersionedValue(it->key(), it->value()));
    bytes += parts->user_key.size() + v.value.size();
    page.kvs.push_back(KvPair{std::string(parts->user_key), std::move(v)});
  }
  RETURN_IF_ERROR(it->status());
  page.done = true;
  return page;
}

Result<ApplyState> ReadApplyStateAt(const Engine& engine, GroupId group,
                                    const ReadSnapshot& snapshot) {
  storagepb::ApplyState as;
  ASSIGN_OR_RETURN(bool found, ReadProto(engine, Cf::kData, ApplyStateKey(group), &as, &snapshot));
  if (!found) return ApplyState{};
  return ApplyState{Index(as.applied_index()), Term(as.applied_term())};
}

}  // namespace ringkv::storage
