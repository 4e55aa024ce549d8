#include "net/transport.h"

#include <glog/logging.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "net/address.h"
#include "net/listener.h"
#include "net/connector.h"
#include "net/handshake.h"
#include "net/transport_internal.h"

namespace ringkv::net {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

Transport::Transport(TransportOptions options, Handlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      io_thread_("ringkv-transport", options_.io),
      rng_(options_.seed != 0
               ? options_.seed
               : (options_.node_id.value() * 0x9E3779B97F4A7C15ull) ^ options_.incarnation) {
  CHECK(options_.node_id != kNoNode) << "transport needs a node id";
  CHECK(handlers_.on_raft) << "transport needs a Raft handler";
  CHECK((options_.tls_server == nullptr) == (options_.tls_client == nullptr))
      << "peer TLS needs both server and client credentials";
  CHECK(options_.tls_server == nullptr ||
        options_.tls_server->options().client_auth == ClientCertAuth::kRequired)
      << "the peer port requires client certificates";
}

Transport::~Transport() { Stop(); }

ConnectionOptions Transport::ConnOptions() const {
  ConnectionOptions o;
  o.max_frame_size = options_.max_frame_size;
  o.max_queued_bytes = options_.max_connection_queued_bytes;
  o.max_queued_frames = options_.max_connection_queued_frames;
  o.write_timeout = options_.write_timeout;
  return o;
}

Status Transport::Start() {
  CHECK(!started_) << "Transport::Start called twice";
  auto hp = OpenListener(io_thread_.io(), options_.listen_address, &acceptor_);
  if (!hp.ok()) return hp.status();
  port_ = hp->port;
  advertised_address_ = options_.advertised_address.empty() ? FormatHostPort(hp->host, port_)
                                                            : options_.advertised_address;
  auto adv = ParseHostPort(advertised_address_);
  bind_host_ = adv.ok() ? adv->host : "";
  started_ = true;
  io_thread_.Start();
  asio::post(io_thread_.io(), [this] {
    DoAccept();
    ScheduleProbes();
  });
  LOG(INFO) << "net: node " << options_.node_id << " transport listening on "
            << FormatHostPort(hp->host, port_) << ", advertising " << advertised_address_
            << (options_.tls_server ? " (mutual TLS)" : " (plain TCP, unauthenticated)");
  return Status::OK();
}

void Transport::Stop() {
  if (!started_) return;
  started_ = false;
  io_thread_.RunSync([this] { ShutdownOnIo(); });
  io_thread_.Stop();
}

void Transport::ShutdownOnIo() {
  stopping_ = true;
  error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (probe_timer_) probe_timer_->cancel();
  auto inbound = inbound_;  // closing runs close handlers that erase from inbound_
  for (auto& [id, in] : inbound) {
    in->handshake_timer.cancel();
    in->conn->Close(Status::OK());
  }
  inbound_.clear();
  std::vector<std::shared_ptr<Peer>> peers;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, p] : peers_) peers.push_back(p);
  }
  for (auto& p : peers) {
    p->redial_timer.cancel();
    p->handshake_timer.cancel();
    if (p->conn) p->conn->Close(Status::OK());
    p->conn.reset();
  }
}

// ---- Peers and sending -------------------------------------------------------------------------

void Transport::SetPeer(NodeId peer_id, const std::string& address) {
  std::shared_ptr<Peer> peer;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = peers_.find(peer_id);
    if (it != peers_.end()) {
      if (it->second->address == address) return;
      it->second->address = address;
      peer = it->second;
    } else {
      peer = std::make_shared<Peer>(peer_id, address, io_thread_.io().get_executor());
      peers_.emplace(peer_id, peer);
      stats_.try_emplace(peer_id);
    }
  }
  // New peer, or new address: (re)dial now; Dial() starts a new attempt, which retires the old one.
  asio::post(io_thread_.io(), [this, peer] {
    if (stopping_) return;
    peer->redial_timer.cancel();
    peer->handshake_timer.cancel();
    auto old = std::move(peer->conn);
    peer->connected = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      peer->stats_conn.reset();
      stats_[peer->id].connected = false;
    }
    peer->failures = 0;
    Dial(peer);
    if (old) old->Close(Status::OK());
  });
}

void Transport::RemovePeer(NodeId peer_id) {
  std::shared_ptr<Peer> peer;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = peers_.find(peer_id);
    if (it == peers_.end()) return;
    peer = it->second;
    peers_.erase(it);
    peer->removed = true;
    peer->stats_conn.reset();
    stats_[peer_id].dropped_messages += peer->pending.size();
    stats_[peer_id].connected = false;
    peer->pending.clear();
    peer->pending_bytes = 0;
  }
  asio::post(io_thread_.io(), [peer] {
    ++peer->attempt;  // retire callbacks of the current attempt
    peer->redial_timer.cancel();
    peer->handshake_timer.cancel();
    peer->connected = false;
    if (auto conn = std::move(peer->conn)) conn->Close(Status::OK());
  });
}

bool Transport::Send(raftpb::Message msg) {
  const NodeId to = NodeOfReplica(NodeId(msg.to()));
  std::vector<raftpb::Message> one;
  one.push_back(std::move(msg));
  return SendAll(to, std::move(one)) == 1;
}

