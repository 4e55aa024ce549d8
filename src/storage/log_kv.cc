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
#include <utility>

#include "common/status_macros.h"
#include "storage/log_kv_format.h"

namespace ringkv::storage {
namespace {

using namespace log_kv_format;  // NOLINT(build/namespaces): this file implements the format

// pending_ gives back its memory after a write larger than this.
constexpr size_t kMaxKeptPending = 16 << 20;

namespace fs = std::filesystem;

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
    SettleForward(kv_->map_.LowerBound(range_.begin));
  }
  void SeekToLast() override {
    std::shared_lock lock(kv_->map_mu_);
    SettleBackward(kv_->map_.Before(range_.end));
  }
  void Seek(std::string_view key) override {
    std::shared_lock lock(kv_->map_mu_);
    SettleForward(kv_->map_.LowerBound(std::max(key, std::string_view(range_.begin))));
  }
  // Next and Prev leave an ended cursor ended (Iterator calls them only when valid).
  void Next() override {
    if (!valid_) return;
    std::shared_lock lock(kv_->map_mu_);
    SettleForward(kv_->map_.UpperBound(key_));
  }
  void Prev() override {
    if (!valid_) return;
    std::shared_lock lock(kv_->map_mu_);
    SettleBackward(kv_->map_.Before(key_));
  }
  bool Valid() const override { return valid_; }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return Status::OK(); }

 private:
  // REQUIRES: map_mu_ held. Positions at `it` if it is within the range.
  void SettleForward(const LogKvIndex::Iterator& it) {
    valid_ = it.Valid() && it.key() < range_.end;
    if (valid_) Copy(it);
  }
  // REQUIRES: map_mu_ held. Positions at `it` (the key before the one sought) if it is
  // within the range.
  void SettleBackward(const LogKvIndex::Iterator& it) {
    valid_ = it.Valid() && it.key() >= range_.begin;
    if (valid_) Copy(it);
  }
  void Copy(const LogKvIndex::Iterator& it) {
    key_.assign(it.key());
    value_.assign(it.slot().value);
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
  deleter_.reset();  // finishes the deletions before another LogKv may open the directory
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
    if (name.ends_with(".tmp") || name.ends_with(".dead")) {
      // A segment (or version 1 checkpoint) never completed, or one being deleted: nothing
      // depends on it.
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
  deleter_ = std::make_unique<SegmentDeleter>(options_.dir);
  ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, ListSegments());
  std::lock_guard lock(write_mu_);
  if (seqs.empty()) return Rotate();  // a new log: one empty segment, seq 1

  // A version 1 directory: recovery starts at the newest checkpoint, which holds everything
  // before it. Version 2 segments have none: all of them are replayed.
  size_t start = 0;
  for (size_t i = seqs.size(); i-- > 0;) {
    const std::string path = SegmentPath(seqs[i]);
    ASSIGN_OR_RETURN(std::string head, ReadFile(path, kHeaderRecordSize));
    ASSIGN_OR_RETURN(bool checkpoint, ParseHeader(head, seqs[i], path));
    if (checkpoint) {
      start = i;
      break;
    }
  }
  uint64_t end = 0;
  for (size_t i = start; i < seqs.size(); ++i) {
    RETURN_IF_ERROR(ReplaySegment(seqs[i], i + 1 == seqs.size(), &end));
    segments_[seqs[i]].file_bytes = end;
    if (i + 1 < seqs.size()) older_bytes_ += end;
  }
  // Segments before a checkpoint are deleted only once it replayed cleanly.
  for (size_t i = 0; i < start; ++i) {
    const std::string path = SegmentPath(seqs[i]);
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
  }
  if (start > 0) RETURN_IF_ERROR(SyncDir(options_.dir));
  return OpenActive(seqs.back(), end);
}

