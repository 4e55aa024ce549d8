// Reading and writing protobuf records through the engine, with parse failures reported as
// Corruption naming the key.
//
// Thread-safety: as Engine.
#ifndef RINGKV_STORAGE_PROTO_IO_H_
#define RINGKV_STORAGE_PROTO_IO_H_

#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "storage/engine.h"

namespace google::protobuf {
class MessageLite;
}  // namespace google::protobuf

namespace ringkv::storage {

// Parses `payload` (stored at `key`) into *msg. Corruption naming the key if it does not parse.
Status ParseRecordProto(std::string_view key, std::string_view payload,
                        google::protobuf::MessageLite* msg);

// Reads the message at `key` into *msg. Returns false (and leaves *msg cleared) when absent.
Result<bool> ReadProto(const Engine& engine, Cf cf, std::string_view key,
                       google::protobuf::MessageLite* msg, const ReadSnapshot* snapshot = nullptr);

// Puts the serialized `msg` at `key`.
void PutProto(WriteBatch* batch, Cf cf, std::string_view key,
              const google::protobuf::MessageLite& msg);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_PROTO_IO_H_
