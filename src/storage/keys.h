// Key encodings of every record storage/ keeps. All integers are big-endian fixed width, so the
// byte order RocksDB sorts by is numeric order: a group's records are contiguous and its log
// entries sort by index.
//
//   raft CF  [group u64][0x01]                 hard state
//            [group u64][0x02]                 truncated state
//            [group u64][0x03]                 (before the raft log file: the conf state)
//            [group u64][0x04][index u64]      log entry
//            [group u64][0x05]                 this node's replica's Raft id
//   data CF  [group u64][0x00]                 apply state
//            [group u64][0x01]                 client-session table record
//            [group u64][0x01][client id u64]  client session
//            [group u64][0x01][client id u64][sequence u64]  a session's kept response
//            [group u64][0x02][user key]       user data
//            [group u64][0x03][lease u64]      lease
//            [group u64][0x04][lease u64][user key]  key attached to a lease (empty value)
//            [group u64][0x05][index u64][seq u32]   change history event
//            [group u64][0x06]                 change history state
//            [group u64][0x07]                 conf state (applied; with the apply state, so a
//                                              snapshot of the data CF holds both)
//   meta CF  [0x01][name]                      node id, cluster id, incarnation id, ring config
//            [0x02][group u64]                 tombstone of a removed replica
//            [0x03][group u64]                 snapshot install in progress
//            [0x04]                            a two-domain write's log part (split_engine.h)
//            [0x05]                            never stored: deleted by a synced write to sync the WAL
//
// Bounds are half-open [begin, end). A group's ranges end at [group][0xff], so no bound needs
// group + 1 (which would overflow for the largest id).
//
// Thread-safety: pure functions.
#ifndef RINGKV_STORAGE_KEYS_H_
#define RINGKV_STORAGE_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/ids.h"

namespace ringkv::storage {

// A half-open key range [begin, end).
struct KeyRange {
  std::string begin;
  std::string end;
};

// ---- raft CF ----
std::string HardStateKey(GroupId group);
std::string TruncatedStateKey(GroupId group);
std::string ReplicaIdKey(GroupId group);
std::string RaftLogKey(GroupId group, Index index);
// Every log key of `group`.
KeyRange RaftLogRange(GroupId group);
// Every raft CF key of `group` (log and states).
KeyRange RaftGroupRange(GroupId group);
// Inverse of RaftLogKey; nullopt when `key` is not a log key.
struct RaftLogKeyParts {
  GroupId group;
  Index index;
};
std::optional<RaftLogKeyParts> DecodeRaftLogKey(std::string_view key);

// ---- data CF ----
std::string ApplyStateKey(GroupId group);
std::string SessionTableKey(GroupId group);
std::string SessionKey(GroupId group, uint64_t client_id);
std::string SessionResponseKey(GroupId group, uint64_t client_id, uint64_t sequence);
// Every session-table key of `group` (table record, sessions, responses).
KeyRange SessionRange(GroupId group);
std::string DataKey(GroupId group, std::string_view user_key);
// Every user data key of `group`.
KeyRange DataRange(GroupId group);
// Leases of `group` (replica/lease_table.h).
std::string LeaseKey(GroupId group, uint64_t lease);
KeyRange LeaseRange(GroupId group);
std::optional<uint64_t> DecodeLeaseKey(GroupId group, std::string_view key);
// The index of keys attached to a lease: one empty record per (lease, user key).
std::string LeaseAttachKey(GroupId group, uint64_t lease, std::string_view user_key);
// Every attach key of `lease` (all leases of the group when nullopt).
KeyRange LeaseAttachRange(GroupId group, std::optional<uint64_t> lease = std::nullopt);
// The user key of a LeaseAttachKey; nullopt when malformed.
std::optional<std::string_view> DecodeLeaseAttachKey(std::string_view key);
// The change history (storage/change_history.h): events by (index, seq within the index).
std::string HistoryKey(GroupId group, Index index, uint32_t seq);
KeyRange HistoryRange(GroupId group);
// History keys with index < `index`.
KeyRange HistoryRangeBelow(GroupId group, Index index);
struct HistoryKeyParts {
  Index index;
  uint32_t seq = 0;
};
std::optional<HistoryKeyParts> DecodeHistoryKey(GroupId group, std::string_view key);
std::string HistoryStateKey(GroupId group);
// The group's applied configuration (raftpb.ConfState). In the data CF since the Raft log left
// RocksDB: it must be read at the same point in time as the apply state (snapshot metadata).
std::string ConfStateKey(GroupId group);
// Where the conf state was kept in the raft CF before (read only by the one-time migration).
std::string LegacyRaftConfStateKey(GroupId group);
// Every data CF key of `group`: apply state, sessions, user data. This is what a snapshot holds.
KeyRange DataGroupRange(GroupId group);
// The 8-byte prefix every key of `group` starts with (raft and data CF).
std::string GroupPrefix(GroupId group);
constexpr size_t kGroupPrefixSize = 8;

struct DataKeyParts {
  GroupId group;
  std::string_view user_key;  // points into the decoded key
};
// The prefix of a data CF key under which its inserts come in key order, for RocksDB's
// memtable insert hints (rocks_engine.cc): a group's history events (index order), one client's
// session record and its kept responses, and each single-record key (apply state, session
// table, history state, conf state), which is rewritten in place. nullopt for keys written in
// no order: user data, leases and their attach records.
std::optional<size_t> OrderedInsertPrefixSize(std::string_view data_cf_key);

// Inverse of DataKey; nullopt when `key` is not a user data key.
std::optional<DataKeyParts> DecodeDataKey(std::string_view key);
// Inverse of SessionTableKey / SessionKey / SessionResponseKey; nullopt when `key` is none of
// them for `group`.
struct SessionKeyParts {
  enum class Kind { kTable, kSession, kResponse };
  Kind kind;
  uint64_t client_id = 0;  // kSession, kResponse
  uint64_t sequence = 0;   // kResponse
};
std::optional<SessionKeyParts> DecodeSessionKey(GroupId group, std::string_view key);

// ---- meta CF ----
std::string NodeIdKey();
// Written and read back by the admin port's storage readiness check (unsynced).
std::string HealthProbeKey();
std::string ClusterIdKey();
std::string IncarnationIdKey();
std::string RingConfigKey();
std::string PeerIncarnationKey(NodeId peer);
// The intent of a write that touches the log and RocksDB (split_engine.h).
std::string PendingLogWriteKey();
// A key never stored: SplitEngine deletes it in a synced write to sync RocksDB's WAL (deleting
// PendingLogWriteKey instead would drop an intent still waiting for a retry).
std::string SyncNoopKey();
std::string TombstoneKey(GroupId group);
KeyRange TombstoneRange();
std::string SnapshotInstallKey(GroupId group);
KeyRange SnapshotInstallRange();
// Group id of a TombstoneKey or SnapshotInstallKey (the last 8 bytes); nullopt if malformed.
std::optional<GroupId> DecodeMetaGroupKey(std::string_view key);

// Printable form of a key for error messages: printable ASCII kept, other bytes as \xNN.
std::string EscapeKey(std::string_view key);

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_KEYS_H_
