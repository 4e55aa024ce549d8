// PeerTransportAdapter: the store's outgoing path (store::StoreTransport) over the node's peer
// transport. The store is created before the transport (the transport's handlers call into
// it), so the transport is attached afterwards; until then, and with none, sends fail.
//
// Thread-safety: set_transport before the store sends (Node::Start); Send from the store loop,
// SendSnapshotChunk from the store's snapshot thread.
#ifndef RINGKV_SERVER_PEER_TRANSPORT_ADAPTER_H_
#define RINGKV_SERVER_PEER_TRANSPORT_ADAPTER_H_

#include <vector>

#include "common/ids.h"
#include "net/transport.h"
#include "proto/raft.pb.h"
#include "proto/transport.pb.h"
#include "store/store.h"

namespace ringkv::server {

class PeerTransportAdapter final : public store::StoreTransport {
 public:
  // `t` is not owned; null detaches.
  void set_transport(net::Transport* t) { transport_ = t; }
  bool Send(raftpb::Message m) override;
  void SendAll(NodeId to, std::vector<raftpb::Message> msgs) override;
  // Called on the snapshot thread: a full peer queue is waited out (briefly) rather than
  // failing the whole snapshot, since chunks must arrive without gaps.
  bool SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) override;

 private:
  net::Transport* transport_ = nullptr;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_PEER_TRANSPORT_ADAPTER_H_
