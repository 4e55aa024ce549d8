#include "storage/keys.h"

#include <algorithm>

#include "common/coding.h"

namespace ringkv::storage {
namespace {

// Tags after the group prefix. Never 0xff: [group][0xff] is the end of a group's range.
constexpr char kHardStateTag = 0x01;
constexpr char kTruncatedStateTag = 0x02;
constexpr char kLegacyConfStateTag = 0x03;  // raft CF, before the conf state moved to data
constexpr char kRaftLogTag = 0x04;
constexpr char kReplicaIdTag = 0x05;

constexpr char kApplyStateTag = 0x00;
constexpr char kSessionTag = 0x01;
constexpr char kUserDataTag = 0x02;
constexpr char kLeaseTag = 0x03;
constexpr char kLeaseAttachTag = 0x04;
constexpr char kHistoryTag = 0x05;
constexpr char kHistoryStateTag = 0x06;
constexpr char kConfStateTag = 0x07;

constexpr char kGroupEndTag = static_cast<char>(0xff);

// Meta CF key spaces.
constexpr char kMetaNamed = 0x01;
constexpr char kMetaTombstone = 0x02;
constexpr char kMetaSnapshotInstall = 0x03;
constexpr char kMetaPendingLogWrite = 0x04;
constexpr char kMetaSyncNoop = 0x05;

std::string GroupTagKey(GroupId group, char tag) {
  std::string k;
  k.reserve(kGroupPrefixSize + 1);
  PutFixed64BE(&k, group.value());
  k.push_back(tag);
  return k;
}

std::string NamedMetaKey(std::string_view name) {
  std::string k(1, kMetaNamed);
  k.append(name);
  return k;
}

std::string MetaGroupKey(char space, GroupId group) {
  std::string k(1, space);
  PutFixed64BE(&k, group.value());
  return k;
}

}  // namespace

std::string GroupPrefix(GroupId group) {
  std::string k;
  PutFixed64BE(&k, group.value());
  return k;
}

std::string HardStateKey(GroupId group) { return GroupTagKey(group, kHardStateTag); }
std::string TruncatedStateKey(GroupId group) { return GroupTagKey(group, kTruncatedStateTag); }
std::string ConfStateKey(GroupId group) { return GroupTagKey(group, kConfStateTag); }
std::string LegacyRaftConfStateKey(GroupId group) {
  return GroupTagKey(group, kLegacyConfStateTag);
}
std::string ReplicaIdKey(GroupId group) { return GroupTagKey(group, kReplicaIdTag); }

std::string RaftLogKey(GroupId group, Index index) {
  std::string k = GroupTagKey(group, kRaftLogTag);
  PutFixed64BE(&k, index.value());
  return k;
}

KeyRange RaftLogRange(GroupId group) {
  return {GroupTagKey(group, kRaftLogTag), GroupTagKey(group, kRaftLogTag + 1)};
}

KeyRange RaftGroupRange(GroupId group) {
  return {GroupPrefix(group), GroupTagKey(group, kGroupEndTag)};
}

std::optional<RaftLogKeyParts> DecodeRaftLogKey(std::string_view key) {
  if (key.size() != kGroupPrefixSize + 1 + 8 || key[kGroupPrefixSize] != kRaftLogTag) {
    return std::nullopt;
  }
  return RaftLogKeyParts{GroupId(DecodeFixed64BE(key.data())),
                         Index(DecodeFixed64BE(key.data() + kGroupPrefixSize + 1))};
}

std::string ApplyStateKey(GroupId group) { return GroupTagKey(group, kApplyStateTag); }

std::string SessionTableKey(GroupId group) { return GroupTagKey(group, kSessionTag); }

std::string SessionKey(GroupId group, uint64_t client_id) {
  std::string k = GroupTagKey(group, kSessionTag);
  PutFixed64BE(&k, client_id);
  return k;
}

std::string SessionResponseKey(GroupId group, uint64_t client_id, uint64_t sequence) {
  std::string k = SessionKey(group, client_id);
  PutFixed64BE(&k, sequence);
  return k;
}

KeyRange SessionRange(GroupId group) {
  return {GroupTagKey(group, kSessionTag), GroupTagKey(group, kSessionTag + 1)};
}

std::string DataKey(GroupId group, std::string_view user_key) {
  std::string k;
  k.reserve(kGroupPrefixSize + 1 + user_key.size());
  k = GroupTagKey(group, kUserDataTag);
  k.append(user_key);
  return k;
}

KeyRange DataRange(GroupId group) {
  return {GroupTagKey(group, kUserDataTag), GroupTagKey(group, kUserDataTag + 1)};
}

KeyRange DataGroupRange(GroupId group) {
  return {GroupPrefix(group), GroupTagKey(group, kGroupEndTag)};
}

std::string LeaseKey(GroupId group, uint64_t lease) {
  std::string k = GroupTagKey(group, kLeaseTag);
  PutFixed64BE(&k, lease);
  return k;
}

KeyRange LeaseRange(GroupId group) {
  return {GroupTagKey(group, kLeaseTag), GroupTagKey(group, kLeaseTag + 1)};
}

std::optional<uint64_t> DecodeLeaseKey(GroupId group, std::string_view key) {
  if (key.size() != kGroupPrefixSize + 1 + 8 || key[kGroupPrefixSize] != kLeaseTag ||
      DecodeFixed64BE(key.data()) != group.value()) {
    return std::nullopt;
  }
  return DecodeFixed64BE(key.data() + kGroupPrefixSize + 1);
}

std::string LeaseAttachKey(GroupId group, uint64_t lease, std::string_view user_key) {
  std::string k = GroupTagKey(group, kLeaseAttachTag);
  PutFixed64BE(&k, lease);
  k.append(user_key);
  return k;
}

KeyRange LeaseAttachRange(GroupId group, std::optional<uint64_t> lease) {
  if (!lease) return {GroupTagKey(group, kLeaseAttachTag), GroupTagKey(group, kLeaseAttachTag + 1)};
  std::string begin = GroupTagKey(group, kLeaseAttachTag);
  PutFixed64BE(&begin, *lease);
  std::string end = GroupTagKey(group, kLeaseAttachTag);
  if (*lease == UINT64_MAX) {
    end = GroupTagKey(group, kLeaseAttachTag + 1);
  } else {
    PutFixed64BE(&end, *lease + 1);
  }
  return {std::move(begin), std::move(end)};
}

std::optional<std::string_view> DecodeLeaseAttachKey(std::string_view key) {
  if (key.size() < kGroupPrefixSize + 1 + 8 || key[kGroupPrefixSize] != kLeaseAttachTag) {
    return std::nullopt;
  }
  return key.substr(kGroupPrefixSize + 1 + 8);
}

std::string HistoryKey(GroupId group, Index index, uint32_t seq) {
  std::string k = GroupTagKey(group, kHistoryTag);
  PutFixed64BE(&k, index.value());
  PutFixed32BE(&k, seq);
  return k;
}

KeyRange HistoryRange(GroupId group) {
  return {GroupTagKey(group, kHistoryTag), GroupTagKey(group, kHistoryTag + 1)};
}

KeyRange HistoryRangeBelow(GroupId group, Index index) {
  std::string end = GroupTagKey(group, kHistoryTag);
  PutFixed64BE(&end, index.value());
  return {GroupTagKey(group, kHistoryTag), std::move(end)};
}

std::optional<HistoryKeyParts> DecodeHistoryKey(GroupId group, std::string_view key) {
  if (key.size() != kGroupPrefixSize + 1 + 8 + 4 || key[kGroupPrefixSize] != kHistoryTag ||
      DecodeFixed64BE(key.data()) != group.value()) {
    return std::nullopt;
  }
  return HistoryKeyParts{Index(DecodeFixed64BE(key.data() + kGroupPrefixSize + 1)),
                         DecodeFixed32BE(key.data() + kGroupPrefixSize + 1 + 8)};
}

std::string HistoryStateKey(GroupId group) { return GroupTagKey(group, kHistoryStateTag); }

std::optional<size_t> OrderedInsertPrefixSize(std::string_view key) {
  constexpr size_t kTagEnd = kGroupPrefixSize + 1;
  if (key.size() < kTagEnd) return std::nullopt;
  switch (key[kGroupPrefixSize]) {
    case kHistoryTag:
      return kTagEnd;  // [group][tag]: every event of the group, in index order
    case kSessionTag:
      // The table record alone; a session's record and its responses under [group][tag][client].
      return std::min(key.size(), kTagEnd + 8);
    case kApplyStateTag:
    case kHistoryStateTag:
    case kConfStateTag:
      return key.size();
    default:
      return std::nullopt;
  }
}

std::optional<DataKeyParts> DecodeDataKey(std::string_view key) {
  if (key.size() < kGroupPrefixSize + 1 || key[kGroupPrefixSize] != kUserDataTag) {
    return std::nullopt;
  }
  return DataKeyParts{GroupId(DecodeFixed64BE(key.data())), key.substr(kGroupPrefixSize + 1)};
}

std::optional<SessionKeyParts> DecodeSessionKey(GroupId group, std::string_view key) {
  constexpr size_t kTagEnd = kGroupPrefixSize + 1;
  if (key.size() < kTagEnd || key[kGroupPrefixSize] != kSessionTag ||
      DecodeFixed64BE(key.data()) != group.value()) {
    return std::nullopt;
  }
  using Kind = SessionKeyParts::Kind;
  switch (key.size()) {
    case kTagEnd:
      return SessionKeyParts{Kind::kTable};
    case kTagEnd + 8:
      return SessionKeyParts{Kind::kSession, DecodeFixed64BE(key.data() + kTagEnd)};
    case kTagEnd + 16:
      return SessionKeyParts{Kind::kResponse, DecodeFixed64BE(key.data() + kTagEnd),
                             DecodeFixed64BE(key.data() + kTagEnd + 8)};
    default:
      return std::nullopt;
  }
}

std::string NodeIdKey() { return NamedMetaKey("node_id"); }
std::string HealthProbeKey() { return NamedMetaKey("health_probe"); }
std::string PeerIncarnationKey(NodeId peer) {
  return NamedMetaKey("peer_incarnation/" + std::to_string(peer.value()));
}
std::string ClusterIdKey() { return NamedMetaKey("cluster_id"); }
std::string IncarnationIdKey() { return NamedMetaKey("incarnation_id"); }
std::string RingConfigKey() { return NamedMetaKey("ring_config"); }

std::string PendingLogWriteKey() { return std::string(1, kMetaPendingLogWrite); }
std::string SyncNoopKey() { return std::string(1, kMetaSyncNoop); }

std::string TombstoneKey(GroupId group) { return MetaGroupKey(kMetaTombstone, group); }
KeyRange TombstoneRange() {
  return {std::string(1, kMetaTombstone), std::string(1, kMetaTombstone + 1)};
}

std::string SnapshotInstallKey(GroupId group) { return MetaGroupKey(kMetaSnapshotInstall, group); }
KeyRange SnapshotInstallRange() {
  return {std::string(1, kMetaSnapshotInstall), std::string(1, kMetaSnapshotInstall + 1)};
}

std::optional<GroupId> DecodeMetaGroupKey(std::string_view key) {
  if (key.size() != 9) return std::nullopt;
  return GroupId(DecodeFixed64BE(key.data() + 1));
}

std::string EscapeKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace ringkv::storage
