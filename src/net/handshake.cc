#include "net/handshake.h"

namespace ringkv::net {

transportpb::Handshake MakeHandshake(uint64_t cluster_id, NodeId node_id, uint64_t incarnation,
                                     const std::string& advertised_address) {
  transportpb::Handshake hs;
  hs.set_protocol_version(kProtocolVersion);
  hs.set_cluster_id(cluster_id);
  hs.set_node_id(node_id.value());
  hs.set_incarnation(incarnation);
  hs.set_advertised_address(advertised_address);
  return hs;
}

Status CheckHandshake(const transportpb::Handshake& hs, const HandshakePolicy& policy) {
  if (hs.protocol_version() != kProtocolVersion) {
    return Status::FailedPrecondition("protocol version mismatch: local " +
                                      std::to_string(kProtocolVersion) + ", remote " +
                                      std::to_string(hs.protocol_version()) + " (remote node " +
                                      std::to_string(hs.node_id()) + ")");
  }
  const bool any = policy.allow_any_cluster && hs.cluster_id() == 0;
  if (!any && hs.cluster_id() != policy.local_cluster_id) {
    return Status::FailedPrecondition(
        "cluster id mismatch: local " + std::to_string(policy.local_cluster_id) + ", remote " +
        std::to_string(hs.cluster_id()) + " (remote node " + std::to_string(hs.node_id()) + ")");
  }
  if (policy.require_node_id && hs.node_id() == 0) {
    return Status::FailedPrecondition("peer handshake without a node id");
  }
  return Status::OK();
}

}  // namespace ringkv::net
