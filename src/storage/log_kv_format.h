// The record format of LogKv's segment files (log_kv.h documents it): framing, the segment
// header, the ops of a batch record; and the errno-to-Status and directory-fsync helpers.
// Internal to log_kv*.cc. Functions without state, thread-safe.
#ifndef RINGKV_STORAGE_LOG_KV_FORMAT_H_
#define RINGKV_STORAGE_LOG_KV_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "storage/write_batch.h"

namespace ringkv::storage::log_kv_format {

// Record framing: [u32 crc][u32 payload length][u8 type][payload].
constexpr size_t kFrameSize = 9;
constexpr uint8_t kHeaderRecord = 1;
constexpr uint8_t kBatchRecord = 2;
constexpr uint8_t kCheckpointEndRecord = 3;  // version 1 only
// Version 1: recovery starts at the newest checkpoint segment. Version 2 (written now): no
// checkpoints; recovery replays every segment.
constexpr uint32_t kVersion = 2;
// magic + version + seq + flags.
constexpr size_t kHeaderPayloadSize = 8 + 4 + 8 + 1;
constexpr size_t kHeaderRecordSize = kFrameSize + kHeaderPayloadSize;
// A length beyond this is garbage (a torn tail), not a record.
constexpr uint32_t kMaxPayload = 1u << 30;

enum OpCode : uint8_t { kPutOp = 0, kDeleteOp = 1, kDeleteRangeOp = 2 };

// Appends a record frame with a zero crc and length; FinishRecord fills them in.
size_t BeginRecord(std::string* dst, uint8_t type);
void FinishRecord(std::string* dst, size_t start);

// Upper bound of the bytes PutOp appends for `op`.
size_t MaxOpSize(const WriteBatch::Op& op);
void PutOp(std::string* dst, OpCode code, std::string_view key, std::string_view value);
OpCode CodeOf(WriteBatch::OpType type);

// A version-kVersion header of segment `seq` (never a checkpoint).
void AppendHeader(std::string* dst, uint64_t seq);

struct RecordView {
  uint8_t type;
  std::string_view payload;
  size_t size;  // frame included
};
// The record at data[offset...], or nullopt when it is short, too long or fails its crc.
std::optional<RecordView> ReadRecord(std::string_view data, size_t offset);
// The full size (frame included) of the record starting at data[offset...], from its length
// field; nullopt when fewer than kFrameSize bytes are there or the length is over kMaxPayload.
std::optional<size_t> RecordSize(std::string_view data, size_t offset);

// Whether segment `seq`'s header (at the start of `data`) is a version-1 checkpoint's;
// Corruption naming `path` when the header is bad.
Result<bool> ParseHeader(std::string_view data, uint64_t seq, const std::string& path);

// Calls fn(code, key, value) for each op of a batch payload (value empty for deletes); false
// when the payload is malformed (fn may have been called for the ops before the bad one).
template <typename Fn>
bool ForEachOp(std::string_view payload, Fn&& fn);

Status CorruptionAt(const std::string& path, uint64_t offset, std::string_view what);
// ResourceExhausted for ENOSPC, IOError otherwise, naming `what` and `path`.
Status ErrnoStatus(std::string_view what, const std::string& path, int err);
Status SyncDir(const std::string& dir);

// ---- Implementation details ----
bool GetLengthPrefixed(std::string_view* in, std::string_view* out);

template <typename Fn>
bool ForEachOp(std::string_view payload, Fn&& fn) {
  while (!payload.empty()) {
    const auto code = static_cast<uint8_t>(payload.front());
    payload.remove_prefix(1);
    std::string_view key;
    std::string_view value;
    if (code > kDeleteRangeOp || !GetLengthPrefixed(&payload, &key)) return false;
    if (code != kDeleteOp && !GetLengthPrefixed(&payload, &value)) return false;
    fn(static_cast<OpCode>(code), key, value);
  }
  return true;
}

}  // namespace ringkv::storage::log_kv_format

#endif  // RINGKV_STORAGE_LOG_KV_FORMAT_H_
