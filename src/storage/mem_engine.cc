#include "storage/mem_engine.h"

#include <utility>

#include "common/status_macros.h"
#include "storage/record.h"

namespace ringkv::storage {

void ApplyBatch(const WriteBatch& batch, MemEngine::Tables* tables) {
  for (const WriteBatch::Op& op : batch.ops()) {
    MemEngine::Table& t = (*tables)[static_cast<int>(op.cf)];
    switch (op.type) {
      case WriteBatch::OpType::kPut:
        t.insert_or_assign(std::string(op.key), std::string(op.value));
        break;
      case WriteBatch::OpType::kDelete:
        if (auto it = t.find(op.key); it != t.end()) t.erase(it);
        break;
      case WriteBatch::OpType::kDeleteRange:
        t.erase(t.lower_bound(op.key), t.lower_bound(op.value));
        break;
    }
  }
}

namespace {

class MemSnapshot final : public ReadSnapshot {
 public:
  explicit MemSnapshot(std::shared_ptr<const MemEngine::Tables> tables)
      : tables(std::move(tables)) {}
  const std::shared_ptr<const MemEngine::Tables> tables;
};

// Iterates a pinned version of one table within [range.begin, range.end).
class MemCursor final : public RawCursor {
 public:
  MemCursor(std::shared_ptr<const MemEngine::Tables> tables, Cf cf, KeyRange range)
      : tables_(std::move(tables)),
        table_(&(*tables_)[static_cast<int>(cf)]),
        range_(std::move(range)),
        begin_(table_->lower_bound(range_.begin)),
        end_(range_.end < range_.begin ? begin_ : table_->lower_bound(range_.end)),
        pos_(end_) {}
  void SeekToFirst() override { pos_ = begin_; }
  void SeekToLast() override { pos_ = begin_ == end_ ? end_ : std::prev(end_); }
  void Seek(std::string_view key) override {
    if (key >= range_.end) {
      pos_ = end_;
      return;
    }
    pos_ = key <= range_.begin ? begin_ : table_->lower_bound(key);
  }
  void Next() override { ++pos_; }
  void Prev() override { pos_ = pos_ == begin_ ? end_ : std::prev(pos_); }
  bool Valid() const override { return pos_ != end_; }
  std::string_view key() const override { return pos_->first; }
  std::string_view value() const override { return pos_->second; }
  Status status() const override { return Status::OK(); }

 private:
  std::shared_ptr<const MemEngine::Tables> tables_;  // pins the version iterated
  const MemEngine::Table* table_;
  const KeyRange range_;
  MemEngine::Table::const_iterator begin_;
  MemEngine::Table::const_iterator end_;
  MemEngine::Table::const_iterator pos_;
};

uint64_t Bytes(const MemEngine::Table& t, std::string_view begin, std::string_view end) {
  uint64_t bytes = 0;
  for (auto it = t.lower_bound(begin); it != t.end() && it->first < end; ++it) {
    bytes += it->first.size() + it->second.size();
  }
  return bytes;
}

}  // namespace

class MemEngine::Staged {
 public:
  explicit Staged(Cf cf) : cf(cf) {}
  const Cf cf;
  std::vector<std::pair<std::string, std::string>> pairs;
  bool finished = false;
  bool durable = false;  // finished, and the staging area synced since
};

class MemEngine::StagedWriter final : public StagedFile {
 public:
  StagedWriter(MemEngine* engine, std::shared_ptr<Staged> file)
      : engine_(engine), file_(std::move(file)) {}
  Status Add(std::string_view key, std::string_view stored_value) override {
    std::lock_guard lock(engine_->mu_);
    RETURN_IF_ERROR(engine_->CheckWritable());
    if (file_->finished) return Status::FailedPrecondition("staged file already finished");
    if (!file_->pairs.empty() && key <= file_->pairs.back().first) {
      return Status::InvalidArgument("staged file keys must increase: " + EscapeKey(key));
    }
    file_->pairs.emplace_back(std::string(key), std::string(stored_value));
    return Status::OK();
  }
  Status Finish() override {
    std::lock_guard lock(engine_->mu_);
    RETURN_IF_ERROR(engine_->CheckWritable());
    if (file_->pairs.empty()) return Status::InvalidArgument("staged file without entries");
    file_->finished = true;
    return Status::OK();
  }

