// Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ (committed): valid
// and nearly valid inputs of each kind, made with the project's own encoders, so fuzzing starts
// from inputs that reach deep into each handler. Run by hand when the formats change:
//   build/fuzz/fuzz_make_seeds fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/coding.h"
#include "gossip/codec.h"
#include "gossip/keyring.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "proto/auth.pb.h"
#include "proto/kv.pb.h"
#include "proto/reserved_keys.h"
#include "proto/transport.pb.h"
#include "raft/logger.h"
#include "replica/replica.h"
#include "storage/mem_engine.h"
#include "storage/snapshot.h"
#include "storage/write_batch.h"

namespace {

using namespace ringkv;

std::string g_root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(g_root + "/" + target);
  std::ofstream(g_root + "/" + target + "/seed-" + name, std::ios::binary) << bytes;
}

void FrameSeeds() {
  auto hs = net::MakeHandshake(7, NodeId(2), 99, "127.0.0.1:7102").SerializeAsString();
  kvpb::Request req;
  req.set_request_id(1);
  req.mutable_get()->set_key("k");
  std::string two = net::EncodeFrame(hs) + net::EncodeFrame(req.SerializeAsString());
  Write("frame", "two-frames", std::string("\x10\x03", 2) + two);
  Write("frame", "one-byte-chunks", std::string("\x10\x00", 2) + two);
  Write("frame", "small-max", std::string("\x02\x05", 2) + two);
  std::string bad_crc = net::EncodeFrame("payload");
  bad_crc[5] ^= 1;
  Write("frame", "bad-crc", std::string("\x10\x07", 2) + bad_crc);
  Write("frame", "truncated", std::string("\x10\x07", 2) + two.substr(0, two.size() - 3));
}

void HandshakeSeeds() {
  Write("handshake", "peer",
        net::MakeHandshake(7, NodeId(2), 99, "127.0.0.1:7102").SerializeAsString());
  Write("handshake", "client", net::MakeHandshake(0, NodeId(0), 0, "").SerializeAsString());
  auto v2 = net::MakeHandshake(7, NodeId(2), 99, "h:1");
  v2.set_protocol_version(2);
  Write("handshake", "other-version", v2.SerializeAsString());
  transportpb::HandshakeReply r;
  r.set_ok(false);
  r.set_error("cluster id mismatch");
  r.set_node_id(1);
  Write("handshake", "reply", r.SerializeAsString());
}

void ClientRequestSeeds() {
  std::vector<std::pair<std::string, kvpb::Request>> reqs;
  kvpb::Request r;
  r.set_request_id(7);
  r.mutable_get()->set_key("app/1");
  reqs.push_back({"get", r});
  r.Clear();
  r.mutable_put()->set_key("app/logs/1");
  r.mutable_put()->set_value("v");
  r.set_client_id(5);
  r.set_sequence(1);
  reqs.push_back({"put", r});
  r.Clear();
  r.mutable_delete_()->set_key("secret");
  reqs.push_back({"delete", r});
  r.Clear();
  r.mutable_cas()->set_key("app/logs/2");
  r.mutable_cas()->set_expected_version(3);
  r.mutable_cas()->set_new_value("n");
  reqs.push_back({"cas", r});
  r.Clear();
  r.mutable_append()->set_key("app/logs/3");
  r.mutable_append()->set_suffix("s");
  reqs.push_back({"append", r});
  r.Clear();
  r.mutable_scan()->set_start("a");
  r.mutable_scan()->set_limit(3);
  reqs.push_back({"scan", r});
  r.Clear();
  r.mutable_status()->set_with_digests(true);
  reqs.push_back({"status", r});
  r.Clear();
  r.mutable_admin()->set_transfer_leader_to(2);
  r.set_group_id(1);
  reqs.push_back({"admin", r});
  r.Clear();
  authpb::AuthConfig cfg;
  cfg.add_roles()->set_name("r");
  auto* u = cfg.add_users();
  u->set_name("u");
  u->add_roles("r");
  r.mutable_cas()->set_key(std::string(authpb::kAuthConfigKey));
  r.mutable_cas()->set_expected_version(0);
  r.mutable_cas()->set_new_value(cfg.SerializeAsString());
  reqs.push_back({"auth-cas", r});
  for (const auto& [name, req] : reqs) {
    for (uint8_t who : {uint8_t{0}, uint8_t{3}, uint8_t{5}}) {
      Write("client_request", name + "-" + std::to_string(who),
            std::string(1, static_cast<char>(who)) + req.SerializeAsString());
    }
  }
}

raftpb::Message Msg(raftpb::MessageType t, uint64_t term) {
  raftpb::Message m;
  m.set_type(t);
  m.set_from(2);
  m.set_to(1);
  m.set_term(term);
  return m;
}

