// Transport: the node-to-node channel for Raft traffic of all groups, with its own io_context
// thread (net/io_thread.h).
//
// Shape (as etcd's rafthttp streams): two TCP connections per pair of nodes. Each node dials one
// outbound connection to every peer it knows (SetPeer) and only *sends* on it; it accepts the
// peers' outbound connections and only *receives* on those. This keeps each direction a simple
// one-writer stream, makes "reachable" a per-direction fact (what Raft's MsgUnreachable wants),
// and avoids the tie-breaking a single shared connection per pair would need.
//
// Sending: Send() never blocks. It appends the message to a bounded per-peer queue (drops and
// counts when full, when the peer is unknown, or while it is blocked for testing; messages
// without entries — heartbeats, votes, responses — are taken even when full) and schedules a
// flush; a flush packs everything queued for that peer — messages of all groups — into RaftBatch
// frames (each at most max_batch_bytes) handed to the peer's Connection, which gathers all
// queued frames into one write. If the connection's own queue is full (a slow or stalled peer)
// the batch is dropped and counted; Raft retransmits. While a peer is unreachable, queued
// messages are dropped at each failed attempt (stale Raft traffic is worthless) and
// on_unreachable fires; the dialer retries with exponential backoff and jitter.
//
// Round trips: every probe_interval the transport sends a small Probe on each handshaken
// outbound connection whose peer said it accepts them; the peer echoes it on its own outbound
// connection, and the time until the echo arrives is reported to on_round_trip (etcd's peer
// round-trip metric). It measures what Raft traffic sees: both nodes' connection queues and the
// network, twice.
//
// Receiving: the first frame of an accepted connection must be a Handshake with the same
// protocol version and cluster id and a node id; a mismatch is refused (HandshakeReply ok=false),
// logged at WARNING with both ids and the remote address, and closed. Then each frame is a
// PeerMessage; anything else closes that connection with a WARNING and the transport keeps
// serving everyone else.
//
// Thread-safety: every public method is safe from any thread. The receive and unreachable
// callbacks run on the transport thread (TransportOptions::io's when shared): they must not
// block (post to your own loop instead).
#ifndef RINGKV_NET_TRANSPORT_H_
#define RINGKV_NET_TRANSPORT_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/ids.h"
#include "common/random.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "net/connection.h"
#include "net/io_thread.h"
#include "net/stream.h"
#include "net/tls.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"

namespace ringkv::net {

struct TransportOptions {
  uint64_t cluster_id = 0;
  // This node. REQUIRES: non-zero.
  NodeId node_id;
  // Changes with every process start (e.g. a timestamp or random value); sent in the handshake.
  uint64_t incarnation = 0;
  // Where to listen, "host:port"; port 0 lets the OS choose (see Transport::port()).
  std::string listen_address = "127.0.0.1:0";
  // host:port peers should dial; sent in the handshake. Its host, when a literal IP, is also the
  // local address outgoing connections bind to. Empty: the listen address with the bound port.
  std::string advertised_address;
  // Largest frame payload sent or accepted. Default: 16 MiB.
  size_t max_frame_size = kDefaultPeerMaxFrameSize;
  // A flush splits a peer's messages into RaftBatch frames of about this size. Default: 1 MiB.
  size_t max_batch_bytes = size_t{1} << 20;
  // Bounds of the per-peer queue in front of the connection. Default: 8192 messages / 64 MiB.
  size_t max_pending_messages = 8192;
  size_t max_pending_bytes = size_t{64} << 20;
  // Bounds of each connection's outgoing queue. Default: 64 MiB / 1024 frames.
  size_t max_connection_queued_bytes = size_t{64} << 20;
  size_t max_connection_queued_frames = 1024;
  // Reconnect backoff: first delay, cap; each failure doubles it, jittered to [d/2, d].
  // Default: 50 ms .. 2 s.
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2000};
  // Dial timeout and handshake timeout (both directions). Default: 2 s each.
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds handshake_timeout{2000};
  // A write stalled this long closes the connection (then it is redialed). Default: 10 s.
  std::chrono::milliseconds write_timeout{10000};
  // Seed for backoff jitter. Default: 0 = derive from node id and incarnation.
  uint64_t seed = 0;
  // Mutual TLS between nodes: both set, or both null (plain TCP). `tls_server` verifies
  // accepted peers (REQUIRES: its client_auth is required) and `tls_client` verifies dialed
  // ones; either side refuses a remote whose certificate is not a node certificate (see
  // net/tls.h). Refusals are logged at WARNING with the reason and counted.
  std::shared_ptr<TlsCredentials> tls_server;
  std::shared_ptr<TlsCredentials> tls_client;
  // Round-trip probes to each connected peer this often; 0 = none. Default: 1 s.
  std::chrono::milliseconds probe_interval{1000};
  // Run on this io_context instead of a thread of the transport's own (net/io_thread.h). kvd:
  // its store loop's, so a loop turn's frames are written, and a peer's frames read, without a
  // hand-off between threads.
  SharedIo io;
};

