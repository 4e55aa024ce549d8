// LogKv's segment maintenance: rotation, purge (rewrite of the oldest segment's live records)
// and deletion. log_kv.h's header comment has the design and why it never loses a record.
#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "common/status_macros.h"
#include "storage/log_kv.h"
#include "storage/log_kv_format.h"

namespace ringkv::storage {
namespace {

using namespace log_kv_format;  // NOLINT(build/namespaces): this file implements the format

// A purge step scans at most this much of the oldest segment, and stops once it has found
// this much live data to rewrite (or twice the Write's record, when that is larger, so the
// purge always outpaces the writes). The Write's fdatasync carries the rewrite: 4 MiB made
// the p99.9 Write 35 ms in bench/log_kv_bench --stuck_groups=4, 1 MiB 10 ms.
constexpr uint64_t kPurgeStepBytes = 1 << 20;
// Slot::seq of a key found live by the running purge step, until its rewrite is appended:
// a second put of the key further on in the same segment must not add it again.
constexpr uint64_t kRewriting = std::numeric_limits<uint64_t>::max();

// Exactly `n` bytes of `fd` at `offset`, or an error (a short file is Corruption).
Result<std::string> PRead(int fd, const std::string& path, uint64_t offset, uint64_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus("read", path, errno);
    if (r == 0) return CorruptionAt(path, offset + done, "segment shorter than accounted");
    done += static_cast<size_t>(r);
  }
  return out;
}

}  // namespace

Status LogKv::MaintainSegments(size_t write_bytes) {
  stats_.last_write_rewritten = 0;
  if (active_size_ + pending_.size() > options_.segment_bytes) RETURN_IF_ERROR(Rotate());
  while (segments_.size() > 1 && segments_.begin()->second.live_records == 0) {
    RETURN_IF_ERROR(DeleteOldest());
  }
  if (segments_.size() > 1 &&
      older_bytes_ + active_size_ > 2 * options_.segment_bytes + 2 * live_bytes_) {
    RETURN_IF_ERROR(PurgeStep(std::max<uint64_t>(kPurgeStepBytes, 2 * write_bytes)));
  }
  return Status::OK();
}

Status LogKv::Rotate() {
  // Only the last segment may have a torn tail or preallocated zeros: the active one is
  // complete, and exactly as long as its records, before the next.
  if (active_fd_ >= 0) {
    RETURN_IF_ERROR(SyncLocked());
    RETURN_IF_ERROR(TruncatePreallocated());
  }
  const uint64_t seq = last_seq_ + 1;
  const std::string path = SegmentPath(seq);
  // Created under a temp name: a crash never leaves a last segment without a header.
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(ErrnoStatus("create", tmp, errno));
  std::string header;
  AppendHeader(&header, seq);
  Status s = WriteAt(fd, tmp, header, 0);
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
  if (active_fd_ >= 0) {
    ::close(active_fd_);
    segments_[last_seq_].file_bytes = active_size_;
    older_bytes_ += active_size_;
  }
  active_fd_ = fd;
  last_seq_ = seq;
  active_path_ = path;
  active_size_ = header.size();
  file_end_ = active_size_;
  segments_.try_emplace(seq);
  file_bytes_.store(older_bytes_ + active_size_);
  VLOG(1) << "raft log: new segment " << path << " (" << segments_.size() << " segments, "
          << older_bytes_ << " bytes before it, " << live_bytes_ << " live)";
  return Status::OK();
}

Status LogKv::DeleteOldest() {
  auto oldest = segments_.begin();
  const uint64_t seq = oldest->first;
  CHECK(seq != last_seq_ && oldest->second.live_records == 0) << "raft log: deleting " << seq;
  // The writes that made it dead (deletes, rewrites) become durable, with every earlier one,
  // before it goes: a crash never leaves a delete effective without the rest of its batch.
  RETURN_IF_ERROR(SyncLocked());
  if (abandon_before_delete_) {
    AbandonLocked();
    return write_error_;
  }
  // A failed deletion stops all writes: the segments on disk must stay a suffix (log_kv.h).
  RETURN_IF_ERROR(deleter_->status().ok() ? Status::OK() : Fail(deleter_->status()));
  deleter_->Delete(SegmentPath(seq));
  older_bytes_ -= oldest->second.file_bytes;
  segments_.erase(oldest);
  ++stats_.deleted;
  file_bytes_.store(older_bytes_ + active_size_);
  return Status::OK();
}

