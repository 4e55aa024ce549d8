// Private to the transport implementation (transport*.cc): the per-peer and per-accepted-
// connection state. Not for use outside src/net/.
#ifndef RINGKV_NET_TRANSPORT_INTERNAL_H_
#define RINGKV_NET_TRANSPORT_INTERNAL_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <string>

#include "net/transport.h"

namespace ringkv::net {

// One known peer. Fields under "mu_" are guarded by Transport::mu_; the rest are touched only on
// the transport thread.
struct Transport::Peer {
  Peer(NodeId peer_id, std::string addr, const boost::asio::any_io_executor& ex)
      : id(peer_id), address(std::move(addr)), redial_timer(ex), handshake_timer(ex) {}

  const NodeId id;
  // mu_: where to dial; messages waiting for a flush; whether a flush is posted; RemovePeer ran.
  std::string address;
  std::deque<Pending> pending;
  size_t pending_bytes = 0;
  bool flush_scheduled = false;
  bool removed = false;
  // mu_: the handshaken outbound connection, for GetPeerStats' queued_bytes; null otherwise.
  std::shared_ptr<Connection> stats_conn;

  // Transport thread: the outbound connection (null while dialing or backing off), whether its
  // handshake completed, the current dial attempt (callbacks of older attempts are ignored),
  // consecutive failures (drives backoff), and whether the peer was last seen down (logs once).
  std::shared_ptr<Connection> conn;
  bool connected = false;
  uint64_t attempt = 0;
  uint64_t failed_attempt = 0;
  int failures = 0;
  bool reported_down = false;
  // The peer's handshake reply said it answers round-trip probes (newer than the probes).
  bool accepts_probes = false;
  boost::asio::steady_timer redial_timer;
  boost::asio::steady_timer handshake_timer;
};

// An accepted connection and its handshake state; transport thread only.
struct Transport::Inbound {
  Inbound(std::shared_ptr<Connection> c, const boost::asio::any_io_executor& ex)
      : conn(std::move(c)), handshake_timer(ex) {}
  std::shared_ptr<Connection> conn;
  // Closes the connection when no handshake arrives in time; cancelled by the handshake.
  boost::asio::steady_timer handshake_timer;
  // The remote node; 0 until its handshake is accepted.
  NodeId from;
};

}  // namespace ringkv::net

#endif  // RINGKV_NET_TRANSPORT_INTERNAL_H_