// Counters of one peer, monotonically increasing except `connected`.
struct PeerStats {
  uint64_t sent_messages = 0;      // handed to the connection in a RaftBatch
  uint64_t sent_bytes = 0;         // frame payload bytes handed to the connection
  uint64_t dropped_messages = 0;   // refused by Send or discarded before reaching the connection
  uint64_t received_messages = 0;  // Raft messages received from this peer
  uint64_t received_bytes = 0;     // frame payload bytes received from this peer
  uint64_t connect_failures = 0;   // dial/handshake failures and lost outbound connections
  uint64_t blocked_received = 0;   // frames discarded on receipt by SetBlockedForTesting
  uint64_t probes_sent = 0;        // round-trip probes sent to this peer
  uint64_t probes_answered = 0;    // their echoes received
  uint64_t last_round_trip_us = 0; // the latest probe's round trip (0 = none yet)
  // Bytes accepted by Send but not yet written to the socket (transport queue + connection
  // queue). A snapshot sender can pace itself on this. Not a counter: it goes down.
  uint64_t queued_bytes = 0;
  bool connected = false;  // outbound connection is up and handshaken
};

class Transport {
 public:
  using RaftHandler = std::function<void(NodeId from, std::vector<raftpb::Message> messages)>;
  using SnapshotHandler = std::function<void(NodeId from, transportpb::SnapshotChunk chunk)>;
  using UnreachableHandler = std::function<void(NodeId peer)>;

  struct Handlers {
    RaftHandler on_raft;                // required
    SnapshotHandler on_snapshot;        // optional; chunks are dropped when unset
    UnreachableHandler on_unreachable;  // optional
    // Optional: vets a peer whose handshake passed the version and cluster checks, given its
    // node id and incarnation; a non-OK status refuses the connection (logged, closed). The
    // server uses it to refuse a node whose data directory was wiped. Transport thread.
    std::function<Status(NodeId peer, uint64_t incarnation, const std::string& remote)>
        on_peer_handshake;
    // Optional: a round-trip probe to `peer` came back after `rtt`. Transport thread.
    std::function<void(NodeId peer, std::chrono::microseconds rtt)> on_round_trip;
  };

  Transport(TransportOptions options, Handlers handlers);
  ~Transport();  // Stop()s
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds, listens and starts the transport thread. Returns InvalidArgument for a bad listen
  // address, Unavailable when the bind fails. REQUIRES: called once.
  Status Start();
  // Closes every connection and joins the thread; no callback runs after it returns. Idempotent.
  void Stop();

  // The bound listen port (useful with port 0). REQUIRES: Start() returned OK.
  uint16_t port() const { return port_; }
  // The address sent in handshakes.
  const std::string& advertised_address() const { return advertised_address_; }

  // Adds a peer or changes its address (an existing connection to the old address is closed).
  // The transport dials it right away and keeps redialing while it is set.
  void SetPeer(NodeId peer, const std::string& address);
  // Forgets a peer: closes the outbound connection, drops queued messages.
  void RemovePeer(NodeId peer);

