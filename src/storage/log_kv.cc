#include "storage/log_kv.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/status_macros.h"

namespace ringkv::storage {
namespace {

// Record framing (log_kv.h): [u32 crc][u32 payload length][u8 type][payload].
constexpr size_t kFrameSize = 9;
constexpr uint8_t kHeaderRecord = 1;
constexpr uint8_t kBatchRecord = 2;
constexpr uint8_t kCheckpointEndRecord = 3;
constexpr std::string_view kMagic = "RKVLOGKV";
constexpr uint32_t kVersion = 1;
constexpr uint8_t kCheckpointFlag = 1;
// magic + version + seq + flags.
constexpr size_t kHeaderPayloadSize = 8 + 4 + 8 + 1;
constexpr size_t kHeaderRecordSize = kFrameSize + kHeaderPayloadSize;
// A length beyond this is garbage (a torn tail), not a record.
constexpr uint32_t kMaxPayload = 1u << 30;
// Checkpoints write the map as batch records of about this size.
constexpr size_t kCheckpointChunk = 1 << 20;
// pending_ gives back its memory after a write larger than this.
constexpr size_t kMaxKeptPending = 16 << 20;

enum OpCode : uint8_t { kPutOp = 0, kDeleteOp = 1, kDeleteRangeOp = 2 };

namespace fs = std::filesystem;

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string msg = "raft log: " + std::string(what) + " " + path + ": ";
  if (err == ENOSPC) return Status::ResourceExhausted(msg + "no space left on device (ENOSPC)");
  return Status::IOError(msg + std::strerror(err));
}

Status CorruptionAt(const std::string& path, uint64_t offset, std::string_view what) {
  return Status::Corruption("raft log: " + std::string(what) + " in " + path + " at offset " +
                            std::to_string(offset));
}

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

bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint32_t n;
  if (!GetVarint32(in, &n) || in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// Appends a record frame with a zero crc and length; FinishRecord fills them in.
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

// Upper bound of the bytes PutOp appends.
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

void AppendHeader(std::string* dst, uint64_t seq, bool checkpoint) {
  const size_t start = BeginRecord(dst, kHeaderRecord);
  dst->append(kMagic);
  PutFixed32BE(dst, kVersion);
  PutFixed64BE(dst, seq);
  dst->push_back(static_cast<char>(checkpoint ? kCheckpointFlag : 0));
  FinishRecord(dst, start);
}

struct RecordView {
  uint8_t type;
  std::string_view payload;
  size_t size;  // frame included
};

// The record at data[offset...], or nullopt when it is short, too long or fails its crc.
std::optional<RecordView> ReadRecord(std::string_view data, size_t offset) {
  if (data.size() - offset < kFrameSize) return std::nullopt;
  const char* p = data.data() + offset;
  const uint32_t length = DecodeFixed32BE(p + 4);
  if (length > kMaxPayload || data.size() - offset - kFrameSize < length) return std::nullopt;
  if (crc32c::Value(p + 4, length + kFrameSize - 4) != DecodeFixed32BE(p)) return std::nullopt;
  return RecordView{static_cast<uint8_t>(p[8]), std::string_view(p + kFrameSize, length),
                    kFrameSize + length};
}

// Whether segment `seq`'s header (at the start of `data`) is a checkpoint's; Corruption when
// the header is bad.
Result<bool> ParseHeader(std::string_view data, uint64_t seq, const std::string& path) {
  std::optional<RecordView> rec = ReadRecord(data, 0);
  if (!rec || rec->type != kHeaderRecord || rec->payload.size() != kHeaderPayloadSize ||
      rec->payload.substr(0, kMagic.size()) != kMagic) {
    return CorruptionAt(path, 0, "bad segment header");
  }
  const char* p = rec->payload.data() + kMagic.size();
  if (DecodeFixed32BE(p) != kVersion) return CorruptionAt(path, 0, "unknown segment version");
  if (DecodeFixed64BE(p + 4) != seq) return CorruptionAt(path, 0, "segment header of another seq");
  return (static_cast<uint8_t>(p[12]) & kCheckpointFlag) != 0;
}

void MapPut(LogKv::Map* map, uint64_t* bytes, std::string_view key, std::string_view value) {
  auto it = map->lower_bound(key);
  if (it != map->end() && it->first == key) {
    *bytes -= it->second.size();
    it->second.assign(value);
  } else {
    map->emplace_hint(it, std::piecewise_construct, std::forward_as_tuple(key),
                      std::forward_as_tuple(value));
    *bytes += key.size();
  }
  *bytes += value.size();
}

void MapErase(LogKv::Map* map, uint64_t* bytes, LogKv::Map::iterator begin,
              LogKv::Map::iterator end) {
  while (begin != end) {
    *bytes -= begin->first.size() + begin->second.size();
    begin = map->erase(begin);
  }
}

// Applies a batch record's payload; false when it is malformed.
bool ApplyPayload(std::string_view payload, LogKv::Map* map, uint64_t* bytes) {
  while (!payload.empty()) {
    const auto code = static_cast<uint8_t>(payload.front());
    payload.remove_prefix(1);
    std::string_view key;
    std::string_view value;
    if (!GetLengthPrefixed(&payload, &key)) return false;
    if (code != kDeleteOp && !GetLengthPrefixed(&payload, &value)) return false;
    switch (code) {
      case kPutOp:
        MapPut(map, bytes, key, value);
        break;
      case kDeleteOp: {
        auto it = map->find(key);
        if (it != map->end()) MapErase(map, bytes, it, std::next(it));
        break;
      }
      case kDeleteRangeOp:
        if (key < value) MapErase(map, bytes, map->lower_bound(key), map->lower_bound(value));
        break;
      default:
        return false;
    }
  }
  return true;
}

// The file's first `limit` bytes (all of it when shorter).
Result<std::string> ReadFile(const std::string& path, size_t limit = SIZE_MAX) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  std::string data;
  struct stat st;
  if (::fstat(fd, &st) == 0) data.resize(std::min(limit, static_cast<size_t>(st.st_size)));
  size_t done = 0;
  while (done < limit) {
    if (done == data.size()) data.resize(std::min(limit, std::max<size_t>(4096, done * 2)));
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("read", path, err);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  data.resize(done);
  return data;
}

Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus("fsync directory", dir, err);
}

Status TruncateFile(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  int rc = ::ftruncate(fd, static_cast<off_t>(size));
  if (rc == 0) rc = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : ErrnoStatus("truncate", path, err);
}

// The seq of a segment file name ("<16 hex digits>.log"), nullopt for any other name.
std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != 20 || name.substr(16) != ".log") return std::nullopt;
  uint64_t seq = 0;
  for (char c : name.substr(0, 16)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    seq = seq << 4 | static_cast<uint64_t>(digit);
  }
  return seq;
}

}  // namespace

