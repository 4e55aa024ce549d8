#include "storage/record.h"

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage/keys.h"

namespace ringkv::storage {

std::string EncodeRecord(std::string_view payload) {
  std::string out;
  out.reserve(kRecordHeaderSize + payload.size());
  PutFixed32BE(&out, crc32c::Value(payload));
  out.append(payload);
  return out;
}

Result<std::string_view> DecodeRecord(std::string_view key, std::string_view stored) {
  if (stored.size() < kRecordHeaderSize) {
    return Status::Corruption("truncated record at key " + EscapeKey(key));
  }
  std::string_view payload = stored.substr(kRecordHeaderSize);
  if (DecodeFixed32BE(stored.data()) != crc32c::Value(payload)) {
    return Status::Corruption("checksum mismatch at key " + EscapeKey(key));
  }
  return payload;
}

}  // namespace ringkv::storage
