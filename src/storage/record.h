// The integrity envelope of every value storage/ writes: [u32 BE crc32c(payload)][payload].
// Reads verify it and report a mismatch as Corruption naming the key, so a flipped bit on disk
// is never served as data.
//
// Thread-safety: pure functions.
#ifndef RINGKV_STORAGE_RECORD_H_
#define RINGKV_STORAGE_RECORD_H_

#include <string>
#include <string_view>

#include "common/result.h"

namespace ringkv::storage {

constexpr size_t kRecordHeaderSize = 4;

// Returns the stored form of `payload`.
std::string EncodeRecord(std::string_view payload);

// Returns the payload of `stored` (a view into it). Corruption, naming `key`, when `stored` is
// shorter than the header or its checksum does not match.
Result<std::string_view> DecodeRecord(std::string_view key, std::string_view stored);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_RECORD_H_
