// Fuzz target: the connection handshake (net/handshake.h) as both ends see it — the accepting
// side parses a Handshake and checks it under the peer-port and client-port policies; the
// dialing side parses a HandshakeReply. Properties: no crash; an accepted peer handshake names
// a node; the policies never accept a protocol version other than ours.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "net/handshake.h"
#include "proto/transport.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringkv;
  transportpb::Handshake hs;
  if (hs.ParseFromArray(data, static_cast<int>(size))) {
    net::HandshakePolicy peer;
    peer.local_cluster_id = 7;
    peer.require_node_id = true;
    Status st = net::CheckHandshake(hs, peer);
    if (st.ok() && (hs.node_id() == 0 || hs.cluster_id() != 7)) std::abort();
    net::HandshakePolicy client;
    client.local_cluster_id = 7;
    client.allow_any_cluster = true;
    st = net::CheckHandshake(hs, client);
    if (st.ok() && hs.protocol_version() != net::kProtocolVersion) std::abort();
    if (!st.ok() && st.message().empty()) std::abort();  // refusals say why
    // What a node sends back must round-trip.
    transportpb::Handshake echo = net::MakeHandshake(hs.cluster_id(), NodeId(hs.node_id()),
                                                     hs.incarnation(), hs.advertised_address());
    transportpb::Handshake again;
    if (!again.ParseFromString(echo.SerializeAsString())) std::abort();
  }
  transportpb::HandshakeReply reply;
  if (reply.ParseFromArray(data, static_cast<int>(size))) {
    (void)reply.error().size();
  }
  return 0;
}