void RaftSeeds() {
  kvpb::Command cmd;
  cmd.set_client_id(9);
  cmd.set_sequence(1);
  cmd.mutable_put()->set_key("k");
  cmd.mutable_put()->set_value("v");
  // A leader of term 6 appends two entries after the bootstrap point (5, 5) and commits them.
  raftpb::Message app = Msg(raftpb::MSG_APP, 6);
  app.set_index(5);
  app.set_log_term(5);
  for (uint64_t i = 6; i <= 7; ++i) {
    auto* e = app.add_entries();
    e->set_term(6);
    e->set_index(i);
    e->set_data(cmd.SerializeAsString());
  }
  app.set_commit(7);
  raftpb::Message hb = Msg(raftpb::MSG_HEARTBEAT, 6);
  hb.set_commit(7);
  transportpb::RaftBatch b;
  *b.add_messages() = app;
  *b.add_messages() = hb;
  Write("raft_message", "append-heartbeat", b.SerializeAsString());
  b.Clear();
  raftpb::Message vote = Msg(raftpb::MSG_PRE_VOTE, 7);
  vote.set_index(5);
  vote.set_log_term(5);
  *b.add_messages() = vote;
  vote.set_type(raftpb::MSG_VOTE);
  *b.add_messages() = vote;
  Write("raft_message", "votes", b.SerializeAsString());
  b.Clear();
  // Become leader (ticks come from context bytes), then get responses.
  raftpb::Message tick = Msg(raftpb::MSG_HEARTBEAT_RESP, 0);
  tick.set_context("\x03\x03\x03");
  for (int i = 0; i < 40; ++i) *b.add_messages() = tick;
  raftpb::Message resp = Msg(raftpb::MSG_VOTE_RESP, 6);
  *b.add_messages() = resp;
  raftpb::Message ar = Msg(raftpb::MSG_APP_RESP, 6);
  ar.set_index(6);
  *b.add_messages() = ar;
  Write("raft_message", "elect-and-respond", b.SerializeAsString());
  b.Clear();
  raftpb::Message snap = Msg(raftpb::MSG_SNAP, 8);
  snap.mutable_snapshot()->mutable_metadata()->set_index(20);
  snap.mutable_snapshot()->mutable_metadata()->set_term(8);
  for (uint64_t v : {1, 2, 3})
    snap.mutable_snapshot()->mutable_metadata()->mutable_conf_state()->add_voters(v);
  *b.add_messages() = snap;
  *b.add_messages() = Msg(raftpb::MSG_TIMEOUT_NOW, 8);
  raftpb::Message ri = Msg(raftpb::MSG_READ_INDEX_RESP, 8);
  ri.set_index(5);
  *b.add_messages() = ri;
  Write("raft_message", "snap-timeout-readindex", b.SerializeAsString());
}

std::string Envelope(const std::function<void(gossippb::Envelope*)>& body) {
  gossippb::Envelope env;
  env.set_cluster_id("fuzz");
  env.set_sender_id(2);
  env.set_sender_addr("127.0.0.1:7102");
  body(&env);
  return *gossip::EncodeDatagram(env);
}

void GossipSeeds() {
  auto member = [](gossippb::MemberInfo* m, uint64_t id) {
    m->set_id(id);
    m->set_name("node-" + std::to_string(id));
    m->set_gossip_addr("127.0.0.1:710" + std::to_string(id));
    m->set_peer_addr(m->gossip_addr());
    m->set_client_addr("127.0.0.1:700" + std::to_string(id));
    m->set_incarnation(1);
  };
  std::vector<std::pair<std::string, std::string>> dgrams = {
      {"ping", Envelope([](auto* e) {
         e->mutable_ping()->set_seq_no(1);
         e->mutable_ping()->set_target_id(1);
       })},
      {"ack", Envelope([](auto* e) { e->mutable_ack()->set_seq_no(1); })},
      {"ping-req", Envelope([](auto* e) {
         e->mutable_ping_req()->set_seq_no(2);
         e->mutable_ping_req()->set_target_id(3);
         e->mutable_ping_req()->set_target_addr("127.0.0.1:7103");
       })},
      {"push-pull", Envelope([&](auto* e) {
         e->mutable_push_pull()->set_reply_wanted(true);
         e->mutable_push_pull()->set_join(true);
         member(e->mutable_push_pull()->add_members(), 2);
         member(e->mutable_push_pull()->add_members(), 3);
       })},
      {"updates", Envelope([&](auto* e) {
         member(e->add_updates(), 3);
         e->mutable_updates(0)->set_state(gossippb::MEMBER_SUSPECT);
         e->mutable_updates(0)->set_accuser(2);
         member(e->add_updates(), 1);
         e->mutable_updates(1)->set_state(gossippb::MEMBER_DEAD);
       })},
  };
  const auto ring = *gossip::Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  uint64_t seq = 1;
  for (const auto& [name, d] : dgrams) {
    Write("gossip", name, d);
    Write("gossip", name + "-sealed", ring.Seal(d, 2, seq++));
  }
}

class SeedEnv : public replica::ReplicaEnv {
 public:
  void SendRaft(raftpb::Message) override {}
  void SendSnapshot(GroupId, raftpb::Message) override {}
  raft::Logger* raft_logger() override { return &logger; }
  replica::Clock::time_point Now() const override { return replica::Clock::now(); }
  bool TryReserveSnapshotInstall() override { return true; }
  void ReleaseSnapshotInstall() override {}
  raft::NullLogger logger;
};