// ---- Cursor ----

// Re-seeks the live map under the shared lock at every positioning call, from a copy of the
// current key, so it stays correct while the writer changes the map.
class LogKv::Cursor final : public RawCursor {
 public:
  Cursor(const LogKv* kv, KeyRange range) : kv_(kv), range_(std::move(range)) {}

  void SeekToFirst() override {
    std::shared_lock lock(kv_->map_mu_);
    SettleForward(kv_->map_.lower_bound(range_.begin));
  }
  void SeekToLast() override {
    std::shared_lock lock(kv_->map_mu_);
    SettleBackward(kv_->map_.lower_bound(range_.end));
  }
  void Seek(std::string_view key) override {
    std::shared_lock lock(kv_->map_mu_);
    SettleForward(kv_->map_.lower_bound(std::max(key, std::string_view(range_.begin))));
  }
  // Next and Prev leave an ended cursor ended (Iterator calls them only when valid).
  void Next() override {
    if (!valid_) return;
    std::shared_lock lock(kv_->map_mu_);
    SettleForward(kv_->map_.upper_bound(key_));
  }
  void Prev() override {
    if (!valid_) return;
    std::shared_lock lock(kv_->map_mu_);
    SettleBackward(kv_->map_.lower_bound(key_));
  }
  bool Valid() const override { return valid_; }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return Status::OK(); }

 private:
  // REQUIRES: map_mu_ held. Positions at `it` if it is within the range.
  void SettleForward(Map::const_iterator it) {
    valid_ = it != kv_->map_.end() && it->first < range_.end;
    if (valid_) Copy(it);
  }
  // REQUIRES: map_mu_ held. Positions at the key before `it` if it is within the range.
  void SettleBackward(Map::const_iterator it) {
    valid_ = it != kv_->map_.begin() && std::prev(it)->first >= range_.begin;
    if (valid_) Copy(std::prev(it));
  }
  void Copy(Map::const_iterator it) {
    key_.assign(it->first);
    value_.assign(it->second);
  }

  const LogKv* const kv_;
  const KeyRange range_;
  bool valid_ = false;
  std::string key_;    // copy of the current key, when valid_
  std::string value_;  // copy of its value
};