 private:
  MemEngine* engine_;
  std::shared_ptr<Staged> file_;
};

MemEngine::MemEngine() : live_(std::make_shared<Tables>()) {}
MemEngine::~MemEngine() = default;

void MemEngine::Crash(bool keep_unsynced_log) {
  std::lock_guard lock(mu_);
  // The log and RocksDB are two files: the log's unsynced tail may survive while RocksDB's
  // unsynced writes, even earlier ones, are lost.
  if (keep_unsynced_log) SyncUnsynced(Domain::kLog);
  unsynced_log_.clear();
  // RocksDB recovers its last flush's tables and replays its WAL: the synced logged writes.
  for (const RestWrite& w : rest_since_flush_) {
    if (w.logged && w.synced) ApplyBatch(w.batch, &durable_);
    if (!w.logged) ++lost_unlogged_;
  }
  rest_since_flush_.clear();
  unlogged_bytes_ = 0;
  flush_requested_ = false;
  durable_ticket_ = tickets_;  // what was not durable is gone: no ticket waits any more
  live_ = std::make_shared<Tables>(durable_);
  std::erase_if(staged_, [](const auto& kv) { return !kv.second->durable; });
  write_failed_ = false;  // a restarted process has no background error
}

void MemEngine::SetDiskFull(bool full) {
  std::lock_guard lock(mu_);
  disk_full_ = full;
}

void MemEngine::SetAutoFlushBytes(uint64_t bytes) {
  std::lock_guard lock(mu_);
  auto_flush_bytes_ = bytes;
}

uint64_t MemEngine::flushes() const {
  std::lock_guard lock(mu_);
  return flushes_;
}

uint64_t MemEngine::lost_unlogged_writes() const {
  std::lock_guard lock(mu_);
  return lost_unlogged_;
}

uint64_t MemEngine::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

uint64_t MemEngine::synced_writes() const {
  std::lock_guard lock(mu_);
  return synced_writes_;
}

std::shared_ptr<const MemEngine::Tables> MemEngine::Pinned(const ReadSnapshot* snapshot) const {
  if (snapshot != nullptr) return static_cast<const MemSnapshot*>(snapshot)->tables;
  std::lock_guard lock(mu_);
  return live_;
}

MemEngine::Tables& MemEngine::MutableLive() {
  // Copies made under mu_ are the only way to share live_, so a count of 1 means no reader.
  if (live_.use_count() > 1) live_ = std::make_shared<Tables>(*live_);
  return *live_;
}

Status MemEngine::CheckWritable() const {
  if (disk_full_) return Status::ResourceExhausted("simulated disk is full");
  if (write_failed_) {
    return Status::ResourceExhausted("an earlier write failed for space; call Resume()");
  }
  return Status::OK();
}

void MemEngine::SyncUnsynced(Domain domain) {
  if (domain == Domain::kLog) {
    for (const WriteBatch& b : unsynced_log_) ApplyBatch(b, &durable_);
    unsynced_log_.clear();
    return;
  }
  for (RestWrite& w : rest_since_flush_) {
    if (w.logged) w.synced = true;
  }
}

void MemEngine::SyncUnsynced() {
  SyncUnsynced(Domain::kLog);
  SyncUnsynced(Domain::kRest);
}

void MemEngine::FlushRest() {
  for (const RestWrite& w : rest_since_flush_) ApplyBatch(w.batch, &durable_);
  rest_since_flush_.clear();
  unlogged_bytes_ = 0;
  flush_requested_ = false;
  durable_ticket_ = tickets_;
  ++flushes_;
}

void MemEngine::MaybeFlushRest() {
  if (flush_requested_ || (auto_flush_bytes_ > 0 && unlogged_bytes_ >= auto_flush_bytes_)) {
    FlushRest();
  }
}

namespace {

// `batch`'s ops of the log (raft CF) and of the rest, each in order.
std::pair<WriteBatch, WriteBatch> SplitByDomain(const WriteBatch& batch) {
  std::pair<WriteBatch, WriteBatch> parts;
  for (const WriteBatch::Op& op : batch.ops()) {
    (op.cf == Cf::kRaft ? parts.first : parts.second).AppendOp(op);
  }
  return parts;
}

}  // namespace

Status MemEngine::Write(const WriteBatch& batch, bool sync) {
  std::lock_guard lock(mu_);
  if (disk_full_) write_failed_ = true;
  RETURN_IF_ERROR(CheckWritable());
  MaybeFlushRest();
  ApplyBatch(batch, &MutableLive());
  ++writes_;
  // The rules of split_engine.h between the log (raft CF) and the rest.
  const WriteDomains d = DomainsOf({&batch});
  if (d.log && d.rest) {
    sync = true;  // a two-domain write is atomic and synced
    SyncUnsynced();
  } else if (d.log) {
    if (d.log_deletes) SyncUnsynced(Domain::kRest);
    if (sync) SyncUnsynced(Domain::kLog);
  } else if (sync) {
    SyncUnsynced();
  }
  if (sync) ++synced_writes_;
  auto [log_part, rest_part] = SplitByDomain(batch);
  if (d.log) {
    if (sync) {
      ApplyBatch(log_part, &durable_);
    } else {
      unsynced_log_.push_back(std::move(log_part));
    }
  }
  if (d.rest) rest_since_flush_.push_back(RestWrite{std::move(rest_part), /*logged=*/true, sync});
  return Status::OK();
}

Result<uint64_t> MemEngine::WriteUnlogged(const std::vector<const WriteBatch*>& batches) {
  std::lock_guard lock(mu_);
  if (disk_full_) write_failed_ = true;
  RETURN_IF_ERROR(CheckWritable());
  WriteBatch merged;
  for (const WriteBatch* b : batches) {
    for (const WriteBatch::Op& op : b->ops()) {
      if (op.cf != Cf::kData) return Status::InvalidArgument("an unlogged write outside the data CF");
    }
    merged.Append(*b);
  }
  MaybeFlushRest();
  ApplyBatch(merged, &MutableLive());
  ++writes_;
  unlogged_bytes_ += merged.ByteSize();
  rest_since_flush_.push_back(RestWrite{std::move(merged), /*logged=*/false, /*synced=*/false});
  return ++tickets_;
}

uint64_t MemEngine::DurableTicket() const {
  std::lock_guard lock(mu_);
  return durable_ticket_;
}

Status MemEngine::FlushUnlogged(bool wait) {
  std::lock_guard lock(mu_);
  if (wait) {
    FlushRest();
  } else {
    flush_requested_ = true;  // done before the next write, as RocksDB's runs meanwhile
  }
  return Status::OK();
}

Result<std::optional<std::string>> MemEngine::Get(Cf cf, std::string_view key,
                                                  const ReadSnapshot* snapshot) const {
  std::shared_ptr<const Tables> tables = Pinned(snapshot);
  const Table& t = (*tables)[static_cast<int>(cf)];
  auto it = t.find(key);
  if (it == t.end()) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string_view payload, DecodeRecord(key, it->second));
  return std::optional<std::string>(std::string(payload));
}

