#include "storage/log_kv_format.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/coding.h"
#include "common/crc32c.h"

namespace ringkv::storage::log_kv_format {
namespace {

constexpr std::string_view kMagic = "RKVLOGKV";
constexpr uint8_t kCheckpointFlag = 1;

void EncodeFixed32BE(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

void PutVarint32(std::string* dst, uint32_t v) {
  char buf[5];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= uint32_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint32_t n;
  if (!GetVarint32(in, &n) || in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

size_t BeginRecord(std::string* dst, uint8_t type) {
  const size_t start = dst->size();
  dst->append(kFrameSize, '\0');
  (*dst)[start + 8] = static_cast<char>(type);
  return start;
}

void FinishRecord(std::string* dst, size_t start) {
  char* p = dst->data() + start;
  EncodeFixed32BE(p + 4, static_cast<uint32_t>(dst->size() - start - kFrameSize));
  EncodeFixed32BE(p, crc32c::Value(p + 4, dst->size() - start - 4));
}

size_t MaxOpSize(const WriteBatch::Op& op) { return 1 + 5 + op.key.size() + 5 + op.value.size(); }

void PutOp(std::string* dst, OpCode code, std::string_view key, std::string_view value) {
  dst->push_back(static_cast<char>(code));
  PutVarint32(dst, static_cast<uint32_t>(key.size()));
  dst->append(key);
  if (code == kDeleteOp) return;
  PutVarint32(dst, static_cast<uint32_t>(value.size()));
  dst->append(value);
}

OpCode CodeOf(WriteBatch::OpType type) {
  switch (type) {
    case WriteBatch::OpType::kPut:
      return kPutOp;
    case WriteBatch::OpType::kDelete:
      return kDeleteOp;
    case WriteBatch::OpType::kDeleteRange:
      return kDeleteRangeOp;
  }
  LOG(FATAL) << "unknown op type " << static_cast<int>(type);
}

void AppendHeader(std::string* dst, uint64_t seq) {
  const size_t start = BeginRecord(dst, kHeaderRecord);
  dst->append(kMagic);
  PutFixed32BE(dst, kVersion);
  PutFixed64BE(dst, seq);
  dst->push_back(0);  // flags: none (version 1's checkpoint flag is never written)
  FinishRecord(dst, start);
}

std::optional<size_t> RecordSize(std::string_view data, size_t offset) {
  if (data.size() - offset < kFrameSize) return std::nullopt;
  const uint32_t length = DecodeFixed32BE(data.data() + offset + 4);
  if (length > kMaxPayload) return std::nullopt;
  return kFrameSize + length;
}

std::optional<RecordView> ReadRecord(std::string_view data, size_t offset) {
  const std::optional<size_t> size = RecordSize(data, offset);
  if (!size || data.size() - offset < *size) return std::nullopt;
  const char* p = data.data() + offset;
  if (crc32c::Value(p + 4, *size - 4) != DecodeFixed32BE(p)) return std::nullopt;
  return RecordView{static_cast<uint8_t>(p[8]),
                    std::string_view(p + kFrameSize, *size - kFrameSize), *size};
}

Result<bool> ParseHeader(std::string_view data, uint64_t seq, const std::string& path) {
  std::optional<RecordView> rec = ReadRecord(data, 0);
  if (!rec || rec->type != kHeaderRecord || rec->payload.size() != kHeaderPayloadSize ||
      rec->payload.substr(0, kMagic.size()) != kMagic) {
    return CorruptionAt(path, 0, "bad segment header");
  }
  const char* p = rec->payload.data() + kMagic.size();
  const uint32_t version = DecodeFixed32BE(p);
  if (version != 1 && version != 2) return CorruptionAt(path, 0, "unknown segment version");
  if (DecodeFixed64BE(p + 4) != seq) return CorruptionAt(path, 0, "segment header of another seq");
  const bool checkpoint = (static_cast<uint8_t>(p[12]) & kCheckpointFlag) != 0;
  if (checkpoint && version != 1) return CorruptionAt(path, 0, "checkpoint flag in version 2");
  return checkpoint;
}

Status CorruptionAt(const std::string& path, uint64_t offset, std::string_view what) {
  return Status::Corruption("raft log: " + std::string(what) + " in " + path + " at offset " +
                            std::to_string(offset));
}

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string msg = "raft log: " + std::string(what) + " " + path + ": ";
  if (err == ENOSPC) return Status::ResourceExhausted(msg + "no space left on device (ENOSPC)");
  return Status::IOError(msg + std::strerror(err));
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus("fsync directory", dir, err);
}

}  // namespace ringkv::storage::log_kv_format
