#include "storage/proto_io.h"

#include <glog/logging.h>
#include <google/protobuf/message_lite.h>

#include "storage/keys.h"
#include "storage/record.h"

namespace ringkv::storage {

Status ParseRecordProto(std::string_view key, std::string_view payload,
                        google::protobuf::MessageLite* msg) {
  if (!msg->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return Status::Corruption("unparsable " + msg->GetTypeName() + " at key " + EscapeKey(key));
  }
  return Status::OK();
}

Result<bool> ReadProto(const Engine& engine, Cf cf, std::string_view key,
                       google::protobuf::MessageLite* msg, const ReadSnapshot* snapshot) {
  msg->Clear();
  Result<std::optional<std::string>> stored = engine.Get(cf, key, snapshot);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return false;
  Status s = ParseRecordProto(key, **stored, msg);
  if (!s.ok()) return s;
  return true;
}

void PutProto(WriteBatch* batch, Cf cf, std::string_view key,
              const google::protobuf::MessageLite& msg) {
  // Serialized straight into the batch: one copy of a Raft entry's command, not two.
  const size_t size = msg.ByteSizeLong();
  batch->PutBuilt(cf, key, size, [&msg, size](char* dst) {
    uint8_t* end = msg.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(dst));
    CHECK_EQ(static_cast<size_t>(reinterpret_cast<char*>(end) - dst), size)
        << "a proto changed while it was serialized";
  });
}

}  // namespace ringkv::storage