std::unique_ptr<Iterator> MemEngine::NewIterator(Cf cf, KeyRange range,
                                                 const ReadSnapshot* snapshot) const {
  std::shared_ptr<const Tables> tables = Pinned(snapshot);
  return std::make_unique<Iterator>(std::make_unique<MemCursor>(std::move(tables), cf,
                                                                std::move(range)));
}

std::unique_ptr<ReadSnapshot> MemEngine::GetSnapshot() const {
  std::lock_guard lock(mu_);
  return std::make_unique<MemSnapshot>(live_);
}

Result<std::unique_ptr<StagedFile>> MemEngine::CreateStagedFile(Cf cf, const std::string& name) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckWritable());
  auto file = std::make_shared<Staged>(cf);
  staged_[name] = file;
  return std::unique_ptr<StagedFile>(std::make_unique<StagedWriter>(this, std::move(file)));
}

Result<bool> MemEngine::StagedFileExists(const std::string& name) const {
  std::lock_guard lock(mu_);
  return staged_.contains(name);
}

Status MemEngine::IngestStagedFile(Cf cf, const std::string& name) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(CheckWritable());
  auto it = staged_.find(name);
  if (it == staged_.end()) return Status::NotFound("no staged file " + name);
  const Staged& file = *it->second;
  if (!file.finished) return Status::InvalidArgument("staged file " + name + " is not finished");
  if (file.cf != cf) return Status::InvalidArgument("staged file " + name + " is for another cf");
  // Durable at once, after (and with) every earlier write, as an ingest flushes what it overlaps.
  SyncUnsynced(Domain::kLog);
  FlushRest();
  Table& live = MutableLive()[static_cast<int>(cf)];
  Table& durable = durable_[static_cast<int>(cf)];
  for (const auto& [key, value] : file.pairs) {
    live.insert_or_assign(key, value);
    durable.insert_or_assign(key, value);
  }
  return Status::OK();
}

Status MemEngine::RemoveStagedFile(const std::string& name) {
  std::lock_guard lock(mu_);
  staged_.erase(name);
  return Status::OK();
}

Result<std::vector<std::string>> MemEngine::ListStagedFiles() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const auto& kv : staged_) names.push_back(kv.first);
  return names;
}

Status MemEngine::SyncStagingArea() {
  std::lock_guard lock(mu_);
  for (auto& kv : staged_) {
    if (kv.second->finished) kv.second->durable = true;
  }
  return Status::OK();
}

uint64_t MemEngine::ApproximateBytes(Cf cf, const KeyRange& range) const {
  std::lock_guard lock(mu_);
  return Bytes((*live_)[static_cast<int>(cf)], range.begin, range.end);
}

Status MemEngine::Resume() {
  std::lock_guard lock(mu_);
  if (disk_full_) return Status::ResourceExhausted("simulated disk is still full");
  write_failed_ = false;
  return Status::OK();
}

uint64_t MemEngine::SstBytes() const {
  std::lock_guard lock(mu_);
  uint64_t bytes = 0;
  for (const Table& t : durable_) {
    for (const auto& [k, v] : t) bytes += k.size() + v.size();
  }
  return bytes;
}

Status MemEngine::CompactAll(std::atomic<bool>* /*canceled*/) { return Status::OK(); }

Status MemEngine::FlushForTesting() {
  std::lock_guard lock(mu_);
  FlushRest();
  return Status::OK();
}

}  // namespace ringkv::storage
