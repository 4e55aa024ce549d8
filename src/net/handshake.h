// The connection handshake shared by the peer transport and the client port: building a
// Handshake, and deciding whether an incoming one is acceptable.
//
// Thread-safety: pure functions.
#ifndef RINGKV_NET_HANDSHAKE_H_
#define RINGKV_NET_HANDSHAKE_H_

#include <cstdint>
#include <string>

#include "common/ids.h"
#include "common/status.h"
#include "proto/transport.pb.h"

namespace ringkv::net {

// Version of the wire protocol (framing + transport.proto). Bumped on incompatible changes;
// a peer or client with another version is refused.
inline constexpr uint32_t kProtocolVersion = 1;

transportpb::Handshake MakeHandshake(uint64_t cluster_id, NodeId node_id, uint64_t incarnation,
                                     const std::string& advertised_address);

struct HandshakePolicy {
  // The accepting node's cluster id.
  uint64_t local_cluster_id = 0;
  // Client port: a remote cluster id of 0 means "any cluster" and is accepted.
  bool allow_any_cluster = false;
  // Peer transport: the remote must name itself (node_id != 0).
  bool require_node_id = false;
};

// Returns OK when `hs` may proceed; otherwise FailedPrecondition with a message naming the
// mismatch and both values (e.g. "cluster id mismatch: local 7, remote 9").
Status CheckHandshake(const transportpb::Handshake& hs, const HandshakePolicy& policy);

}  // namespace ringkv::net

#endif  // RINGKV_NET_HANDSHAKE_H_
