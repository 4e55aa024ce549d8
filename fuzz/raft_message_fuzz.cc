// Fuzz target: the Raft message handler of a replica (replica/replica.h) — a batch of Raft
// messages from "peers" (a transportpb::RaftBatch, as the transport delivers them) stepped
// into a real replica of a 3-voter group over a RocksDB engine, with the Ready pipeline (persist,
// apply, advance) run after every message and ticks in between. Properties: no crash (a
// message a correct peer would never send must be refused, not abort the node), and the
// replica's commit never passes its last log index. Configuration-change entries are turned
// into normal ones, and entry data that is no command into a put: a leader committing an
// unappliable change or garbage is outside Raft's failure model (the node stops by design).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_engine.h"
#include "proto/kv.pb.h"
#include "proto/transport.pb.h"
#include "raft/logger.h"
#include "replica/replica.h"
#include "storage/meta_store.h"
#include "storage/write_batch.h"

namespace {

using namespace ringkv;

class StubEnv : public replica::ReplicaEnv {
 public:
  void SendRaft(raftpb::Message) override { ++sent; }
  void SendSnapshot(GroupId, raftpb::Message) override {}
  raft::Logger* raft_logger() override { return &logger; }
  replica::Clock::time_point Now() const override { return replica::Clock::now(); }
  bool TryReserveSnapshotInstall() override { return true; }
  void ReleaseSnapshotInstall() override {}
  raft::NullLogger logger;
  uint64_t sent = 0;
};

void Drive(storage::Engine* engine, replica::Replica* r) {
  // Storage cannot fail in memory: an error here is a bug the fuzzer must report.
  auto check = [](const Status& s, const char* what) {
    if (s.ok()) return;
    std::fprintf(stderr, "fuzz: %s failed: %s\n", what, s.ToString().c_str());
    std::abort();
  };
  for (int i = 0; i < 100 && r->HasReady(); ++i) {
    storage::WriteBatch batch;
    bool sync = false;
    check(r->CollectReady(&batch, &sync).status(), "CollectReady");
    check(engine->Write(batch, sync), "the Ready write");
    check(r->FinishReady(), "FinishReady");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringkv;
  // Never destroyed: RocksDB must not be closed by static destructors at exit.
  static fuzz::FuzzEngine& engines = *new fuzz::FuzzEngine;
  transportpb::RaftBatch batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  GroupId group;
  storage::Engine* engine = engines.Next(&group);
  StubEnv env;
  replica::ReplicaOptions o;
  o.group = group;
  o.self = NodeId(1);
  o.seed = 1;
  raftpb::ConfState cs;
  for (uint64_t v : {1, 2, 3}) cs.add_voters(v);
  auto opened = replica::Replica::Open(engine, o, &env, &cs);
  if (!opened.ok()) {
    std::fprintf(stderr, "fuzz: cannot open a replica: %s\n", opened.status().ToString().c_str());
    std::abort();
  }
  replica::Replica* r = opened->get();
  for (raftpb::Message m : batch.messages()) {
    // As the store routes it: to this group and replica. Ticks (the 'context' low bits) let
    // elections and heartbeats happen between messages.
    m.set_group_id(group.value());
    m.set_to(1);
    // Outside Raft's failure model, and stopping the node by design (as etcd's core does): a
    // leader committing a configuration change that cannot be applied. Such entries become
    // normal ones; everything else a peer may send goes in as it is.
    for (auto& e : *m.mutable_entries()) {
      if (e.type() == raftpb::ENTRY_CONF_CHANGE) e.set_type(raftpb::ENTRY_NORMAL);
      // Likewise a committed entry that is no command: the applier takes it for corruption
      // and stops the node (fail-stop, docs/architecture.md). Such bytes become a put's value.
      kvpb::Command cmd;
      if (!e.data().empty() && !cmd.ParseFromString(e.data())) {
        cmd.Clear();
        cmd.mutable_put()->set_key("fuzz");
        cmd.mutable_put()->set_value(e.data());
        e.set_data(cmd.SerializeAsString());
      }
    }
    for (size_t t = 0; t < m.context().size() % 4; ++t) r->Tick();
    r->Step(std::move(m));
    Drive(engine, r);
    auto st = r->GetStatus();
    if (st.hard_state.commit() > st.last_index.value()) std::abort();
  }
  storage::WriteBatch cleanup;
  storage::MetaStore(engine).RemoveReplica(&cleanup, group, r->applied(), r->id());
  opened->reset();
  if (!engine->Write(cleanup, false).ok()) std::abort();
  return 0;
}
