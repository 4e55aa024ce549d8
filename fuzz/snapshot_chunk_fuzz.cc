// Fuzz target: snapshot chunk installation — the chunks of a snapshot stream as a replica
// receives them from the peer transport (replica/replica.h OnSnapshotChunk: parse, checks of
// group, order, snapshot identity, checksums, key order, then the atomic install of the staged
// SST and the MsgSnap that completes it), into a fresh empty replica over a RocksDB engine.
// Input: a sequence of [u16 big-endian length][serialized transportpb::SnapshotChunk]. The
// first byte of the input picks the sender of each chunk (so a second sender's interleaved
// stream is exercised too). Properties: no crash; a replica that installed something has a
// commit index no larger than its last index.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_engine.h"
#include "proto/storage.pb.h"
#include "proto/transport.pb.h"
#include "raft/logger.h"
#include "replica/replica.h"
#include "storage/meta_store.h"
#include "storage/write_batch.h"

namespace {

using namespace ringkv;

class StubEnv : public replica::ReplicaEnv {
 public:
  void SendRaft(raftpb::Message) override {}
  void SendSnapshot(GroupId, raftpb::Message) override {}
  raft::Logger* raft_logger() override { return &logger; }
  replica::Clock::time_point Now() const override { return replica::Clock::now(); }
  bool TryReserveSnapshotInstall() override { return true; }
  void ReleaseSnapshotInstall() override {}
  raft::NullLogger logger;
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
  if (size < 1) return 0;
  const uint8_t senders = data[0];
  GroupId group;
  storage::Engine* engine = engines.Next(&group);
  StubEnv env;
  replica::ReplicaOptions o;
  o.group = group;
  o.self = NodeId(1);
  o.seed = 1;
  // As the store creates a replica for a snapshot's first chunk: empty, no configuration.
  auto opened = replica::Replica::Open(engine, o, &env, /*bootstrap_conf=*/nullptr);
  if (!opened.ok()) {
    std::fprintf(stderr, "fuzz: cannot open a replica: %s\n", opened.status().ToString().c_str());
    std::abort();
  }
  replica::Replica* r = opened->get();
  size_t pos = 1;
  for (int i = 0; pos + 2 <= size; ++i) {
    const size_t len = (size_t{data[pos]} << 8) | data[pos + 1];
    pos += 2;
    if (pos + len > size) break;
    transportpb::SnapshotChunk chunk;
    const bool parsed = chunk.ParseFromArray(data + pos, static_cast<int>(len));
    pos += len;
    if (!parsed) continue;
    // Each input has a group of its own: point the chunk, and the storage chunk inside it, at
    // that group, so an input means the same whichever group it gets.
    chunk.set_group_id(group.value());
    storagepb::SnapshotChunk inner;
    if (inner.ParseFromString(chunk.data())) {
      inner.set_group_id(group.value());
      chunk.set_data(inner.SerializeAsString());
    }
    const NodeId from((senders >> (i % 8)) & 1 ? 3 : 2);
    r->OnSnapshotChunk(from, chunk);
    r->Tick();
    Drive(engine, r);
  }
  auto st = r->GetStatus();
  if (st.hard_state.commit() > st.last_index.value()) std::abort();
  storage::WriteBatch cleanup;
  storage::MetaStore(engine).RemoveReplica(&cleanup, group, r->applied(), r->id());
  opened->reset();
  if (!engine->Write(cleanup, false).ok()) std::abort();
  return 0;
}