// ---- Open and recovery ----

LogKv::LogKv(const LogKvOptions& options) : options_(options) {}

LogKv::~LogKv() {
  std::lock_guard lock(write_mu_);
  if (active_fd_ >= 0 && !pending_.empty() && write_error_.ok()) {
    Status s = FlushPending();
    if (!s.ok()) LOG(WARNING) << "raft log: writing out the buffered tail at close: " << s;
  }
  if (active_fd_ >= 0) ::close(active_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<LogKv>> LogKv::Open(const LogKvOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("raft log: no directory given");
  std::unique_ptr<LogKv> kv(new LogKv(options));
  RETURN_IF_ERROR(kv->Recover());
  return kv;
}

std::string LogKv::SegmentPath(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.log", static_cast<unsigned long long>(seq));
  return options_.dir + "/" + name;
}

Status LogKv::LockDir() {
  std::error_code ec;
  const bool existed = fs::exists(options_.dir, ec);
  fs::create_directories(options_.dir, ec);
  if (ec) return Status::IOError("raft log: create " + options_.dir + ": " + ec.message());
  if (!existed) {
    fs::path parent = fs::path(options_.dir).parent_path();
    RETURN_IF_ERROR(SyncDir(parent.empty() ? "." : parent.string()));
  }
  const std::string lock_path = options_.dir + "/LOCK";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return ErrnoStatus("open", lock_path, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::IOError("raft log: " + options_.dir + " is in use (" + lock_path +
                           " is locked): " + std::strerror(errno));
  }
  return Status::OK();
}

Result<std::vector<uint64_t>> LogKv::ListSegments() {
  std::vector<uint64_t> seqs;
  bool removed = false;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".tmp")) {
      // A checkpoint that never completed; the segments it was to replace are all there.
      if (::unlink(entry.path().c_str()) != 0) return ErrnoStatus("unlink", name, errno);
      removed = true;
    } else if (std::optional<uint64_t> seq = ParseSegmentName(name)) {
      seqs.push_back(*seq);
    }
  }
  if (ec) return Status::IOError("raft log: list " + options_.dir + ": " + ec.message());
  if (removed) RETURN_IF_ERROR(SyncDir(options_.dir));
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

Status LogKv::Recover() {
  RETURN_IF_ERROR(LockDir());
  ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, ListSegments());
  std::lock_guard lock(write_mu_);
  if (seqs.empty()) return Checkpoint();  // a new log: an empty checkpoint, seq 1

  // Recovery starts at the newest checkpoint; everything before it is in it.
  size_t start = seqs.size();
  while (start > 0) {
    const std::string path = SegmentPath(seqs[start - 1]);
    ASSIGN_OR_RETURN(std::string head, ReadFile(path, kHeaderRecordSize));
    ASSIGN_OR_RETURN(bool checkpoint, ParseHeader(head, seqs[start - 1], path));
    --start;
    if (checkpoint) break;
    if (start == 0) return Status::Corruption("raft log: no checkpoint segment in " + options_.dir);
  }
  uint64_t end = 0;
  for (size_t i = start; i < seqs.size(); ++i) {
    RETURN_IF_ERROR(ReplaySegment(seqs[i], i == start, i + 1 == seqs.size(), &end));
    if (i + 1 < seqs.size()) {
      older_seqs_.push_back(seqs[i]);
      older_bytes_ += end;
    }
  }
  // Segments before the checkpoint are deleted only once it replayed cleanly.
  for (size_t i = 0; i < start; ++i) {
    const std::string path = SegmentPath(seqs[i]);
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
  }
  if (start > 0) RETURN_IF_ERROR(SyncDir(options_.dir));
  return OpenActive(seqs.back(), end);
}