  // Queues `msg` for the node of replica msg.to() (NodeOfReplica). Never blocks. Returns false (and counts a drop) when the
  // peer is unknown, blocked for testing, or its queue is full.
  bool Send(raftpb::Message msg);
  // Queues `msgs`, all for node `to` (a loop turn's messages to one peer, of any number of
  // groups), in order, as Send does one by one, but under one lock and with one wake-up of the
  // transport thread: they leave in one frame (up to max_batch_bytes). Returns how many were
  // queued; the rest were dropped and counted.
  size_t SendAll(NodeId to, std::vector<raftpb::Message> msgs);
  // Queues one snapshot chunk for `to`. Same contract as Send. Chunks share the peer's queue
  // bound and go out in order with the Raft messages queued before them.
  bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk);

  // Counters for `peer` (zeros for an unknown one).
  PeerStats GetPeerStats(NodeId peer) const;
  // Accepted connections refused in the TLS handshake (plain TCP, untrusted, expired or client
  // certificate, timeout).
  uint64_t tls_refused() const { return tls_refused_.load(); }
  // Counters of every peer this transport has known (removed ones too), by node id.
  std::vector<std::pair<NodeId, PeerStats>> AllPeerStats() const;

  // Test hook: while blocked, everything to `peer` is dropped at Send and everything received
  // from it is discarded, as if the network between the two nodes were cut.
  void SetBlockedForTesting(NodeId peer, bool blocked);

 private:
  struct Peer;
  struct Inbound;
  struct Pending {
    std::optional<raftpb::Message> msg;
    std::optional<transportpb::SnapshotChunk> chunk;
  };

  // `control`: a message without entries (heartbeat, vote, response, empty append). The
  // queue's bounds do not apply to it: bulk appends may fill the queue, but never push out the
  // small messages that keep leaders and elections alive (their rate is bounded by the ticks).
  bool Enqueue(NodeId to, Pending item, size_t bytes, bool control = false);
  // Enqueue's queueing step. REQUIRES: mu_ held. Sets *flush when the caller must post Flush.
  bool EnqueueLocked(NodeId to, Pending item, size_t bytes, bool control,
                     std::shared_ptr<Peer>* flush);
  ConnectionOptions ConnOptions() const;

  // Transport thread only.
  void DoAccept();
  void OnAccepted(boost::asio::ip::tcp::socket socket);
  void OnAcceptedStream(Stream stream);
  void OnInboundFrame(Inbound& in, std::string payload);
  void HandleInboundHandshake(Inbound& in, const std::string& payload);
  void Dial(const std::shared_ptr<Peer>& peer);
  void OnDialed(const std::shared_ptr<Peer>& peer, uint64_t attempt, Status status,
                boost::asio::ip::tcp::socket socket);
  void OnDialedStream(const std::shared_ptr<Peer>& peer, uint64_t attempt, Stream stream);
  void OnOutboundFrame(const std::shared_ptr<Peer>& peer, uint64_t attempt,
                       const std::shared_ptr<Connection>& conn, const std::string& payload);
  void OnOutboundFailed(const std::shared_ptr<Peer>& peer, uint64_t attempt, const Status& why);
  void ScheduleRedial(const std::shared_ptr<Peer>& peer);
  // Round-trip probes (transport_probe.cc).
  void ScheduleProbes();
  void SendProbes();
  void OnProbe(NodeId from, const transportpb::Probe& probe);
  void Flush(const std::shared_ptr<Peer>& peer);
  void ShutdownOnIo();

  const TransportOptions options_;
  const Handlers handlers_;
  std::string advertised_address_;  // set by Start
  std::string bind_host_;           // local address for outgoing connections; set by Start
  uint16_t port_ = 0;               // set by Start

  // Declared before everything that holds sockets, so it outlives them.
  IoThread io_thread_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;  // transport thread
  // Accepted connections by id (handshaken or not); transport thread.
  std::unordered_map<uint64_t, std::shared_ptr<Inbound>> inbound_;
  Random rng_;             // backoff jitter; transport thread
  std::optional<boost::asio::steady_timer> probe_timer_;  // transport thread
  uint64_t next_probe_id_ = 1;                            // transport thread
  bool stopping_ = false;  // transport thread
  bool started_ = false;   // owner thread
  std::atomic<uint64_t> tls_refused_{0};

  // State below is protected by mu_.
  mutable std::mutex mu_;
  std::unordered_map<NodeId, std::shared_ptr<Peer>> peers_ GUARDED_BY(mu_);
  std::unordered_set<NodeId> blocked_ GUARDED_BY(mu_);
  // Stats survive RemovePeer so tests and metrics can still read them.
  std::unordered_map<NodeId, PeerStats> stats_ GUARDED_BY(mu_);
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_TRANSPORT_H_
