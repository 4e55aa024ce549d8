// KvStateMachine: the simulation's replicated state machine, a map of registers. Every write
// proposal carries a unique write id ("put <key> <write_id>"), so a read reveals exactly which
// write it observed and at which log index that write was applied (its version). Snapshots
// serialize the whole map; the simulation rebuilds a crashed node's state machine from the
// durable snapshot and the committed log.
//
// Thread-safety: a plain value.
#ifndef RINGKV_TESTS_RAFT_SIM_KV_STATE_MACHINE_H_
#define RINGKV_TESTS_RAFT_SIM_KV_STATE_MACHINE_H_

#include <cstdint>
#include <map>
#include <string>

#include "common/ids.h"
#include "common/result.h"
#include "proto/raft.pb.h"

namespace ringkv::raft::sim {

struct KvValue {
  uint64_t write_id = 0;  // 0 = never written
  Index version;          // log index of the write
};

// A decoded write command.
struct KvWrite {
  std::string key;
  uint64_t write_id = 0;
};

std::string EncodeWrite(const KvWrite& w);
// kInvalidArgument when `data` is not a write command.
Result<KvWrite> DecodeWrite(const std::string& data);

class KvStateMachine {
 public:
  // Applies a committed normal entry. Empty entries (leader no-ops) only advance applied().
  // REQUIRES: e.index() == applied() + 1.
  void Apply(const raftpb::Entry& e);

  KvValue Get(const std::string& key) const;
  Index applied() const { return applied_; }

  std::string Serialize() const;
  // kCorruption on malformed data; empty data is the empty state at index 0.
  static Result<KvStateMachine> Deserialize(const std::string& data);

 private:
  std::map<std::string, KvValue> kv_;
  Index applied_;
};

}  // namespace ringkv::raft::sim

#endif  // RINGKV_TESTS_RAFT_SIM_KV_STATE_MACHINE_H_
