#include "storage/split_engine.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/coding.h"
#include "common/failpoint.h"
#include "common/status_macros.h"
#include "storage/record.h"
#include "storage/rocks_engine.h"

namespace ringkv::storage {
namespace {

// Every raft CF key starts with an 8-byte group id, so 9 bytes of 0xff bound them all.
KeyRange WholeRaftCf() { return KeyRange{"", std::string(9, '\xff')}; }

// The log part of a two-domain write, as the intent record stores it:
// repeated [u8 op type][u32 BE key length][key][u32 BE value length][value].
std::string EncodeLogOps(const std::vector<const WriteBatch*>& batches) {
  std::string out;
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf != Cf::kRaft) continue;
      out.push_back(static_cast<char>(op.type));
      PutFixed32BE(&out, static_cast<uint32_t>(op.key.size()));
      out.append(op.key);
      PutFixed32BE(&out, static_cast<uint32_t>(op.value.size()));
      out.append(op.value);
    }
  }
  return out;
}

Result<WriteBatch> DecodeLogOps(std::string_view in) {
  WriteBatch b;
  auto take = [&in](std::string* out) {
    if (in.size() < 4) return false;
    const uint32_t n = DecodeFixed32BE(in.data());
    in.remove_prefix(4);
    if (in.size() < n) return false;
    out->assign(in.data(), n);
    in.remove_prefix(n);
    return true;
  };
  while (!in.empty()) {
    const auto type = static_cast<WriteBatch::OpType>(in[0]);
    in.remove_prefix(1);
    std::string key, value;
    if (!take(&key) || !take(&value)) {
      return Status::Corruption("the intent of an interrupted log write is truncated");
    }
    switch (type) {
      case WriteBatch::OpType::kPut:
        b.PutStored(Cf::kRaft, key, value);
        break;
      case WriteBatch::OpType::kDelete:
        b.Delete(Cf::kRaft, key);
        break;
      case WriteBatch::OpType::kDeleteRange:
        b.DeleteRange(Cf::kRaft, KeyRange{key, value});
        break;
      default:
        return Status::Corruption("the intent of an interrupted log write has op type " +
                                  std::to_string(static_cast<int>(type)));
    }
  }
  return b;
}

Status FsyncParentDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::IOError("open " + dir + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync " + dir + ": " + std::strerror(err));
  return Status::OK();
}

// Copies the raft CF that `rocks` kept before the log left RocksDB into a new log at `dir`
// (through dir.tmp, renamed when complete), conf states into the data CF; then clears the
// raft CF. Idempotent: a crash anywhere leaves either no `dir` (redone) or a complete one.
Status MigrateRaftCf(Engine* rocks, const LogKvOptions& log_options, const std::string& parent) {
  const std::string tmp = log_options.dir + ".tmp";
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  if (ec) return Status::IOError("remove " + tmp + ": " + ec.message());
  LogKvOptions tmp_options = log_options;
  tmp_options.dir = tmp;
  tmp_options.buffer_unsynced_writes = false;
  uint64_t records = 0;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<LogKv> log, LogKv::Open(tmp_options));
    WriteBatch to_log, conf_states;
    std::unique_ptr<Iterator> it = rocks->NewIterator(Cf::kRaft, WholeRaftCf());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key = it->key();
      if (key.size() == kGroupPrefixSize + 1 &&
          key == LegacyRaftConfStateKey(GroupId(DecodeFixed64BE(key.data())))) {
        conf_states.Put(Cf::kData, ConfStateKey(GroupId(DecodeFixed64BE(key.data()))), it->value());
      } else {
        to_log.PutStored(Cf::kRaft, key, it->raw_value());
      }
      ++records;
      if (to_log.ByteSize() > (4 << 20)) {
        RETURN_IF_ERROR(log->Write({&to_log}, /*sync=*/false));
        to_log.Clear();
      }
    }
    RETURN_IF_ERROR(it->status());
    RETURN_IF_ERROR(log->Write({&to_log}, /*sync=*/true));
    // Conf states first: once the log is in place the raft CF is cleared.
    if (!conf_states.Empty()) RETURN_IF_ERROR(rocks->Write(conf_states, /*sync=*/true));
  }
  if (::rename(tmp.c_str(), log_options.dir.c_str()) != 0) {
    return Status::IOError("rename " + tmp + " to " + log_options.dir + ": " + std::strerror(errno));
  }
  RETURN_IF_ERROR(FsyncParentDir(parent));
  if (records > 0) {
    LOG(INFO) << "moved the Raft log out of RocksDB: " << records << " records into "
              << log_options.dir;
  }
  return Status::OK();
}

