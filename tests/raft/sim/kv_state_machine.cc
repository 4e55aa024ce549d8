#include "raft/sim/kv_state_machine.h"

#include <cstdlib>
#include <sstream>

namespace ringkv::raft::sim {

std::string EncodeWrite(const KvWrite& w) {
  return "put " + w.key + " " + std::to_string(w.write_id);
}

Result<KvWrite> DecodeWrite(const std::string& data) {
  std::istringstream in(data);
  std::string op;
  KvWrite w;
  if (!(in >> op >> w.key >> w.write_id) || op != "put") {
    return Status::InvalidArgument("not a write command: " + data);
  }
  return w;
}

void KvStateMachine::Apply(const raftpb::Entry& e) {
  applied_ = Index(e.index());
  if (e.type() != raftpb::ENTRY_NORMAL || e.data().empty()) return;
  Result<KvWrite> w = DecodeWrite(e.data());
  if (!w.ok()) return;
  kv_[w->key] = KvValue{w->write_id, Index(e.index())};
}

KvValue KvStateMachine::Get(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? KvValue{} : it->second;
}

std::string KvStateMachine::Serialize() const {
  std::ostringstream out;
  out << applied_.value() << "\n";
  for (const auto& [key, v] : kv_) {
    out << key << " " << v.write_id << " " << v.version.value() << "\n";
  }
  return out.str();
}

Result<KvStateMachine> KvStateMachine::Deserialize(const std::string& data) {
  KvStateMachine sm;
  if (data.empty()) return sm;
  std::istringstream in(data);
  uint64_t applied = 0;
  if (!(in >> applied)) return Status::Corruption("bad state machine snapshot");
  sm.applied_ = Index(applied);
  std::string key;
  uint64_t id = 0, version = 0;
  while (in >> key >> id >> version) sm.kv_[key] = KvValue{id, Index(version)};
  return sm;
}

}  // namespace ringkv::raft::sim
