#include "storage/snapshot.h"

#include <glog/logging.h>

#include <random>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/failpoint.h"
#include "common/status_macros.h"
#include "storage/keys.h"
#include "storage/kv_state.h"
#include "storage/proto_io.h"
#include "storage/raft_log_store.h"
#include "storage/record.h"

namespace ringkv::storage {
namespace {

// Group-relative key of the apply state: ApplyStateKey without the group prefix. It is the
// smallest key of a group's data range, so it is the first record of every snapshot.
std::string RelativeApplyStateKey() { return ApplyStateKey(GroupId(0)).substr(kGroupPrefixSize); }

std::string Describe(GroupId group, const raftpb::SnapshotMetadata& m) {
  return "snapshot of group " + std::to_string(group.value()) + " at index " +
         std::to_string(m.index()) + " term " + std::to_string(m.term());
}

void AppendRecord(std::string* payload, std::string_view key, std::string_view value) {
  PutFixed32BE(payload, static_cast<uint32_t>(key.size()));
  payload->append(key);
  PutFixed32BE(payload, static_cast<uint32_t>(value.size()));
  payload->append(value);
}

// Splits a chunk payload into (key, value) records. False on bad framing.
bool ParseRecords(std::string_view payload,
                  std::vector<std::pair<std::string_view, std::string_view>>* out) {
  while (!payload.empty()) {
    uint32_t klen = 0, vlen = 0;
    if (!GetFixed32BE(&payload, &klen) || payload.size() < klen) return false;
    std::string_view key = payload.substr(0, klen);
    payload.remove_prefix(klen);
    if (!GetFixed32BE(&payload, &vlen) || payload.size() < vlen) return false;
    out->emplace_back(key, payload.substr(0, vlen));
    payload.remove_prefix(vlen);
  }
  return true;
}

Result<ApplyState> ReadApplyState(const Engine& engine, GroupId group, const ReadSnapshot* snap) {
  storagepb::ApplyState as;
  ASSIGN_OR_RETURN(bool found, ReadProto(engine, Cf::kData, ApplyStateKey(group), &as, snap));
  (void)found;
  return ApplyState{Index(as.applied_index()), Term(as.applied_term())};
}

// The hard state an install writes: the marker's, or for a marker written before markers
// carried one, the stored hard state adjusted to the snapshot.
Result<raftpb::HardState> InstallHardState(const Engine& engine, GroupId group,
                                           const storagepb::SnapshotInstallMarker& marker) {
  raftpb::HardState hs;
  if (marker.has_hard_state()) {
    hs = marker.hard_state();
  } else {
    ASSIGN_OR_RETURN(bool found, ReadProto(engine, Cf::kRaft, HardStateKey(group), &hs));
    (void)found;  // none stored: a zero hard state
  }
  return RaftLogStore::HardStateAtSnapshot(hs, marker.metadata());
}

// Steps 2-5 of the install protocol (snapshot.h). Idempotent.
Status FinishInstall(Engine* engine, GroupId group, const storagepb::SnapshotInstallMarker& marker) {
  const std::string& path = marker.staged_file();
  ASSIGN_OR_RETURN(bool exists, engine->StagedFileExists(path));
  if (!exists) {
    return Status::Corruption("staged file " + path + " of unfinished " +
                              Describe(group, marker.metadata()) + " is missing");
  }
  ASSIGN_OR_RETURN(raftpb::HardState hs, InstallHardState(*engine, group, marker));
  WriteBatch clear;
  clear.DeleteRange(Cf::kData, DataGroupRange(group));
  RETURN_IF_ERROR(engine->Write(clear, /*sync=*/true));
  RETURN_IF_ERROR(failpoint::Hit(kFpInstallAfterDataDelete));
  RETURN_IF_ERROR(engine->IngestStagedFile(Cf::kData, path));
  RETURN_IF_ERROR(failpoint::Hit(kFpInstallAfterIngest));
  // The raft state and the hard state in one atomic write: from here on the group is at the
  // snapshot, with a commit index inside its (empty) log.
  WriteBatch done;
  RaftLogStore::WriteSnapshotMeta(&done, group, marker.metadata(), hs);
  if (failpoint::Injected(kBugInstallWithoutHardState)) {
    // The injected bug: the stored hard state stays as it was, behind the log it describes.
    raftpb::HardState old;
    ASSIGN_OR_RETURN(bool found, ReadProto(*engine, Cf::kRaft, HardStateKey(group), &old));
    if (found) PutProto(&done, Cf::kRaft, HardStateKey(group), old);
  }
  done.Delete(Cf::kMeta, SnapshotInstallKey(group));
  RETURN_IF_ERROR(engine->Write(done, /*sync=*/true));
  RETURN_IF_ERROR(failpoint::Hit(kFpInstallAfterRaftState));
  Status removed = engine->RemoveStagedFile(path);
  if (!removed.ok()) {
    // Harmless: the next RecoverSnapshotInstalls removes staged files no marker names.
    LOG(WARNING) << "could not remove staged snapshot file: " << removed;
  }
  RETURN_IF_ERROR(failpoint::Hit(kFpInstallAfterCleanup));
  LOG(INFO) << "installed " << Describe(group, marker.metadata()) << " (hard state term "
            << hs.term() << " commit " << hs.commit() << ")";
  return Status::OK();
}

}  // namespace

// ---- SnapshotSender ----

SnapshotSender::SnapshotSender(GroupId group, SnapshotOptions options,
                               std::unique_ptr<ReadSnapshot> snap)
    : group_(group), options_(options), snap_(std::move(snap)) {}

SnapshotSender::~SnapshotSender() = default;

Result<std::unique_ptr<SnapshotSender>> SnapshotSender::Create(Engine* engine, GroupId group,
                                                               SnapshotOptions options) {
  std::unique_ptr<SnapshotSender> sender(new SnapshotSender(group, options, engine->GetSnapshot()));
  ASSIGN_OR_RETURN(ApplyState applied, ReadApplyState(*engine, group, sender->snap_.get()));
  if (applied.applied_index == Index(0)) {
    return Status::FailedPrecondition("group " + std::to_string(group.value()) +
                                      " has applied nothing to snapshot");
  }
  sender->metadata_.set_index(applied.applied_index.value());
  sender->metadata_.set_term(applied.applied_term.value());
  ASSIGN_OR_RETURN(bool found,
                   ReadProto(*engine, Cf::kData, ConfStateKey(group),
                             sender->metadata_.mutable_conf_state(), sender->snap_.get()));
  (void)found;  // no conf state stored = empty configuration
  sender->it_ = engine->NewIterator(Cf::kData, DataGroupRange(group), sender->snap_.get());
  sender->it_->SeekToFirst();
  return sender;
}

Result<storagepb::SnapshotChunk> SnapshotSender::NextChunk() {
  if (done_) return Status::FailedPrecondition("snapshot already fully sent");
  storagepb::SnapshotChunk chunk;
  std::string* payload = chunk.mutable_payload();
  while (it_->Valid()) {
    std::string_view key = it_->key().substr(kGroupPrefixSize);
    std::string_view value = it_->raw_value();
    const size_t record_size = 8 + key.size() + value.size();
    if (!payload->empty() && payload->size() + record_size > options_.chunk_bytes) break;
    AppendRecord(payload, key, value);
    it_->Next();
  }
  RETURN_IF_ERROR(it_->status());
  chunk.set_group_id(group_.value());
  *chunk.mutable_metadata() = metadata_;
  chunk.set_seq(next_seq_++);
  chunk.set_last(!it_->Valid());
  chunk.set_payload_crc32c(crc32c::Value(*payload));
  done_ = chunk.last();
  return chunk;
}

// ---- SnapshotReceiver ----

SnapshotReceiver::SnapshotReceiver(Engine* engine, GroupId group, raftpb::SnapshotMetadata meta,
                                   std::string staged_name)
    : engine_(engine),
      group_(group),
      metadata_(std::move(meta)),
      staged_name_(std::move(staged_name)) {}

SnapshotReceiver::~SnapshotReceiver() {
  builder_.reset();
  if (!install_begun_) {
    // Best effort: an orphan is removed by the next RecoverSnapshotInstalls.
    engine_->RemoveStagedFile(staged_name_).IgnoreError();
  }
}

Result<std::unique_ptr<SnapshotReceiver>> SnapshotReceiver::Create(
    Engine* engine, GroupId group, const raftpb::SnapshotMetadata& meta) {
  storagepb::SnapshotInstallMarker marker;
  ASSIGN_OR_RETURN(bool pending, ReadProto(*engine, Cf::kMeta, SnapshotInstallKey(group), &marker));
  if (pending) {
    return Status::FailedPrecondition("unfinished install of " +
                                      Describe(group, marker.metadata()));
  }
  ASSIGN_OR_RETURN(ApplyState applied, ReadApplyState(*engine, group, nullptr));
  if (applied.applied_index >= Index(meta.index())) {
    return Status::FailedPrecondition("stale " + Describe(group, meta) + ": applied index is " +
                                      std::to_string(applied.applied_index.value()));
  }
  std::random_device rd;
  const std::string name = "snap-" + std::to_string(group.value()) + "-" +
                           std::to_string(meta.index()) + "-" + std::to_string(meta.term()) + "-" +
                           std::to_string(rd()) + ".sst";
  std::unique_ptr<SnapshotReceiver> r(new SnapshotReceiver(engine, group, meta, name));
  ASSIGN_OR_RETURN(r->builder_,
                   engine->CreateStagedFile(Cf::kData, name));
  return r;
}

Status SnapshotReceiver::AddChunk(const storagepb::SnapshotChunk& chunk) {
  if (complete_) return Status::InvalidArgument("chunk after the last chunk of the snapshot");
  if (chunk.group_id() != group_.value()) {
    return Status::InvalidArgument("chunk of group " + std::to_string(chunk.group_id()) +
                                   " sent to receiver of group " + std::to_string(group_.value()));
  }
  if (chunk.metadata().index() != metadata_.index() ||
      chunk.metadata().term() != metadata_.term()) {
    return Status::FailedPrecondition("chunk of stale " + Describe(group_, chunk.metadata()) +
                                      " while receiving " + Describe(group_, metadata_));
  }
  if (chunk.seq() != next_seq_) {
    return Status::InvalidArgument("out of order snapshot chunk: seq " +
                                   std::to_string(chunk.seq()) + ", expected " +
                                   std::to_string(next_seq_));
  }
  RETURN_IF_ERROR(failpoint::Hit(kFpReceiveChunk));
  if (crc32c::Value(chunk.payload()) != chunk.payload_crc32c()) {
    return Status::Corruption("checksum mismatch in chunk " + std::to_string(chunk.seq()) + " of " +
                              Describe(group_, metadata_));
  }
  std::vector<std::pair<std::string_view, std::string_view>> records;
  if (!ParseRecords(chunk.payload(), &records)) {
    return Status::Corruption("bad record framing in snapshot chunk " +
                              std::to_string(chunk.seq()));
  }
  // Validate everything before writing anything, so a rejected chunk changes nothing.
  const std::string apply_key = RelativeApplyStateKey();
  std::string_view prev = last_key_;
  bool saw_apply_state = saw_apply_state_;
  for (const auto& [key, value] : records) {
    if (key.empty() || static_cast<unsigned char>(key[0]) == 0xff) {
      return Status::Corruption("snapshot key outside the group range: " + EscapeKey(key));
    }
    // Every key is non-empty, so the initial empty `prev` orders before all of them.
    if (key <= prev) return Status::Corruption("snapshot keys out of order at " + EscapeKey(key));
    ASSIGN_OR_RETURN(std::string_view payload, DecodeRecord(key, value));
    if (key == apply_key) {
      storagepb::ApplyState as;
      RETURN_IF_ERROR(ParseRecordProto(key, payload, &as));
      if (as.applied_index() != metadata_.index() || as.applied_term() != metadata_.term()) {
        return Status::Corruption("apply state in " + Describe(group_, metadata_) +
                                  " is at index " + std::to_string(as.applied_index()));
      }
      saw_apply_state = true;
    }
    prev = key;
  }
  if (chunk.last() && !saw_apply_state) {
    return Status::Corruption(Describe(group_, metadata_) + " carries no apply state");
  }
  const std::string prefix = GroupPrefix(group_);
  for (const auto& [key, value] : records) {
    RETURN_IF_ERROR(builder_->Add(prefix + std::string(key), value));
  }
  if (!records.empty()) last_key_ = std::string(records.back().first);
  saw_apply_state_ = saw_apply_state;
  ++next_seq_;
  if (chunk.last()) {
    RETURN_IF_ERROR(builder_->Finish());
    builder_.reset();
    RETURN_IF_ERROR(engine_->SyncStagingArea());
    RETURN_IF_ERROR(failpoint::Hit(kFpReceiveComplete));
    complete_ = true;
  }
  return Status::OK();
}

Status SnapshotReceiver::Install(const raftpb::HardState& hs) {
  if (!complete_) return Status::FailedPrecondition("snapshot is not complete");
  storagepb::SnapshotInstallMarker marker;
  marker.set_staged_file(staged_name_);
  *marker.mutable_metadata() = metadata_;
  *marker.mutable_hard_state() = RaftLogStore::HardStateAtSnapshot(hs, metadata_);
  if (!install_begun_) {
    RETURN_IF_ERROR(failpoint::Hit(kFpInstallBeforeMarker));
    WriteBatch batch;
    PutProto(&batch, Cf::kMeta, SnapshotInstallKey(group_), marker);
    RETURN_IF_ERROR(engine_->Write(batch, /*sync=*/true));
    install_begun_ = true;
    RETURN_IF_ERROR(failpoint::Hit(kFpInstallAfterMarker));
  }
  return FinishInstall(engine_, group_, marker);
}

Status RecoverSnapshotInstalls(Engine* engine) {
  std::vector<std::pair<GroupId, storagepb::SnapshotInstallMarker>> pending;
  {
    std::unique_ptr<Iterator> it = engine->NewIterator(Cf::kMeta, SnapshotInstallRange());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::optional<GroupId> group = DecodeMetaGroupKey(it->key());
      if (!group) return Status::Corruption("malformed install marker key " + EscapeKey(it->key()));
      storagepb::SnapshotInstallMarker marker;
      RETURN_IF_ERROR(ParseRecordProto(it->key(), it->value(), &marker));
      pending.emplace_back(*group, std::move(marker));
    }
    RETURN_IF_ERROR(it->status());
  }
  for (const auto& [group, marker] : pending) {
    LOG(INFO) << "finishing interrupted install of " << Describe(group, marker.metadata());
    RETURN_IF_ERROR(FinishInstall(engine, group, marker));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> files, engine->ListStagedFiles());
  for (const std::string& name : files) {
    RETURN_IF_ERROR(engine->RemoveStagedFile(name));
  }
  return Status::OK();
}

}  // namespace ringkv::storage