// Clears a raft CF left in RocksDB (a migration that crashed after its rename).
Status ClearRocksRaftCf(Engine* rocks) {
  std::unique_ptr<Iterator> it = rocks->NewIterator(Cf::kRaft, WholeRaftCf());
  it->SeekToFirst();
  RETURN_IF_ERROR(it->status());
  if (!it->Valid()) return Status::OK();
  WriteBatch clear;
  clear.DeleteRange(Cf::kRaft, WholeRaftCf());
  return rocks->Write(clear, /*sync=*/true);
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<SplitEngine> engine, SplitEngine::Open(options));
  return std::unique_ptr<Engine>(std::move(engine));
}

SplitEngine::SplitEngine(std::unique_ptr<Engine> rocks, std::unique_ptr<LogKv> log)
    : rocks_(std::move(rocks)), log_(std::move(log)) {}

SplitEngine::~SplitEngine() = default;

Result<std::unique_ptr<SplitEngine>> SplitEngine::Open(const EngineOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<RocksEngine> rocks, RocksEngine::Open(options));
  LogKvOptions log_options;
  log_options.dir = options.path + "/raftlog";
  log_options.buffer_unsynced_writes = options.test_buffer_unsynced_writes;
  std::error_code ec;
  const bool exists = std::filesystem::exists(log_options.dir, ec);
  if (ec) return Status::IOError("stat " + log_options.dir + ": " + ec.message());
  if (!exists) RETURN_IF_ERROR(MigrateRaftCf(rocks.get(), log_options, options.path));
  RETURN_IF_ERROR(ClearRocksRaftCf(rocks.get()));
  ASSIGN_OR_RETURN(std::unique_ptr<LogKv> log, LogKv::Open(log_options));
  std::unique_ptr<SplitEngine> engine(new SplitEngine(std::move(rocks), std::move(log)));
  RETURN_IF_ERROR(engine->RecoverIntent());
  return engine;
}

Status SplitEngine::RecoverIntent() {
  ASSIGN_OR_RETURN(std::optional<std::string> intent, rocks_->Get(Cf::kMeta, PendingLogWriteKey()));
  if (!intent.has_value()) return Status::OK();
  ASSIGN_OR_RETURN(WriteBatch ops, DecodeLogOps(*intent));
  LOG(WARNING) << "finishing a write of the Raft log and RocksDB that a crash interrupted ("
               << ops.Count() << " log operations)";
  // Idempotent: the log part is the same puts and deletes whether or not it got written, and
  // nothing wrote the log after it (writes wait for the intent's deletion).
  RETURN_IF_ERROR(log_->Write({&ops}, /*sync=*/true));
  WriteBatch done;
  done.Delete(Cf::kMeta, PendingLogWriteKey());
  return rocks_->Write(done, /*sync=*/true);
}

Status SplitEngine::Write(const WriteBatch& batch, bool sync) {
  std::lock_guard lock(write_mu_);
  return WriteLocked({&batch}, sync);
}

Status SplitEngine::WriteAll(const std::vector<const WriteBatch*>& batches, bool sync) {
  std::lock_guard lock(write_mu_);
  return WriteLocked(batches, sync);
}

Result<uint64_t> SplitEngine::WriteUnlogged(const std::vector<const WriteBatch*>& batches) {
  std::lock_guard lock(write_mu_);
  return rocks_->WriteUnlogged(batches);
}