Result<std::string> LogKv::ReadPurgeChunk(uint64_t seq, uint64_t budget) {
  const std::string path = SegmentPath(seq);
  const uint64_t left = segments_[seq].file_bytes - purge_offset_;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  Result<std::string> chunk = PRead(fd, path, purge_offset_, std::min(budget, left));
  if (chunk.ok()) {
    // A first record longer than the budget is read whole: each step makes progress.
    const std::optional<size_t> first = RecordSize(*chunk, 0);
    if (first && *first > chunk->size() && *first <= left) {
      chunk = PRead(fd, path, purge_offset_, *first);
    }
  }
  ::close(fd);
  return chunk;
}

Status LogKv::PurgeStep(uint64_t budget) {
  const uint64_t seq = segments_.begin()->first;
  const Segment& seg = segments_.begin()->second;
  if (purge_seq_ != seq) {
    purge_seq_ = seq;
    purge_offset_ = kHeaderRecordSize;
  }
  // Live keys found (views into `chunk`, which outlives their rewrite) and their slots.
  std::vector<std::pair<std::string_view, Slot*>> slots;
  uint64_t found = 0;
  size_t pos = 0;
  std::string chunk;
  if (purge_offset_ < seg.file_bytes) {
    Result<std::string> read = ReadPurgeChunk(seq, budget);
    if (!read.ok()) return Fail(read.status());
    chunk = std::move(read).value();
    const bool at_end = purge_offset_ + chunk.size() == seg.file_bytes;
    const std::string path = SegmentPath(seq);
    // map_ is read without map_mu_, and Slot::seq written: only this thread changes them.
    auto find_live = [&](OpCode code, std::string_view key, std::string_view /*value*/) {
      if (code != kPutOp) return;
      Slot* slot = map_.Find(key);
      if (slot == nullptr || slot->seq != seq) return;
      slot->seq = kRewriting;
      slots.emplace_back(key, slot);
      found += key.size() + slot->value.size();
    };
    while (pos < chunk.size() && found < budget) {
      std::optional<RecordView> rec = ReadRecord(chunk, pos);
      if (!rec) {
        // A record cut by the end of the chunk is read whole by the next step (the first one
        // always fits: ReadPurgeChunk); anything else is damage.
        const std::optional<size_t> size = RecordSize(chunk, pos);
        if (!at_end && pos > 0 &&
            (chunk.size() - pos < kFrameSize || (size && pos + *size > chunk.size()))) {
          break;
        }
        for (auto& [key, slot] : slots) slot->seq = seq;
        return Fail(CorruptionAt(path, purge_offset_ + pos, "bad record (purge)"));
      }
      if (rec->type == kBatchRecord && !ForEachOp(rec->payload, find_live)) {
        for (auto& [key, slot] : slots) slot->seq = seq;
        return Fail(CorruptionAt(path, purge_offset_ + pos, "malformed batch (purge)"));
      }
      pos += rec->size;  // a version-1 checkpoint end holds nothing
    }
  }
  if (!slots.empty()) RETURN_IF_ERROR(AppendRewrite(slots, seq));
  purge_offset_ += pos;
  if (purge_offset_ < seg.file_bytes) return Status::OK();
  CHECK_EQ(seg.live_records, 0u) << "raft log: live records left after the purge of " << seq;
  return DeleteOldest();
}

Status LogKv::AppendRewrite(const std::vector<std::pair<std::string_view, Slot*>>& slots,
                            uint64_t from_seq) {
  const size_t start = pending_.size();
  BeginRecord(&pending_, kBatchRecord);
  for (const auto& [key, slot] : slots) PutOp(&pending_, kPutOp, key, slot->value);
  FinishRecord(&pending_, start);
  const uint64_t bytes = pending_.size() - start;
  CHECK_LE(bytes - kFrameSize, kMaxPayload) << "raft log: rewrite record too long";
  // Like a Write's record: buffered (with buffer_unsynced_writes) or written now, unsynced;
  // DeleteOldest syncs it before the segment it empties goes.
  if (!options_.buffer_unsynced_writes) {
    Status s = FlushPending();
    if (!s.ok()) {
      pending_.resize(start);
      for (const auto& [key, slot] : slots) slot->seq = from_seq;
      return s;
    }
    ClearPending();
  }
  unsynced_.store(true);
  Segment& from = segments_[from_seq];
  Segment& to = segments_[last_seq_];
  for (const auto& [key, slot] : slots) {
    const uint64_t size = key.size() + slot->value.size();
    slot->seq = last_seq_;
    --from.live_records;
    from.live_bytes -= size;
    ++to.live_records;
    to.live_bytes += size;
  }
  stats_.last_write_rewritten += bytes;
  stats_.rewritten += bytes;
  return Status::OK();
}

}  // namespace ringkv::storage
