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

std::string RecordBuffer(size_t payload_size) {
  std::string out;
  out.reserve(kRecordHeaderSize + payload_size);
  out.append(kRecordHeaderSize, '\0');
  return out;
}

void SealRecord(std::string* record) {
  const uint32_t crc = crc32c::Value(std::string_view(*record).substr(kRecordHeaderSize));
  std::string header;
  PutFixed32BE(&header, crc);
  record->replace(0, kRecordHeaderSize, header);
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