bool Transport::SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) {
  const size_t bytes = chunk.ByteSizeLong();
  Pending item;
  item.chunk = std::move(chunk);
  return Enqueue(to, std::move(item), bytes);
}

size_t Transport::SendAll(NodeId to, std::vector<raftpb::Message> msgs) {
  size_t queued = 0;
  std::shared_ptr<Peer> flush;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (raftpb::Message& msg : msgs) {
      const size_t bytes = msg.ByteSizeLong();
      const bool control = msg.entries_size() == 0 && msg.type() != raftpb::MSG_SNAP;
      Pending item;
      item.msg = std::move(msg);
      queued += EnqueueLocked(to, std::move(item), bytes, control, &flush) ? 1 : 0;
    }
  }
  if (flush != nullptr) asio::post(io_thread_.io(), [this, flush] { Flush(flush); });
  return queued;
}

bool Transport::Enqueue(NodeId to, Pending item, size_t bytes, bool control) {
  std::shared_ptr<Peer> flush;
  bool queued;
  {
    std::lock_guard<std::mutex> l(mu_);
    queued = EnqueueLocked(to, std::move(item), bytes, control, &flush);
  }
  if (flush != nullptr) asio::post(io_thread_.io(), [this, flush] { Flush(flush); });
  return queued;
}

bool Transport::EnqueueLocked(NodeId to, Pending item, size_t bytes, bool control,
                              std::shared_ptr<Peer>* flush) {
  auto it = peers_.find(to);
  if (it == peers_.end()) {
    ++stats_[to].dropped_messages;
    return false;
  }
  Peer& p = *it->second;
  const bool full = p.pending.size() >= options_.max_pending_messages ||
                    (!p.pending.empty() && p.pending_bytes + bytes > options_.max_pending_bytes);
  if (blocked_.count(to) > 0 || (full && !control)) {
    ++stats_[to].dropped_messages;
    return false;
  }
  p.pending.push_back(std::move(item));
  p.pending_bytes += bytes;
  if (!p.flush_scheduled) {
    p.flush_scheduled = true;
    *flush = it->second;
  }
  return true;
}

void Transport::Flush(const std::shared_ptr<Peer>& peer) {
  std::deque<Pending> items;
  {
    std::lock_guard<std::mutex> l(mu_);
    peer->flush_scheduled = false;
    // Not connected: keep the messages (bounded) for when the handshake completes.
    if (stopping_ || peer->removed || !peer->connected) return;
    items.swap(peer->pending);
    peer->pending_bytes = 0;
  }
  uint64_t sent = 0, sent_bytes = 0, dropped = 0;
  transportpb::PeerMessage envelope;
  size_t batch_bytes = 0;
  auto emit = [&](size_t count) {
    if (count == 0) return;
    std::string payload = envelope.SerializeAsString();
    if (peer->conn->Send(payload).ok()) {
      sent += count;
      sent_bytes += payload.size();
    } else {
      dropped += count;  // connection queue full (slow peer) or closing; Raft retransmits
    }
    envelope.Clear();
    batch_bytes = 0;
  };
  for (Pending& item : items) {
    if (item.chunk) {
      emit(envelope.raft_batch().messages_size());
      *envelope.mutable_snapshot_chunk() = std::move(*item.chunk);
      emit(1);
      continue;
    }
    // Close the batch before it would pass max_batch_bytes, so only a single message larger than
    // that makes a larger frame.
    const size_t msg_bytes = item.msg->ByteSizeLong();
    if (batch_bytes > 0 && batch_bytes + msg_bytes > options_.max_batch_bytes) {
      emit(envelope.raft_batch().messages_size());
    }
    batch_bytes += msg_bytes;
    *envelope.mutable_raft_batch()->add_messages() = std::move(*item.msg);
  }
  emit(envelope.raft_batch().messages_size());
  std::lock_guard<std::mutex> l(mu_);
  PeerStats& s = stats_[peer->id];
  s.sent_messages += sent;
  s.sent_bytes += sent_bytes;
  s.dropped_messages += dropped;
}

PeerStats Transport::GetPeerStats(NodeId peer) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = stats_.find(peer);
  PeerStats s = it == stats_.end() ? PeerStats{} : it->second;
  auto p = peers_.find(peer);
  if (p != peers_.end()) {
    s.queued_bytes = p->second->pending_bytes;
    if (p->second->stats_conn) s.queued_bytes += p->second->stats_conn->queued_bytes();
  }
  return s;
}

std::vector<std::pair<NodeId, PeerStats>> Transport::AllPeerStats() const {
  std::vector<std::pair<NodeId, PeerStats>> out;
  std::vector<NodeId> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, s] : stats_) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  for (NodeId id : ids) out.emplace_back(id, GetPeerStats(id));
  return out;
}

void Transport::SetBlockedForTesting(NodeId peer, bool blocked) {
  std::lock_guard<std::mutex> l(mu_);
  if (blocked) {
    blocked_.insert(peer);
  } else {
    blocked_.erase(peer);
  }
}

}  // namespace ringkv::net