Status LogKv::ReplaySegment(uint64_t seq, bool last, uint64_t* valid_end) {
  const std::string path = SegmentPath(seq);
  ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  ASSIGN_OR_RETURN(bool in_checkpoint, ParseHeader(data, seq, path));
  segments_.try_emplace(seq);
  size_t offset = kHeaderRecordSize;
  while (offset < data.size()) {
    std::optional<RecordView> rec = ReadRecord(data, offset);
    if (!rec) {
      // Only writes after the last sync may be torn; a checkpoint was synced before use, and
      // a segment is synced before the next one is started.
      if (!last || in_checkpoint) return CorruptionAt(path, offset, "bad record");
      if (data.find_first_not_of('\0', offset) == std::string::npos) {
        VLOG(1) << "raft log: " << data.size() - offset << " bytes preallocated after offset "
                << offset << " in " << path;
      } else {
        LOG(WARNING) << "raft log: torn tail in " << path << " at offset " << offset
                     << ": dropping " << data.size() - offset << " bytes of unsynced writes";
      }
      RETURN_IF_ERROR(TruncateFile(path, offset));
      break;
    }
    if (rec->type == kBatchRecord) {
      if (!Apply(rec->payload, seq)) return CorruptionAt(path, offset, "malformed batch");
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
  file_end_ = size;
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
  RETURN_IF_ERROR(MaintainSegments(bound));

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
    CHECK(Apply(payload, last_seq_)) << "raft log: own batch record malformed";
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
    CHECK(Apply(payload, last_seq_)) << "raft log: own batch record malformed";
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

bool LogKv::Apply(std::string_view payload, uint64_t seq) {
  std::unique_lock lock(map_mu_);
  const LogKvIndex::EraseFn unaccount = [this](size_t key_bytes, const Slot& slot) {
    Account(key_bytes, slot, -1);
  };
  return ForEachOp(payload, [&](OpCode code, std::string_view key, std::string_view value) {
    switch (code) {
      case kPutOp: {
        auto [slot, inserted] = map_.Emplace(key);
        if (!inserted) Account(key.size(), *slot, -1);
        slot->value.assign(value);
        slot->seq = seq;
        Account(key.size(), *slot, +1);
        break;
      }
      case kDeleteOp:
        map_.Erase(key, unaccount);
        break;
      case kDeleteRangeOp:
        map_.EraseRange(key, value, unaccount);
        break;
    }
  });
}

void LogKv::Account(size_t key_bytes, const Slot& slot, int64_t sign) {
  const uint64_t bytes = key_bytes + slot.value.size();
  Segment& seg = segments_[slot.seq];
  seg.live_records += static_cast<uint64_t>(sign);
  seg.live_bytes += static_cast<uint64_t>(sign) * bytes;
  live_bytes_ += static_cast<uint64_t>(sign) * bytes;
}

Status LogKv::FlushPending() {
  const uint64_t end = active_size_ + pending_.size();
  if (end > file_end_) Preallocate(end);
  Status s = WriteAt(active_fd_, active_path_, pending_, active_size_);
  if (!s.ok()) {
    // Nothing of a failed write may stay in the file: a later record would follow garbage.
    file_end_ = active_size_;
    if (::ftruncate(active_fd_, static_cast<off_t>(active_size_)) != 0) {
      s = Status::IOError(std::string(s.message()) +
                          "; truncating it back failed: " + std::strerror(errno));
    }
    return Fail(s);
  }
  active_size_ = end;
  file_end_ = std::max(file_end_, end);
  file_bytes_.store(older_bytes_ + active_size_);
  return Status::OK();
}

void LogKv::Preallocate(uint64_t end) {
  if (options_.preallocate_bytes == 0) return;
  const uint64_t target = end + options_.preallocate_bytes;
  // Zeros written, not fallocate(): appending into unwritten extents still makes fdatasync
  // update extent metadata. The record itself fills [active_size_, end). Plain pwrite, not
  // WriteAt: the test hooks fail the record's write, which this must not absorb.
  static const std::string kZeros(1 << 20, '\0');
  for (uint64_t at = std::max(file_end_, end); at < target;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kZeros.size(), target - at));
    const ssize_t w = ::pwrite(active_fd_, kZeros.data(), n, static_cast<off_t>(at));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // e.g. a full disk: the record may still fit
    at += static_cast<uint64_t>(w);
    file_end_ = at;
  }
}

Status LogKv::TruncatePreallocated() {
  if (file_end_ <= active_size_) return Status::OK();
  if (::ftruncate(active_fd_, static_cast<off_t>(active_size_)) != 0) {
    return Fail(ErrnoStatus("truncate", active_path_, errno));
  }
  file_end_ = active_size_;
  return SyncActive();
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

// ---- Reading ----

Result<std::optional<std::string>> LogKv::Get(std::string_view key) const {
  std::shared_lock lock(map_mu_);
  const Slot* slot = map_.Find(key);
  if (slot == nullptr) return std::optional<std::string>();
  return std::optional<std::string>(slot->value);
}

std::unique_ptr<RawCursor> LogKv::NewCursor(KeyRange range) const {
  return std::make_unique<Cursor>(this, std::move(range));
}

uint64_t LogKv::ApproximateBytes(const KeyRange& range) const {
  std::shared_lock lock(map_mu_);
  uint64_t bytes = 0;
  for (auto it = map_.LowerBound(range.begin); it.Valid() && it.key() < range.end; it.Next()) {
    bytes += it.key().size() + it.slot().value.size();
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
  AbandonLocked();
}

void LogKv::AbandonLocked() {
  if (deleter_ != nullptr) deleter_->Drain();
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

void LogKv::AbandonBeforeNextSegmentDeletionForTesting() {
  std::lock_guard lock(write_mu_);
  abandon_before_delete_ = true;
}

LogKv::SegmentStats LogKv::SegmentStatsForTesting() const {
  std::lock_guard lock(write_mu_);
  SegmentStats stats = stats_;
  stats.segments = segments_.size();
  return stats;
}

}  // namespace ringkv::storage