Status LogKv::ReplaySegment(uint64_t seq, bool checkpoint_expected, bool last,
                            uint64_t* valid_end) {
  const std::string path = SegmentPath(seq);
  ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  ASSIGN_OR_RETURN(bool in_checkpoint, ParseHeader(data, seq, path));
  if (in_checkpoint != checkpoint_expected) return CorruptionAt(path, 0, "unexpected header");
  size_t offset = kHeaderRecordSize;
  while (offset < data.size()) {
    std::optional<RecordView> rec = ReadRecord(data, offset);
    if (!rec) {
      // Only writes after the last sync may be torn; a checkpoint was synced before use.
      if (!last || in_checkpoint) return CorruptionAt(path, offset, "bad record");
      LOG(WARNING) << "raft log: torn tail in " << path << " at offset " << offset << ": dropping "
                   << data.size() - offset << " bytes of unsynced writes";
      RETURN_IF_ERROR(TruncateFile(path, offset));
      break;
    }
    if (rec->type == kBatchRecord) {
      if (!ApplyPayload(rec->payload, &map_, &live_bytes_)) {
        return CorruptionAt(path, offset, "malformed batch");
      }
    } else if (rec->type == kCheckpointEndRecord && in_checkpoint) {
      in_checkpoint = false;
    } else {
      return CorruptionAt(path, offset, "unexpected record type " + std::to_string(rec->type));
    }
    offset += rec->size;
  }
  if (in_checkpoint) return CorruptionAt(path, offset, "incomplete checkpoint");
  *valid_end = offset;
  return Status::OK();
}

Status LogKv::OpenActive(uint64_t seq, uint64_t size) {
  const std::string path = SegmentPath(seq);
  active_fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (active_fd_ < 0) return ErrnoStatus("open", path, errno);
  last_seq_ = seq;
  active_path_ = path;
  active_size_ = size;
  file_bytes_.store(older_bytes_ + active_size_);
  return Status::OK();
}

// ---- Writing ----

Status LogKv::Write(const std::vector<const WriteBatch*>& batches, bool sync) {
  std::lock_guard lock(write_mu_);
  RETURN_IF_ERROR(write_error_);
  size_t bound = kFrameSize;
  bool any = false;
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf != Cf::kRaft) continue;
      bound += MaxOpSize(op);
      any = true;
    }
  }
  if (!any) return sync ? SyncLocked() : Status::OK();
  // Replay treats a longer record as garbage, so it must never be written.
  if (bound - kFrameSize > kMaxPayload) {
    return Status::InvalidArgument("raft log: a write of " + std::to_string(bound) +
                                   " bytes exceeds the 1 GiB record limit");
  }
  if (active_size_ + pending_.size() > std::max(options_.segment_bytes, 2 * live_bytes_)) {
    RETURN_IF_ERROR(Checkpoint());
  }

  const size_t start = pending_.size();
  pending_.reserve(start + bound);
  BeginRecord(&pending_, kBatchRecord);
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf == Cf::kRaft) PutOp(&pending_, CodeOf(op.type), op.key, op.value);
    }
  }
  FinishRecord(&pending_, start);
  const std::string_view payload = std::string_view(pending_).substr(start + kFrameSize);
  if (!sync && options_.buffer_unsynced_writes) {
    Apply(payload);
    unsynced_.store(true);
    return Status::OK();
  }
  Status s = FlushPending();
  if (!s.ok()) {
    pending_.resize(start);  // earlier buffered records stay pending
    return s;
  }
  if (sync) s = SyncActive();
  if (s.ok()) {
    Apply(payload);
    unsynced_.store(!sync);
  }
  ClearPending();
  return s;
}