void Drive(storage::Engine* e, replica::Replica* r) {
  while (r->HasReady()) {
    storage::WriteBatch b;
    bool sync = false;
    if (!r->CollectReady(&b, &sync).ok() || !e->Write(b, sync).ok() || !r->FinishReady().ok()) {
      std::cerr << "make_seeds: ready pipeline failed\n";
      std::exit(1);
    }
  }
}

// A real snapshot stream: a single-voter group elects itself, applies a few writes, and its
// snapshot is cut into small chunks framed as the snapshot fuzz target reads them.
void SnapshotSeeds() {
  auto engine = std::make_unique<storage::MemEngine>();
  SeedEnv renv;
  replica::ReplicaOptions o;
  o.group = GroupId(1);
  o.self = NodeId(2);
  // Node 2 is the only voter (it elects itself and commits alone); node 1, the fuzz target's
  // replica, is a learner, so the snapshot names it and it may restore it.
  raftpb::ConfState cs;
  cs.add_voters(2);
  cs.add_learners(1);
  auto r = std::move(replica::Replica::Open(engine.get(), o, &renv, &cs)).value();
  for (int i = 0; i < 100 && !r->is_leader(); ++i) {
    r->Tick();
    Drive(engine.get(), r.get());
  }
  for (int i = 0; i < 20; ++i) {
    kvpb::Request req;
    req.set_client_id(1);
    req.set_sequence(i + 1);
    req.mutable_put()->set_key("key-" + std::to_string(i));
    req.mutable_put()->set_value(std::string(50, 'a' + i % 26));
    r->HandleRequest(
        req, [](kvpb::Response) {}, replica::Clock::now() + std::chrono::seconds(5));
    Drive(engine.get(), r.get());
  }
  storage::SnapshotOptions so;
  so.chunk_bytes = 400;
  auto sender = std::move(storage::SnapshotSender::Create(engine.get(), GroupId(1), so)).value();
  std::string stream(1, '\0');  // every chunk from sender 2
  while (!sender->done()) {
    auto chunk = *sender->NextChunk();
    transportpb::SnapshotChunk tc;
    tc.set_group_id(1);
    tc.set_snapshot_index(sender->metadata().index());
    tc.set_snapshot_term(sender->metadata().term());
    tc.set_seq(chunk.seq());
    tc.set_data(chunk.SerializeAsString());
    tc.set_last(chunk.last());
    tc.set_crc(0);
    tc.set_to_replica(1);
    if (chunk.last()) {
      raftpb::Message m;
      m.set_type(raftpb::MSG_SNAP);
      m.set_from(2);
      m.set_to(1);
      m.set_term(r->term().value());
      *m.mutable_snapshot()->mutable_metadata() = sender->metadata();
      *tc.mutable_message() = m;
    }
    const std::string bytes = tc.SerializeAsString();
    stream.push_back(static_cast<char>(bytes.size() >> 8));
    stream.push_back(static_cast<char>(bytes.size() & 0xff));
    stream += bytes;
  }
  Write("snapshot_chunk", "stream", stream);
  Write("snapshot_chunk", "stream-two-senders", std::string(1, '\x55') + stream.substr(1));
  Write("snapshot_chunk", "stream-cut", stream.substr(0, stream.size() / 2));
}

void EdnSeeds() {
  Write("edn_history", "register",
        "[{:type :invoke, :f :write, :value 3, :process 0, :time 1, :key \"k1\"}\n"
        " {:type :ok, :f :write, :value 3, :process 0, :time 2, :key \"k1\"}\n"
        " {:type :invoke, :f :read, :value nil, :process 1, :time 3, :key \"k1\"}\n"
        " {:type :ok, :f :read, :value 3, :process 1, :time 4, :key \"k1\"}\n"
        " {:type :invoke, :f :cas, :value [3 4], :process 0, :time 5}\n"
        " {:type :fail, :f :cas, :value [3 4], :process 0, :time 6}\n"
        " {:type :info, :f :start, :value nil, :process :nemesis, :time 7}]\n");
  Write("edn_history", "append-lines",
        "{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 3, :index 0}\n"
        "{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]]], :process 3, :index 1}\n"
        "; comment\n{:type :info, :f :txn, :value #{1 2}, :process 4, :version 9}\n");
  Write("edn_history", "etcd-log",
        "INFO jepsen.util - 0\t:invoke\t:read\tnil\n"
        "INFO jepsen.util - 0\t:ok\t:read\t[1 (2 3) {:a \"b\"}]\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR (fuzz/corpus)\n";
    return 2;
  }
  g_root = argv[1];
  FrameSeeds();
  HandshakeSeeds();
  ClientRequestSeeds();
  RaftSeeds();
  GossipSeeds();
  SnapshotSeeds();
  EdnSeeds();
  std::cout << "seeds written under " << g_root << "\n";
  return 0;
}