Result<std::optional<uint64_t>> SplitEngine::TryWriteUnlogged(
    const std::vector<const WriteBatch*>& batches) {
  std::unique_lock lock(write_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return std::optional<uint64_t>();
  return rocks_->TryWriteUnlogged(batches);
}

uint64_t SplitEngine::DurableTicket() const { return rocks_->DurableTicket(); }

Status SplitEngine::FlushUnlogged(bool wait) { return rocks_->FlushUnlogged(wait); }

Status SplitEngine::SyncRocks() {
  if (!rocks_unsynced_) return Status::OK();
  // A synced write of a no-op syncs RocksDB's WAL, and so every write before it.
  WriteBatch noop;
  noop.Delete(Cf::kMeta, SyncNoopKey());
  RETURN_IF_ERROR(rocks_->Write(noop, /*sync=*/true));
  rocks_unsynced_ = false;
  return Status::OK();
}

Status SplitEngine::WriteLocked(const std::vector<const WriteBatch*>& batches, bool sync) {
  const WriteDomains d = DomainsOf(batches);
  if (d.log && !d.rest) {
    // A compaction must not outlive the applied state that allowed it.
    if (d.log_deletes) RETURN_IF_ERROR(SyncRocks());
    return log_->Write(batches, sync);
  }
  if (!d.log) {
    if (sync && log_->HasUnsynced()) RETURN_IF_ERROR(log_->Sync());
    RETURN_IF_ERROR(rocks_->WriteAll(batches, sync));
    rocks_unsynced_ = !sync;
    return Status::OK();
  }
  // Both domains: RocksDB's part with the intent, then the log's part, then the intent goes.
  // If the log's part fails (a full disk), the intent stays for Open, or until the caller
  // retries this write (which rewrites it) or writes another two-domain write (which replaces
  // it: only an apply batch's compaction is retried rather than fatal, and losing a
  // compaction's log part is harmless).
  WriteBatch rocks_part;
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf != Cf::kRaft) rocks_part.AppendOp(op);
    }
  }
  rocks_part.Put(Cf::kMeta, PendingLogWriteKey(), EncodeLogOps(batches));
  if (log_->HasUnsynced()) RETURN_IF_ERROR(log_->Sync());
  RETURN_IF_ERROR(rocks_->Write(rocks_part, /*sync=*/true));
  rocks_unsynced_ = false;
  RETURN_IF_ERROR(failpoint::Hit(kFpSplitAfterRocksPart));
  RETURN_IF_ERROR(log_->Write(batches, /*sync=*/true));
  RETURN_IF_ERROR(failpoint::Hit(kFpSplitAfterLogPart));
  WriteBatch done;
  done.Delete(Cf::kMeta, PendingLogWriteKey());
  return rocks_->Write(done, /*sync=*/true);
}

Result<std::optional<std::string>> SplitEngine::Get(Cf cf, std::string_view key,
                                                    const ReadSnapshot* snapshot) const {
  if (cf != Cf::kRaft) return rocks_->Get(cf, key, snapshot);
  ASSIGN_OR_RETURN(std::optional<std::string> stored, log_->Get(key));
  if (!stored.has_value()) return stored;
  ASSIGN_OR_RETURN(std::string_view payload, DecodeRecord(key, *stored));
  return std::optional<std::string>(std::string(payload));
}

std::unique_ptr<Iterator> SplitEngine::NewIterator(Cf cf, KeyRange range,
                                                   const ReadSnapshot* snapshot) const {
  if (cf != Cf::kRaft) return rocks_->NewIterator(cf, std::move(range), snapshot);
  return std::make_unique<Iterator>(log_->NewCursor(std::move(range)));
}

std::unique_ptr<ReadSnapshot> SplitEngine::GetSnapshot() const { return rocks_->GetSnapshot(); }

Result<std::unique_ptr<StagedFile>> SplitEngine::CreateStagedFile(Cf cf, const std::string& name) {
  if (cf == Cf::kRaft) return Status::InvalidArgument("the raft CF takes no staged files");
  return rocks_->CreateStagedFile(cf, name);
}

Result<bool> SplitEngine::StagedFileExists(const std::string& name) const {
  return rocks_->StagedFileExists(name);
}

Status SplitEngine::IngestStagedFile(Cf cf, const std::string& name) {
  if (cf == Cf::kRaft) return Status::InvalidArgument("the raft CF takes no staged files");
  std::lock_guard lock(write_mu_);
  // Ingestion is durable on return; so is every write before it (engine.h).
  if (log_->HasUnsynced()) RETURN_IF_ERROR(log_->Sync());
  RETURN_IF_ERROR(SyncRocks());
  return rocks_->IngestStagedFile(cf, name);
}

Status SplitEngine::RemoveStagedFile(const std::string& name) {
  return rocks_->RemoveStagedFile(name);
}

Result<std::vector<std::string>> SplitEngine::ListStagedFiles() const {
  return rocks_->ListStagedFiles();
}

Status SplitEngine::SyncStagingArea() { return rocks_->SyncStagingArea(); }

uint64_t SplitEngine::ApproximateBytes(Cf cf, const KeyRange& range) const {
  if (cf == Cf::kRaft) return log_->ApproximateBytes(range);
  return rocks_->ApproximateBytes(cf, range);
}

Status SplitEngine::Resume() {
  std::lock_guard lock(write_mu_);
  RETURN_IF_ERROR(log_->Resume());
  return rocks_->Resume();
}

uint64_t SplitEngine::SstBytes() const { return rocks_->SstBytes() + log_->FileBytes(); }

Status SplitEngine::CompactAll(std::atomic<bool>* canceled) { return rocks_->CompactAll(canceled); }

Status SplitEngine::FlushForTesting() {
  {
    std::lock_guard lock(write_mu_);
    RETURN_IF_ERROR(log_->Sync());
  }
  return rocks_->FlushForTesting();
}

}  // namespace ringkv::storage