Status LogKv::Sync() {
  std::lock_guard lock(write_mu_);
  RETURN_IF_ERROR(write_error_);
  return SyncLocked();
}

Status LogKv::SyncLocked() {
  if (!pending_.empty()) {
    RETURN_IF_ERROR(FlushPending());
    ClearPending();
  }
  if (!unsynced_.load()) return Status::OK();
  RETURN_IF_ERROR(SyncActive());
  unsynced_.store(false);
  return Status::OK();
}

void LogKv::ClearPending() {
  pending_.clear();
  if (pending_.capacity() > kMaxKeptPending) pending_.shrink_to_fit();
}

void LogKv::Apply(std::string_view payload) {
  std::unique_lock lock(map_mu_);
  CHECK(ApplyPayload(payload, &map_, &live_bytes_)) << "raft log: own batch record malformed";
}

Status LogKv::FlushPending() {
  Status s = WriteAt(active_fd_, active_path_, pending_, active_size_);
  if (!s.ok()) {
    // Nothing of a failed write may stay in the file: a later record would follow garbage.
    if (::ftruncate(active_fd_, static_cast<off_t>(active_size_)) != 0) {
      s = Status::IOError(std::string(s.message()) +
                          "; truncating it back failed: " + std::strerror(errno));
    }
    return Fail(s);
  }
  active_size_ += pending_.size();
  file_bytes_.store(older_bytes_ + active_size_);
  return Status::OK();
}

