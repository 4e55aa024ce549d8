#include "server/peer_transport_adapter.h"

#include <chrono>
#include <thread>
#include <utility>

namespace ringkv::server {

bool PeerTransportAdapter::Send(raftpb::Message m) {
  return transport_ != nullptr && transport_->Send(std::move(m));
}

void PeerTransportAdapter::SendAll(NodeId to, std::vector<raftpb::Message> msgs) {
  // Dropped messages are counted by the transport; Raft retransmits.
  if (transport_ != nullptr) transport_->SendAll(to, std::move(msgs));
}

bool PeerTransportAdapter::SendSnapshotChunk(NodeId to, transportpb::SnapshotChunk chunk) {
  if (transport_ == nullptr) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!transport_->SendSnapshotChunk(to, chunk)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    // Pacing, not synchronization: the peer's queue drains at network speed.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace ringkv::server