Status LogKv::WriteAt(int fd, const std::string& path, std::string_view data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n;
    if (fail_next_write_errno_ != 0) {
      errno = std::exchange(fail_next_write_errno_, 0);
      n = -1;
    } else {
      n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write", path, errno);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status LogKv::DataSync(int fd, const std::string& path) {
  int rc;
  if (fail_next_sync_errno_ != 0) {
    errno = std::exchange(fail_next_sync_errno_, 0);
    rc = -1;
  } else {
    rc = ::fdatasync(fd);
  }
  // After a failed fdatasync the file's state is unknown, whatever errno says: never
  // resumable (PostgreSQL's "fsyncgate").
  if (rc != 0) return Status::IOError("raft log: fdatasync " + path + ": " + std::strerror(errno));
  return Status::OK();
}

Status LogKv::SyncActive() {
  Status s = DataSync(active_fd_, active_path_);
  return s.ok() ? s : Fail(s);
}

Status LogKv::Fail(Status s) {
  if (write_error_.ok() || write_error_.code() == StatusCode::kResourceExhausted) write_error_ = s;
  return s;
}

Status LogKv::Resume() {
  std::lock_guard lock(write_mu_);
  if (write_error_.ok() || write_error_.code() == StatusCode::kResourceExhausted) {
    write_error_ = Status::OK();
  }
  return write_error_;
}

bool LogKv::HasUnsynced() const { return unsynced_.load(); }

// ---- Checkpoints ----

Status LogKv::Checkpoint() {
  const uint64_t seq = last_seq_ + 1;
  const std::string path = SegmentPath(seq);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(ErrnoStatus("create", tmp, errno));
  uint64_t size = 0;
  Status s = WriteCheckpointFile(fd, tmp, seq, &size);
  if (s.ok()) s = DataSync(fd, tmp);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus("rename", tmp, errno);
  if (!s.ok()) {
    // The active segment is untouched: the log is as before (resumable if the disk was full).
    ::close(fd);
    ::unlink(tmp.c_str());
    return Fail(s);
  }
  s = SyncDir(options_.dir);
  if (!s.ok()) {
    ::close(fd);
    return Fail(Status::IOError(s.message()));  // whether the rename is durable is unknown
  }
  // The checkpoint holds every write (the buffered ones too) and is durable.
  if (active_fd_ >= 0) {
    ::close(active_fd_);
    older_seqs_.push_back(last_seq_);
  }
  active_fd_ = fd;
  last_seq_ = seq;
  active_path_ = path;
  active_size_ = size;
  pending_.clear();
  unsynced_.store(false);
  DeleteOlderSegments();
  VLOG(1) << "raft log: checkpoint " << path << ", " << size << " bytes, " << map_.size()
          << " keys";
  return Status::OK();
}

Status LogKv::WriteCheckpointFile(int fd, const std::string& path, uint64_t seq, uint64_t* size) {
  // map_ is read without map_mu_: only this thread (holding write_mu_) changes it.
  std::string buf;
  buf.reserve(kCheckpointChunk + (64 << 10));
  AppendHeader(&buf, seq, /*checkpoint=*/true);
  size_t rec = BeginRecord(&buf, kBatchRecord);
  for (const auto& [key, value] : map_) {
    PutOp(&buf, kPutOp, key, value);
    if (buf.size() - rec < kCheckpointChunk) continue;
    FinishRecord(&buf, rec);
    RETURN_IF_ERROR(WriteAt(fd, path, buf, *size));
    *size += buf.size();
    buf.clear();
    rec = BeginRecord(&buf, kBatchRecord);
  }
  if (buf.size() - rec > kFrameSize) {
    FinishRecord(&buf, rec);
  } else {
    buf.resize(rec);
  }
  FinishRecord(&buf, BeginRecord(&buf, kCheckpointEndRecord));
  RETURN_IF_ERROR(WriteAt(fd, path, buf, *size));
  *size += buf.size();
  return Status::OK();
}

void LogKv::DeleteOlderSegments() {
  std::vector<uint64_t> kept;
  older_bytes_ = 0;
  for (uint64_t seq : older_seqs_) {
    const std::string path = SegmentPath(seq);
    struct stat st;
    const bool have_size = ::stat(path.c_str(), &st) == 0;
    if (::unlink(path.c_str()) == 0 || errno == ENOENT) continue;
    // Harmless: the next Open deletes segments older than the newest checkpoint.
    LOG(WARNING) << "raft log: cannot delete " << path << ": " << std::strerror(errno);
    kept.push_back(seq);
    if (have_size) older_bytes_ += static_cast<uint64_t>(st.st_size);
  }
  older_seqs_ = std::move(kept);
  file_bytes_.store(older_bytes_ + active_size_);
  Status s = SyncDir(options_.dir);
  if (!s.ok()) LOG(WARNING) << s << " (after deleting old segments; harmless)";
}

// ---- Reading ----

Result<std::optional<std::string>> LogKv::Get(std::string_view key) const {
  std::shared_lock lock(map_mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

std::unique_ptr<RawCursor> LogKv::NewCursor(KeyRange range) const {
  return std::make_unique<Cursor>(this, std::move(range));
}

uint64_t LogKv::ApproximateBytes(const KeyRange& range) const {
  std::shared_lock lock(map_mu_);
  uint64_t bytes = 0;
  for (auto it = map_.lower_bound(range.begin); it != map_.end() && it->first < range.end; ++it) {
    bytes += it->first.size() + it->second.size();
  }
  return bytes;
}

bool LogKv::Empty() const {
  std::shared_lock lock(map_mu_);
  return map_.empty();
}

uint64_t LogKv::FileBytes() const { return file_bytes_.load(); }

// ---- Test hooks ----

void LogKv::AbandonForTesting() {
  std::lock_guard lock(write_mu_);
  pending_.clear();
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = -1;
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
  write_error_ = Status::IOError("raft log: abandoned (test)");
}

void LogKv::FailNextWriteForTesting(int errno_value) {
  std::lock_guard lock(write_mu_);
  fail_next_write_errno_ = errno_value;
}

void LogKv::FailNextSyncForTesting(int errno_value) {
  std::lock_guard lock(write_mu_);
  fail_next_sync_errno_ = errno_value;
}

}  // namespace ringkv::storage
